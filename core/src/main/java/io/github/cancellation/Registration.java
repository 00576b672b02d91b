package io.github.cancellation;

/**
 * A callback registered with {@link CancellationToken#onCancel(java.util.function.Consumer)}.
 * Unregistering releases the callback so that nothing is retained for it.
 *
 * <p>Thread-safety: safe to call from any thread, concurrently with cancellation. Unregistering
 * never blocks and never waits for a callback that is running.
 */
public interface Registration extends AutoCloseable {

    /**
     * Removes the callback if it has not run yet.
     *
     * <p>Exactly one of two things happens for every registration: either one call of this method
     * returns {@code true} and the callback never runs, or the callback runs (once) and this method
     * returns {@code false}. It returns {@code false} as well when the callback is running or has
     * run, when the token was cancelled before (the callback then ran at registration), and on every
     * call after the first. It does not wait for a running callback to finish.
     *
     * @return {@code true} if this call prevented the callback from running
     */
    boolean unregister();

    /**
     * Same as {@link #unregister()}, for try-with-resources. Safe to call more than once.
     */
    @Override
    default void close() {
        unregister();
    }
}
