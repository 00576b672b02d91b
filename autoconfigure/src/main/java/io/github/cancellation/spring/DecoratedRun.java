package io.github.cancellation.spring;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.Scope;
import org.jspecify.annotations.Nullable;

/**
 * One run of a task that {@link CancellationTaskDecorator} decorated: its token and its tracking,
 * which the run ends when the task ends, or {@linkplain #claim(long) hands over} earlier to work
 * that runs under a token and a tracking of its own.
 *
 * <p>The hand-over protocol, all on the thread of the run (no state crosses threads, and nothing
 * assumes where or when an executor decorates):
 * <ol>
 *   <li>the decorated task {@linkplain #run(Runnable, CancellationToken, String,
 *       CancellationTaskTracker, IssuedTokens) runs} its delegate as the innermost run of its
 *       thread;
 *   <li>an {@code @Async} invocation or a {@code @Scheduled} execution that starts right inside
 *       it (the executor or scheduler runs it directly in the decorated task) calls
 *       {@link #claim(long)}: the decorated run's tracking ends
 *       {@linkplain TrackedTask#isHandedOver() handed over} and its token is closed, so the work
 *       is tracked and counted once, under its own name;
 *   <li>the run's own ends then do nothing.
 * </ol>
 * A claim only takes a run that began at or after the moment the claiming work was submitted:
 * work that an executor runs on the caller's thread (a synchronous executor), inside a decorated
 * task that began earlier, leaves that task alone.
 *
 * <p>Thread-safety: confined to the thread of the run.
 */
final class DecoratedRun {

    /*
     * Reset with set(previous), never remove(): a pooled thread that runs a task at a time reuses
     * its map entry instead of allocating one (and expunging it) per task.
     */
    private static final ThreadLocal<DecoratedRun> INNERMOST = new ThreadLocal<>();

    /** Claims whatever run is innermost, regardless of when it began. */
    static final long ANY_RUN = Long.MIN_VALUE;

    private final CancellationToken token;

    private final IssuedTokens tokens;

    private @Nullable TrackedTask task;

    private boolean tokenEnded;

    private DecoratedRun(CancellationToken token, IssuedTokens tokens) {
        this.token = token;
        this.tokens = tokens;
    }

    /**
     * Runs {@code delegate} on this thread under a new child of {@code parent} named
     * {@code name}, bound as {@link CancellationToken#current()} and tracked, as the innermost
     * decorated run of this thread; ends both when it returns (unless claimed).
     */
    @SuppressWarnings("try") // the scope and the tracked task are resources only for their close()
    static void run(Runnable delegate, CancellationToken parent, String name, CancellationTaskTracker tracker,
            IssuedTokens tokens) {
        DecoratedRun outer = INNERMOST.get();
        DecoratedRun run = new DecoratedRun(tokens.open(parent, name), tokens);
        try (Scope scope = run.token.bind(); TrackedTask task = tracker.track(name, run.token)) {
            run.task = task;
            INNERMOST.set(run);
            try {
                delegate.run();
            }
            finally {
                INNERMOST.set(outer);
            }
        }
        finally {
            run.endToken();
        }
    }

    /**
     * Hands over the innermost decorated run of this thread, if there is one that began at or
     * after {@code submittedNanos} (a {@link System#nanoTime()} value, or {@link #ANY_RUN}): its
     * tracking ends, handed over, and its token is closed. Does nothing the second time in the
     * same run.
     *
     * @param submittedNanos when the claiming work was submitted
     */
    static void claim(long submittedNanos) {
        DecoratedRun run = INNERMOST.get();
        if (run == null || run.task == null) {
            return;
        }
        // nanoTime values are compared by difference
        if (submittedNanos != ANY_RUN && run.task.startNanos() - submittedNanos < 0) {
            return; // a run that began before the work was submitted: not the one that runs it
        }
        INNERMOST.set(null);
        run.task.handOver();
        run.endToken();
    }

    private void endToken() {
        if (!tokenEnded) {
            tokenEnded = true;
            tokens.end(token);
        }
    }
}
