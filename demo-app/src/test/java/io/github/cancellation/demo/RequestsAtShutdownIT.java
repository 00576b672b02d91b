package io.github.cancellation.demo;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * End-to-end, on the packaged demo (baseline platform): two requests are in flight when the process
 * gets SIGTERM. The short one ({@code /pricing}, 1 s of work) finishes within the shutdown grace
 * and answers {@code 200}; the long one ({@code /report} over a trillion rows: an H2 query that
 * would run for hours, cancelled through the request token) is cancelled with {@code SHUTDOWN} when
 * the grace has passed and answers {@code 503} as a {@code ProblemDetail}; then the process exits.
 *
 * <p>Margins. The grace timer starts when the web server's graceful shutdown begins, a few
 * milliseconds after SIGTERM reaches the JVM (signal delivery, the shutdown hook's start, the
 * lifecycle phases above the web server's); after the grace, the query's cancel, H2's answer to it
 * and the 503 take milliseconds. {@link #ANSWER_MARGIN} (1 s) covers all of these on a loaded
 * 2-core machine with room to spare, yet is far below what a request that ignored its token would
 * take (the demo's 30 s cap). After the long answer, the rest of the shutdown (application token,
 * drain of the demo's tasks, JVM exit) took some 100 ms in GracefulShutdownIT;
 * {@link #EXIT_MARGIN} allows 1.5 s.
 */
class RequestsAtShutdownIT {

    /** {@code cancellation.web.shutdown-grace} for this test. */
    private static final Duration GRACE = Duration.ofSeconds(2);

    /** The short request's work: half the grace, so it ends before the grace does. */
    private static final long SHORT_MILLIS = 1000;

    /** From SIGTERM, the long request must have answered by grace + this. */
    private static final Duration ANSWER_MARGIN = Duration.ofSeconds(1);

    /** From the long request's answer, the process must have exited by this. */
    private static final Duration EXIT_MARGIN = Duration.ofMillis(1500);

    /** What a JVM reports when SIGTERM ended it after its shutdown hooks ran: 128 + 15. */
    private static final int SIGTERM_EXIT_STATUS = 143;

    private DemoProcess demo;

    @RegisterExtension
    final TestWatcher dumpOnFailure = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            if (demo != null) {
                demo.dump();
            }
        }
    };

    @AfterEach
    void stop() {
        if (demo != null) {
            demo.close();
        }
    }

    @Test
    void sigtermLetsTheShortRequestFinishAndAnswersTheLongOneWith503AfterTheGrace() throws Exception {
        demo = DemoProcess.start("requests-at-shutdown", "--demo.report.initial-delay=1h",
                "--cancellation.web.shutdown-grace=" + GRACE.toMillis() + "ms");
        Duration clientTimeout = GRACE.plus(Duration.ofSeconds(30));

        CompletableFuture<HttpResponse<String>> longRequest = demo.getAsync("/report?rows=1000000000000",
                clientTimeout);
        demo.awaitLine("report of 1000000000000 rows started under token 'request', \\d+ ms left");
        CompletableFuture<HttpResponse<String>> shortRequest = demo.getAsync("/pricing?millis=" + SHORT_MILLIS,
                clientTimeout);
        demo.awaitLine("pricing started with Request-Timeout absent");

        long sigtermAt = System.nanoTime();
        demo.sigterm();
        long[] answeredAt = new long[2];
        CompletableFuture<Void> longDone = longRequest.thenRun(() -> answeredAt[0] = System.nanoTime());
        CompletableFuture<Void> shortDone = shortRequest.thenRun(() -> answeredAt[1] = System.nanoTime());

        HttpResponse<String> shortAnswer = shortRequest.get(clientTimeout.toMillis(), TimeUnit.MILLISECONDS);
        HttpResponse<String> longAnswer = longRequest.get(clientTimeout.toMillis(), TimeUnit.MILLISECONDS);
        longDone.get(1, TimeUnit.SECONDS);
        shortDone.get(1, TimeUnit.SECONDS);
        boolean exited = demo.process().waitFor(EXIT_MARGIN.plus(Duration.ofSeconds(30)).toMillis(),
                TimeUnit.MILLISECONDS);
        long exitedAt = System.nanoTime();
        assertThat(exited).as("the demo exited").isTrue();

        long shortMillis = millis(sigtermAt, answeredAt[1]);
        long longMillis = millis(sigtermAt, answeredAt[0]);
        long exitMillis = millis(sigtermAt, exitedAt);
        System.out.printf("Requests at SIGTERM (shutdown-grace %d ms): short request (%d ms of work) answered %d "
                + "%d ms after SIGTERM; long request answered %d %d ms after SIGTERM; process exited %d ms after "
                + "SIGTERM (%d ms after the long answer), exit status %d%n", GRACE.toMillis(), SHORT_MILLIS,
                shortAnswer.statusCode(), shortMillis, longAnswer.statusCode(), longMillis, exitMillis,
                exitMillis - longMillis, demo.process().exitValue());

        assertThat(shortAnswer.statusCode()).as("the short request, in flight at SIGTERM").isEqualTo(200);
        assertThat(shortAnswer.body()).startsWith("priced");
        assertThat(shortMillis).as("the short request was still in flight when SIGTERM was sent").isPositive();

        assertThat(longAnswer.statusCode()).as("the long request, cancelled after the grace").isEqualTo(503);
        assertThat(longAnswer.headers().firstValue("Content-Type")).hasValueSatisfying(
                (type) -> assertThat(type).contains("application/problem+json"));
        assertThat(longAnswer.body()).contains("\"status\":503");
        assertThat(longMillis).as("the long request answered after the grace, not before")
            .isGreaterThanOrEqualTo(GRACE.toMillis());
        assertThat(longMillis).as("the long request answered within the grace + %s of SIGTERM", ANSWER_MARGIN)
            .isLessThanOrEqualTo(GRACE.plus(ANSWER_MARGIN).toMillis());
        assertThat(exitMillis - longMillis).as("the process exited within %s of the long answer", EXIT_MARGIN)
            .isLessThanOrEqualTo(EXIT_MARGIN.toMillis());
        assertThat(demo.process().exitValue()).as("exit status after SIGTERM").isEqualTo(SIGTERM_EXIT_STATUS);

        demo.awaitOutputEnd();
        List<String> stop = demo.linesFrom("Commencing graceful shutdown");
        demo.print(stop);
        assertThat(stop).as("the log from the start of the graceful shutdown on")
            .anyMatch((line) -> line.matches(".*report of 1000000000000 rows stopped: SHUTDOWN at \\S+: "
                    + "shutdown grace of 2s \\(cancellation\\.web\\.shutdown-grace\\) passed.*"))
            .anyMatch((line) -> line.contains("Graceful shutdown complete"));
    }

    private static long millis(long from, long to) {
        return TimeUnit.NANOSECONDS.toMillis(to - from);
    }
}
