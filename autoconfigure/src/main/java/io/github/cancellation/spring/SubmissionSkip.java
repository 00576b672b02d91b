package io.github.cancellation.spring;

/**
 * Tells {@link CancellationTaskDecorator}, on the thread that submits an {@code @Async}
 * invocation, that the next task it decorates there is that invocation, which runs under a token
 * and a tracking of its own: the decorator then leaves it undecorated, sparing a token, a
 * tracking and a hand-over per call.
 *
 * <h2>Why this is a workaround, and why it is safe</h2>
 * Framework offers no way to tell a {@code TaskDecorator} which submission a task comes from:
 * Spring's {@code AsyncExecutionInterceptor} creates the task and submits it itself. This class
 * relies on the executor decorating the task on the submitting thread, during the submission, as
 * Spring's {@code ThreadPoolTaskExecutor}, {@code SimpleAsyncTaskExecutor} and
 * {@code ConcurrentTaskExecutor} do, and as Framework's own {@code ContextPropagatingTaskDecorator}
 * requires ({@code SubmissionSkipTests} checks those executors and fails naming the one that
 * changed). It is an optimization only: an executor that decorates elsewhere leaves the skip
 * unconsumed, the task is decorated, and the invocation {@linkplain DecoratedRun#claim(long)
 * claims} the decorated run on the executor's thread. A skip ends with the submission, consumed
 * or not, so it never reaches another submission.
 *
 * <p>Thread-safety: confined to the submitting thread; skips nest.
 */
final class SubmissionSkip implements AutoCloseable {

    /**
     * {@code TRUE} on a thread that is submitting an invocation, until a decoration consumes it
     * (then {@code FALSE}) or the submission ends. Reset with set, never remove(): a thread that
     * submits many invocations reuses its map entry.
     */
    private static final ThreadLocal<Boolean> SKIP_NEXT = new ThreadLocal<>();

    /** Ends a skip that found none in place. */
    private static final SubmissionSkip RESTORE_NO_SKIP = new SubmissionSkip(Boolean.FALSE);

    /** Ends a skip nested in another one, still unconsumed. */
    private static final SubmissionSkip RESTORE_SKIP = new SubmissionSkip(Boolean.TRUE);

    private final Boolean restored;

    private SubmissionSkip(Boolean restored) {
        this.restored = restored;
    }

    /**
     * Makes the next decoration on this thread, until the returned handle is closed, leave its
     * task undecorated.
     *
     * @return the handle that ends the skip; close it on this thread
     */
    static SubmissionSkip open() {
        boolean previous = SKIP_NEXT.get() == Boolean.TRUE;
        SKIP_NEXT.set(Boolean.TRUE);
        return previous ? RESTORE_SKIP : RESTORE_NO_SKIP;
    }

    /**
     * Consumes the skip of this thread, if one is open and unconsumed.
     *
     * @return {@code true} if the task being decorated should be left undecorated
     */
    static boolean consume() {
        if (SKIP_NEXT.get() == Boolean.TRUE) {
            SKIP_NEXT.set(Boolean.FALSE);
            return true;
        }
        return false;
    }

    /** Ends the skip, restoring what was set before. */
    @Override
    public void close() {
        SKIP_NEXT.set(restored);
    }
}
