package io.github.cancellation.spring.web.client;

import io.github.cancellation.spring.CancellationAutoConfiguration;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.restclient.RestClientCustomizer;
import org.springframework.boot.webclient.WebClientCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.client.RestClient;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * Auto-configuration of outgoing HTTP calls under a token (SPEC, second wave, item 7): a
 * {@link RestClientCustomizer} and a {@link WebClientCustomizer} that Spring Boot applies to every
 * {@code RestClient.Builder} and {@code WebClient.Builder} it provides, and so to the HTTP
 * interface clients built on them. A call made under a cancelled token fails with
 * {@link io.github.cancellation.CancelledException} and sends nothing; a call under a token with a
 * deadline sends the time left in {@code cancellation.web.client.deadline-header}
 * ({@code Request-Timeout}); a call in flight is aborted when the token is cancelled.
 *
 * <p>A client built without Boot's builder ({@code RestClient.create()}, {@code RestClient.builder()})
 * is left alone; inject the {@code cancellationRestClientCustomizer} or
 * {@code cancellationWebClientCustomizer} bean and apply it to such a builder to opt in.
 * Switched off by {@code cancellation.web.client.enabled=false} or {@code cancellation.enabled=false}.
 */
@AutoConfiguration(after = CancellationAutoConfiguration.class)
@ConditionalOnBooleanProperty(name = "cancellation.enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = "cancellation.web.client.enabled", matchIfMissing = true)
@EnableConfigurationProperties(CancellationHttpClientProperties.class)
public final class CancellationHttpClientAutoConfiguration {

    CancellationHttpClientAutoConfiguration() {
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({ RestClient.class, RestClientCustomizer.class })
    static final class RestClientConfiguration {

        @Bean
        RestClientCustomizer cancellationRestClientCustomizer(CancellationHttpClientProperties properties) {
            CancellationClientHttpRequestInterceptor interceptor = new CancellationClientHttpRequestInterceptor(
                    DeadlineHeader.of(properties));
            return builder -> builder.requestInterceptor(interceptor);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({ WebClient.class, WebClientCustomizer.class })
    static final class WebClientConfiguration {

        @Bean
        WebClientCustomizer cancellationWebClientCustomizer(CancellationHttpClientProperties properties) {
            CancellationExchangeFilterFunction filter = new CancellationExchangeFilterFunction(
                    DeadlineHeader.of(properties));
            return builder -> builder.filter(filter);
        }
    }
}
