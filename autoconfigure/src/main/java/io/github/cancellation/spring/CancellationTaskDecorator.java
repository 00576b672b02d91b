package io.github.cancellation.spring;

import java.util.concurrent.RunnableScheduledFuture;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.Scope;
import org.jspecify.annotations.Nullable;

import org.springframework.core.Ordered;
import org.springframework.core.task.TaskDecorator;

/**
 * Runs every task under a token of its own. Spring Boot applies all {@link TaskDecorator} beans to
 * the executors and schedulers it builds ({@code applicationTaskExecutor}, {@code taskScheduler}),
 * so this decorator, a bean of the starter, covers {@code execute}/{@code submit} on them, and
 * {@code @Async} and {@code @Scheduled} methods run by them.
 *
 * <p>For each task:
 * <ol>
 *   <li>at submission, on the submitting thread, the parent is captured:
 *       {@link CancellationToken#current()} if the submitter has one, else the application token.
 *       A task given to a {@code ThreadPoolTaskScheduler} (the decorator then sees a JDK
 *       {@link RunnableScheduledFuture}) always hangs off the application token: a delayed or
 *       periodic task outlives whoever scheduled it, and the scheduler decorates each run of a
 *       trigger task from inside the previous run, whose token is closed when that run ends;
 *   <li>when the task starts, on the worker thread, a child of that parent is created (already
 *       cancelled if the parent is, so a task that starts during shutdown sees
 *       {@code SHUTDOWN} at once), bound as {@link CancellationToken#current()} and tracked by
 *       the {@link CancellationTaskTracker} so that the shutdown drain waits for it;
 *   <li>when the task ends, tracking ends and the child is closed.
 * </ol>
 *
 * <p>The child's name, used by the tracker and in the drain's log, is the task's class name
 * without its package ({@code Outer$Inner} for a nested class, the declaring class for a lambda);
 * {@code submit()} hands executors a JDK {@code FutureTask}, whose class says nothing, so such
 * tasks are named {@code task}. Tasks waiting in an executor's queue are not tracked until they
 * start.
 *
 * <p>{@code @Async} invocations and {@code @Scheduled} executions get a token and tracking of
 * their own, named {@code beanName.methodName}, from {@link CancellationAsyncAutoConfiguration}
 * and {@link CancellationSchedulingAutoConfiguration}. So that they are not tracked twice, the
 * starter submits them under {@link #skipNextDecoration()}, which makes this decorator leave the
 * next task undecorated; a scheduler that decorates each run at a moment the starter cannot
 * mark (a {@code ThreadPoolTaskScheduler} re-scheduling a trigger task, a
 * {@code SimpleAsyncTaskScheduler}) has the decorated task {@linkplain #handOverRunningTask()
 * handed over} when the execution starts inside it.
 *
 * <p>Executors that Spring Boot does not build do not get this decorator; apply it with their
 * {@code setTaskDecorator} (inject it as {@code TaskDecorator} or by this type). It has
 * {@linkplain #ORDER the highest precedence}, so that in Boot's composite of decorators it wraps
 * the task most closely and its token is the one the task sees, even when another decorator
 * (such as {@code ContextPropagatingTaskDecorator}) restores the submitter's token around it.
 *
 * <p>Thread-safety: thread-safe; decorated tasks may run on any thread.
 */
public final class CancellationTaskDecorator implements TaskDecorator, Ordered {

    /** Order of this decorator among Boot's task decorators: {@link Ordered#HIGHEST_PRECEDENCE}. */
    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE;

    /** Name of a task whose class tells nothing about it, such as a JDK {@code FutureTask}. */
    static final String DEFAULT_TASK_NAME = "task";

    /**
     * {@code TRUE} on a thread that is submitting a task the starter tracks itself, until a
     * {@link #decorate(Runnable)} call consumes it (then {@code FALSE}) or the submission ends.
     */
    private static final ThreadLocal<Boolean> SKIP_NEXT = new ThreadLocal<>();

    /*
     * The thread-locals of this class are reset with set(null / FALSE), never remove(): they hold
     * nothing of the application's once reset, and a pooled thread that submits or runs a task at a
     * time then reuses its map entry instead of allocating one (and expunging it) per task.
     */

    /** Ends a skip that found none in place. */
    private static final SkipDecoration RESTORE_NO_SKIP = () -> SKIP_NEXT.set(Boolean.FALSE);

    /** Ends a skip nested in another one, still unconsumed. */
    private static final SkipDecoration RESTORE_SKIP = () -> SKIP_NEXT.set(Boolean.TRUE);

    /** The run of a decorated task on this thread, innermost, unless handed over. */
    private static final ThreadLocal<Run> RUNNING = new ThreadLocal<>();

    private final CancellationToken applicationToken;

    private final CancellationTaskTracker tracker;

    private final IssuedTokens tokens;

    CancellationTaskDecorator(CancellationToken applicationToken, CancellationTaskTracker tracker,
            IssuedTokens tokens) {
        this.applicationToken = applicationToken;
        this.tracker = tracker;
        this.tokens = tokens;
    }

