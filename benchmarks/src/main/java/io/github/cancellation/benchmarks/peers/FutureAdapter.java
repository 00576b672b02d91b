package io.github.cancellation.benchmarks.peers;

import java.util.concurrent.CompletableFuture;

/**
 * A {@code CompletableFuture<Void>} used as a token: a child is a dependent future; cancelling is
 * {@code cancel(false)}; callbacks are dependents (which cannot be removed: unregistering is a no-op,
 * the JDK's own limitation).
 */
public final class FutureAdapter implements TokenAdapter<CompletableFuture<Void>> {

    @Override
    public CompletableFuture<Void> newRoot() {
        return new CompletableFuture<>();
    }

    @Override
    public CompletableFuture<Void> newChild(CompletableFuture<Void> parent) {
        CompletableFuture<Void> child = new CompletableFuture<>();
        parent.whenComplete((v, e) -> child.cancel(false));
        return child;
    }

    @Override
    public void close(CompletableFuture<Void> token) {
        token.cancel(false);
    }

    @Override
    public void cancel(CompletableFuture<Void> token) {
        token.cancel(false);
    }

    @Override
    public boolean isCancelled(CompletableFuture<Void> token) {
        return token.isDone();
    }

    @Override
    public Object register(CompletableFuture<Void> token, Runnable callback) {
        return token.whenComplete((v, e) -> callback.run());
    }

    @Override
    public void unregister(CompletableFuture<Void> token, Object registration) {
        // A CompletableFuture offers no way to remove a dependent.
    }
}
