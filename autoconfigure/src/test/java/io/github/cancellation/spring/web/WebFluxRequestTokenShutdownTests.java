package io.github.cancellation.spring.web;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.web.MvcTestApplication.Http;
import io.github.cancellation.spring.web.MvcTestApplication.Probe;
import io.github.cancellation.spring.web.MvcTestApplication.Seen;
import org.junit.jupiter.api.Test;

import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Requests in flight when a WebFlux application on Reactor Netty closes: a short one completes
 * with 200, a long one that honours its token is cancelled with {@code SHUTDOWN} after the grace.
 * (Its own class: closing a Reactor Netty application disposes the global Netty resources, which
 * another application running in the same JVM shares.)
 */
class WebFluxRequestTokenShutdownTests {

    @Test
    void shortRequestShouldCompleteAndLongOneShouldEndAfterTheGraceAtShutdown() throws Exception {
        ConfigurableApplicationContext closing = WebFluxTestApplication.run("cancellation.web.shutdown-grace=1s");
        Http closingHttp = new Http(closing);
        Probe closingProbe = closing.getBean(Probe.class);
        RequestShutdownLifecycle lifecycle = closing.getBean(RequestShutdownLifecycle.class);
        CompletableFuture<HttpResponse<String>> longRequest = closingHttp.getAsync("/wait");
        Seen longSeen = closingProbe.next();
        CompletableFuture<HttpResponse<String>> shortRequest = closingHttp.getAsync("/latch");
        assertThat(closingProbe.started.await(10, TimeUnit.SECONDS)).isTrue();

        long closeStart = System.nanoTime();
        CompletableFuture<Void> closed = CompletableFuture.runAsync(closing::close);
        await().atMost(Duration.ofSeconds(10)).until(() -> !lifecycle.isRunning());
        closingProbe.release.countDown();

        HttpResponse<String> shortResponse = shortRequest.get(30, TimeUnit.SECONDS);
        HttpResponse<String> longResponse = longRequest.get(30, TimeUnit.SECONDS);
        long cancelledMillis = TimeUnit.NANOSECONDS.toMillis(longSeen.cancelledAt.get(30, TimeUnit.SECONDS) - closeStart);
        closed.get(30, TimeUnit.SECONDS);
        System.out.printf("Reactor Netty shutdown: grace 1000 ms, long request cancelled %d ms after close began, "
                + "context closed after %d ms%n", cancelledMillis,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStart));
        assertThat(shortResponse.statusCode()).isEqualTo(200);
        assertThat(longResponse.statusCode()).isEqualTo(503);
        assertThat(longSeen.reason().kind()).isEqualTo(Kind.SHUTDOWN);
        assertThat(cancelledMillis).isGreaterThanOrEqualTo(1000);
        assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
    }
}
