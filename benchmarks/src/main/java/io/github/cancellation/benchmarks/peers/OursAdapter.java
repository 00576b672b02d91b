package io.github.cancellation.benchmarks.peers;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.Registration;

/** This project's token. */
public final class OursAdapter implements TokenAdapter<CancellationToken> {

    @Override
    public CancellationToken newRoot() {
        return CancellationToken.create();
    }

    @Override
    public CancellationToken newChild(CancellationToken parent) {
        return parent.child();
    }

    @Override
    public void close(CancellationToken token) {
        token.close();
    }

    @Override
    public void cancel(CancellationToken token) {
        token.cancel();
    }

    @Override
    public boolean isCancelled(CancellationToken token) {
        return token.isCancelled();
    }

    @Override
    public Object register(CancellationToken token, Runnable callback) {
        return token.onCancel(reason -> callback.run());
    }

    @Override
    public void unregister(CancellationToken token, Object registration) {
        ((Registration) registration).unregister();
    }
}
