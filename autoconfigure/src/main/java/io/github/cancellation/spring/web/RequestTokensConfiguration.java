package io.github.cancellation.spring.web;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.CancellationTaskTracker;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * What Spring MVC and WebFlux request tokens share, imported by both auto-configurations (only one
 * applies to an application): the request tokens themselves, their shutdown grace, and their meter.
 */
@Configuration(proxyBeanMethods = false)
class RequestTokensConfiguration {

    @Bean
    RequestTokens cancellationRequestTokens(ObjectProvider<CancellationToken> applicationToken,
            ObjectProvider<CancellationTaskTracker> tracker, CancellationWebProperties properties) {
        return new RequestTokens(applicationToken.getObject(), tracker.getIfUnique(), properties);
    }

    @Bean
    RequestShutdownLifecycle cancellationRequestShutdownLifecycle(RequestTokens tokens,
            CancellationWebProperties properties) {
        return new RequestShutdownLifecycle(tokens, properties.getShutdownGrace());
    }

    /** The request meters, when Micrometer is present. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "io.micrometer.core.instrument.binder.MeterBinder")
    @ConditionalOnBooleanProperty(name = "cancellation.metrics.enabled", matchIfMissing = true)
    static class MetricsConfiguration {

        @Bean
        RequestMetrics cancellationRequestMetrics(RequestTokens tokens) {
            return new RequestMetrics(tokens);
        }
    }
}
