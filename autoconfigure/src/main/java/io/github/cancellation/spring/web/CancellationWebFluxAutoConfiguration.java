package io.github.cancellation.spring.web;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.CancellationAutoConfiguration;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.web.reactive.DispatcherHandler;
import org.springframework.web.reactive.result.method.annotation.RequestMappingHandlerMapping;

/**
 * Auto-configuration of request tokens for WebFlux: every request runs under a child of the
 * application token that travels in the Reactor context (and is {@code CancellationToken.current()}
 * inside operators where context propagation is on), that a {@code CancellationToken} handler
 * parameter receives, and that is cancelled with {@code DISCONNECTED} when the server cancels the
 * response (the client went away), on the request's deadline and after the shutdown grace (see
 * {@link CancellationWebProperties}). A {@code CancelledException} escaping a handler answers
 * {@code 504} ({@code TIMEOUT}) or {@code 503} ({@code SHUTDOWN}). Switched off by
 * {@code cancellation.web.enabled=false} (or {@code cancellation.enabled=false}).
 */
@AutoConfiguration(after = CancellationAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
@ConditionalOnClass({ DispatcherHandler.class, reactor.core.publisher.Mono.class,
        org.springframework.boot.web.server.context.WebServerGracefulShutdownLifecycle.class })
@ConditionalOnBean(CancellationToken.class)
@ConditionalOnBooleanProperty(name = { "cancellation.enabled", "cancellation.web.enabled" }, matchIfMissing = true)
@EnableConfigurationProperties(CancellationWebProperties.class)
@Import(RequestTokensConfiguration.class)
public final class CancellationWebFluxAutoConfiguration {

    CancellationWebFluxAutoConfiguration() {
    }

    @Bean
    WebFluxRequestTokenFilter cancellationRequestTokenWebFilter(RequestTokens tokens) {
        return new WebFluxRequestTokenFilter(tokens);
    }

    @Bean
    RequestTimeoutValidator cancellationRequestTimeoutValidator(ListableBeanFactory beanFactory, RequestTokens tokens) {
        return new RequestTimeoutValidator(() -> beanFactory.getBeansOfType(RequestMappingHandlerMapping.class, false,
                false).values().stream().flatMap((mapping) -> mapping.getHandlerMethods().values().stream()).toList(),
                tokens.deadlines());
    }

    @Bean
    WebFluxRequestTokenConfigurer cancellationRequestTokenWebFluxConfigurer(RequestTokens tokens) {
        return new WebFluxRequestTokenConfigurer(tokens);
    }

    @Bean
    WebFluxCancelledExceptionHandler cancellationCancelledExceptionHandler() {
        return new WebFluxCancelledExceptionHandler();
    }
}
