package io.github.cancellation.spring;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.task.TaskExecutionAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.annotation.Async;
import org.springframework.scheduling.annotation.EnableAsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * 10,000 {@code @Async} invocations, each with its own id in its arguments and in its caller's
 * token name, plain, cancelled by their caller's token or through their future, add no meter id:
 * tags stay bounded. {@code cancellation.tokens.active} and {@code cancellation.tasks.active}
 * return to their baseline afterwards.
 */
class CancellationMetricsCardinalityTests {

    private static final int INVOCATIONS = 10_000;

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(MetricsAutoConfiguration.class,
                SimpleMetricsExportAutoConfiguration.class, CancellationAutoConfiguration.class,
                CancellationAsyncAutoConfiguration.class, TaskExecutionAutoConfiguration.class,
                CancellationMetricsAutoConfiguration.class))
        .withPropertyValues("spring.task.execution.mode=force")
        .withUserConfiguration(NumberWorkerConfiguration.class);

    @Test
    void tenThousandInvocationsShouldAddNoMeterIdAndLeaveTheGaugesAtTheirBaseline() {
        contextRunner.run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            NumberWorker worker = context.getBean(NumberWorker.class);
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            invoke(worker, 0, 100); // every kind of invocation once, so that its meters exist
            awaitQuiet(tracker, registry, 1);
            Set<String> before = ids(registry);
            double tokensBefore = tokensActive(registry);
            int tasksBefore = tasksActive(registry);
            System.out.println("Meter ids before " + INVOCATIONS + " @Async invocations (" + before.size() + "), "
                    + "cancellation.tokens.active=" + tokensBefore + ", cancellation.tasks.active=" + tasksBefore
                    + ":\n  " + String.join("\n  ", before));

            long start = System.nanoTime();
            invoke(worker, 100, INVOCATIONS);
            awaitQuiet(tracker, registry, tokensBefore);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            Set<String> after = ids(registry);
            System.out.println("Meter ids after " + INVOCATIONS + " @Async invocations in " + millis + " ms ("
                    + after.size() + "), cancellation.tokens.active=" + tokensActive(registry)
                    + ", cancellation.tasks.active=" + tasksActive(registry) + ", responses="
                    + registry.get(CancellationMetrics.TASKS_RESPONSE).tag("outcome", "completed").timer().count()
                    + ", cancellation.tokens.cancelled=" + CancellationMetricsAutoConfigurationTests.cancelled(registry)
                    + ":\n  " + String.join("\n  ", after));
            assertThat(after).isEqualTo(before);
            assertThat(tokensActive(registry)).isEqualTo(tokensBefore).isEqualTo(1.0); // the worker's bean token
            assertThat(tasksActive(registry)).isEqualTo(tasksBefore).isZero();
            assertThat(CancellationMetricsAutoConfigurationTests.cancelled(registry).get("CALLER"))
                .as("at least every invocation whose caller's token was cancelled before the call, at most every "
                        + "one cancelled by its caller")
                .isBetween((INVOCATIONS + 100) / 4.0, (INVOCATIONS + 100) * 3 / 4.0);
        });
    }

    /**
     * Invokes the worker {@code count} times: plain; with a caller's token cancelled after the
     * call; with its future cancelled at once; with a caller's token already cancelled. Waits for
     * every future.
     */
    private static void invoke(NumberWorker worker, int first, int count) throws Exception {
        List<CompletableFuture<?>> futures = new ArrayList<>(count);
        for (int id = first; id < first + count; id++) {
            switch (id % 4) {
                case 0 -> futures.add(worker.square(id, null));
                case 1 -> {
                    CancellationToken caller = CancellationToken.create("caller-" + id);
                    futures.add(worker.square(id, caller));
                    caller.cancel();
                }
                case 2 -> {
                    CompletableFuture<Long> future = worker.square(id, null);
                    future.cancel(true);
                    futures.add(future);
                }
                default -> {
                    CancellationToken caller = CancellationToken.create("caller-" + id);
                    caller.cancel();
                    futures.add(worker.square(id, caller));
                }
            }
        }
        CompletableFuture.allOf(futures.stream().map(future -> future.handle((value, failure) -> value))
            .toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    }

    private static void awaitQuiet(CancellationTaskTracker tracker, MeterRegistry registry, double tokens) {
        await().atMost(30, TimeUnit.SECONDS)
            .until(() -> tracker.activeCount() == 0 && tasksActive(registry) == 0 && tokensActive(registry) == tokens);
    }

    private static Set<String> ids(MeterRegistry registry) {
        return registry.getMeters().stream().map(Meter::getId)
            .map(id -> id.getName() + id.getTags().stream().map(tag -> tag.getKey() + "=" + tag.getValue())
                .collect(Collectors.joining(",", "{", "}")) + " " + id.getType())
            .collect(Collectors.toCollection(TreeSet::new));
    }

    private static double tokensActive(MeterRegistry registry) {
        return registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value();
    }

    private static int tasksActive(MeterRegistry registry) {
        return registry.find(CancellationMetrics.TASKS_ACTIVE).longTaskTimers().stream()
            .mapToInt(timer -> timer.activeTasks()).sum();
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAsync
    static class NumberWorkerConfiguration {

        @Bean
        NumberWorker numberWorker(CancellationToken token) {
            return new NumberWorker(token);
        }
    }

    static class NumberWorker {

        private final CancellationToken token;

        NumberWorker(CancellationToken token) {
            this.token = token;
        }

        /** A short piece of work that stops when its invocation token is cancelled. */
        @Async
        public CompletableFuture<Long> square(long id, @Nullable CancellationToken caller) {
            CancellationToken invocation = CancellationToken.current();
            if (invocation.isCancelled() || token.isCancelled()) {
                throw new CancelledException(invocation.reason().orElseThrow());
            }
            return CompletableFuture.completedFuture(id * id);
        }
    }
}
