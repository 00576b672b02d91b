package io.github.cancellation.benchmarks.peers;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a team writes by hand: an {@code AtomicBoolean}, a {@code CopyOnWriteArrayList} of children
 * and one of callbacks, recursive cancel.
 */
public final class NaiveAdapter implements TokenAdapter<NaiveAdapter.Naive> {

    /** The hand-written token. */
    public static final class Naive {
        final Naive parent;
        final AtomicBoolean cancelled = new AtomicBoolean();
        final CopyOnWriteArrayList<Naive> children = new CopyOnWriteArrayList<>();
        final CopyOnWriteArrayList<Runnable> callbacks = new CopyOnWriteArrayList<>();

        Naive(Naive parent) {
            this.parent = parent;
        }

        void cancel() {
            if (cancelled.compareAndSet(false, true)) {
                callbacks.forEach(Runnable::run);
                children.forEach(Naive::cancel);
            }
        }
    }

    @Override
    public Naive newRoot() {
        return new Naive(null);
    }

    @Override
    public Naive newChild(Naive parent) {
        Naive child = new Naive(parent);
        parent.children.add(child);
        if (parent.cancelled.get()) {
            child.cancel();
        }
        return child;
    }

    @Override
    public void close(Naive token) {
        token.cancel();
        if (token.parent != null) {
            token.parent.children.remove(token);
        }
    }

    @Override
    public void cancel(Naive token) {
        token.cancel();
    }

    @Override
    public boolean isCancelled(Naive token) {
        return token.cancelled.get();
    }

    @Override
    public Object register(Naive token, Runnable callback) {
        token.callbacks.add(callback);
        if (token.cancelled.get() && token.callbacks.remove(callback)) {
            callback.run();
        }
        return callback;
    }

    @Override
    public void unregister(Naive token, Object registration) {
        token.callbacks.remove(registration);
    }
}
