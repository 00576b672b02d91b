package io.github.cancellation.spring;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.github.cancellation.CancellationReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.LongTaskTimer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * The cancellation meters. Spring Boot binds them to its meter registry (see
 * {@link CancellationMetricsAutoConfiguration}); they read the starter's own records, so that
 * nothing on a token's hot path ({@code isCancelled()}) costs more.
 *
 * <table>
 * <caption>Meters</caption>
 * <tr><th>name</th><th>type</th><th>base unit</th><th>tags</th><th>meaning</th></tr>
 * <tr><td>{@value #TOKENS_ACTIVE}</td><td>gauge</td><td>{@value #UNIT_TOKENS}</td><td></td>
 *     <td>tokens the starter handed out (singleton bean, {@code @Async} invocation,
 *     {@code @Scheduled} execution, task and request tokens) that are still open</td></tr>
 * <tr><td>{@value #TOKENS_CANCELLED}</td><td>counter</td><td>{@value #UNIT_TOKENS}</td>
 *     <td>{@value #TAG_KIND}</td><td>cancellations, each counted once at the token where it
 *     began, not again for each descendant; one series per kind but {@code CLOSED}</td></tr>
 * <tr><td>{@value #TASKS_ACTIVE}</td><td>long task timer</td><td>seconds</td>
 *     <td>{@value #TAG_TASK}</td><td>tracked tasks running now</td></tr>
 * <tr><td>{@value #TASKS_RESPONSE}</td><td>timer</td><td>seconds</td>
 *     <td>{@value #TAG_TASK}, {@value #TAG_OUTCOME}</td><td>time from a task's token being
 *     cancelled to the task ending ({@value #OUTCOME_COMPLETED}); for a task still running when
 *     the shutdown drain timed out, to the end of the drain ({@value #OUTCOME_STRAGGLER})</td></tr>
 * <tr><td>{@value #SHUTDOWN_DRAIN}</td><td>timer</td><td>seconds</td><td></td>
 *     <td>time the shutdown drain took, from the cancellation of the application token</td></tr>
 * <tr><td>{@value #SHUTDOWN_STRAGGLERS}</td><td>counter</td><td>{@value #UNIT_TASKS}</td>
 *     <td>{@value #TAG_TASK}</td><td>tasks still running when the shutdown drain timed out</td></tr>
 * </table>
 *
 * <h2>Tags stay bounded</h2>
 * {@value #TAG_KIND} is a {@link CancellationReason.Kind} name; {@value #TAG_TASK} is the name a
 * task is tracked under: {@code beanName.methodName} for {@code @Async} and {@code @Scheduled}
 * methods, the class name for tasks of Boot's executors, the name given to
 * {@link CancellationTaskTracker#track} otherwise (keep it bounded); {@value #TAG_OUTCOME} is
 * {@value #OUTCOME_COMPLETED} or {@value #OUTCOME_STRAGGLER}. Never an invocation id, a thread
 * name or a time.
 *
 * <h2>How each meter is kept</h2>
 * <ul>
 *   <li>{@value #TOKENS_ACTIVE} reads a count the starter keeps as it creates and closes its
 *       tokens ({@link IssuedTokens}), plus the open count of every {@link ActiveTokenSource}
 *       bean (the request tokens, counted by the web support as requests open and close): no
 *       second count.
 *   <li>{@value #TOKENS_CANCELLED} reads counts the starter keeps, also in {@link IssuedTokens},
 *       which explains who counts what: {@code SHUTDOWN}, {@code ACTUATOR} and {@code CALLER} at
 *       the call that starts them (the shutdown lifecycle, the actuator endpoint, an
 *       {@code @Async} invocation's caller link or future), when that call did cancel a token; any
 *       other kind when its origin is one of the starter's tokens and it is not inherited from the
 *       parent, at once for the application and bean tokens, when the work ends for the tokens
 *       of invocations, executions and tasks.
 *   <li>{@value #TASKS_ACTIVE} and {@value #TASKS_RESPONSE} listen to the
 *       {@link CancellationTaskTracker}: a long task timer sample per tracked task while it runs,
 *       kept in the task, and when it ends, if its token was cancelled, the time since the
 *       tracker saw that cancellation. No callback is registered on a task's token: the tracker
 *       sees a cancellation when the task starts (a task born cancelled), at once when the
 *       starter cancels (the shutdown, the actuator endpoint, the caller of an {@code @Async}
 *       invocation) or when application code cancels the application token or a bean token, and
 *       otherwise when the task ends (a cancellation that application code began at a task's own
 *       token or at a token of its own above it records a response of zero). A decorated task
 *       that an {@code @Async} invocation or a {@code @Scheduled} execution claims as it starts
 *       in it (see {@link DecoratedRun}; a brief task, named after its class or {@code task})
 *       records no response; it is active for the moment it lasts.
 *   <li>{@value #SHUTDOWN_DRAIN} and {@value #SHUTDOWN_STRAGGLERS} are recorded when the
 *       shutdown drain ends. Spring Boot closes its meter registries when the context starts to
 *       close, before the drain, so a registry then accepts no new meter: every meter a task
 *       needs is registered when a task of that name first starts, and the drain timer when the
 *       meters are bound. A pull registry is rarely scraped after that; the drain's summary line
 *       in the log is the record that is never missed.
 * </ul>
 *
 * <p>Thread-safety: thread-safe; {@link #bindTo(MeterRegistry)} may be called for several
 * registries.
 */
public final class CancellationMetrics implements MeterBinder {

    /** Name of the gauge of open tokens handed out by the starter. */
    public static final String TOKENS_ACTIVE = "cancellation.tokens.active";

    /** Name of the counter of cancellations, by kind, counted where they began. */
    public static final String TOKENS_CANCELLED = "cancellation.tokens.cancelled";

    /** Name of the long task timer of tracked tasks running now. */
    public static final String TASKS_ACTIVE = "cancellation.tasks.active";

    /** Name of the timer from a task's token being cancelled to the task ending. */
    public static final String TASKS_RESPONSE = "cancellation.tasks.response";

    /** Name of the timer of the shutdown drain. */
    public static final String SHUTDOWN_DRAIN = "cancellation.shutdown.drain";

    /** Name of the counter of tasks still running when the shutdown drain timed out. */
    public static final String SHUTDOWN_STRAGGLERS = "cancellation.shutdown.stragglers";

    /** Tag of {@link #TOKENS_CANCELLED}: the {@link CancellationReason.Kind} name. */
    public static final String TAG_KIND = "kind";

    /** Tag of the task meters: the name the task is tracked under. */
    public static final String TAG_TASK = "task";

    /** Tag of {@link #TASKS_RESPONSE}: {@link #OUTCOME_COMPLETED} or {@link #OUTCOME_STRAGGLER}. */
    public static final String TAG_OUTCOME = "outcome";

    /** Outcome of a task that ended after its token was cancelled. */
    public static final String OUTCOME_COMPLETED = "completed";

    /** Outcome of a task still running when the shutdown drain timed out. */
    public static final String OUTCOME_STRAGGLER = "straggler";

    /** Base unit of the token meters. */
    public static final String UNIT_TOKENS = "tokens";

    /** Base unit of {@link #SHUTDOWN_STRAGGLERS}. */
    public static final String UNIT_TASKS = BaseUnits.TASKS;

    private final IssuedTokens tokens;

    private final CancellationTaskTracker tracker;

    private final CancellationShutdownLifecycle lifecycle;

    /** The other sources of open tokens, looked up when the meters are bound. */
    private final Supplier<List<ActiveTokenSource>> sources;

    CancellationMetrics(IssuedTokens tokens, CancellationTaskTracker tracker, CancellationShutdownLifecycle lifecycle) {
        this(tokens, tracker, lifecycle, List::of);
    }

    CancellationMetrics(IssuedTokens tokens, CancellationTaskTracker tracker, CancellationShutdownLifecycle lifecycle,
            Supplier<List<ActiveTokenSource>> sources) {
        this.tokens = tokens;
        this.tracker = tracker;
        this.lifecycle = lifecycle;
        this.sources = sources;
    }

    /**
     * Registers the meters that need no task ({@value #TOKENS_ACTIVE}, one
     * {@value #TOKENS_CANCELLED} per kind, {@value #SHUTDOWN_DRAIN}), then listens to the task
     * tracker and to the shutdown drain for the others. The {@link ActiveTokenSource} beans that
     * {@value #TOKENS_ACTIVE} adds up are looked up here, once per registry.
     *
     * @param registry the registry to bind to
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        ActiveTokens active = new ActiveTokens(tokens, sources.get());
        // Held strongly: a gauge holds its object weakly, and nothing else refers to this one.
        Gauge.builder(TOKENS_ACTIVE, active, ActiveTokens::count)
            .strongReference(true)
            .description("Tokens the cancellation starter handed out (bean, @Async invocation, @Scheduled execution, "
                    + "task and request tokens) that are still open")
            .baseUnit(UNIT_TOKENS)
            .register(registry);
        for (CancellationReason.Kind kind : IssuedTokens.COUNTED_KINDS) {
            FunctionCounter.builder(TOKENS_CANCELLED, tokens, issued -> issued.cancelledCount(kind))
                .description("Cancellations, each counted once at the token where it began (not for each descendant)")
                .baseUnit(UNIT_TOKENS)
                .tag(TAG_KIND, kind.name())
                .register(registry);
        }
        Timer drain = Timer.builder(SHUTDOWN_DRAIN)
            .description("Time the shutdown drain took, from the cancellation of the application token until every "
                    + "tracked task ended or the drain timed out")
            .register(registry);
        Binding binding = new Binding(registry, drain);
        tracker.addListener(binding);
        lifecycle.addDrainListener(binding);
        tokens.startWatching(tracker::noteCancelled);
    }

    @Override
    public String toString() {
        return "CancellationMetrics[" + tokens + ", " + tracker + "]";
    }

    /**
     * What {@value #TOKENS_ACTIVE} reads: the starter's own open tokens and those of the other
     * sources, summed at each read.
     */
    private record ActiveTokens(IssuedTokens issued, List<ActiveTokenSource> sources) {

        long count() {
            long count = issued.openCount();
            for (ActiveTokenSource source : sources) {
                count += Math.max(0, source.activeTokens());
            }
            return count;
        }
    }

    /** The meters of one task name. */
    private record TaskMeters(LongTaskTimer active, Timer completed, Timer straggler, Counter stragglers) {

        static TaskMeters register(MeterRegistry registry, String task) {
            LongTaskTimer active = LongTaskTimer.builder(TASKS_ACTIVE)
                .description("Tracked @Async, @Scheduled and submitted tasks running now")
                .tag(TAG_TASK, task)
                .register(registry);
            Counter stragglers = Counter.builder(SHUTDOWN_STRAGGLERS)
                .description("Tasks still running when the shutdown drain timed out")
                .baseUnit(UNIT_TASKS)
                .tag(TAG_TASK, task)
                .register(registry);
            return new TaskMeters(active, response(registry, task, OUTCOME_COMPLETED),
                    response(registry, task, OUTCOME_STRAGGLER), stragglers);
        }

        private static Timer response(MeterRegistry registry, String task, String outcome) {
            return Timer.builder(TASKS_RESPONSE)
                .description("Time from a task's token being cancelled to the task ending (for a straggler, to the "
                        + "end of the shutdown drain)")
                .tags(TAG_TASK, task, TAG_OUTCOME, outcome)
                .register(registry);
        }
    }

    /**
     * The meters bound to one registry, fed by the task tracker and the shutdown drain. Per task,
     * one long task timer sample while it runs, kept in the task; its response is computed when
     * it ends from when the tracker saw its token cancelled ({@link TrackedTask#cancelSeenNanos()}).
     */
    private static final class Binding
            implements CancellationTaskTracker.Listener, CancellationShutdownLifecycle.DrainListener {

        private final MeterRegistry registry;

        private final Timer drain;

        /** By task name: a bounded set, as the names are. */
        private final Map<String, TaskMeters> meters = new ConcurrentHashMap<>();

        /**
         * What this binding keeps about the tasks to which another binding attached its state
         * first (a second registry): normally empty, as each task carries the state of the first
         * binding. See {@link #taskStarted}.
         */
        private final Map<TrackedTask, Object> states = new ConcurrentHashMap<>();

        Binding(MeterRegistry registry, Timer drain) {
            this.registry = registry;
            this.drain = drain;
        }

        private TaskMeters meters(String task) {
            TaskMeters known = meters.get(task); // no capturing lambda per task once the name is known
            return (known != null) ? known : meters.computeIfAbsent(task, name -> TaskMeters.register(registry, name));
        }

        /**
         * Starts the task's long task timer sample. What this binding keeps about a running task
         * (attached to the task, else in {@link #states}) is that sample, or a {@link Straggler}
         * once the drain recorded its response; the task's end takes it away. The two sides swap
         * it atomically, so that a response is recorded once.
         */
        @Override
        public void taskStarted(TrackedTask task) {
            LongTaskTimer.Sample sample = meters(task.name()).active().start();
            if (!task.attach(this, sample)) {
                states.put(task, sample);
            }
        }

        @Override
        public void taskFinished(TrackedTask task) {
            Object state = task.isAttachedBy(this) ? task.detach() : states.remove(task);
            if (state instanceof Straggler straggler) {
                straggler.sample().stop(); // its response was recorded by the drain
            }
            else if (state instanceof LongTaskTimer.Sample sample) {
                sample.stop();
                long seen = task.cancelSeenNanos();
                if (seen != TrackedTask.NOT_SEEN && !task.isHandedOver()) {
                    meters(task.name()).completed()
                        .record(Math.max(0, System.nanoTime() - seen), TimeUnit.NANOSECONDS);
                }
            }
            // else: started before the meters were bound
        }

        @Override
        public void drained(Duration elapsed, List<TrackedTask> stragglers) {
            drain.record(elapsed);
            for (TrackedTask task : stragglers) {
                TaskMeters taskMeters = meters(task.name());
                taskMeters.stragglers().increment();
                task.noteCancelled();
                long seen = task.cancelSeenNanos();
                Object state = task.isAttachedBy(this) ? task.attachment() : states.get(task);
                if (seen == TrackedTask.NOT_SEEN || !(state instanceof LongTaskTimer.Sample sample)) {
                    continue;
                }
                Straggler straggler = new Straggler(sample);
                boolean swapped = task.isAttachedBy(this) ? task.reattach(sample, straggler)
                        : states.replace(task, sample, straggler);
                if (swapped) { // else the task ended meanwhile, and recorded its response
                    taskMeters.straggler().record(Math.max(0, System.nanoTime() - seen), TimeUnit.NANOSECONDS);
                }
            }
        }

        @Override
        public String toString() {
            return "CancellationMetrics.Binding[" + registry.getClass().getSimpleName() + "]";
        }
    }

    /** A straggler's sample, once the drain recorded its response. */
    private record Straggler(LongTaskTimer.Sample sample) {
    }
}
