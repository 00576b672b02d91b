package io.github.cancellation.spring.web.client;

import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.Scope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.HttpComponentsClientHttpRequestFactory;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.http.client.JettyClientHttpRequestFactory;
import org.springframework.http.client.ReactorClientHttpRequestFactory;
import org.springframework.http.client.SimpleClientHttpRequestFactory;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * {@code RestClient} from Boot's builder, on every request factory Boot can pick, against a real
 * Spring MVC application and real stuck servers on loopback: the deadline header, nothing sent
 * under a cancelled token, an exchange in flight aborted on cancel, a body read cut off on cancel
 * with the connection discarded, and nothing at all under {@code none()}.
 */
@SpringBootTest(classes = HttpClientTestApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
class RestClientCancellationTests {

    /** How many aborts each factory's latency figure is taken over. */
    private static final int LATENCY_SAMPLES = 20;

    @Autowired
    private RestClient.Builder builder;

    @LocalServerPort
    private int port;

    /**
     * The request factories; whether the cancel aborts an exchange still waiting for the response
     * head (an interrupt does, for the JDK, Reactor Netty and Jetty clients; not for Apache
     * HttpClient's classic blocking I/O nor {@code HttpURLConnection}); and whether it aborts a body
     * read while it is blocked (none is relied on: whether a blocked body read wakes on an
     * interrupt differs between clients and versions, so the test closes the server after the
     * cancel and checks that the caller then hears about the cancel, not an I/O error).
     */
    static Stream<Arguments> factories() {
        return Stream.of(
                Arguments.of("jdk", (Supplier<ClientHttpRequestFactory>) JdkClientHttpRequestFactory::new, true, false),
                Arguments.of("reactor-netty",
                        (Supplier<ClientHttpRequestFactory>) ReactorClientHttpRequestFactory::new, true, false),
                Arguments.of("jetty", (Supplier<ClientHttpRequestFactory>) JettyClientHttpRequestFactory::new, true, false),
                Arguments.of("apache-httpclient5",
                        (Supplier<ClientHttpRequestFactory>) HttpComponentsClientHttpRequestFactory::new, false, false),
                Arguments.of("simple (HttpURLConnection)",
                        (Supplier<ClientHttpRequestFactory>) SimpleClientHttpRequestFactory::new, false, false));
    }

    private RestClient client(Supplier<ClientHttpRequestFactory> factory) {
        return builder.clone().requestFactory(factory.get()).build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void aCallUnderATokenWithADeadlineSendsTheTimeLeft(String name, Supplier<ClientHttpRequestFactory> factory,
            boolean abortsHead, boolean abortsBody) {
        RestClient client = client(factory);
        CancellationToken token = CancellationToken.create("caller").child(Duration.ofSeconds(10));
        String sent;
        long before;
        try (Scope scope = token.bind()) {
            before = token.remaining().orElseThrow().toMillis();
            sent = client.get().uri("http://localhost:" + port + "/echo").retrieve().body(String.class);
        }
        long value = Long.parseLong(sent);
        System.out.printf("%s: remaining %d ms before the call, header %d ms%n", name, before, value);
        assertThat(value).isBetween(1L, before);
        token.close();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void aCallUnderNoneOrATokenWithoutDeadlineSendsNoHeader(String name, Supplier<ClientHttpRequestFactory> factory,
            boolean abortsHead, boolean abortsBody) {
        RestClient client = client(factory);
        assertThat(client.get().uri("http://localhost:" + port + "/echo").retrieve().body(String.class))
            .isEqualTo("none");
        CancellationToken token = CancellationToken.create("no-deadline");
        try (Scope scope = token.bind()) {
            assertThat(client.get().uri("http://localhost:" + port + "/echo").retrieve().body(String.class))
                .isEqualTo("none");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void aCallUnderACancelledTokenFailsAndSendsNothing(String name, Supplier<ClientHttpRequestFactory> factory,
            boolean abortsHead, boolean abortsBody) throws Exception {
        RestClient client = client(factory);
        CancellationToken token = CancellationToken.create("gone");
        token.cancel(CancellationReason.of(CancellationReason.Kind.TIMEOUT, "deadline passed"));
        try (StuckServer server = new StuckServer(StuckServer.Mode.SILENT); Scope scope = token.bind()) {
            assertThatExceptionOfType(CancelledException.class)
                .isThrownBy(() -> client.get().uri(server.url("/never")).retrieve().body(String.class))
                .satisfies(ex -> assertThat(ex.reason().kind()).isEqualTo(CancellationReason.Kind.TIMEOUT));
            assertThat(server.accepted()).as("connections to the server").isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void anExchangeInFlightEndsWithCancelledExceptionWhenTheTokenIsCancelled(String name,
            Supplier<ClientHttpRequestFactory> factory, boolean abortsHead, boolean abortsBody) throws Exception {
        RestClient client = client(factory);
        List<Long> micros = new ArrayList<>();
        int samples = abortsHead ? LATENCY_SAMPLES : 3;
        try (StuckServer server = new StuckServer(StuckServer.Mode.SILENT)) {
            for (int i = 0; i < samples; i++) {
                CancellationToken token = CancellationToken.create("call-" + i);
                CompletableFuture<Throwable> outcome = CompletableFuture.supplyAsync(() -> {
                    try (Scope scope = token.bind()) {
                        return catchThrowable(() -> client.get().uri(server.url("/stuck")).retrieve().body(String.class));
                    }
                });
                server.nextRequestHead(); // the request is at the server, which will never answer
                long start = System.nanoTime();
                token.cancel(CancellationReason.of(CancellationReason.Kind.MANUAL, "caller gave up"));
                Throwable failure;
                if (abortsHead) {
                    failure = outcome.get(10, TimeUnit.SECONDS);
                }
                else {
                    // The client blocks in a socket read that neither an interrupt nor the token can
                    // wake: it ends when the server resets the connection, and then it is the cancel
                    // that the caller hears about.
                    assertThat(outcome).isNotDone();
                    server.close();
                    failure = outcome.get(10, TimeUnit.SECONDS);
                }
                micros.add(TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start));
                assertThat(failure).as("what the caller got").isInstanceOf(CancelledException.class);
                assertThat(((CancelledException) failure).reason().message()).contains("caller gave up");
                if (!abortsHead) {
                    break;
                }
            }
        }
        if (abortsHead) {
            Collections.sort(micros);
            System.out.printf("%s: cancel -> CancelledException, %d exchanges in flight: median %.2f ms, max %.2f ms%n",
                    name, micros.size(), micros.get(micros.size() / 2) / 1000.0, micros.get(micros.size() - 1) / 1000.0);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("factories")
    void aBodyReadIsCutOffOnCancelAndTheConnectionIsNotReused(String name, Supplier<ClientHttpRequestFactory> factory,
            boolean abortsHead, boolean abortsBody) throws Exception {
        RestClient client = client(factory);
        try (StuckServer server = new StuckServer(StuckServer.Mode.STALLED_BODY)) {
            CancellationToken token = CancellationToken.create("reader");
            CompletableFuture<Throwable> outcome = CompletableFuture.supplyAsync(() -> {
                try (Scope scope = token.bind()) {
                    return catchThrowable(() -> client.get().uri(server.url("/stalled")).exchange((request, response) -> {
                        try (InputStream body = response.getBody()) {
                            return body.readAllBytes(); // 11 of 1,000,000 bytes come, then nothing
                        }
                    }));
                }
            });
            server.nextRequestHead();
            long start = System.nanoTime();
            token.cancel();
            if (!abortsBody) {
                // A read blocked where an interrupt cannot reach ends when the server resets (a read
                // not yet begun fails at once): either way the caller hears about the cancel.
                server.close();
            }
            Throwable failure = outcome.get(10, TimeUnit.SECONDS);
            System.out.printf("%s: cancel during the body -> %s after %.2f ms%n", name,
                    failure == null ? "no failure" : failure.getClass().getSimpleName(),
                    (System.nanoTime() - start) / 1e6);
            assertThat(failure).isInstanceOf(CancelledException.class);
            if (abortsBody) {
                // The half-read connection is not pooled: the next call to the same server opens a new one.
                CancellationToken next = CancellationToken.create("next");
                CompletableFuture<Throwable> second = CompletableFuture.supplyAsync(() -> {
                    try (Scope scope = next.bind()) {
                        return catchThrowable(() -> client.get().uri(server.url("/stalled")).retrieve()
                            .body(byte[].class));
                    }
                });
                server.nextRequestHead();
                assertThat(server.accepted()).as("connections opened: the second call did not reuse the first")
                    .isEqualTo(2);
                next.cancel();
                assertThat(second.get(10, TimeUnit.SECONDS)).isInstanceOf(CancelledException.class);
            }
        }
        // The client still works.
        assertThat(client.get().uri("http://localhost:" + port + "/echo").retrieve().body(String.class))
            .isEqualTo("none");
    }

    /**
     * One deadline set at the edge bounds the whole chain: the request token of each hop (the
     * starter's MVC request token, from the header) has less time left than its caller's, and so
     * each outgoing call says less.
     */
    @Test
    void aDeadlineTravelsDownAChainOfServicesAndShrinksAtEachHop() throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpResponse<String> response = http.send(java.net.http.HttpRequest
            .newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/chain/a"))
            .header("Request-Timeout", "5000")
            .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        long[] seen = Stream.of(response.body().split(",")).mapToLong(Long::parseLong).toArray();
        System.out.printf("Request-Timeout seen by A, B, C: %d, %d, %d ms%n", seen[0], seen[1], seen[2]);
        assertThat(seen[0]).isEqualTo(5000);
        assertThat(seen[1]).isLessThan(seen[0]).isGreaterThan(0);
        assertThat(seen[2]).isLessThan(seen[1]).isGreaterThan(0);
    }

    @Test
    void aCallerValueOfTheHeaderIsKeptOnlyWhenSmaller() {
        RestClient client = builder.clone().requestFactory(new JdkClientHttpRequestFactory()).build();
        CancellationToken token = CancellationToken.create("caller").child(Duration.ofSeconds(30));
        try (Scope scope = token.bind()) {
            assertThat(client.get().uri("http://localhost:" + port + "/echo").header("Request-Timeout", "1000")
                .retrieve().body(String.class)).isEqualTo("1000");
            assertThat(Long.parseLong(client.get().uri("http://localhost:" + port + "/echo")
                .header("Request-Timeout", "999999").retrieve().body(String.class))).isLessThanOrEqualTo(30_000);
        }
        token.close();
    }

    @Test
    void anUnexpectedFailureOfACallThatWasNotCancelledStaysWhatItIs() throws ExecutionException, InterruptedException {
        RestClient client = builder.clone().requestFactory(new JdkClientHttpRequestFactory()).build();
        CancellationToken token = CancellationToken.create("caller");
        try (StuckServer server = new StuckServer(StuckServer.Mode.SILENT); Scope scope = token.bind()) {
            int deadPort = server.port();
            server.close();
            Throwable failure = catchThrowable(() -> client.get().uri("http://127.0.0.1:" + deadPort + "/x")
                .retrieve().body(String.class));
            assertThat(failure).isNotInstanceOf(CancelledException.class)
                .isInstanceOf(org.springframework.web.client.ResourceAccessException.class);
        }
        catch (java.io.IOException ex) {
            throw new IllegalStateException(ex);
        }
    }
}
