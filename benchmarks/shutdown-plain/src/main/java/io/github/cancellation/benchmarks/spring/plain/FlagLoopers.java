package io.github.cancellation.benchmarks.spring.plain;

import java.util.concurrent.CompletableFuture;

import io.github.cancellation.benchmarks.spring.Census;
import io.github.cancellation.benchmarks.spring.Loopers;
import io.github.cancellation.benchmarks.spring.Work;

import org.springframework.scheduling.annotation.Async;
import org.springframework.stereotype.Component;

/**
 * The plain app's {@code @Async} loops: a unit of work at a time until the {@link StopFlag} is set.
 * In the naive control ({@code bench.plain.naive=true}) a loop also swallows interrupts, as a
 * {@code catch (InterruptedException ignored)} around a blocking call does, and never ends.
 */
@Component
public class FlagLoopers implements Loopers {

    private final StopFlag flag;
    private final Work work;
    private final Census census;

    public FlagLoopers(StopFlag flag, Work work, Census census) {
        this.flag = flag;
        this.work = work;
        this.census = census;
    }

    @Async
    @Override
    public CompletableFuture<Void> loop(int id) {
        census.loopStarted();
        boolean clean = true;
        try {
            while (!flag.stopRequested()) {
                try {
                    work.unit();
                }
                catch (InterruptedException ex) {
                    if (!flag.naive()) {
                        throw ex;
                    }
                }
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
