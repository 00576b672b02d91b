package io.github.cancellation.spring.web;

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

import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Request tokens on Spring MVC with Tomcat, over real HTTP: the handler parameter and
 * {@code current()} on the request thread and in async processing, closed after the response,
 * the deadline from the cap, the header and {@code @RequestTimeout}, and the answers.
 */
class MvcRequestTokenTests {

    private static ConfigurableApplicationContext context;

    private static Http http;

    private static Probe probe;

    @BeforeAll
    static void start() {
        context = MvcTestApplication.run("cancellation.web.timeout=20s");
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
    void handlerParameterShouldBeTheRequestTokenAndCurrentAndBeClosedAfterTheResponse() throws Exception {
        HttpResponse<String> response = http.get("/token");

        Seen seen = probe.next();
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("request current=true parent=requests");
        assertThat(seen.token.parent().flatMap(CancellationToken::parent).map(CancellationToken::name))
            .contains("application");
        await().atMost(Duration.ofSeconds(10)).until(() -> seen.token.isCancelled());
        assertThat(seen.reason().kind()).isEqualTo(Kind.CLOSED);
    }

    @Test
    void eachRequestShouldGetItsOwnToken() throws Exception {
        http.get("/token");
        http.get("/token");

        Seen first = probe.next();
        Seen second = probe.next();
        assertThat(first.token).isNotSameAs(second.token);
    }

    @Test
    void headerDeadlineShouldCancelWithTimeoutAndAnswer504() throws Exception {
        HttpResponse<String> response = http.get("/wait", "Request-Timeout", "200ms");

        Seen seen = probe.next();
        assertThat(response.statusCode()).isEqualTo(504);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                (type) -> assertThat(type).startsWith("application/problem+json"));
        assertThat(response.body()).contains("\"status\":504").contains("\"title\":\"Gateway Timeout\"");
        assertThat(seen.reason().kind()).isEqualTo(Kind.TIMEOUT);
        assertThat(seen.reason().message().orElseThrow()).contains("request deadline of 200ms (header Request-Timeout) passed");
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
        System.out.printf("Deadline accuracy (Tomcat, plain handler): asked %d ms, client saw the 504 after "
                + "median %d ms, max %d ms over %d requests%n", asked, observed[requests / 2], observed[requests - 1],
                requests);
    }

    @Test
    void headerShouldNeverLengthenTheCap() throws Exception {
        try (ConfigurableApplicationContext capped = MvcTestApplication.run("cancellation.web.timeout=300ms")) {
            Http cappedHttp = new Http(capped);
            Probe cappedProbe = capped.getBean(Probe.class);

            HttpResponse<String> response = cappedHttp.get("/wait", "Request-Timeout", "1h");

            assertThat(response.statusCode()).isEqualTo(504);
            assertThat(cappedProbe.next().reason().message().orElseThrow())
                .contains("request deadline of 300ms (cancellation.web.timeout) passed");
        }
    }

    @Test
    void malformedHeaderShouldBeIgnored() throws Exception {
        CompletableFuture<HttpResponse<String>> response = http.getAsync("/wait", "Request-Timeout", "-5",
                "Request-Timeout", "soon", "Request-Timeout", "");

        Seen seen = probe.next();
        // Nothing cancels the request but the test: the garbage gave it no deadline.
        assertThat(seen.token.isCancelled()).isFalse();
        seen.token.cancel();
        assertThat(response.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(500);
    }

    @Test
    void requestTimeoutOnMethodShouldCancelWithAMessageNamingIt() throws Exception {
        HttpResponse<String> response = http.get("/annotated");

        Seen seen = probe.next();
        assertThat(response.statusCode()).isEqualTo(504);
        assertThat(seen.reason().message().orElseThrow())
            .contains("request deadline of 150ms (@RequestTimeout on Handlers.annotated) passed");
    }

    @Test
    void requestTimeoutOnClassShouldApplyAndMethodOneShouldWinOverIt() throws Exception {
        HttpResponse<String> byClass = http.get("/capped/class");
        Seen classSeen = probe.next();
        HttpResponse<String> byMethod = http.get("/capped/method", "Request-Timeout", "50");
        Seen methodSeen = probe.next();

        assertThat(byClass.statusCode()).isEqualTo(504);
        assertThat(classSeen.reason().message().orElseThrow()).contains("100ms (@RequestTimeout on CappedHandlers.byClass)");
        assertThat(byMethod.statusCode()).isEqualTo(504);
        assertThat(methodSeen.reason().message().orElseThrow()).contains("50ms (header Request-Timeout)");
    }

    @Test
    void currentShouldBeTheRequestTokenOnTheRequestThread() throws Exception {
        HttpResponse<String> response = http.get("/current", "Request-Timeout", "100");

        Seen seen = probe.next();
        assertThat(seen.current).isTrue();
        assertThat(seen.token.name()).isEqualTo("request");
        assertThat(response.statusCode()).isEqualTo(504);
    }

    @Test
    void callableShouldRunWithTheRequestTokenAsCurrent() throws Exception {
        HttpResponse<String> response = http.get("/callable", "Request-Timeout", "100");

        Seen seen = probe.next();
        assertThat(seen.current).isTrue();
        assertThat(seen.token.name()).isEqualTo("request");
        assertThat(seen.thread).doesNotStartWith("http-nio");
        assertThat(response.statusCode()).isEqualTo(504);
        await().atMost(Duration.ofSeconds(10)).until(() -> seen.token.isCancelled());
    }

    @Test
    void deferredResultAndFutureShouldAnswer504OnTheirDeadline() throws Exception {
        HttpResponse<String> deferred = http.get("/deferred", "Request-Timeout", "100");
        Seen deferredSeen = probe.next();
        HttpResponse<String> future = http.get("/future", "Request-Timeout", "100");
        Seen futureSeen = probe.next();

        assertThat(deferred.statusCode()).isEqualTo(504);
        assertThat(deferredSeen.reason().kind()).isEqualTo(Kind.TIMEOUT);
        assertThat(future.statusCode()).isEqualTo(504);
        assertThat(futureSeen.reason().kind()).isEqualTo(Kind.TIMEOUT);
    }

    @Test
    void cancelledExceptionShouldAnswer503ForShutdownAndKeep500ForOtherKinds() {
        HttpResponse<String> shutdown = http.get("/fail?kind=SHUTDOWN");
        HttpResponse<String> manual = http.get("/fail?kind=MANUAL");

        assertThat(shutdown.statusCode()).isEqualTo(503);
        assertThat(shutdown.body()).contains("\"status\":503").contains("\"title\":\"Service Unavailable\"");
        assertThat(manual.statusCode()).isEqualTo(500);
    }

    @Test
    void cancelledRequestsShouldBeCountedByKind() {
        MeterRegistry registry = context.getBean(MeterRegistry.class);
        double before = registry.get(RequestMetrics.REQUESTS_CANCELLED).tag("kind", "TIMEOUT").functionCounter().count();

        assertThat(http.get("/wait", "Request-Timeout", "10").statusCode()).isEqualTo(504);

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                registry.get(RequestMetrics.REQUESTS_CANCELLED).tag("kind", "TIMEOUT").functionCounter().count())
            .isEqualTo(before + 1));
        assertThat(registry.get(RequestMetrics.REQUESTS_CANCELLED).tag("kind", "DISCONNECTED").functionCounter())
            .isNotNull();
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
