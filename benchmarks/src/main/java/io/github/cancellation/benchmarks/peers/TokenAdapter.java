package io.github.cancellation.benchmarks.peers;

/**
 * The one small interface every token implementation is measured through, so that all peers pay the
 * same call overhead and adding a peer is one class. Register a new peer in {@link Peers}.
 *
 * @param <T> the peer's token type
 */
public interface TokenAdapter<T> {

    /** A new long-lived root. */
    T newRoot();

    /** A child of {@code parent}, cancelled with it. */
    T newChild(T parent);

    /** Ends the child's life the way the peer requires (close, cancel, complete, remove). */
    void close(T token);

    /** Cancels the token and its descendants. */
    void cancel(T token);

    /** The hot-path check. */
    boolean isCancelled(T token);

    /** Registers a callback to run on cancellation; returns what {@link #unregister} needs. */
    Object register(T token, Runnable callback);

    /** Removes a callback registered by {@link #register}. */
    void unregister(T token, Object registration);
}
