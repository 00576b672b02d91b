package io.github.cancellation.spring;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ApplicationContext;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where the application token is cancelled in Spring's shutdown, recorded with probe lifecycles at
 * the neighbouring phases of Spring Boot 4.0 and Framework 7.0: after the web server's graceful
 * shutdown ({@code MAX - 1024}) and stop ({@code MAX - 2048}), before the executors' phase
 * ({@code MAX / 2}), and only when the context really closes.
 */
@ExtendWith(OutputCaptureExtension.class)
class ShutdownOrderingTests {

    static final int DEFAULT_PHASE = SmartLifecycle.DEFAULT_PHASE;
    static final int GRACEFUL_SHUTDOWN_PHASE = SmartLifecycle.DEFAULT_PHASE - 1024;
    static final int WEB_SERVER_STOP_PHASE = SmartLifecycle.DEFAULT_PHASE - 2048;
    static final int EXECUTORS_PHASE = Integer.MAX_VALUE / 2;

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class))
        .withUserConfiguration(ProbeConfiguration.class);

    @Test
    void tokenShouldBeCancelledAfterTheWebServerPhasesAndBeforeTheExecutorPhase() {
        contextRunner.run(context -> {
            Recorder recorder = context.getBean(Recorder.class);
            CancellationToken token = context.getBean(CancellationToken.class);
            token.onCancel(reason -> recorder.record("cancel " + reason.kind()));
            context.close();
            System.out.println("Recorded shutdown order: " + recorder.events());
            assertThat(recorder.events()).containsExactly("stop " + DEFAULT_PHASE, "stop " + GRACEFUL_SHUTDOWN_PHASE,
                    "stop " + WEB_SERVER_STOP_PHASE, "cancel SHUTDOWN", "stop " + EXECUTORS_PHASE);
        });
    }

    @Test
    void drainShouldEndBeforeTheExecutorPhase() throws InterruptedException {
        CountDownLatch tracked = new CountDownLatch(1);
        contextRunner.run(context -> {
            Recorder recorder = context.getBean(Recorder.class);
            CancellationToken token = context.getBean(CancellationToken.class).child("worker");
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            Thread worker = new Thread(() -> {
                try (TrackedTask task = tracker.track("worker", token)) {
                    tracked.countDown();
                    // Leaves well after the cancel, so that a drain that did not wait would show.
                    token.await();
                    Thread.sleep(100);
                    recorder.record("worker ended");
                }
                catch (InterruptedException ex) {
                    recorder.record("worker interrupted");
                }
            }, "ordering-worker");
            worker.start();
            assertThat(tracked.await(5, TimeUnit.SECONDS)).isTrue();
            context.close();
            worker.join(5000);
            assertThat(recorder.events()).containsSubsequence("stop " + WEB_SERVER_STOP_PHASE, "worker ended",
                    "stop " + EXECUTORS_PHASE);
        });
    }

    @Test
    void stopAloneShouldNotCancel() {
        contextRunner.run(context -> {
            Recorder recorder = context.getBean(Recorder.class);
            CancellationToken token = context.getBean(CancellationToken.class);
            context.stop();
            assertThat(recorder.events()).contains("stop " + EXECUTORS_PHASE);
            assertThat(token.isCancelled()).isFalse();
            assertThat(context.getBean(CancellationShutdownLifecycle.class).isRunning()).isFalse();
            context.start();
            assertThat(context.getBean(CancellationShutdownLifecycle.class).isRunning()).isTrue();
            assertThat(token.isCancelled()).isFalse();
            context.close();
            assertThat(token.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.SHUTDOWN);
        });
    }

    @Test
    void closeAfterStopShouldCancel() {
        contextRunner.run(context -> {
            CancellationToken token = context.getBean(CancellationToken.class);
            context.stop();
            assertThat(token.isCancelled()).isFalse();
            context.close();
            assertThat(token.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.SHUTDOWN);
        });
    }

    @Test
    void closingTwiceShouldCancelAndDrainOnce(CapturedOutput output) {
        contextRunner.run(context -> {
            CancellationToken token = context.getBean(CancellationToken.class);
            CancellationShutdownLifecycle lifecycle = context.getBean(CancellationShutdownLifecycle.class);
            AtomicInteger cancellations = new AtomicInteger();
            token.onCancel(reason -> cancellations.incrementAndGet());
            context.close();
            context.close();
            // A stray stop after the close calls back at once and drains nothing.
            CountDownLatch calledBack = new CountDownLatch(1);
            lifecycle.stop(calledBack::countDown);
            lifecycle.destroy();
            assertThat(calledBack.getCount()).isZero();
            assertThat(cancellations).hasValue(1);
        });
        assertThat(output.getOut().lines().filter(line -> line.contains("Shutdown drain: cancelled"))).hasSize(1);
    }

    @Test
    void closingAChildContextShouldNotCancelTheParentsToken() {
        contextRunner.run(context -> {
            CancellationToken token = context.getBean(CancellationToken.class);
            try (AnnotationConfigApplicationContext child = new AnnotationConfigApplicationContext()) {
                child.setParent(context.getSourceApplicationContext());
                child.refresh();
            }
            assertThat(token.isCancelled()).isFalse();
            context.close();
            assertThat(token.isCancelled()).isTrue();
        });
    }

    @Test
    void pauseShouldNotCancel() {
        contextRunner.run(context -> {
            CancellationToken token = context.getBean(CancellationToken.class);
            context.getSourceApplicationContext().pause();
            assertThat(context.getBean(CancellationShutdownLifecycle.class).isRunning()).isTrue();
            assertThat(token.isCancelled()).isFalse();
        });
    }

    @Test
    void tokenShouldBeCancelledWhenRefreshFailsAfterTheLifecycleWasCreated() {
        contextRunner.withUserConfiguration(FailingConfiguration.class).run(context -> {
            assertThat(context).hasFailed();
            assertThat(FailingConfiguration.token.get().reason()).map(CancellationReason::kind)
                .contains(CancellationReason.Kind.SHUTDOWN);
        });
    }

    /** Records events in order, from any thread. */
    static final class Recorder {

        private final List<String> events = Collections.synchronizedList(new ArrayList<>());

        void record(String event) {
            events.add(event);
        }

        List<String> events() {
            synchronized (events) {
                return List.copyOf(events);
            }
        }
    }

    /** A lifecycle that records when it stops. Pauseable like executors; it makes no difference here. */
    static final class Probe implements SmartLifecycle {

        private final int phase;
        private final Recorder recorder;
        private volatile boolean running;

        Probe(int phase, Recorder recorder) {
            this.phase = phase;
            this.recorder = recorder;
        }

        @Override
        public void start() {
            running = true;
        }

        @Override
        public void stop() {
            running = false;
            recorder.record("stop " + phase);
        }

        @Override
        public boolean isRunning() {
            return running;
        }

        @Override
        public int getPhase() {
            return phase;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class ProbeConfiguration {

        @Bean
        Recorder recorder() {
            return new Recorder();
        }

        @Bean
        Probe defaultPhaseProbe(Recorder recorder) {
            return new Probe(DEFAULT_PHASE, recorder);
        }

        @Bean
        Probe gracefulShutdownProbe(Recorder recorder) {
            return new Probe(GRACEFUL_SHUTDOWN_PHASE, recorder);
        }

        @Bean
        Probe webServerStopProbe(Recorder recorder) {
            return new Probe(WEB_SERVER_STOP_PHASE, recorder);
        }

        @Bean
        Probe executorsProbe(Recorder recorder) {
            return new Probe(EXECUTORS_PHASE, recorder);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class FailingConfiguration {

        static final AtomicReference<CancellationToken> token = new AtomicReference<>(CancellationToken.none());

        @Bean
        Object failingBean(ApplicationContext context, CancellationShutdownLifecycle lifecycle) {
            token.set(ApplicationTokens.find(context));
            throw new IllegalStateException("refresh fails after the lifecycle was created");
        }
    }
}
