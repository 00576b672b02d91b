package io.github.cancellation.spring.web.client;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.CancellationAutoConfiguration;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.restclient.RestClientCustomizer;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.webclient.WebClientCustomizer;
import org.springframework.http.HttpHeaders;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The auto-configuration of outgoing calls: which customizers exist when, the switches, the
 * validation of the properties, and which hosts get the deadline header.
 */
class CancellationHttpClientAutoConfigurationTests {

    private final ApplicationContextRunner runner = new ApplicationContextRunner().withConfiguration(
            AutoConfigurations.of(CancellationAutoConfiguration.class, CancellationHttpClientAutoConfiguration.class));

    @Test
    void bothCustomizersByDefault() {
        runner.run(context -> assertThat(context).hasSingleBean(RestClientCustomizer.class)
            .hasSingleBean(WebClientCustomizer.class)
            .hasBean("cancellationRestClientCustomizer")
            .hasBean("cancellationWebClientCustomizer"));
    }

    @Test
    void switchedOff() {
        runner.withPropertyValues("cancellation.web.client.enabled=false")
            .run(context -> assertThat(context).doesNotHaveBean(RestClientCustomizer.class)
                .doesNotHaveBean(WebClientCustomizer.class));
        runner.withPropertyValues("cancellation.enabled=false")
            .run(context -> assertThat(context).doesNotHaveBean(RestClientCustomizer.class));
    }

    @Test
    void backsOffWithoutWebClient() {
        runner.withClassLoader(new FilteredClassLoader(WebClient.class))
            .run(context -> assertThat(context).hasSingleBean(RestClientCustomizer.class)
                .doesNotHaveBean(WebClientCustomizer.class));
    }

    @Test
    void backsOffWithoutRestClientCustomizer() {
        runner.withClassLoader(new FilteredClassLoader(RestClientCustomizer.class))
            .run(context -> assertThat(context).doesNotHaveBean(RestClientCustomizer.class)
                .hasSingleBean(WebClientCustomizer.class));
    }

    @Test
    void anInvalidHeaderNameOrHostPatternFailsStartUpNamingTheKey() {
        runner.withPropertyValues("cancellation.web.client.deadline-header=Bad Header")
            .run(context -> assertThat(context).hasFailed()
                .getFailure()
                .rootCause()
                .hasMessageContaining("cancellation.web.client.deadline-header"));
        runner.withPropertyValues("cancellation.web.client.deadline-excluded-hosts=api.*.com")
            .run(context -> assertThat(context).hasFailed()
                .getFailure()
                .rootCause()
                .hasMessageContaining("cancellation.web.client.deadline-excluded-hosts"));
    }

    @Test
    void excludedHostsGetNoHeaderOthersDo() {
        CancellationHttpClientProperties properties = new CancellationHttpClientProperties();
        properties.setDeadlineExcludedHosts(List.of("api.stripe.com", "*.partner.example"));
        DeadlineHeader header = DeadlineHeader.of(properties);
        CancellationToken token = CancellationToken.create().child(Duration.ofSeconds(5));
        assertThat(header.valueFor(token, URI.create("https://api.stripe.com/v1"))).isNull();
        assertThat(header.valueFor(token, URI.create("https://API.Stripe.com/v1"))).isNull();
        assertThat(header.valueFor(token, URI.create("https://partner.example/x"))).isNull();
        assertThat(header.valueFor(token, URI.create("https://eu.partner.example/x"))).isNull();
        assertThat(header.valueFor(token, URI.create("https://notpartner.example/x"))).isNotNull();
        assertThat(header.valueFor(token, URI.create("http://localhost:8080/x"))).isNotNull();
        token.close();
    }

    @Test
    void propagationOffSendsNoHeaderAndACustomNameIsUsed() {
        CancellationToken token = CancellationToken.create().child(Duration.ofSeconds(5));
        CancellationHttpClientProperties off = new CancellationHttpClientProperties();
        off.setPropagateDeadline(false);
        assertThat(DeadlineHeader.of(off).valueFor(token, URI.create("http://localhost/"))).isNull();

        CancellationHttpClientProperties renamed = new CancellationHttpClientProperties();
        renamed.setDeadlineHeader("X-Deadline-Ms");
        HttpHeaders headers = new HttpHeaders();
        DeadlineHeader.of(renamed).apply(token, URI.create("http://localhost/"), headers);
        assertThat(headers.getFirst("X-Deadline-Ms")).isNotNull();
        assertThat(Long.parseLong(headers.getFirst("X-Deadline-Ms"))).isBetween(0L, 5_000L);
        token.close();
    }

    @Test
    void aPassedDeadlineIsSentAsZero() {
        CancellationToken token = CancellationToken.create();
        token.cancelAfter(Duration.ofDays(1));
        CancellationToken child = token.child(Duration.ZERO);
        assertThat(DeadlineHeader.of(new CancellationHttpClientProperties())
            .valueFor(child, URI.create("http://localhost/"))).isEqualTo("0");
        token.close();
    }
}
