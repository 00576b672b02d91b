package io.github.cancellation.spring;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationToken;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.task.TaskExecutionAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.annotation.Async;
import org.springframework.scheduling.annotation.EnableAsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A shutdown with 50 cooperative {@code @Async} invocations and one straggler records the drain
 * time, one straggler for the right task, 50 responses with outcome {@code completed}, and exactly
 * one {@code SHUTDOWN} cancellation, although the application token has a bean token and 51
 * invocation tokens below it; the drain logs one summary line.
 */
@ExtendWith(OutputCaptureExtension.class)
class CancellationMetricsShutdownTests {

    private static final int COOPERATIVE = 50;

    private static final String COOPERATIVE_TASK = "shutdownWorker.cooperative";

    private static final String STUBBORN_TASK = "shutdownWorker.stubborn";

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(MetricsAutoConfiguration.class,
                SimpleMetricsExportAutoConfiguration.class, CancellationAutoConfiguration.class,
                CancellationAsyncAutoConfiguration.class, TaskExecutionAutoConfiguration.class,
                CancellationMetricsAutoConfiguration.class))
        .withPropertyValues("spring.task.execution.mode=force", "spring.task.execution.pool.core-size=64")
        .withUserConfiguration(ShutdownWorkerConfiguration.class);

    @Test
    void shutdownWithOneStragglerShouldRecordTheDrainTheStragglerAndFiftyResponses(CapturedOutput output) {
        contextRunner.withPropertyValues("cancellation.shutdown.drain-timeout=300ms").run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            shutDownWithOneStraggler(context, registry);

            Timer drain = registry.get(CancellationMetrics.SHUTDOWN_DRAIN).timer();
            double stragglers = registry.get(CancellationMetrics.SHUTDOWN_STRAGGLERS).tag("task", STUBBORN_TASK)
                .counter().count();
            double otherStragglers = registry.get(CancellationMetrics.SHUTDOWN_STRAGGLERS).tag("task", COOPERATIVE_TASK)
                .counter().count();
            Timer completed = response(registry, COOPERATIVE_TASK, CancellationMetrics.OUTCOME_COMPLETED);
            Timer straggler = response(registry, STUBBORN_TASK, CancellationMetrics.OUTCOME_STRAGGLER);
            Timer stubbornCompleted = response(registry, STUBBORN_TASK, CancellationMetrics.OUTCOME_COMPLETED);
            System.out.println("Shutdown with " + COOPERATIVE + " cooperative tasks and 1 straggler:"
                    + "\n  " + CancellationMetrics.SHUTDOWN_DRAIN + ": count " + drain.count() + ", total "
                    + drain.totalTime(TimeUnit.MILLISECONDS) + " ms"
                    + "\n  " + CancellationMetrics.SHUTDOWN_STRAGGLERS + "{task=" + STUBBORN_TASK + "}: " + stragglers
                    + ", {task=" + COOPERATIVE_TASK + "}: " + otherStragglers
                    + "\n  " + CancellationMetrics.TASKS_RESPONSE + "{task=" + COOPERATIVE_TASK
                    + ",outcome=completed}: count " + completed.count() + ", max "
                    + completed.max(TimeUnit.MILLISECONDS) + " ms, mean " + completed.mean(TimeUnit.MILLISECONDS) + " ms"
                    + "\n  " + CancellationMetrics.TASKS_RESPONSE + "{task=" + STUBBORN_TASK
                    + ",outcome=straggler}: count " + straggler.count() + ", total "
                    + straggler.totalTime(TimeUnit.MILLISECONDS) + " ms; outcome=completed: count "
                    + stubbornCompleted.count()
                    + "\n  " + CancellationMetrics.TOKENS_CANCELLED + ": "
                    + CancellationMetricsAutoConfigurationTests.cancelled(registry)
                    + "\n  " + CancellationMetrics.TOKENS_ACTIVE + ": "
                    + registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value()
                    + ", " + CancellationMetrics.TASKS_ACTIVE + ": " + tasksActive(registry));

            assertThat(drain.count()).isOne();
            assertThat(drain.totalTime(TimeUnit.MILLISECONDS)).as("waited the drain timeout").isBetween(300.0, 5_000.0);
            assertThat(stragglers).isOne();
            assertThat(otherStragglers).isZero();
            assertThat(completed.count()).isEqualTo(COOPERATIVE);
            assertThat(completed.max(TimeUnit.MILLISECONDS)).isLessThan(300.0);
            assertThat(straggler.count()).isOne();
            assertThat(straggler.totalTime(TimeUnit.MILLISECONDS)).isBetween(300.0, 5_000.0);
            assertThat(stubbornCompleted.count()).as("a straggler's response is recorded once").isZero();
            assertThat(CancellationMetricsAutoConfigurationTests.cancelled(registry))
                .as("one SHUTDOWN, not one per descendant")
                .containsEntry("SHUTDOWN", 1.0)
                .containsEntry("MANUAL", 0.0)
                .containsEntry("CALLER", 0.0)
                .containsEntry("ACTUATOR", 0.0)
                .containsEntry("TIMEOUT", 0.0);
            assertThat(registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value()).isZero();
            assertThat(tasksActive(registry)).isZero();
            assertThat(output.getOut().lines().filter(line -> line.contains("Shutdown drain: cancelled")))
                .singleElement()
                .satisfies(line -> assertThat(line).contains("1 straggler(s) still running after",
                        COOPERATIVE + " of the " + (COOPERATIVE + 1) + " tracked task(s) in flight ended"));
        });
    }

    @Test
    void prometheusShouldShowTheMetersAfterAShutdownWithOneStraggler() {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        contextRunner.withPropertyValues("cancellation.shutdown.drain-timeout=1s")
            .withBean(PrometheusMeterRegistry.class, () -> prometheus)
            .run(context -> {
                shutDownWithOneStraggler(context, prometheus);
                List<String> lines = prometheus.scrape().lines()
                    .filter(line -> line.startsWith("cancellation_") || line.startsWith("# HELP cancellation_")
                            || line.startsWith("# TYPE cancellation_"))
                    .toList();
                System.out.println("Prometheus after a shutdown with one straggler:\n" + String.join("\n", lines));
                assertThat(lines).contains("cancellation_tokens_cancelled_tokens_total{kind=\"SHUTDOWN\"} 1.0",
                        "cancellation_shutdown_stragglers_tasks_total{task=\"" + STUBBORN_TASK + "\"} 1.0",
                        "cancellation_shutdown_drain_seconds_count 1",
                        "cancellation_tasks_response_seconds_count{outcome=\"completed\",task=\"" + COOPERATIVE_TASK
                                + "\"} " + COOPERATIVE,
                        "cancellation_tasks_response_seconds_count{outcome=\"straggler\",task=\"" + STUBBORN_TASK
                                + "\"} 1",
                        "cancellation_tokens_active_tokens 0.0");
            });
    }

    /**
     * Starts 50 cooperative invocations and one that ignores its token, closes the context on
     * another thread, lets the straggler go once the drain has been recorded, and waits for the
     * close to end.
     */
    private static void shutDownWithOneStraggler(AssertableApplicationContext context, MeterRegistry registry)
            throws InterruptedException {
        ShutdownWorker worker = context.getBean(ShutdownWorker.class);
        CountDownLatch started = new CountDownLatch(COOPERATIVE + 1);
        CountDownLatch release = new CountDownLatch(1);
        for (int i = 0; i < COOPERATIVE; i++) {
            worker.cooperative(started);
        }
        worker.stubborn(started, release);
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        Thread closer = new Thread(context::close, "closer");
        closer.start();
        try {
            await().atMost(Duration.ofSeconds(10))
                .until(() -> registry.get(CancellationMetrics.SHUTDOWN_DRAIN).timer().count() == 1);
        }
        finally {
            release.countDown();
            closer.join(TimeUnit.SECONDS.toMillis(10));
        }
        assertThat(closer.isAlive()).as("the close ended").isFalse();
    }

    private static Timer response(MeterRegistry registry, String task, String outcome) {
        return registry.get(CancellationMetrics.TASKS_RESPONSE)
            .tags(CancellationMetrics.TAG_TASK, task, CancellationMetrics.TAG_OUTCOME, outcome)
            .timer();
    }

    private static int tasksActive(MeterRegistry registry) {
        return registry.find(CancellationMetrics.TASKS_ACTIVE).longTaskTimers().stream()
            .mapToInt(timer -> timer.activeTasks()).sum();
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAsync
    static class ShutdownWorkerConfiguration {

        @Bean
        ShutdownWorker shutdownWorker(CancellationToken token) {
            return new ShutdownWorker(token);
        }
    }

    static class ShutdownWorker {

        private final CancellationToken token;

        ShutdownWorker(CancellationToken token) {
            this.token = token;
        }

        /** Waits for its invocation token, then returns: stops as soon as it is told to. */
        @Async
        public void cooperative(CountDownLatch started) throws InterruptedException {
            started.countDown();
            CancellationToken.current().await();
        }

        /** Ignores its token and waits for the test to release it: a straggler. */
        @Async
        public void stubborn(CountDownLatch started, CountDownLatch release) throws InterruptedException {
            started.countDown();
            release.await();
        }

        @Override
        public String toString() {
            return "ShutdownWorker[" + token.name() + "]";
        }
    }
}
