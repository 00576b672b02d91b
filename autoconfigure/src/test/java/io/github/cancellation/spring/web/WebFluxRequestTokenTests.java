package io.github.cancellation.spring.web;

import java.net.Socket;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.CancellationMetrics;
import io.github.cancellation.spring.web.MvcTestApplication.Http;
import io.github.cancellation.spring.web.MvcTestApplication.Probe;
import io.github.cancellation.spring.web.MvcTestApplication.Seen;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Hooks;

import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Request tokens on WebFlux with Reactor Netty, over real HTTP: the handler parameter and the
 * Reactor context, {@code current()} in operators with context propagation, closed after the
 * response, deadlines, answers, client disconnect (raw socket) and the meter.
 */
class WebFluxRequestTokenTests {

    private static ConfigurableApplicationContext context;

    private static Http http;

    private static Probe probe;

    @BeforeAll
    static void start() {
        context = WebFluxTestApplication.run("cancellation.web.timeout=20s");
        http = new Http(context);
        probe = context.getBean(Probe.class);
    }

    @BeforeEach
    void forgetEarlierRequests() {
        probe.seen.clear();
    }

    @AfterAll
    static void stop() {
        context.close();
    }

    @Test
    void handlerParameterShouldBeTheRequestTokenInTheReactorContextAndBeClosedAfterTheResponse() throws Exception {
        HttpResponse<String> response = http.get("/token");

        Seen seen = probe.next();
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("request context=true parent=requests");
        await().atMost(Duration.ofSeconds(10)).until(() -> seen.token.isCancelled());
        assertThat(seen.reason().kind()).isEqualTo(Kind.CLOSED);
    }

    @Test
    void currentShouldBeTheRequestTokenInOperatorsWithContextPropagation() {
        assertThat(http.get("/current").body()).as("without propagation").isEqualTo("current=false");
        Hooks.enableAutomaticContextPropagation();
        try {
            assertThat(http.get("/current").body()).isEqualTo("current=true");
        }
        finally {
            Hooks.disableAutomaticContextPropagation();
        }
    }

    @Test
    void headerDeadlineShouldCancelWithTimeoutAndAnswer504() throws Exception {
        HttpResponse<String> response = http.get("/wait", "Request-Timeout", "200ms");

        Seen seen = probe.next();
        assertThat(response.statusCode()).isEqualTo(504);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                (type) -> assertThat(type).startsWith("application/problem+json"));
        assertThat(response.body()).contains("\"status\":504");
        assertThat(seen.reason().message().orElseThrow())
            .contains("request deadline of 200ms (header Request-Timeout) passed");
    }

    @Test
    void headerDeadlineShouldNeverAnswerBeforeItPassed() {
        int requests = 100;
        long asked = 100;
        long[] observed = new long[requests];
        for (int i = 0; i < requests; i++) {
            long start = System.nanoTime();
            HttpResponse<String> response = http.get("/wait", "Request-Timeout", asked + "ms");
            observed[i] = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(response.statusCode()).isEqualTo(504);
            assertThat(observed[i]).as("request %d", i).isGreaterThanOrEqualTo(asked);
        }
        java.util.Arrays.sort(observed);
        System.out.printf("Deadline accuracy (Reactor Netty, Mono handler): asked %d ms, client saw the 504 after "
                + "median %d ms, max %d ms over %d requests%n", asked, observed[requests / 2], observed[requests - 1],
                requests);
    }

    @Test
    void requestTimeoutShouldCancelWithAMessageNamingIt() throws Exception {
        HttpResponse<String> response = http.get("/annotated");

        Seen seen = probe.next();
        assertThat(response.statusCode()).isEqualTo(504);
        assertThat(seen.reason().message().orElseThrow())
            .contains("request deadline of 150ms (@RequestTimeout on Handlers.annotated) passed");
    }

    @Test
    void cancelledExceptionShouldAnswer503ForShutdownAndKeep500ForOtherKinds() {
        HttpResponse<String> shutdown = http.get("/fail?kind=SHUTDOWN");
        HttpResponse<String> manual = http.get("/fail?kind=MANUAL");

        assertThat(shutdown.statusCode()).isEqualTo(503);
        assertThat(shutdown.body()).contains("\"status\":503");
        assertThat(manual.statusCode()).isEqualTo(500);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "/wait", "/flux" })
    void closingTheSocketMidRequestShouldCancelWithDisconnected(String path) throws Exception {
        MeterRegistry registry = context.getBean(MeterRegistry.class);
        double before = registry.get(RequestMetrics.REQUESTS_CANCELLED).tag("kind", "DISCONNECTED")
            .functionCounter().count();
        Socket socket = http.openRaw(path);
        Seen seen = probe.next();
        long closedAt = System.nanoTime();
        socket.close();

        long cancelledAt = seen.cancelledAt.get(30, TimeUnit.SECONDS);

        System.out.printf("Disconnect detection on Reactor Netty, %s: %d ms%n", path,
                TimeUnit.NANOSECONDS.toMillis(cancelledAt - closedAt));
        assertThat(seen.reason().kind()).isEqualTo(Kind.DISCONNECTED);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(registry
            .get(RequestMetrics.REQUESTS_CANCELLED).tag("kind", "DISCONNECTED").functionCounter().count())
            .isEqualTo(before + 1));
    }

    @Test
    void tokensActiveShouldCountTheRequestTokenWhileItsRequestIsOpen() throws Exception {
        MeterRegistry registry = context.getBean(MeterRegistry.class);
        RequestTokens tokens = context.getBean(RequestTokens.class);
        await().atMost(Duration.ofSeconds(10)).until(() -> tokens.openCount() == 0); // earlier tests' requests
        double baseline = registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value();

        CompletableFuture<HttpResponse<String>> response = http.getAsync("/latch");
        assertThat(probe.started.await(30, TimeUnit.SECONDS)).as("the handler started").isTrue();
        assertThat(registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value()).as("in flight")
            .isEqualTo(baseline + 1);
        probe.release.countDown();

        assertThat(response.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value()).as("after the response")
            .isEqualTo(baseline));
    }
}
