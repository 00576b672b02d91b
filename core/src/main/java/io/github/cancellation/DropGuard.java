package io.github.cancellation;

/**
 * Cancels a token when closed, unless disarmed first: the Java form of tokio's {@code DropGuard}.
 * Useful to tie a token to a {@code try} block:
 *
 * <pre>{@code
 * try (DropGuard guard = token.dropGuard()) {
 *     startWorkers(token);
 *     awaitInput();
 * } // token cancelled here, however the block ends
 * }</pre>
 *
 * <p>Thread-safety: safe to use from any thread; exactly one of {@code close()} and
 * {@code disarm()} takes effect.
 */
public interface DropGuard extends AutoCloseable {

    /**
     * Returns the guarded token.
     *
     * @return the token this guard cancels on close
     */
    CancellationToken token();

    /**
     * Releases the guard without cancelling: a later {@link #close()} does nothing.
     *
     * @return the guarded token
     */
    CancellationToken disarm();

    /**
     * Cancels the token (kind {@link CancellationReason.Kind#MANUAL MANUAL}) unless the guard was
     * disarmed or already closed.
     */
    @Override
    void close();
}
