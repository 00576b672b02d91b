package io.github.cancellation.benchmarks.spring;

import java.util.concurrent.CompletableFuture;

import org.springframework.scheduling.annotation.Async;
import org.springframework.stereotype.Component;

/** The trivial {@code @Async} method whose invocation rate the throughput profile measures. */
@Component
public class Echo {

    @Async
    public CompletableFuture<Integer> echo(int value) {
        return CompletableFuture.completedFuture(value);
    }
}
