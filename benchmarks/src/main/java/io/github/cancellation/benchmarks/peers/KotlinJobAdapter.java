package io.github.cancellation.benchmarks.peers;

import kotlin.Unit;
import kotlinx.coroutines.CompletableJob;
import kotlinx.coroutines.DisposableHandle;
import kotlinx.coroutines.Job;
import kotlinx.coroutines.JobKt;

/** Kotlin coroutines' {@code Job(parent)}: {@code complete()} to release, {@code invokeOnCompletion}. */
public final class KotlinJobAdapter implements TokenAdapter<CompletableJob> {

    @Override
    public CompletableJob newRoot() {
        return JobKt.Job(null);
    }

    @Override
    public CompletableJob newChild(CompletableJob parent) {
        return JobKt.Job(parent);
    }

    @Override
    public void close(CompletableJob token) {
        token.complete();
    }

    @Override
    public void cancel(CompletableJob token) {
        token.cancel(null);
    }

    @Override
    public boolean isCancelled(CompletableJob token) {
        return token.isCancelled();
    }

    @Override
    public Object register(CompletableJob token, Runnable callback) {
        return ((Job) token).invokeOnCompletion(cause -> {
            callback.run();
            return Unit.INSTANCE;
        });
    }

    @Override
    public void unregister(CompletableJob token, Object registration) {
        ((DisposableHandle) registration).dispose();
    }
}
