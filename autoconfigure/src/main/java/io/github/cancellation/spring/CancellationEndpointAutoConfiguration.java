package io.github.cancellation.spring;

import io.github.cancellation.CancellationToken;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.autoconfigure.endpoint.expose.EndpointExposure;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Auto-configuration of the {@link CancellationEndpoint} ({@code cancellation}), when actuator
 * is present and the endpoint is available: its access is not {@code none} and it is exposed
 * over HTTP or JMX ({@code management.endpoints.web.exposure.include=cancellation}). Reading is
 * allowed by default; the cancel operation exists only with
 * {@code management.endpoint.cancellation.access=unrestricted}. Over HTTP a
 * {@link CancellationEndpointWebExtension} answers the cancel with status codes.
 */
@AutoConfiguration(after = CancellationAutoConfiguration.class)
@ConditionalOnClass(name = { "org.springframework.boot.actuate.endpoint.annotation.Endpoint",
        "org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint" })
@ConditionalOnBean(CancellationTaskTracker.class)
public final class CancellationEndpointAutoConfiguration {

    CancellationEndpointAutoConfiguration() {
    }

    /**
     * The endpoint itself. Nested, so that its condition, an actuator class, is read only once
     * actuator is known to be present.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnAvailableEndpoint(CancellationEndpoint.class)
    static class EndpointConfiguration {

        @Bean
        @ConditionalOnMissingBean
        CancellationEndpoint cancellationEndpoint(ConfigurableListableBeanFactory beanFactory,
                CancellationTaskTracker tracker, ObjectProvider<IssuedTokens> issuedTokens) {
            CancellationToken applicationToken = ApplicationTokens.find(beanFactory);
            return new CancellationEndpoint(applicationToken, tracker,
                    BeanTokenAutowireCandidateResolver.beanTokens(beanFactory), CancellationEndpoint.DEFAULT_MAX_TOKENS,
                    issuedTokens.getIfAvailable(() -> new IssuedTokens(applicationToken)));
        }

        @Bean
        @ConditionalOnMissingBean
        @ConditionalOnBean(CancellationEndpoint.class)
        @ConditionalOnAvailableEndpoint(exposure = EndpointExposure.WEB)
        CancellationEndpointWebExtension cancellationEndpointWebExtension(CancellationEndpoint endpoint) {
            return new CancellationEndpointWebExtension(endpoint);
        }
    }
}
