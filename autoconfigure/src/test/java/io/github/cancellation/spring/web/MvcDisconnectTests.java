package io.github.cancellation.spring.web;

import java.net.Socket;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.spring.web.MvcTestApplication.Http;
import io.github.cancellation.spring.web.MvcTestApplication.Probe;
import io.github.cancellation.spring.web.MvcTestApplication.Seen;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Client disconnect on Tomcat (or, with {@code -Pjetty}, Jetty 12 over HTTP/1.1), per handler
 * style: a raw socket sends a request and closes once the handler has started. Where the container
 * gives a signal within the window, the token is cancelled with {@code DISCONNECTED}; where it
 * gives none, nothing is faked: the token is not cancelled. Prints the detection latency of each
 * cell (for the README table). Measured (Tomcat 11.0.22; Jetty 12.1.10 with Jetty's failure
 * listener installed, see {@code JettyFailureSignal}): no signal for any style on either. Jetty
 * does not read an HTTP/1.1 connection while a request is handled, so it sees the close only when
 * a write fails; the streaming body's one-byte flushes did not fail within the window (nor, on
 * Tomcat, before its 30 s async timeout). Over HTTP/2 Jetty does report a client's stream reset:
 * see {@link JettyHttp2DisconnectTests}. Jetty runs in a profile, because with Jetty on the class
 * path Spring Boot prefers it over Tomcat and Reactor Netty in every test of the module.
 */
class MvcDisconnectTests {



    /** How long a cell waits for a signal. */
    private static final Duration WINDOW = Duration.ofSeconds(Long.getLong("cancellation.disconnect.window", 3));

    private static final Map<String, String> RESULTS = new LinkedHashMap<>();

    private static ConfigurableApplicationContext tomcat;

    /** The server Spring Boot chose: Tomcat, or Jetty with {@code -Pjetty}. */
    private static String server;

    @BeforeAll
    static void start() {
        tomcat = MvcTestApplication.run();
        server = ((WebServerApplicationContext) tomcat).getWebServer().getClass().getSimpleName();
    }

    @AfterAll
    static void stop() {
        tomcat.close();
        System.out.println("Disconnect detection: " + RESULTS);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "/wait", "/callable", "/deferred", "/future", "/streaming" })
    void closingTheSocketMidRequestShouldCancelWithDisconnectedOrNotAtAll(String path) throws Exception {
        ConfigurableApplicationContext context = tomcat;
        Http http = new Http(context);
        Probe probe = context.getBean(Probe.class);
        probe.seen.clear();
        Socket socket = http.openRaw(path);
        Seen seen = probe.next();
        long closedAt = System.nanoTime();
        socket.close();

        try {
            long cancelledAt = seen.cancelledAt.get(WINDOW.toMillis(), TimeUnit.MILLISECONDS);
            RESULTS.put(server + " " + path, TimeUnit.NANOSECONDS.toMillis(cancelledAt - closedAt) + " ms");
            assertThat(seen.reason().kind()).isEqualTo(Kind.DISCONNECTED);
        }
        catch (TimeoutException noSignal) {
            RESULTS.put(server + " " + path, "no signal within " + WINDOW.toMillis() + " ms");
            assertThat(seen.token.isCancelled()).as("no signal is faked").isFalse();
            seen.token.cancel();
        }
    }
}
