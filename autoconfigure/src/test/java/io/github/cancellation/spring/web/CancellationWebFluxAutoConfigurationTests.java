package io.github.cancellation.spring.web;

import io.github.cancellation.spring.CancellationAutoConfiguration;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.web.reactive.DispatcherHandler;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The WebFlux request token auto-configuration's beans, back-off and switches.
 */
class CancellationWebFluxAutoConfigurationTests {

    private final ReactiveWebApplicationContextRunner contextRunner = new ReactiveWebApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                CancellationWebFluxAutoConfiguration.class));

    @Test
    void reactiveWebApplicationShouldGetRequestTokens() {
        contextRunner.run((context) -> assertThat(context).hasSingleBean(RequestTokens.class)
            .hasSingleBean(WebFluxRequestTokenFilter.class)
            .hasSingleBean(WebFluxRequestTokenConfigurer.class)
            .hasSingleBean(WebFluxCancelledExceptionHandler.class)
            .hasSingleBean(RequestShutdownLifecycle.class)
            .hasSingleBean(RequestMetrics.class));
    }

    @Test
    void requestTokensWhenServletWebApplicationShouldNotUseTheWebFilter() {
        new WebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                    CancellationWebFluxAutoConfiguration.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(WebFluxRequestTokenFilter.class));
    }

    @Test
    void requestTokensWhenWebFluxIsAbsentShouldBackOff() {
        contextRunner.withClassLoader(new FilteredClassLoader(DispatcherHandler.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(RequestTokens.class));
    }

    @Test
    void requestTokensWhenReactorIsAbsentShouldBackOff() {
        contextRunner.withClassLoader(new FilteredClassLoader("reactor.core"))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(RequestTokens.class));
    }

    @Test
    void requestTokensWhenSwitchedOffShouldBackOff() {
        contextRunner.withPropertyValues("cancellation.web.enabled=false")
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(RequestTokens.class));
    }

    @Test
    void requestTokensWithoutAnApplicationTokenShouldBackOff() {
        new ReactiveWebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CancellationWebFluxAutoConfiguration.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(RequestTokens.class));
    }
}
