package io.github.cancellation.spring.web.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.Scope;
import org.junit.jupiter.api.Test;
import reactor.util.context.Context;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * {@code WebClient} from Boot's builder (Reactor Netty) against a real Spring MVC application and
 * real stuck servers on loopback: the token comes from the Reactor context or from
 * {@code current()} at subscription; the deadline header, nothing sent under a cancelled token, the
 * exchange and the body cut off on cancel with the connection closed, and nothing at all under
 * {@code none()}.
 */
@SpringBootTest(classes = HttpClientTestApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
class WebClientCancellationTests {

    @Autowired
    private WebClient.Builder builder;

    @LocalServerPort
    private int port;

    private WebClient client() {
        return builder.clone().build();
    }

    @Test
    void theTokenOfTheSubscribingThreadSendsItsTimeLeft() {
        CancellationToken token = CancellationToken.create("caller").child(Duration.ofSeconds(10));
        String sent;
        try (Scope scope = token.bind()) {
            sent = client().get().uri("http://localhost:" + port + "/echo").retrieve().bodyToMono(String.class).block();
        }
        assertThat(Long.parseLong(sent)).isBetween(1L, 10_000L);
        token.close();
    }

    @Test
    void theTokenInTheReactorContextWinsOverTheThreadsOne() {
        CancellationToken inContext = CancellationToken.create("context").child(Duration.ofSeconds(5));
        CancellationToken onThread = CancellationToken.create("thread").child(Duration.ofSeconds(50));
        String sent;
        try (Scope scope = onThread.bind()) {
            sent = client().get().uri("http://localhost:" + port + "/echo").retrieve().bodyToMono(String.class)
                .contextWrite(Context.of(CancellationExchangeFilterFunction.CONTEXT_KEY, inContext))
                .block();
        }
        assertThat(Long.parseLong(sent)).isBetween(1L, 5_000L);
    }

    @Test
    void underNoneNothingChanges() {
        assertThat(client().get().uri("http://localhost:" + port + "/echo").retrieve().bodyToMono(String.class).block())
            .isEqualTo("none");
    }

    @Test
    void aCancelledTokenFailsTheExchangeAndSendsNothing() throws Exception {
        CancellationToken token = CancellationToken.create("gone");
        token.cancel(CancellationReason.of(CancellationReason.Kind.SHUTDOWN, "closing"));
        try (StuckServer server = new StuckServer(StuckServer.Mode.SILENT)) {
            assertThatExceptionOfType(CancelledException.class)
                .isThrownBy(() -> client().get().uri(server.url("/never")).retrieve().bodyToMono(String.class)
                    .contextWrite(Context.of(CancellationExchangeFilterFunction.CONTEXT_KEY, token))
                    .block())
                .satisfies(ex -> assertThat(ex.reason().kind()).isEqualTo(CancellationReason.Kind.SHUTDOWN));
            assertThat(server.accepted()).isZero();
        }
    }

    @Test
    void anExchangeInFlightIsAbortedOnCancel() throws Exception {
        WebClient client = client();
        List<Long> micros = new ArrayList<>();
        try (StuckServer server = new StuckServer(StuckServer.Mode.SILENT)) {
            for (int i = 0; i < 20; i++) {
                CancellationToken token = CancellationToken.create("call-" + i);
                CompletableFuture<String> call = client.get().uri(server.url("/stuck")).retrieve()
                    .bodyToMono(String.class)
                    .contextWrite(Context.of(CancellationExchangeFilterFunction.CONTEXT_KEY, token))
                    .toFuture();
                server.nextRequestHead();
                long start = System.nanoTime();
                token.cancel(CancellationReason.of(CancellationReason.Kind.MANUAL, "caller gave up"));
                Throwable failure = failureOf(call);
                micros.add(TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start));
                assertThat(failure).isInstanceOf(CancelledException.class);
            }
            // No aborted connection went back to the pool: each call reached the server on a new one
            // (a reused one would have carried the next request to a socket nobody reads any more).
            assertThat(server.accepted()).as("connections opened for 20 calls").isEqualTo(20);
        }
        Collections.sort(micros);
        System.out.printf("webclient (reactor-netty): cancel -> CancelledException, 20 exchanges in flight: "
                + "median %.2f ms, max %.2f ms%n", micros.get(10) / 1000.0, micros.get(19) / 1000.0);
    }

    @Test
    void aBodyInFlightIsCutOffOnCancel() throws Exception {
        try (StuckServer server = new StuckServer(StuckServer.Mode.STALLED_BODY)) {
            CancellationToken token = CancellationToken.create("reader");
            CompletableFuture<DataBuffer> call = DataBufferUtils.join(client().get().uri(server.url("/stalled"))
                    .retrieve()
                    .bodyToFlux(DataBuffer.class))
                .contextWrite(Context.of(CancellationExchangeFilterFunction.CONTEXT_KEY, token))
                .toFuture();
            server.nextRequestHead(); // the head and the first bytes are sent, the rest never comes
            token.cancel();
            assertThat(cancellationIn(failureOf(call))).isNotNull();

            // The half-read connection is not pooled: the next call to the same server opens a new one.
            CancellationToken next = CancellationToken.create("next");
            CompletableFuture<DataBuffer> second = DataBufferUtils.join(client().get().uri(server.url("/stalled"))
                    .retrieve()
                    .bodyToFlux(DataBuffer.class))
                .contextWrite(Context.of(CancellationExchangeFilterFunction.CONTEXT_KEY, next))
                .toFuture();
            server.nextRequestHead();
            assertThat(server.accepted()).as("connections opened: the second call did not reuse the first")
                .isEqualTo(2);
            next.cancel();
            assertThat(cancellationIn(failureOf(second))).isNotNull();
        }
        assertThat(client().get().uri("http://localhost:" + port + "/echo").retrieve().bodyToMono(String.class).block())
            .isEqualTo("none");
    }

    /**
     * The {@link CancelledException} a body failure carries: as it is when the cancel came before
     * the response head, and as the cause of the {@code WebClientResponseException} with which
     * {@code retrieve()} wraps every failure of a body once the head has arrived.
     */
    private static CancelledException cancellationIn(Throwable failure) {
        if (failure instanceof CancelledException cancelled) {
            return cancelled;
        }
        assertThat(failure).isInstanceOf(org.springframework.web.reactive.function.client.WebClientResponseException.class)
            .hasCauseInstanceOf(CancelledException.class);
        return (CancelledException) failure.getCause();
    }

    private static Throwable failureOf(CompletableFuture<?> call) throws InterruptedException {
        try {
            call.get(10, TimeUnit.SECONDS);
            throw new AssertionError("the call ended normally");
        }
        catch (ExecutionException ex) {
            return ex.getCause();
        }
        catch (java.util.concurrent.CancellationException ex) { // get() throws a CancellationException as it is
            return ex;
        }
        catch (java.util.concurrent.TimeoutException ex) {
            throw new AssertionError("the call did not end within 10 s of the cancel", ex);
        }
    }
}
