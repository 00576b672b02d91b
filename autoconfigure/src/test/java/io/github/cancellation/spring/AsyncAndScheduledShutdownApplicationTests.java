package io.github.cancellation.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.boot.Banner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.core.type.AnnotationMetadata;
import org.springframework.scheduling.annotation.Async;
import org.springframework.scheduling.annotation.EnableAsync;
import org.springframework.scheduling.annotation.EnableScheduling;
import org.springframework.scheduling.annotation.Scheduled;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * A real {@link SpringApplication} (non-web, auto-configuration as users get it) with 1,000
 * {@code @Async} invocations and 20 {@code @Scheduled} executions in flight, all waiting on their
 * tokens: closing the context cancels every one with kind {@code SHUTDOWN}, loses none, completes
 * the futures as cancelled and takes well under a second.
 */
@ExtendWith(OutputCaptureExtension.class)
class AsyncAndScheduledShutdownApplicationTests {

    private static final int INVOCATIONS = 1000;

    private static final int JOBS = 20;

    @Test
    void thousandInvocationsAndTwentyExecutionsShouldAllStopWithShutdownWhenTheContextCloses(CapturedOutput output)
            throws InterruptedException {
        ConfigurableApplicationContext context = run("--spring.task.execution.pool.core-size=" + INVOCATIONS,
                "--spring.task.scheduling.pool.size=" + JOBS);
        Probe probe = context.getBean(Probe.class);
        Waiter waiter = context.getBean(Waiter.class);
        List<CompletableFuture<Void>> futures = new ArrayList<>(INVOCATIONS);
        for (int i = 0; i < INVOCATIONS; i++) {
            futures.add(waiter.waitForCancellation());
        }
        assertThat(probe.invocationsRunning.await(30, TimeUnit.SECONDS)).as("all invocations running").isTrue();
        assertThat(probe.executionsRunning.await(30, TimeUnit.SECONDS)).as("all executions running").isTrue();
        CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
        assertThat(tracker.activeCount()).as("each tracked once").isEqualTo(INVOCATIONS + JOBS);
        assertThat(tracker.tasks()).extracting(TrackedTask::name)
            .filteredOn("waiter.waitForCancellation"::equals).hasSize(INVOCATIONS);

        long start = System.nanoTime();
        context.close();
        Duration closeTime = Duration.ofNanos(System.nanoTime() - start);

        System.out.println("Closed the application with " + INVOCATIONS + " @Async invocations and " + JOBS
                + " @Scheduled executions in flight in " + closeTime.toMillis() + " ms; started " + probe.started
                + ", completed " + probe.completed + ", kinds seen " + probe.kinds);
        assertThat(closeTime).isLessThan(Duration.ofSeconds(3));
        assertThat(output).contains("the " + (INVOCATIONS + JOBS) + " tracked task(s) in flight ended")
            .doesNotContain("straggler")
            .doesNotContain("Unexpected error occurred");
        assertThat(probe.started).hasValue(INVOCATIONS + JOBS);
        assertThat(probe.completed).as("started = completed + stragglers (none)").hasValue(INVOCATIONS + JOBS);
        assertThat(probe.kinds).containsExactly(Map.entry(Kind.SHUTDOWN, INVOCATIONS + JOBS));
        // The drain ends when the last method has returned; its future completes a moment later.
        await().atMost(Duration.ofSeconds(5)).until(() -> futures.stream().allMatch(CompletableFuture::isDone));
        assertThat(futures).allSatisfy(future -> {
            assertThat(future).isCancelled();
            assertThatExceptionOfType(CancellationException.class).isThrownBy(future::join)
                .isInstanceOfSatisfying(CancelledException.class,
                        cancelled -> assertThat(cancelled.reason().kind()).isEqualTo(Kind.SHUTDOWN));
        });
        assertThat(tracker.activeCount()).isZero();
    }

    private static ConfigurableApplicationContext run(String... args) {
        SpringApplication application = new SpringApplication(WaitingApplication.class);
        application.setWebApplicationType(WebApplicationType.NONE);
        application.setBannerMode(Banner.Mode.OFF);
        application.setRegisterShutdownHook(false);
        return application.run(args);
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    @EnableAsync
    @EnableScheduling
    @Import(TwentyJobs.class)
    static class WaitingApplication {

        @Bean
        Probe probe() {
            return new Probe();
        }

        @Bean
        Waiter waiter(Probe probe) {
            return new Waiter(probe);
        }
    }

    /** What the invocations and executions saw. */
    static class Probe {

        final CountDownLatch invocationsRunning = new CountDownLatch(INVOCATIONS);

        final CountDownLatch executionsRunning = new CountDownLatch(JOBS);

        final AtomicInteger started = new AtomicInteger();

        final AtomicInteger completed = new AtomicInteger();

        final Map<Kind, Integer> kinds = new ConcurrentHashMap<>();

        /** Waits for the current token to be cancelled, records its kind, and throws. */
        void waitForCancellation(CountDownLatch running) throws InterruptedException {
            started.incrementAndGet();
            CancellationToken token = CancellationToken.current();
            running.countDown();
            try {
                token.await();
                kinds.merge(token.reason().map(CancellationReason::kind).orElseThrow(), 1, Integer::sum);
            }
            finally {
                completed.incrementAndGet();
            }
            token.throwIfCancelled();
        }
    }

    static class Waiter {

        private final Probe probe;

        Waiter(Probe probe) {
            this.probe = probe;
        }

        @Async
        public CompletableFuture<Void> waitForCancellation() throws InterruptedException {
            probe.waitForCancellation(probe.invocationsRunning);
            return CompletableFuture.completedFuture(null);
        }
    }

    /** One of the twenty jobs: runs once at start-up and waits on its token. */
    static class WaitingJob {

        private final Probe probe;

        WaitingJob(Probe probe) {
            this.probe = probe;
        }

        @Scheduled(fixedDelay = 1, timeUnit = TimeUnit.HOURS)
        void run() throws InterruptedException {
            probe.waitForCancellation(probe.executionsRunning);
        }
    }

    /** Registers the jobs {@code job0} to {@code job19}. */
    static class TwentyJobs implements ImportBeanDefinitionRegistrar {

        @Override
        public void registerBeanDefinitions(AnnotationMetadata metadata, BeanDefinitionRegistry registry) {
            for (int i = 0; i < JOBS; i++) {
                registry.registerBeanDefinition("job" + i, new RootBeanDefinition(WaitingJob.class));
            }
        }
    }
}
