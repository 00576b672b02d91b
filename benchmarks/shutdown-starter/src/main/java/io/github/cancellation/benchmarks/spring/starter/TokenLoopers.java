package io.github.cancellation.benchmarks.spring.starter;

import java.util.concurrent.CompletableFuture;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.benchmarks.spring.Census;
import io.github.cancellation.benchmarks.spring.Loopers;
import io.github.cancellation.benchmarks.spring.Work;

import org.springframework.scheduling.annotation.Async;
import org.springframework.stereotype.Component;

/**
 * The starter app's {@code @Async} loops: a unit of work at a time until the invocation's token,
 * a child of the application token that the starter cancels on close, is cancelled.
 */
@Component
public class TokenLoopers implements Loopers {

    private final Work work;
    private final Census census;

    public TokenLoopers(Work work, Census census) {
        this.work = work;
        this.census = census;
    }

    @Async
    @Override
    public CompletableFuture<Void> loop(int id) {
        census.loopStarted();
        CancellationToken token = CancellationToken.current();
        boolean clean = true;
        try {
            while (!token.isCancelled()) {
                work.unit();
            }
        }
        catch (InterruptedException ex) {
            clean = false;
            Thread.currentThread().interrupt();
        }
        finally {
            census.loopEnded(clean);
        }
        return CompletableFuture.completedFuture(null);
    }
}
