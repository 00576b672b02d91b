package io.github.cancellation.demo;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * End-to-end: the packaged demo runs as a real, separate JVM ({@code java -jar}) on a random port;
 * with a blocked ingest worker, a running report and a long job in flight, it is stopped by
 * SIGTERM or by {@code POST /actuator/shutdown} and must be gone within {@link #STOP_BUDGET}, every
 * task having stopped with {@code SHUTDOWN} and the drain reporting no straggler. The negative
 * control runs the seed's "Bad" ingest loop ({@code demo.bad-ingest=true}) and shows that the same
 * check fails for it.
 */
class GracefulShutdownIT {

    /** The budget from the stop request to the end of the process. */
    private static final Duration STOP_BUDGET = Duration.ofSeconds(2);

    /** What a JVM reports when SIGTERM ended it after its shutdown hooks ran: 128 + 15. */
    private static final int SIGTERM_EXIT_STATUS = 143;

    /** The report sits in its first step (30 s long) while the process is stopped. */
    private static final String[] IN_FLIGHT_SETTINGS = { "--demo.report.initial-delay=0s",
            "--demo.report.step-time=30s", "--demo.report.interval=1h" };

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
    void killLeftovers() {
        if (demo != null) {
            demo.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "baseline", "java25", "java25-virtual-threads", "aot" })
    void sigtermStopsEveryTaskWithShutdownWithinTwoSeconds(String platformId) throws Exception {
        Platform platform = Platform.byId(platformId);
        demo = DemoProcess.start("sigterm-" + platform, platform, IN_FLIGHT_SETTINGS);
        runsOn(platform);
        createInFlightWork();
        showsCallerCancellation();
        HttpResponse<String> metrics = demo.get("/actuator/prometheus");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("demo_ingest_processed_items_total");

        long start = System.nanoTime();
        demo.sigterm();
        boolean exited = demo.process().waitFor(STOP_BUDGET.toMillis(), TimeUnit.MILLISECONDS);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(exited).as("the demo exited within %s of SIGTERM", STOP_BUDGET).isTrue();
        System.out.printf("SIGTERM: the demo exited %d ms after SIGTERM, exit status %d%n", millis,
                demo.process().exitValue());
        assertThat(demo.process().exitValue()).as("exit status after SIGTERM").isEqualTo(SIGTERM_EXIT_STATUS);
        assertGracefulStop();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "baseline", "java25", "java25-virtual-threads", "aot" })
    void actuatorShutdownStopsEveryTaskWithShutdownAndTheProcessExitsOnItsOwn(String platformId) throws Exception {
        Platform platform = Platform.byId(platformId);
        demo = DemoProcess.start("actuator-shutdown-" + platform, platform, concat(IN_FLIGHT_SETTINGS,
                "--management.endpoints.web.exposure.include=health,cancellation,shutdown",
                "--management.endpoint.shutdown.access=unrestricted"));
        runsOn(platform);
        createInFlightWork();

        long start = System.nanoTime();
        HttpResponse<String> shutdown = demo.post("/actuator/shutdown");
        assertThat(shutdown.statusCode()).isEqualTo(200);
        boolean exited = demo.process().waitFor(STOP_BUDGET.toMillis(), TimeUnit.MILLISECONDS);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(exited).as("the demo exited on its own within %s of POST /actuator/shutdown", STOP_BUDGET)
            .isTrue();
        System.out.printf("POST /actuator/shutdown: the demo exited on its own %d ms after the request "
                + "(Boot's shutdown endpoint waits 500 ms before closing), exit status %d%n", millis,
                demo.process().exitValue());
        assertThat(demo.process().exitValue()).as("exit status after /actuator/shutdown").isZero();
        assertGracefulStop();
    }

    @Test
    void negativeControlTheBadIngestLoopIsStillRunningWhenTheBudgetIsUp() throws Exception {
        // The drain timeout of application.yml, written out: the bad loop holds the shutdown this long
        // (and then Spring's executor phase waits up to spring.lifecycle.timeout-per-shutdown-phase).
        demo = DemoProcess.start("bad-ingest", concat(IN_FLIGHT_SETTINGS, "--demo.bad-ingest=true",
                "--cancellation.shutdown.drain-timeout=5s"));
        demo.awaitLine("BAD ingest worker started");
        assertThat(demo.post("/ingest?item=order-1").statusCode()).isEqualTo(202);
        demo.awaitLine("bad ingest worker processed 'order-1'"); // and back in queue.take()

        demo.sigterm();
        boolean exited = demo.process().waitFor(STOP_BUDGET.toMillis(), TimeUnit.MILLISECONDS);

        assertThat(exited).as("the bad ingest loop holds the shutdown").isFalse();
        assertThat(demo.process().isAlive()).isTrue();
        assertThat(demo.lines()).anyMatch(line -> line.contains("application token cancelled (SHUTDOWN"))
            .noneMatch(line -> line.contains("Shutdown drain: cancelled 'application'; the "));
        demo.print(demo.linesFrom("Commencing graceful shutdown"));
        System.out.println("NEGATIVE CONTROL failed as expected: with demo.bad-ingest=true the demo is still "
                + "running " + STOP_BUDGET.toMillis() + " ms after SIGTERM (a plain boolean flag cannot wake "
                + "queue.take(); the drain waits for its timeout); killing it");
        demo.process().destroyForcibly();
        assertThat(demo.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
    }

    /** The demo really runs on the platform: its Java version, and virtual or platform threads. */
    private void runsOn(Platform platform) {
        // Spring Boot says "Starting AOT-processed DemoApplication" when it runs the generated initializers.
        demo.awaitLine("Starting " + (platform.aotMode() ? "AOT-processed " : "") + "DemoApplication .*using Java "
                + platform.javaFeature() + "[.\\s]");
        String thread = demo.awaitLine("ingest worker started under token 'ingestWorker.run' on (\\S+)").group(1);
        assertThat(thread).as("the thread of the @Async ingest worker on %s", platform)
            .startsWith(platform.expectedThread());
    }

    /** A blocked ingest worker, a running report and a long job. */
    private void createInFlightWork() throws IOException {
        assertThat(demo.post("/ingest?item=order-1").statusCode()).isEqualTo(202);
        demo.awaitLine("ingest worker processed 'order-1'"); // then blocked in take() again
        demo.awaitLine("report #1 step 1/4: load orders");
        HttpResponse<String> job = demo.post("/jobs?seconds=60");
        assertThat(job.statusCode()).isEqualTo(202);
        assertThat(job.body()).contains("\"id\":1", "\"state\":\"RUNNING\"");
        demo.awaitLine("job 1 started");

        HttpResponse<String> tree = demo.get("/actuator/cancellation");
        assertThat(tree.statusCode()).isEqualTo(200);
        assertThat(tree.body()).contains("\"ingestWorker.run\"", "\"reportJob.report\"", "\"jobService.run\"");
    }

    /** DELETE /jobs/{id} cancels the caller's token: the job stops with CALLER. */
    private void showsCallerCancellation() throws IOException {
        assertThat(demo.post("/jobs?seconds=60").body()).contains("\"id\":2");
        demo.awaitLine("job 2 started");
        HttpResponse<String> cancelled = demo.delete("/jobs/2");
        assertThat(cancelled.statusCode()).isEqualTo(200);
        assertThat(cancelled.body()).contains("\"state\":\"CANCELLED\"", "CALLER", "caller token 'job-2'");
        demo.awaitLine("job 2 stopped after \\d+/60 s: CALLER");
    }

    private void assertGracefulStop() throws InterruptedException {
        demo.awaitOutputEnd();
        List<String> stop = demo.linesFrom("Commencing graceful shutdown");
        demo.print(stop);
        assertThat(stop).as("the log of the stop").isNotEmpty();
        assertThat(stop).anyMatch(matches("application token cancelled \\(SHUTDOWN at application"))
            .anyMatch(matches("ingest worker stopped: SHUTDOWN at application"))
            .anyMatch(matches("report #1 stopped at step 1/4 \\(load orders\\): SHUTDOWN at application"))
            .anyMatch(matches("job 1 stopped after \\d+/60 s: SHUTDOWN at application"))
            .anyMatch(matches("Shutdown drain: cancelled 'application'; the 3 tracked task\\(s\\) in flight "
                    + "ended in \\d+ ms"));
        assertThat(stop).filteredOn(matches(" stopped( |:)"))
            .as("every task stopped with SHUTDOWN")
            .hasSize(3)
            .allMatch(matches("SHUTDOWN at application"));
        assertThat(demo.lines()).as("no straggler")
            .noneMatch(line -> line.toLowerCase().contains("straggler"))
            .noneMatch(line -> line.contains("still running after the drain timeout"));
    }

    private static java.util.function.Predicate<String> matches(String regex) {
        Pattern pattern = Pattern.compile(regex);
        return line -> pattern.matcher(line).find();
    }

    private static String[] concat(String[] first, String... more) {
        String[] all = new String[first.length + more.length];
        System.arraycopy(first, 0, all, 0, first.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }
}
