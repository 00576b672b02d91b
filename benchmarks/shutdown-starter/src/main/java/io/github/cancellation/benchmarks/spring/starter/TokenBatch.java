package io.github.cancellation.benchmarks.spring.starter;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.benchmarks.spring.Census;
import io.github.cancellation.benchmarks.spring.Work;

import org.springframework.context.annotation.Profile;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/** The starter app's {@code @Scheduled} job: a long batch, a unit at a time until the execution's token is cancelled. */
@Component
@Profile("shutdown")
public class TokenBatch {

    private final Work work;
    private final Census census;

    public TokenBatch(Work work, Census census) {
        this.work = work;
        this.census = census;
    }

    @Scheduled(fixedDelay = 1000, initialDelay = 0)
    void batch() {
        CancellationToken token = CancellationToken.current();
        if (token.isCancelled()) {
            return;
        }
        census.batchStarted();
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
            census.batchEnded(clean);
        }
    }
}
