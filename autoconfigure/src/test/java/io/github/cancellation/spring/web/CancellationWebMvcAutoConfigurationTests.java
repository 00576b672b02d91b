package io.github.cancellation.spring.web;

import io.github.cancellation.spring.CancellationAutoConfiguration;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.web.servlet.DispatcherServlet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Spring MVC request token auto-configuration's beans, back-off, switches and properties.
 */
class CancellationWebMvcAutoConfigurationTests {

    private final WebApplicationContextRunner contextRunner = new WebApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                CancellationWebMvcAutoConfiguration.class));

    @Test
    void servletWebApplicationShouldGetRequestTokens() {
        contextRunner.run((context) -> {
            assertThat(context).hasSingleBean(RequestTokens.class)
                .hasSingleBean(MvcRequestTokenConfigurer.class)
                .hasSingleBean(RequestShutdownLifecycle.class)
                .hasSingleBean(RequestMetrics.class)
                .hasBean("cancellationRequestTokenFilter");
            assertThat(context.getBean(MvcRequestTokenFilter.class).getOrder())
                .isEqualTo(CancellationWebMvcAutoConfiguration.FILTER_ORDER);
            assertThat(context.getBean(CancellationWebProperties.class).getShutdownGrace()).hasSeconds(5);
            assertThat(context.getBean(CancellationWebProperties.class).getTimeout()).isNull();
        });
    }

    /**
     * Jetty's failure listener exists exactly when Jetty 12's ee11 Servlet classes are present
     * ({@code -Pjetty} puts them on the class path; by default they are absent); hidden, it backs
     * off and the filter still works. Named by bean name, so that no Jetty-naming class is loaded
     * here.
     */
    @Test
    void jettyFailureSignalShouldExistOnlyWhenJettyIsPresent() {
        boolean jetty = org.springframework.util.ClassUtils
            .isPresent("org.eclipse.jetty.ee11.servlet.ServletContextRequest", getClass().getClassLoader());
        contextRunner.run((context) -> {
            if (jetty) {
                assertThat(context).hasBean("cancellationJettyFailureSignal");
            }
            else {
                assertThat(context).doesNotHaveBean("cancellationJettyFailureSignal");
            }
        });
        contextRunner.withClassLoader(new FilteredClassLoader("org.eclipse.jetty"))
            .run((context) -> assertThat(context).hasNotFailed()
                .doesNotHaveBean("cancellationJettyFailureSignal")
                .hasBean("cancellationRequestTokenFilter"));
        contextRunner.withClassLoader(new FilteredClassLoader("org.eclipse.jetty.ee11"))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean("cancellationJettyFailureSignal"));
    }

    @Test
    void requestTokensWhenNotAWebApplicationShouldBackOff() {
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                    CancellationWebMvcAutoConfiguration.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(RequestTokens.class));
    }

    @Test
    void requestTokensWhenReactiveWebApplicationShouldNotUseTheServletFilter() {
        new ReactiveWebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                    CancellationWebMvcAutoConfiguration.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(MvcRequestTokenConfigurer.class));
    }

    @Test
    void requestTokensWhenSpringMvcIsAbsentShouldBackOff() {
        contextRunner.withClassLoader(new FilteredClassLoader(DispatcherServlet.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(RequestTokens.class));
    }

    @Test
    void requestTokensWhenBootServletSupportIsAbsentShouldBackOff() {
        contextRunner.withClassLoader(new FilteredClassLoader(FilterRegistrationBean.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(RequestTokens.class));
    }

    @Test
    void requestTokensWhenMicrometerIsAbsentShouldHaveNoMeters() {
        contextRunner.withClassLoader(new FilteredClassLoader("io.micrometer.core"))
            .run((context) -> assertThat(context).hasNotFailed()
                .hasSingleBean(RequestTokens.class)
                .doesNotHaveBean(RequestMetrics.class));
    }

    @Test
    void requestTokensWhenSwitchedOffShouldBackOff() {
        contextRunner.withPropertyValues("cancellation.web.enabled=false")
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(RequestTokens.class));
        contextRunner.withPropertyValues("cancellation.enabled=false")
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(RequestTokens.class));
    }

    @Test
    void requestTokensWithoutAnApplicationTokenShouldBackOff() {
        new WebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CancellationWebMvcAutoConfiguration.class))
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(RequestTokens.class));
    }

    @Test
    void propertiesShouldBind() {
        contextRunner
            .withPropertyValues("cancellation.web.timeout=2s", "cancellation.web.deadline-header=X-Deadline",
                    "cancellation.web.shutdown-grace=500ms")
            .run((context) -> {
                CancellationWebProperties properties = context.getBean(CancellationWebProperties.class);
                assertThat(properties.getTimeout()).hasSeconds(2);
                assertThat(properties.getDeadlineHeader()).isEqualTo("X-Deadline");
                assertThat(properties.getShutdownGrace()).hasMillis(500);
            });
    }

    @Test
    void negativeTimeoutShouldFailNamingTheProperty() {
        contextRunner.withPropertyValues("cancellation.web.timeout=-1s")
            .run((context) -> assertThat(context).hasFailed()
                .getFailure()
                .rootCause()
                .hasMessageContaining("cancellation.web.timeout must not be negative"));
    }

    @Test
    void negativeShutdownGraceShouldFailNamingTheProperty() {
        contextRunner.withPropertyValues("cancellation.web.shutdown-grace=-1s")
            .run((context) -> assertThat(context).hasFailed()
                .getFailure()
                .rootCause()
                .hasMessageContaining("cancellation.web.shutdown-grace must not be negative"));
    }

    @Test
    void headerNameThatIsNoHeaderNameShouldFailNamingTheProperty() {
        contextRunner.withPropertyValues("cancellation.web.deadline-header=Request Timeout")
            .run((context) -> assertThat(context).hasFailed()
                .getFailure()
                .rootCause()
                .hasMessageContaining("cancellation.web.deadline-header must be an HTTP header name"));
    }
}
