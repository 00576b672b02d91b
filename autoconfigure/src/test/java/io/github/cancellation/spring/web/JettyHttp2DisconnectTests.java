package io.github.cancellation.spring.web;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.spring.web.MvcTestApplication.Probe;
import io.github.cancellation.spring.web.MvcTestApplication.Seen;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.util.ClassUtils;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Client disconnect on Jetty 12 over HTTP/2 (cleartext, {@code server.http2.enabled=true}), per
 * handler style: the JDK {@code HttpClient} speaks HTTP/2 to the server and cancels its request
 * once the handler has started, which resets the stream ({@code RST_STREAM}). Unlike HTTP/1.1,
 * Jetty reads an HTTP/2 connection all the time, so it sees the reset and reports it through the
 * request's failure listener. Where the token is cancelled within the window it must be with
 * {@code DISCONNECTED}; where it is not, nothing is faked. Prints the detection latency of each cell
 * (the README table). Runs only with Jetty and its HTTP/2 server on the class path
 * ({@code mvn -Pjetty}).
 */
@EnabledIf("jettyHttp2Present")
class JettyHttp2DisconnectTests {

    /** How long a cell waits for a signal. */
    private static final Duration WINDOW = Duration.ofSeconds(Long.getLong("cancellation.disconnect.window", 3));

    private static final Map<String, String> RESULTS = new LinkedHashMap<>();

    private static ConfigurableApplicationContext context;

    private static HttpClient client;

    static boolean jettyHttp2Present() {
        ClassLoader loader = JettyHttp2DisconnectTests.class.getClassLoader();
        return ClassUtils.isPresent("org.eclipse.jetty.ee11.servlet.ServletContextRequest", loader)
                && ClassUtils.isPresent("org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory", loader);
    }

    @BeforeAll
    static void start() throws Exception {
        context = MvcTestApplication.run("server.http2.enabled=true");
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        // The first request upgrades the connection to HTTP/2 (h2c); the tests' requests then use it.
        HttpResponse<String> warmUp = client.send(request("/token"), HttpResponse.BodyHandlers.ofString());
        assertThat(warmUp.version()).as("the connection speaks HTTP/2").isEqualTo(HttpClient.Version.HTTP_2);
        context.getBean(Probe.class).seen.clear();
    }

    @AfterAll
    static void stop() {
        if (context != null) {
            context.close();
        }
        System.out.println("Disconnect detection (Jetty, HTTP/2 stream reset): " + RESULTS);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "/wait", "/callable", "/deferred", "/future", "/streaming" })
    void resettingTheStreamMidRequestShouldCancelWithDisconnectedOrNotAtAll(String path) throws Exception {
        assertThat(((WebServerApplicationContext) context).getWebServer().getClass().getSimpleName())
            .isEqualTo("JettyServletWebServer");
        Probe probe = context.getBean(Probe.class);
        probe.seen.clear();
        CompletableFuture<HttpResponse<Void>> response = client.sendAsync(request(path),
                HttpResponse.BodyHandlers.discarding());
        Seen seen = probe.next();
        long resetAt = System.nanoTime();
        response.cancel(true);

        try {
            long cancelledAt = seen.cancelledAt.get(WINDOW.toMillis(), TimeUnit.MILLISECONDS);
            RESULTS.put("Jetty h2c " + path, TimeUnit.NANOSECONDS.toMillis(cancelledAt - resetAt) + " ms ("
                    + seen.reason().message().orElse("") + ")");
            assertThat(seen.reason().kind()).isEqualTo(Kind.DISCONNECTED);
            assertThat(seen.reason().message()).hasValueSatisfying(
                    (message) -> assertThat(message).startsWith("client went away ("));
        }
        catch (TimeoutException noSignal) {
            RESULTS.put("Jetty h2c " + path, "no signal within " + WINDOW.toMillis() + " ms");
            assertThat(seen.token.isCancelled()).as("no signal is faked").isFalse();
            seen.token.cancel();
        }
    }

    private static HttpRequest request(String path) {
        int port = ((WebServerApplicationContext) context).getWebServer().getPort();
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(60))
            .build();
    }
}
