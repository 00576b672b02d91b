package io.github.cancellation.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.EndpointTestApplication.Http;
import io.github.cancellation.spring.EndpointTestApplication.Job;
import io.github.cancellation.spring.EndpointTestApplication.Worker;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.ApplicationContextFactory;
import org.springframework.boot.Banner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.actuate.context.ShutdownEndpoint;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.servlet.context.AnnotationConfigServletWebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.task.TaskDecorator;
import org.springframework.scheduling.annotation.Async;
import org.springframework.scheduling.annotation.EnableAsync;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Fault drills (issue 9), each on a real {@link SpringApplication} with the auto-configuration as
 * users get it: shutdown under the faults that production brings. Every drill prints one
 * {@code DRILL} line with what it measured.
 * <ol>
 *   <li>a SIGTERM-like {@code close()} racing {@code /actuator/shutdown} (over HTTP and the
 *       endpoint bean): one drain, one {@code SHUTDOWN} cancellation;
 *   <li>cancellation callbacks that throw {@code RuntimeException} and {@code Error}: shutdown
 *       completes, the other callbacks run, the tasks drain;
 *   <li>an application {@code TaskDecorator} next to the starter's: both apply;
 *   <li>a straggler that swallows interrupts, with {@code interrupt-stragglers=true}: reported,
 *       interrupted, and shutdown still bounded;
 *   <li>an executor saturated with queued tasks: queued tasks start already cancelled and end at
 *       once, and none is lost.
 * </ol>
 */
@ExtendWith(OutputCaptureExtension.class)
class ShutdownFaultDrillTests {

    private static final String DRAIN_SUMMARY = "Shutdown drain: cancelled 'application'";

    private static final String DRAIN_INTERRUPTED = "Shutdown drain interrupted";

    // ---------------------------------------------------------------- (a) close racing /actuator/shutdown

