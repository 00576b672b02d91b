package io.github.cancellation.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * A {@code @Scheduled} report in four steps. Each execution runs under a fresh token of its own
 * ({@code reportJob.report}, bound by the starter as {@link CancellationToken#current()}); the job
 * checks it between steps, runs each step's blocking work through {@code token.call(...)} so that
 * a step wakes up on cancellation, and removes its partial output when cancelled. Once the
 * application is shutting down, the starter starts no new execution.
 */
@Component
public class ReportJob {

    private static final Logger logger = LoggerFactory.getLogger(ReportJob.class);

    private static final List<String> STEPS = List.of("load orders", "aggregate totals", "render", "publish");

    private final AtomicInteger runs = new AtomicInteger();

    private final DemoProperties properties;

    ReportJob(DemoProperties properties) {
        this.properties = properties;
    }

    /**
     * Builds one report into a temporary file, step by step, and publishes it.
     */
    @Scheduled(initialDelayString = "${demo.report.initial-delay:5s}", fixedDelayString = "${demo.report.interval:15s}")
    public void report() {
        CancellationToken token = CancellationToken.current();
        int run = runs.incrementAndGet();
        Path partial = createPartial(run);
        int step = 0;
        try {
            for (String name : STEPS) {
                token.throwIfCancelled(); // between steps: stop before starting the next one
                step++;
                logger.info("report #{} step {}/{}: {}", run, step, STEPS.size(), name);
                String line = token.call(() -> runStep(name)); // the step's blocking work wakes up on cancel
                Files.writeString(partial, line + System.lineSeparator(), StandardOpenOption.APPEND);
            }
            logger.info("report #{} published ({} steps)", run, STEPS.size());
        }
        catch (CancelledException ex) {
            logger.info("report #{} stopped at step {}/{} ({}): {}; partial output removed", run, step, STEPS.size(),
                    STEPS.get(Math.max(step - 1, 0)), Reasons.describe(ex.reason()));
        }
        catch (Exception ex) {
            logger.warn("report #{} failed at step {}/{}", run, step, STEPS.size(), ex);
        }
        finally {
            deleteQuietly(partial); // published or not, the staging file goes
        }
    }

    private String runStep(String name) throws InterruptedException {
        Thread.sleep(properties.report().stepTime().toMillis()); // stands for a query, an HTTP call, a render
        return name + ": ok";
    }

    private static Path createPartial(int run) {
        try {
            return Files.createTempFile("cancellation-demo-report-" + run + "-", ".partial");
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        }
        catch (IOException ex) {
            logger.warn("could not delete {}", path, ex);
        }
    }
}
