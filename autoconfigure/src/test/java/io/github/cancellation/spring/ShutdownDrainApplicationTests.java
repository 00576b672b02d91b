package io.github.cancellation.spring;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.boot.Banner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/**
 * Real {@link SpringApplication}s (non-web, auto-configuration as users get it): the shutdown
 * cancels and drains cooperative work at once, and bounds uncooperative work by the drain timeout.
 */
@ExtendWith(OutputCaptureExtension.class)
class ShutdownDrainApplicationTests {

    private static final int WORKERS = 100;

    @Test
    void hundredWorkersOnTheBootExecutorShouldStopWellUnderASecond() throws InterruptedException {
        ConfigurableApplicationContext context = run(WorkerApplication.class,
                "--spring.task.execution.pool.core-size=" + WORKERS);
        ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
        CountDownLatch started = new CountDownLatch(WORKERS);
        AtomicInteger finished = new AtomicInteger();
        Map<CancellationReason.Kind, Integer> seen = new ConcurrentHashMap<>();
        for (int i = 0; i < WORKERS; i++) {
            executor.execute(() -> {
                started.countDown();
                CancellationToken token = CancellationToken.current();
                while (!token.isCancelled()) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // a slice of work
                }
                seen.merge(token.reason().orElseThrow().kind(), 1, Integer::sum);
                finished.incrementAndGet();
            });
        }
        assertThat(started.await(10, TimeUnit.SECONDS)).as("all workers running").isTrue();
        CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
        assertThat(tracker.activeCount()).isEqualTo(WORKERS);

        long start = System.nanoTime();
        context.close();
        Duration closeTime = Duration.ofNanos(System.nanoTime() - start);