    /**
     * Three closes start together behind one latch: {@code context.close()} on a thread of its own
     * (what the JVM shutdown hook does on SIGTERM), {@code POST /actuator/shutdown} over HTTP, and
     * the {@code ShutdownEndpoint} bean's {@code shutdown()}; the endpoint closes the context from
     * a thread of its own 500 ms later. A job that, once cancelled, ends only when a second
     * {@code close()} has entered while the first is still running makes the overlap certain.
     * Spring serialises the closes; the starter must cancel and drain exactly once.
     */
    @Test
    void closeRacingActuatorShutdownShouldDrainOnceAndCancelOnce(CapturedOutput output) throws Exception {
        CloseCountingContext.reset();
        SpringApplication application = new SpringApplication(EndpointTestApplication.class, RaceConfiguration.class);
        application.setWebApplicationType(WebApplicationType.SERVLET);
        application.setApplicationContextFactory(ApplicationContextFactory.of(CloseCountingContext::new));
        application.setBannerMode(Banner.Mode.OFF);
        application.setRegisterShutdownHook(false);
        ConfigurableApplicationContext context = application.run("--server.port=0",
                "--spring.main.log-startup-info=false", "--" + EndpointTestApplication.SECURITY_EXCLUDES,
                "--management.endpoints.web.exposure.include=health,shutdown",
                "--management.endpoint.shutdown.access=unrestricted", "--cancellation.shutdown.drain-timeout=10s");
        assertThat(context).isInstanceOf(CloseCountingContext.class);

        CancellationToken applicationToken = context.getBean(CancellationToken.class);
        AtomicInteger applicationCancels = new AtomicInteger();
        applicationToken.onCancel((reason) -> applicationCancels.incrementAndGet());
        SimpleMeterRegistry registry = context.getBean("drillMeterRegistry", SimpleMeterRegistry.class);
        IssuedTokens issuedTokens = context.getBean(IssuedTokens.class); // the meter reads it; keep it reachable
        ShutdownEndpoint shutdownEndpoint = context.getBean(ShutdownEndpoint.class);
        Http http = new Http(context);
        assertThat(http.get("/actuator/health").statusCode()).as("the server answers").isEqualTo(200);
        List<Job> jobs = new ArrayList<>(context.getBean("reports", Worker.class).start(2));
        jobs.addAll(context.getBean("exports", Worker.class).start(2));

        // The job that holds the drain until a second close() has entered while the first still runs.
        ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
        CountDownLatch holderRunning = new CountDownLatch(1);
        AtomicBoolean overlapSeen = new AtomicBoolean();
        AtomicReference<@Nullable Kind> holderKind = new AtomicReference<>();
        executor.execute(() -> {
            CancellationToken token = CancellationToken.current();
            holderRunning.countDown();
            try {
                token.await();
                holderKind.set(token.reason().orElseThrow().kind());
                overlapSeen.set(CloseCountingContext.overlap.await(15, TimeUnit.SECONDS));
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(holderRunning.await(10, TimeUnit.SECONDS)).isTrue();

        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<@Nullable Throwable> closeFailure = new AtomicReference<>();
        Thread sigterm = new Thread(() -> {
            awaitQuietly(go);
            try {
                context.close();
            }
            catch (Throwable ex) {
                closeFailure.set(ex);
            }
        }, "drill-sigterm");
        CompletableFuture<String> endpointCall = CompletableFuture.supplyAsync(() -> {
            awaitQuietly(go);
            return String.valueOf(shutdownEndpoint.shutdown());
        });
        CompletableFuture<Integer> httpCall = CompletableFuture.supplyAsync(() -> {
            awaitQuietly(go);
            return http.post("/actuator/shutdown", null).statusCode();
        });
        sigterm.start();
        long start = System.nanoTime();
        go.countDown();

        sigterm.join(20_000);
        long sigtermCloseMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(sigterm.isAlive()).as("close() returned").isFalse();
        String endpointResult = endpointCall.get(10, TimeUnit.SECONDS);
        String httpResult;
        int expectedCloses;
        try {
            int status = httpCall.get(20, TimeUnit.SECONDS);
            httpResult = "HTTP " + status;
            expectedCloses = (status == 200) ? 3 : 2;
        }
        catch (Exception ex) { // the server may stop accepting before the request is read: then no close from it
            httpResult = "refused (" + rootCause(ex) + ")";
            expectedCloses = 2;
        }
        int closes = expectedCloses;
        await().atMost(Duration.ofSeconds(10)).until(() -> CloseCountingContext.returned.get() >= closes);
        long allClosedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        for (Job job : jobs) {
            assertThat(job.awaitEnd(Duration.ofSeconds(5))).isTrue();
        }

        long drains = countLines(output, DRAIN_SUMMARY);
        FunctionCounter shutdownCounter = registry.find(CancellationMetrics.TOKENS_CANCELLED)
            .tag(CancellationMetrics.TAG_KIND, Kind.SHUTDOWN.name())
            .functionCounter();
        double shutdownCount = (shutdownCounter != null) ? shutdownCounter.count() : Double.NaN;
        System.out.println("DRILL (a) close racing /actuator/shutdown: close() calls " + CloseCountingContext.entered
                + " (SIGTERM-like 1, endpoint bean 1, " + httpResult + "), a second close() entered while the first "
                + "ran: " + overlapSeen + "; drains " + drains + ", application token callbacks " + applicationCancels
                + ", " + CancellationMetrics.TOKENS_CANCELLED + "{kind=SHUTDOWN} " + shutdownCount + " (IssuedTokens "
                + issuedTokens.cancelledCount(Kind.SHUTDOWN) + "); SIGTERM-like close() returned after "
                + sigtermCloseMillis + " ms, all closes after " + allClosedMillis + " ms; endpoint: " + endpointResult);

        assertThat(closeFailure.get()).as("close() threw").isNull();
        assertThat(overlapSeen).as("a second close() entered while the first one was draining").isTrue();
        assertThat(CloseCountingContext.entered).hasValue(expectedCloses);
        assertThat(context.isActive()).isFalse();
        assertThat(drains).as("exactly one drain summary line").isOne();
        assertThat(applicationCancels).as("exactly one cancellation of the application token").hasValue(1);
        assertThat(applicationToken.reason()).map(CancellationReason::kind).contains(Kind.SHUTDOWN);
        assertThat(shutdownCount).as("cancellation.tokens.cancelled{kind=SHUTDOWN}").isEqualTo(1.0);
        assertThat(holderKind.get()).isEqualTo(Kind.SHUTDOWN);
        assertThat(jobs).allSatisfy((job) -> {
            assertThat(job.reason.kind()).isEqualTo(Kind.SHUTDOWN);
            assertThat(job.callbacks).as("each job's callback once").hasValue(1);
        });
        assertThat(output).contains("the 5 tracked task(s) in flight ended").doesNotContain(DRAIN_INTERRUPTED);
    }

    @Configuration(proxyBeanMethods = false)
    static class RaceConfiguration {

        @Bean
        SimpleMeterRegistry drillMeterRegistry() {
            return new SimpleMeterRegistry();
        }
    }

    /** The servlet context of a real application, counting {@code close()} calls and overlaps. */
    static final class CloseCountingContext extends AnnotationConfigServletWebServerApplicationContext {

        static final AtomicInteger entered = new AtomicInteger();

        static final AtomicInteger returned = new AtomicInteger();

        private static final AtomicInteger inside = new AtomicInteger();

        static volatile CountDownLatch overlap = new CountDownLatch(1);

        static void reset() {
            entered.set(0);
            returned.set(0);
            inside.set(0);
            overlap = new CountDownLatch(1);
        }

        @Override
        public void close() {
            entered.incrementAndGet();
            if (inside.incrementAndGet() > 1) {
                overlap.countDown();
            }
            try {
                super.close();
            }
            finally {
                inside.decrementAndGet();
                returned.incrementAndGet();
            }
        }
    }

    // ---------------------------------------------------------------- (b) callbacks that throw

    /**
     * The application token, a bean token and four task tokens each have callbacks that throw
     * {@code RuntimeException} or {@code Error}, next to callbacks that count. The close runs on a
     * thread with a recording uncaught-exception handler, where the core reports callback failures.
     */
    @Test
    void callbacksThatThrowShouldNeitherStopShutdownNorTheOtherCallbacks(CapturedOutput output) throws Exception {
        ConfigurableApplicationContext context = run(ThrowingCallbacksApplication.class,
                "--cancellation.shutdown.drain-timeout=5s");
        CancellationToken applicationToken = context.getBean(CancellationToken.class);
        AtomicInteger applicationCounted = new AtomicInteger();
        applicationToken.onCancel((reason) -> {
            throw new IllegalStateException("application callback 1");
        });
        applicationToken.onCancel((reason) -> {
            throw new DrillError("application callback 2");
        });
        applicationToken.onCancel((reason) -> applicationCounted.incrementAndGet());
        ThrowingCallbacksBean bean = context.getBean(ThrowingCallbacksBean.class);
        CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);

        int tasks = 4;
        ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
        CountDownLatch running = new CountDownLatch(tasks);
        AtomicInteger taskCounted = new AtomicInteger();
        Map<Kind, Integer> taskKinds = new ConcurrentHashMap<>();
        for (int i = 0; i < tasks; i++) {
            boolean error = (i % 2 == 1);
            String label = "task callback " + i;
            executor.execute(() -> {
                CancellationToken token = CancellationToken.current();
                token.onCancel((reason) -> {
                    if (error) {
                        throw new DrillError(label);
                    }
                    throw new IllegalArgumentException(label);
                });
                token.onCancel((reason) -> taskCounted.incrementAndGet());
                running.countDown();
                try {
                    token.await();
                }
                catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
                taskKinds.merge(token.reason().map(CancellationReason::kind).orElseThrow(), 1, Integer::sum);
            });
        }
        assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(tracker.activeCount()).isEqualTo(tasks);

        Queue<Throwable> reported = new ConcurrentLinkedQueue<>();
        AtomicReference<@Nullable Throwable> closeFailure = new AtomicReference<>();
        Thread closer = new Thread(() -> {
            try {
                context.close();
            }
            catch (Throwable ex) {
                closeFailure.set(ex);
            }
        }, "drill-closer");
        closer.setUncaughtExceptionHandler((thread, failure) -> reported.add(failure));
        long start = System.nanoTime();
        closer.start();
        closer.join(20_000);
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        List<String> messages = reported.stream().map(Throwable::getMessage).sorted().toList();
        long errors = reported.stream().filter(DrillError.class::isInstance).count();
        System.out.println("DRILL (b) throwing callbacks: close() returned normally in " + closeMillis + " ms; "
                + reported.size() + " callback failures reported to the closing thread's handler (" + errors
                + " Error, " + (reported.size() - errors) + " RuntimeException); counting callbacks ran: application "
                + applicationCounted + ", bean " + bean.counted + ", tasks " + taskCounted + "/" + tasks
                + "; tasks ended " + taskKinds + ", tracker " + tracker.activeCount() + " in flight; bean destroyed "
                + bean.destroyed);

        assertThat(closer.isAlive()).as("close() returned").isFalse();
        assertThat(closeFailure.get()).as("close() threw").isNull();
        assertThat(closeMillis).isLessThan(5_000);
        assertThat(context.isActive()).isFalse();
        assertThat(applicationCounted).hasValue(1);
        assertThat(bean.counted).hasValue(1);
        assertThat(taskCounted).hasValue(tasks);
        assertThat(taskKinds).containsExactly(Map.entry(Kind.SHUTDOWN, tasks));
        assertThat(tracker.activeCount()).isZero();
        assertThat(bean.destroyed).as("bean destruction ran after the failures").isTrue();
        assertThat(bean.tokenCancelledAtDestroy).isTrue();
        assertThat(messages).as("each failing callback reported once, on the closing thread")
            .containsExactly("application callback 1", "application callback 2", "bean callback 1", "bean callback 2",
                    "task callback 0", "task callback 1", "task callback 2", "task callback 3");
        assertThat(errors).isEqualTo(4);
        assertThat(countLines(output, DRAIN_SUMMARY)).isOne();
        assertThat(output).contains("the 4 tracked task(s) in flight ended").doesNotContain(DRAIN_INTERRUPTED);
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class ThrowingCallbacksApplication {

        @Bean
        ThrowingCallbacksBean throwingCallbacksBean(CancellationToken token) {
            return new ThrowingCallbacksBean(token);
        }
    }

    /** A bean whose own token has two callbacks that throw and one that counts. */
    static final class ThrowingCallbacksBean implements DisposableBean {

        final AtomicInteger counted = new AtomicInteger();

        private final CancellationToken token;

        volatile boolean destroyed;

        volatile boolean tokenCancelledAtDestroy;

        ThrowingCallbacksBean(CancellationToken token) {
            this.token = token;
            token.onCancel((reason) -> {
                throw new IllegalStateException("bean callback 1");
            });
            token.onCancel((reason) -> {
                throw new DrillError("bean callback 2");
            });
            token.onCancel((reason) -> counted.incrementAndGet());
        }

        @Override
        public void destroy() {
            tokenCancelledAtDestroy = token.isCancelled();
            destroyed = true;
        }
    }

    /** An {@code Error} thrown on purpose by a callback. */
    static final class DrillError extends Error {

        private static final long serialVersionUID = 1L;

        DrillError(String message) {
            super(message);
        }
    }

    // ---------------------------------------------------------------- (c) a user TaskDecorator next to ours

    /**
     * The application defines a {@code TaskDecorator} bean of its own; Spring Boot composes every
     * decorator bean on its executor. A plain task and an {@code @Async} invocation must both get
     * the user's decorator and a token of their own from the starter, be tracked and be drained.
     */
    @Test
    void userTaskDecoratorShouldCoexistWithTheStarters(CapturedOutput output) throws Exception {
        ConfigurableApplicationContext context = run(UserDecoratorApplication.class);
        CancellationToken applicationToken = context.getBean(CancellationToken.class);
        CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
        UserTaskDecorator userDecorator = context.getBean(UserTaskDecorator.class);
        assertThat(context.getBeansOfType(TaskDecorator.class)).hasSize(2);

        ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
        Observation plain = new Observation(tracker);
        executor.execute(new ObservedTask(plain));
        Observation async = new Observation(tracker);
        context.getBean(AsyncWorker.class).work(async);
        assertThat(plain.running.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(async.running.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(tracker.activeCount()).isEqualTo(2);

        long start = System.nanoTime();
        context.close();
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        System.out.println("DRILL (c) user TaskDecorator: user decorator decorated " + userDecorator.decorated
                + " and ran " + userDecorator.ran + " task(s); plain task: " + plain + "; @Async invocation: " + async
                + "; close() in " + closeMillis + " ms");
        assertThat(userDecorator.decorated).as("the user's decorator decorated both").hasValue(2);
        assertThat(userDecorator.ran).hasValue(2);
        for (Observation observation : List.of(plain, async)) {
            assertThat(observation.userMark).as("ran inside the user's decorator").isEqualTo(UserTaskDecorator.MARK_VALUE);
            assertThat(observation.token).as("a token of its own").isNotNull().isNotSameAs(applicationToken);
            assertThat(observation.token.parent()).as("a child of the application token").containsSame(applicationToken);
            assertThat(observation.tracked).as("tracked under its own token").isTrue();
            assertThat(observation.kind).as("drained on shutdown").isEqualTo(Kind.SHUTDOWN);
            assertThat(observation.ended.getCount()).isZero();
        }
        assertThat(plain.tokenName).isEqualTo("ShutdownFaultDrillTests$ObservedTask");
        assertThat(async.tokenName).isEqualTo("asyncWorker.work");
        assertThat(tracker.activeCount()).isZero();
        assertThat(output).contains("the 2 tracked task(s) in flight ended");
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    @EnableAsync
    static class UserDecoratorApplication {

        @Bean
        UserTaskDecorator userTaskDecorator() {
            return new UserTaskDecorator();
        }

        @Bean
        AsyncWorker asyncWorker() {
            return new AsyncWorker();
        }
    }

    /** The application's own decorator: marks the thread while the task runs (an MDC, say). */
    static final class UserTaskDecorator implements TaskDecorator {

        static final String MARK_VALUE = "user-decorated";

        static final ThreadLocal<String> MARK = new ThreadLocal<>();

        final AtomicInteger decorated = new AtomicInteger();

        final AtomicInteger ran = new AtomicInteger();

        @Override
        public Runnable decorate(Runnable runnable) {
            decorated.incrementAndGet();
            return () -> {
                MARK.set(MARK_VALUE);
                ran.incrementAndGet();
                try {
                    runnable.run();
                }
                finally {
                    MARK.remove();
                }
            };
        }
    }

    /** What a task saw while it ran, and how it ended. */
    static final class Observation {

        final CountDownLatch running = new CountDownLatch(1);

        final CountDownLatch ended = new CountDownLatch(1);

        private final CancellationTaskTracker tracker;

        volatile @Nullable String userMark;

        volatile @Nullable CancellationToken token;

        volatile @Nullable String tokenName;

        volatile boolean tracked;

        volatile @Nullable Kind kind;

        Observation(CancellationTaskTracker tracker) {
            this.tracker = tracker;
        }

        void observe() {
            CancellationToken current = CancellationToken.current();
            userMark = UserTaskDecorator.MARK.get();
            token = current;
            tokenName = current.name();
            tracked = tracker.tasks().stream().anyMatch((task) -> task.token() == current);
            running.countDown();
            try {
                current.await();
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            kind = current.reason().map(CancellationReason::kind).orElse(null);
            ended.countDown();
        }

        @Override
        public String toString() {
            return "token '" + tokenName + "', user mark " + userMark + ", tracked " + tracked + ", ended with " + kind;
        }
    }

    record ObservedTask(Observation observation) implements Runnable {

        @Override
        public void run() {
            observation.observe();
        }
    }

    static class AsyncWorker {

        @Async
        public void work(Observation observation) {
            observation.observe();
        }
    }

    // ---------------------------------------------------------------- (d) a straggler that swallows interrupts

    /**
     * A task on Boot's executor ignores its token and swallows every interrupt. With
     * {@code interrupt-stragglers=true} and a 300 ms drain timeout it is reported as a straggler
     * and interrupted; the executors' phase then waits at most
     * {@code executor-phase-timeout} (1 s by default) for it, and the context closes anyway.
     */
    @Test
    void stragglerThatSwallowsInterruptsShouldBeReportedInterruptedAndNotHoldShutdown(CapturedOutput output)
            throws Exception {
        ConfigurableApplicationContext context = run(PlainApplication.class,
                "--cancellation.shutdown.drain-timeout=300ms", "--cancellation.shutdown.interrupt-stragglers=true");
        Duration executorPhaseTimeout = context.getBean(CancellationProperties.class).getShutdown()
            .getExecutorPhaseTimeout();
        ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch firstInterrupt = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch ended = new CountDownLatch(1);
        AtomicInteger swallowed = new AtomicInteger();
        executor.execute(new SwallowingStraggler(running, firstInterrupt, release, ended, swallowed));
        assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();

        long start = System.nanoTime();
        context.close();
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        boolean interrupted = firstInterrupt.await(5, TimeUnit.SECONDS);
        int swallowedAtClose = swallowed.get();
        boolean aliveAfterClose = ended.getCount() > 0;
        release.countDown();
        boolean endedWhenReleased = ended.await(10, TimeUnit.SECONDS);

        long bound = 300 + executorPhaseTimeout.toMillis();
        System.out.println("DRILL (d) interrupt-swallowing straggler (drain timeout 300 ms, executor phase timeout "
                + executorPhaseTimeout.toMillis() + " ms, bound " + bound + " ms + margin): close() took " + closeMillis
                + " ms; interrupted " + interrupted + ", interrupts swallowed by the time close() returned "
                + swallowedAtClose + "; still running after close(): " + aliveAfterClose
                + "; ended once released: " + endedWhenReleased);
        assertThat(closeMillis).as("the drain waited its timeout").isGreaterThanOrEqualTo(300);
        assertThat(closeMillis).as("bounded by drain + executor phase timeout + margin").isLessThan(5_000);
        assertThat(interrupted).as("interrupted by the drain").isTrue();
        assertThat(swallowedAtClose).isPositive();
        assertThat(aliveAfterClose).as("it swallowed the interrupts and kept running").isTrue();
        assertThat(endedWhenReleased).isTrue();
        assertThat(output).contains("Shutdown drain: task 'ShutdownFaultDrillTests$SwallowingStraggler' still running "
                + "after the drain timeout (PT0.3S)")
            .contains(", interrupted")
            .contains("1 straggler(s) still running after");
        assertThat(countLines(output, DRAIN_SUMMARY)).isOne();
    }

    /** Ignores its token; swallows every interrupt, counting them; stops only when released. */
    record SwallowingStraggler(CountDownLatch running, CountDownLatch firstInterrupt, CountDownLatch release,
            CountDownLatch ended, AtomicInteger swallowed) implements Runnable {

        @Override
        public void run() {
            running.countDown();
            try {
                while (release.getCount() > 0) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // a slice of uncooperative work
                    if (Thread.interrupted()) { // swallowed: the flag is cleared and nothing stops
                        swallowed.incrementAndGet();
                        firstInterrupt.countDown();
                    }
                }
            }
            finally {
                ended.countDown();
            }
        }
    }

    // ---------------------------------------------------------------- (e) a saturated executor

    /**
     * Boot's executor with two threads and 200 submitted tasks, each looping in 1 ms slices until
     * its token is cancelled: 2 run, 198 wait in the queue when the context closes. Every task
     * either runs (the queued ones start with a cancelled token and do no slice of work) or is
     * cancelled by the executor's {@code shutdownNow()}: none is lost, none hangs.
     */
    @Test
    void saturatedExecutorShouldStartQueuedTasksCancelledAndLoseNone(CapturedOutput output) throws Exception {
        int total = 200;
        int threads = 2;
        ConfigurableApplicationContext context = run(PlainApplication.class,
                "--spring.task.execution.pool.core-size=" + threads, "--cancellation.shutdown.drain-timeout=5s");
        ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
        CancellationToken applicationToken = context.getBean(CancellationToken.class);
        CountDownLatch firstRunning = new CountDownLatch(threads);
        AtomicInteger ran = new AtomicInteger();
        AtomicInteger startedUncancelled = new AtomicInteger();
        AtomicInteger startedCancelled = new AtomicInteger();
        AtomicInteger slicesOfStartedCancelled = new AtomicInteger();
        Map<Kind, Integer> kinds = new ConcurrentHashMap<>();
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            futures.add(executor.submit(() -> {
                ran.incrementAndGet();
                CancellationToken token = CancellationToken.current();
                boolean cancelledAtStart = token.isCancelled();
                (cancelledAtStart ? startedCancelled : startedUncancelled).incrementAndGet();
                firstRunning.countDown();
                int slices = 0;
                while (!token.isCancelled()) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // a slice of work
                    slices++;
                }
                if (cancelledAtStart) {
                    slicesOfStartedCancelled.addAndGet(slices);
                }
                kinds.merge(token.reason().map(CancellationReason::kind).orElseThrow(), 1, Integer::sum);
            }));
        }
        assertThat(firstRunning.await(10, TimeUnit.SECONDS)).isTrue();
        int queuedAtClose = executor.getThreadPoolExecutor().getQueue().size();

        long start = System.nanoTime();
        context.close();
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        await().atMost(Duration.ofSeconds(10)).until(() -> futures.stream().allMatch(Future::isDone));

        long cancelledByExecutor = futures.stream().filter(Future::isCancelled).count();
        long completed = futures.stream().filter((future) -> future.isDone() && !future.isCancelled()).count();
        System.out.println("DRILL (e) saturated executor (" + threads + " threads, " + total + " tasks, " + queuedAtClose
                + " queued at close): close() took " + closeMillis + " ms; ran " + ran + " (started before the cancel "
                + startedUncancelled + ", started already cancelled " + startedCancelled + " with "
                + slicesOfStartedCancelled + " slices of work between them), cancelled by the executor without running "
                + cancelledByExecutor + ", futures completed " + completed + "; kinds seen " + kinds);

        assertThat(closeMillis).isLessThan(5_000);
        assertThat(queuedAtClose).isEqualTo(total - threads);
        assertThat(applicationToken.isCancelled()).isTrue();
        assertThat(startedUncancelled).as("only the tasks running before the close started uncancelled")
            .hasValue(threads);
        assertThat(slicesOfStartedCancelled).as("queued tasks that started during shutdown ended at once").hasValue(0);
        assertThat(ran.get() + cancelledByExecutor).as("none lost: each ran or was cancelled by the executor")
            .isEqualTo(total);
        assertThat(completed).as("a task that ran completed its future").isEqualTo(ran.get());
        assertThat(startedCancelled.get()).isEqualTo(ran.get() - threads);
        assertThat(kinds).containsExactly(Map.entry(Kind.SHUTDOWN, ran.get()));
        assertThat(output).contains("the " + threads + " tracked task(s) in flight ended");
        assertThat(countLines(output, DRAIN_SUMMARY)).isOne();
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class PlainApplication {
    }

    // ---------------------------------------------------------------- helpers

    private static ConfigurableApplicationContext run(Class<?> source, String... args) {
        SpringApplication application = new SpringApplication(source);
        application.setWebApplicationType(WebApplicationType.NONE);
        application.setBannerMode(Banner.Mode.OFF);
        application.setRegisterShutdownHook(false);
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--spring.main.log-startup-info=false");
        return application.run(all.toArray(String[]::new));
    }

    private static long countLines(CapturedOutput output, String text) {
        return output.getOut().lines().filter((line) -> line.contains(text)).count();
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static String rootCause(Throwable failure) {
        Throwable cause = failure;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause.getClass().getSimpleName();
    }
}
