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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Client disconnect on Tomcat, per handler style: a raw socket sends a request and closes once the
 * handler has started. Where Tomcat gives a signal within the window, the token is cancelled with
 * {@code DISCONNECTED}; where it gives none, nothing is faked: the token is not cancelled. Prints
 * the detection latency of each cell (for the README table). Measured so far (Tomcat 11.0.22):
 * no signal for any style, not even a streaming body that keeps writing to the closed socket.
 */
class MvcDisconnectTests {

    /** How long a cell waits for a signal. */
    private static final Duration WINDOW = Duration.ofSeconds(Long.getLong("cancellation.disconnect.window", 3));

    private static final Map<String, String> RESULTS = new LinkedHashMap<>();

    private static ConfigurableApplicationContext context;

    private static Http http;

    private static Probe probe;

    @BeforeAll
    static void start() {
        context = MvcTestApplication.run();
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
        System.out.println("Disconnect detection on Tomcat: " + RESULTS);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "/wait", "/callable", "/deferred", "/future", "/streaming" })
    void closingTheSocketMidRequestShouldCancelWithDisconnectedOrNotAtAll(String path) throws Exception {
        Socket socket = http.openRaw(path);
        Seen seen = probe.next();
        long closedAt = System.nanoTime();
        socket.close();

        try {
            long cancelledAt = seen.cancelledAt.get(WINDOW.toMillis(), TimeUnit.MILLISECONDS);
            RESULTS.put(path, TimeUnit.NANOSECONDS.toMillis(cancelledAt - closedAt) + " ms");
            assertThat(seen.reason().kind()).isEqualTo(Kind.DISCONNECTED);
        }
        catch (TimeoutException noSignal) {
            RESULTS.put(path, "no signal within " + WINDOW.toMillis() + " ms");
            assertThat(seen.token.isCancelled()).as("no signal is faked").isFalse();
            seen.token.cancel();
        }
    }
}
