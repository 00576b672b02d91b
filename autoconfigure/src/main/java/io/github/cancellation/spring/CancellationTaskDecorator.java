package io.github.cancellation.spring;

import java.util.concurrent.RunnableScheduledFuture;

import io.github.cancellation.CancellationToken;

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
 * and {@link CancellationSchedulingAutoConfiguration}. So that they are not tracked twice, such
 * work {@linkplain DecoratedRun#claim(long) claims} the decorated run it starts in, on the
 * executor's thread, when it starts: see {@link DecoratedRun} for that hand-over. An
 * {@code @Async} invocation is usually not decorated at all: see {@link SubmissionSkip}.
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
        if (SubmissionSkip.consume()) {
            return runnable; // an @Async invocation, tracked by itself
        }
        CancellationToken submitter = CancellationToken.current();
        boolean scheduled = runnable instanceof RunnableScheduledFuture;
        CancellationToken parent = (submitter == CancellationToken.none() || scheduled) ? applicationToken : submitter;
        return new TokenTask(runnable, parent, taskName(runnable), tracker, tokens);
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
        public void run() {
            DecoratedRun.run(delegate, parent, name, tracker, tokens);
        }

        @Override
        public String toString() {
            return delegate.toString();
        }
    }
}
