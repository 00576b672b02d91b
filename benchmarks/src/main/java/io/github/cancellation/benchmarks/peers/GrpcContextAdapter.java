package io.github.cancellation.benchmarks.peers;

import io.grpc.Context;

/** gRPC's {@code io.grpc.Context.CancellableContext}, listeners on a direct executor. */
public final class GrpcContextAdapter implements TokenAdapter<Context.CancellableContext> {

    private static final java.util.concurrent.Executor DIRECT = Runnable::run;

    @Override
    public Context.CancellableContext newRoot() {
        return Context.ROOT.withCancellation();
    }

    @Override
    public Context.CancellableContext newChild(Context.CancellableContext parent) {
        return parent.withCancellation();
    }

    @Override
    public void close(Context.CancellableContext token) {
        token.cancel(null); // gRPC's documented way to release a CancellableContext
    }

    @Override
    public void cancel(Context.CancellableContext token) {
        token.cancel(null);
    }

    @Override
    public boolean isCancelled(Context.CancellableContext token) {
        return token.isCancelled();
    }

    @Override
    public Object register(Context.CancellableContext token, Runnable callback) {
        Context.CancellationListener listener = context -> callback.run();
        token.addListener(listener, DIRECT);
        return listener;
    }

    @Override
    public void unregister(Context.CancellableContext token, Object registration) {
        token.removeListener((Context.CancellationListener) registration);
    }
}
