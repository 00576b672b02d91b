package io.github.cancellation.benchmarks.peers;

/**
 * The floor: a bare volatile flag behind the same adapter. Only the check is meaningful; it has no
 * tree (a child is a new flag) and no callbacks.
 */
public final class VolatileFlagAdapter implements TokenAdapter<VolatileFlagAdapter.Flag> {

    /** One volatile boolean. */
    public static final class Flag {
        volatile boolean cancelled;
    }

    @Override
    public Flag newRoot() {
        return new Flag();
    }

    @Override
    public Flag newChild(Flag parent) {
        return new Flag();
    }

    @Override
    public void close(Flag token) {
        token.cancelled = true;
    }

    @Override
    public void cancel(Flag token) {
        token.cancelled = true;
    }

    @Override
    public boolean isCancelled(Flag token) {
        return token.cancelled;
    }

    @Override
    public Object register(Flag token, Runnable callback) {
        return callback;
    }

    @Override
    public void unregister(Flag token, Object registration) {
        // No callbacks: the floor only measures the check.
    }
}
