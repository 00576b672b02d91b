package io.github.cancellation.benchmarks.spring;

import java.util.concurrent.CompletableFuture;

/**
 * The {@code @Async} loops: each runs units of {@link Work} until its app's stop signal says
 * stop, reporting to the {@link Census}. One implementation per app.
 */
public interface Loopers {

    CompletableFuture<Void> loop(int id);
}
