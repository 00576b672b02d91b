package io.github.cancellation;

/**
 * The binding made by {@link CancellationToken#bind()}: while it is open, the token is
 * {@link CancellationToken#current()} on the thread that opened it.
 *
 * <p>Thread-safety: a scope belongs to the thread that opened it and must be closed on that
 * thread, in the reverse order of opening (try-with-resources does both).
 */
public interface Scope extends AutoCloseable {

    /**
     * Returns the token that this scope made current.
     *
     * @return the bound token
     */
    CancellationToken token();

    /**
     * Restores the token that was current before this scope was opened. Closing twice does nothing
     * the second time.
     *
     * @throws IllegalStateException if called from a thread other than the one that opened the scope
     */
    @Override
    void close();
}
