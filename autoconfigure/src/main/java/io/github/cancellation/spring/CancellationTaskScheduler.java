package io.github.cancellation.spring;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledFuture;
import java.util.function.Function;
import java.util.function.Supplier;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.Scope;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.scheduling.SchedulingAwareRunnable;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.scheduling.Trigger;

/**
 * The scheduler that {@code @Scheduled} methods get (see {@link CancellationSchedulingConfigurer}):
 * it hands every task to the scheduler it wraps, usually Spring's {@code TaskSchedulerRouter},
 * as a {@link ScheduledExecution} that runs each execution under a fresh token of its own.
 *
 * <p>The wrapped task stays a {@link SchedulingAwareRunnable} with the task's qualifier and
 * long-lived hint, because the router picks the target scheduler by that qualifier
 * ({@code @Scheduled(scheduler = "...")}). A scheduler that decorates its tasks with
 * {@link CancellationTaskDecorator} runs each execution inside a decorated run, which the
 * execution {@linkplain DecoratedRun#claim(long) claims} when it starts, so that it is tracked
 * once, under its own name.
 *
 * <p>Thread-safety: thread-safe if the wrapped scheduler is.
 */
@SuppressWarnings("try") // the scopes and tracked tasks are resources only for their close()
final class CancellationTaskScheduler implements TaskScheduler {

    private static final Log logger = LogFactory.getLog(CancellationTaskScheduler.class);

    private final TaskScheduler delegate;

    private final ScheduledTaskNames names;

    private final Supplier<CancellationToken> applicationToken;

    private final Function<String, @Nullable CancellationToken> beanTokens;

    private final CancellationTaskTracker tracker;

    private final IssuedTokens tokens;

    CancellationTaskScheduler(TaskScheduler delegate, ScheduledTaskNames names,
            Supplier<CancellationToken> applicationToken,
            Function<String, @Nullable CancellationToken> beanTokens, CancellationTaskTracker tracker,
            IssuedTokens tokens) {
        this.delegate = delegate;
        this.names = names;
        this.applicationToken = applicationToken;
        this.beanTokens = beanTokens;
        this.tracker = tracker;
        this.tokens = tokens;
    }

    @Override
    public Clock getClock() {
        return delegate.getClock();
    }

    @Override
    public @Nullable ScheduledFuture<?> schedule(Runnable task, Trigger trigger) {
        return delegate.schedule(execution(task), trigger);
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable task, Instant startTime) {
        return delegate.schedule(execution(task), startTime);
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable task, Instant startTime, Duration period) {
        return delegate.scheduleAtFixedRate(execution(task), startTime, period);
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable task, Duration period) {
        return delegate.scheduleAtFixedRate(execution(task), period);
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable task, Instant startTime, Duration delay) {
        return delegate.scheduleWithFixedDelay(execution(task), startTime, delay);
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable task, Duration delay) {
        return delegate.scheduleWithFixedDelay(execution(task), delay);
    }

    /** The task as it is handed to the wrapped scheduler; its parent token is found now. */
    private Runnable execution(Runnable task) {
        if (task instanceof ScheduledExecution) {
            return task;
        }
        String beanName = names.beanName(task);
        CancellationToken beanToken = (beanName != null) ? beanTokens.apply(beanName) : null;
        Supplier<CancellationToken> parent = (beanToken != null) ? () -> beanToken : applicationToken;
        return new ScheduledExecution(task, names.taskName(task), parent, tracker, tokens);
    }

    @Override
    public String toString() {
        return "CancellationTaskScheduler[" + delegate + "]";
    }

    /**
     * One scheduled task, as the scheduler runs it: every execution runs under a fresh child of
     * the parent token (the bean's, else the application token), bound as
     * {@link CancellationToken#current()} and tracked for the shutdown drain, closed when the
     * execution ends. Once the parent is cancelled, executions are skipped: the task's method is
     * not called. An execution that ends with {@link CancelledException} while its token is
     * cancelled has stopped as asked: the exception does not reach the scheduler's error handler
     * (Spring's own outcome tracking and observation, inside, still see it).
     *
     * <p>Goals of {@link #run()}: (1) no execution starts once the parent is cancelled, and (2)
     * none escapes the drain. So the execution is tracked first and the token checked after: if
     * the drain found the tracker empty, this tracking came after the application token was
     * cancelled, and the check sees it (the tracker's count and the token's state are both
     * sequentially consistent). The check before tracking only saves work.
     */
    static final class ScheduledExecution implements SchedulingAwareRunnable {

        private final Runnable task;

        private final String name;

        private final Supplier<CancellationToken> parent;

        private final CancellationTaskTracker tracker;

        private final IssuedTokens tokens;

        /** When the task was handed to the scheduler: see {@link DecoratedRun#claim(long)}. */
        private final long scheduledNanos = System.nanoTime();

        ScheduledExecution(Runnable task, String name, Supplier<CancellationToken> parent,
                CancellationTaskTracker tracker, IssuedTokens tokens) {
            this.task = task;
            this.name = name;
            this.parent = parent;
            this.tracker = tracker;
            this.tokens = tokens;
        }

        @Override
        public void run() {
            // A scheduler that decorated this run runs it right inside the decorated run.
            DecoratedRun.claim(scheduledNanos);
            CancellationToken parentToken = parent.get();
            if (parentToken.isCancelled()) {
                return;
            }
            CancellationToken token = tokens.open(parentToken, name);
            try (Scope scope = token.bind(); TrackedTask tracked = tracker.track(name, token)) {
                if (token.isCancelled()) {
                    return;
                }
                try {
                    task.run();
                }
                catch (CancelledException ex) {
                    if (!token.isCancelled()) {
                        throw ex;
                    }
                    // Stopped as asked: not an error for the scheduler's error handler to log.
                    if (logger.isDebugEnabled()) {
                        logger.debug("@Scheduled execution '" + name + "' stopped: " + ex.reason());
                    }
                }
            }
            finally {
                tokens.end(token);
            }
        }

        @Override
        public boolean isLongLived() {
            return (task instanceof SchedulingAwareRunnable aware) ? aware.isLongLived()
                    : SchedulingAwareRunnable.super.isLongLived();
        }

        @Override
        public @Nullable String getQualifier() {
            return (task instanceof SchedulingAwareRunnable aware) ? aware.getQualifier() : null;
        }

        @Override
        public String toString() {
            return task.toString();
        }
    }
}
