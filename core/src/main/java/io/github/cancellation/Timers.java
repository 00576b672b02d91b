package io.github.cancellation;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.jspecify.annotations.Nullable;

/**
 * The one timer thread behind {@code child(Duration)} and {@code cancelAfter}: a daemon
 * {@link ScheduledThreadPoolExecutor} that removes cancelled tasks from its queue at once (so a timer
 * released early leaves nothing pending) and lets its thread die when idle.
 */
final class Timers {

    private static final ScheduledThreadPoolExecutor EXECUTOR = newExecutor();

    private Timers() {
    }

    private static ScheduledThreadPoolExecutor newExecutor() {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, "cancellation-timer");
            thread.setDaemon(true);
            return thread;
        });
        executor.setRemoveOnCancelPolicy(true);
        executor.setKeepAliveTime(1, TimeUnit.SECONDS);
        executor.allowCoreThreadTimeOut(true);
        return executor;
    }

    /** Number of timers scheduled and not yet fired or released: for tests and tools. */
    static int pending() {
        return EXECUTOR.getQueue().size();
    }

    /**
     * A timer for one token: fires by cancelling the token with kind TIMEOUT, and is itself the
     * callback that releases it when the token is cancelled in another way.
     */
    static final class Timer implements Runnable, Consumer<CancellationReason> {
        private final TokenNode token;
        private final Duration delay;
        /**
         * When the timer is due, in {@link System#nanoTime()} terms (wrapping arithmetic: compare by
         * subtraction). A zero or negative delay is due at creation.
         */
        private final long deadline;
        private volatile @Nullable ScheduledFuture<?> future;

        Timer(TokenNode token, Duration delay, long nanos) {
            this.token = token;
            this.delay = delay;
            this.deadline = System.nanoTime() + Math.max(nanos, 0L);
        }

        /** The deadline in {@link System#nanoTime()} terms; see {@link TokenNode#remaining()}. */
        long deadline() {
            return deadline;
        }

        void start(long nanos) {
            future = EXECUTOR.schedule(this, nanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public void run() {
            token.cancel(CancellationReason.of(CancellationReason.Kind.TIMEOUT, "timed out after " + delay));
        }

        /** Releases the timer; called on cancellation of the token and when replaced. */
        @Override
        public void accept(CancellationReason reason) {
            release();
        }

        void release() {
            ScheduledFuture<?> f = future;
            if (f != null) {
                future = null;
                f.cancel(false);
            }
        }
    }
}