        System.out.println("Closed the " + WORKERS + "-worker application in " + closeTime.toMillis() + " ms");
        assertThat(closeTime).isLessThan(Duration.ofSeconds(2));
        assertThat(finished).as("started = finished").hasValue(WORKERS);
        assertThat(seen).containsExactly(Map.entry(CancellationReason.Kind.SHUTDOWN, WORKERS));
        assertThat(tracker.activeCount()).isZero();
    }

    @Test
    void stragglerShouldBeLoggedAndLeftRunningAfterTheDrainTimeout(CapturedOutput output) throws InterruptedException {
        ConfigurableApplicationContext context = run(StragglerApplication.class,
                "--cancellation.shutdown.drain-timeout=1s");
        StubbornWorker worker = context.getBean(StubbornWorker.class);
        assertThat(worker.tracked.await(5, TimeUnit.SECONDS)).isTrue();

        Duration closeTime = timeClose(context, "straggler, not interrupted");

        assertThat(closeTime).isBetween(Duration.ofMillis(900), Duration.ofSeconds(5));
        assertThat(worker.thread.isAlive()).as("still running: cooperation is never forced").isTrue();
        assertThat(worker.tokenCancelledAtDestroy).as("its bean token was cancelled before destruction").isTrue();
        assertThat(worker.interrupted.getCount()).as("not interrupted").isOne();
        assertThat(output).contains("Shutdown drain: task 'stubborn-worker' still running after the drain timeout")
            .contains("thread 'stubborn-worker', not interrupted")
            .contains("1 straggler(s) still running");
        worker.stop();
        assertThat(worker.interrupted.getCount()).as("never interrupted").isOne();
    }

    @Test
    void stragglerShouldBeInterruptedWhenConfigured(CapturedOutput output) throws InterruptedException {
        ConfigurableApplicationContext context = run(StragglerApplication.class,
                "--cancellation.shutdown.drain-timeout=1s", "--cancellation.shutdown.interrupt-stragglers=true");
        StubbornWorker worker = context.getBean(StubbornWorker.class);
        assertThat(worker.tracked.await(5, TimeUnit.SECONDS)).isTrue();

        Duration closeTime = timeClose(context, "straggler, interrupted");

        assertThat(closeTime).isBetween(Duration.ofMillis(900), Duration.ofSeconds(5));
        assertThat(worker.interrupted.await(5, TimeUnit.SECONDS)).as("interrupted").isTrue();
        assertThat(output).contains("Shutdown drain: task 'stubborn-worker' still running after the drain timeout")
            .contains("thread 'stubborn-worker', interrupted");
        worker.stop();
    }

    /**
     * A straggler on Boot's executor holds shutdown for the drain timeout plus the executor phase
     * timeout, not plus spring.lifecycle.timeout-per-shutdown-phase (30 s), which Spring's
     * executor phase would otherwise spend waiting for it.
     */
    @Test
    void stragglerOnTheBootExecutorShouldHoldShutdownOnlyForDrainPlusExecutorPhaseTimeout(CapturedOutput output)
            throws InterruptedException {
        ConfigurableApplicationContext context = run(WorkerApplication.class,
                "--cancellation.shutdown.drain-timeout=500ms", "--cancellation.shutdown.executor-phase-timeout=300ms");
        ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        executor.execute(() -> {
            started.countDown();
            while (release.getCount() > 0) { // ignores its token, and interrupts too
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
        });
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();

        long start = System.nanoTime();
        context.close();
        Duration closeTime = Duration.ofNanos(System.nanoTime() - start);
        release.countDown();

        System.out.println("Closed the application with a straggler on the Boot executor (drain 500 ms, executor phase "
                + "300 ms) in " + closeTime.toMillis() + " ms");
        assertThat(closeTime).isBetween(Duration.ofMillis(700), Duration.ofSeconds(10));
        assertThat(output).contains("1 straggler(s) still running");
    }

    @Test
    void invalidPropertyShouldBeReportedWithItsKey(CapturedOutput output) {
        assertThatException().isThrownBy(() -> run(WorkerApplication.class, "--cancellation.shutdown.drain-timeout=-5s"));
        assertThat(output).contains("APPLICATION FAILED TO START")
            .contains("cancellation.shutdown.drain-timeout must not be negative, but was PT-5S");
    }

    private static ConfigurableApplicationContext run(Class<?> source, String... args) {
        SpringApplication application = new SpringApplication(source);
        application.setWebApplicationType(WebApplicationType.NONE);
        application.setBannerMode(Banner.Mode.OFF);
        application.setRegisterShutdownHook(false);
        return application.run(args);
    }

    private static Duration timeClose(ConfigurableApplicationContext context, String what) {
        long start = System.nanoTime();
        context.close();
        Duration closeTime = Duration.ofNanos(System.nanoTime() - start);
        System.out.println("Closed the application with a " + what + " (drain timeout 1 s) in "
                + closeTime.toMillis() + " ms");
        return closeTime;
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class WorkerApplication {
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    @Import(StubbornWorker.class)
    static class StragglerApplication {
    }

    /**
     * A bean that starts its own worker thread, tracks it with the public tracker API under its
     * bean token, and ignores that token: it stops only when the test says so (or, if the drain
     * interrupts it, then).
     */
    static class StubbornWorker implements InitializingBean, DisposableBean {

        final CountDownLatch tracked = new CountDownLatch(1);
        final CountDownLatch interrupted = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);
        private final CancellationTaskTracker tracker;
        private final CancellationToken token;
        final Thread thread;
        volatile boolean tokenCancelledAtDestroy;

        StubbornWorker(CancellationTaskTracker tracker, CancellationToken token) {
            this.tracker = tracker;
            this.token = token;
            this.thread = new Thread(this::work, "stubborn-worker");
            this.thread.setDaemon(true);
        }

        @Override
        public void afterPropertiesSet() {
            thread.start();
        }

        private void work() {
            try (TrackedTask task = tracker.track("stubborn-worker", token)) {
                tracked.countDown();
                while (!release.await(10, TimeUnit.MILLISECONDS)) {
                    // ignores the token on purpose
                }
            }
            catch (InterruptedException ex) {
                interrupted.countDown();
            }
        }

        void stop() throws InterruptedException {
            release.countDown();
            thread.join(5000);
            assertThat(thread.isAlive()).isFalse();
        }

        @Override
        public void destroy() {
            tokenCancelledAtDestroy = token.isCancelled();
        }
    }
}
