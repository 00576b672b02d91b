package io.github.cancellation.spring.web;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.spring.web.MvcTestApplication.Http;
import io.github.cancellation.spring.web.MvcTestApplication.Probe;
import io.github.cancellation.spring.web.MvcTestApplication.Seen;
import org.junit.jupiter.api.Test;

import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Requests in flight when the application closes, on Tomcat with graceful shutdown: a short one
 * still completes with 200; a long one that honours its token is cancelled with {@code SHUTDOWN}
 * once the grace has passed and answers 503, so closing does not wait for the phase timeout.
 */
class MvcRequestTokenShutdownTests {

    private static final Duration GRACE = Duration.ofMillis(1000);

    @Test
    void shortRequestShouldCompleteAndLongOneShouldEndAfterTheGrace() throws Exception {
        ConfigurableApplicationContext context = MvcTestApplication.run(
                "cancellation.web.shutdown-grace=" + GRACE.toMillis() + "ms");
        Http http = new Http(context);
        Probe probe = context.getBean(Probe.class);
        RequestShutdownLifecycle lifecycle = context.getBean(RequestShutdownLifecycle.class);

        CompletableFuture<HttpResponse<String>> longRequest = http.getAsync("/wait");
        Seen longSeen = probe.next();
        CompletableFuture<HttpResponse<String>> shortRequest = http.getAsync("/latch");
        Seen shortSeen = probe.next();
        assertThat(probe.started.await(10, TimeUnit.SECONDS)).isTrue();

        long closeStart = System.nanoTime();
        CompletableFuture<Void> closing = CompletableFuture.runAsync(context::close);
        await().atMost(Duration.ofSeconds(10)).until(() -> !lifecycle.isRunning());
        probe.release.countDown();

        HttpResponse<String> shortResponse = shortRequest.get(30, TimeUnit.SECONDS);
        HttpResponse<String> longResponse = longRequest.get(30, TimeUnit.SECONDS);
        long longCancelledMillis = TimeUnit.NANOSECONDS.toMillis(longSeen.cancelledAt.get(30, TimeUnit.SECONDS) - closeStart);
        closing.get(30, TimeUnit.SECONDS);
        long closedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart);

        System.out.printf("Tomcat shutdown: grace %d ms, long request cancelled %d ms after close began, "
                + "context closed after %d ms%n", GRACE.toMillis(), longCancelledMillis, closedMillis);
        assertThat(shortResponse.statusCode()).isEqualTo(200);
        assertThat(shortResponse.body()).isEqualTo("released");
        assertThat(shortSeen.reason().kind()).isEqualTo(Kind.CLOSED);
        assertThat(longResponse.statusCode()).isEqualTo(503);
        assertThat(longSeen.reason().kind()).isEqualTo(Kind.SHUTDOWN);
        assertThat(longSeen.reason().message().orElseThrow()).contains("shutdown grace of 1s (cancellation.web.shutdown-grace) passed");
        assertThat(longCancelledMillis).as("not before the grace").isGreaterThanOrEqualTo(GRACE.toMillis());
    }
}