    /**
     * Returns a task that runs {@code runnable} under a child of the submitter's current token
     * (else of the application token), tracked while it runs. Call it on the submitting thread.
     *
     * @param runnable the task to decorate
     * @return the decorated task
     */
    @Override
    public Runnable decorate(Runnable runnable) {
        if (SKIP_NEXT.get() == Boolean.TRUE) {
            SKIP_NEXT.set(Boolean.FALSE);
            return runnable;
        }
        CancellationToken submitter = CancellationToken.current();
        boolean scheduled = runnable instanceof RunnableScheduledFuture;
        CancellationToken parent = (submitter == CancellationToken.none() || scheduled) ? applicationToken : submitter;
        return new TokenTask(runnable, parent, taskName(runnable), tracker, tokens);
    }

    /**
     * Makes the next {@link #decorate(Runnable)} call on this thread, until the returned handle is
     * closed, return its task undecorated. The starter wraps its own submissions of tasks that it
     * runs under a token of its own and tracks itself in it; executors and schedulers built by
     * Spring decorate on the submitting thread. Handles nest; close on the same thread.
     *
     * @return the handle that ends the skip
     */
    static SkipDecoration skipNextDecoration() {
        boolean previous = SKIP_NEXT.get() == Boolean.TRUE;
        SKIP_NEXT.set(Boolean.TRUE);
        return previous ? RESTORE_SKIP : RESTORE_NO_SKIP;
    }

    /**
     * Ends the tracking of the decorated task running on this thread, if any, and closes its
     * token: the work it runs has a token and tracking of its own. Called by the starter at the
     * start of a {@code @Scheduled} execution, which a scheduler runs directly inside the
     * decorated task; does nothing the second time in the same run. The tracked task ends
     * {@linkplain TrackedTask#isHandedOver() handed over}, so that listeners such as the metrics
     * do not take this brief task for work that responded to a cancellation.
     */
    static void handOverRunningTask() {
        Run run = RUNNING.get();
        if (run != null) {
            RUNNING.set(null);
            run.handOver();
        }
    }

    /**
     * Returns {@link #ORDER}.
     *
     * @return the order of this decorator
     */
    @Override
    public int getOrder() {
        return ORDER;
    }

    /**
     * A bounded name for a task: its class name without the package, the declaring class for a
     * lambda, and {@link #DEFAULT_TASK_NAME} for JDK classes.
     */
    static String taskName(Runnable runnable) {
        String className = runnable.getClass().getName();
        if (className.startsWith("java.")) {
            return DEFAULT_TASK_NAME;
        }
        int lambda = className.indexOf("$$Lambda");
        if (lambda > 0) {
            className = className.substring(0, lambda);
        }
        return className.substring(className.lastIndexOf('.') + 1);
    }

    @Override
    public String toString() {
        return "CancellationTaskDecorator[parent when none is current: " + applicationToken.name() + "]";
    }

    /** The decorated task. */
    private static final class TokenTask implements Runnable {

        private final Runnable delegate;
        private final CancellationToken parent;
        private final String name;
        private final CancellationTaskTracker tracker;
        private final IssuedTokens tokens;

        TokenTask(Runnable delegate, CancellationToken parent, String name, CancellationTaskTracker tracker,
                IssuedTokens tokens) {
            this.delegate = delegate;
            this.parent = parent;
            this.name = name;
            this.tracker = tracker;
            this.tokens = tokens;
        }

        @Override
        @SuppressWarnings("try") // the scope and the tracked task are resources only for their close()
        public void run() {
            Run outer = RUNNING.get();
            Run run = new Run(tokens.open(parent, name), tokens);
            try (Scope scope = run.token.bind(); TrackedTask task = tracker.track(name, run.token)) {
                run.task = task;
                RUNNING.set(run);
                try {
                    delegate.run();
                }
                finally {
                    RUNNING.set(outer);
                }
            }
            finally {
                run.endToken();
            }
        }

        @Override
        public String toString() {
            return delegate.toString();
        }
    }

    /**
     * One run of a decorated task: its token and tracking, which the run ends at its end, or
     * {@linkplain #handOver() hands over} before. Confined to the thread of the run.
     */
    private static final class Run {

        final CancellationToken token;

        private final IssuedTokens tokens;

        @Nullable TrackedTask task;

        private boolean tokenEnded;

        Run(CancellationToken token, IssuedTokens tokens) {
            this.token = token;
            this.tokens = tokens;
        }

        /** Ends the tracking, handed over, and the token; the run's own ends then do nothing. */
        void handOver() {
            if (task != null) {
                task.handOver();
            }
            endToken();
        }

        /** Ends the token, once. */
        void endToken() {
            if (!tokenEnded) {
                tokenEnded = true;
                tokens.end(token);
            }
        }
    }

    /** Ends a {@link #skipNextDecoration()}. */
    @FunctionalInterface
    interface SkipDecoration extends AutoCloseable {

        /** Ends the skip, restoring what was set before. */
        @Override
        void close();
    }
}
