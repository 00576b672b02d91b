package io.github.cancellation.benchmarks.spring.plain;

import io.github.cancellation.benchmarks.spring.Census;
import io.github.cancellation.benchmarks.spring.Work;

import org.springframework.context.annotation.Profile;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/** The plain app's {@code @Scheduled} job: a long batch, a unit at a time until the {@link StopFlag} is set. */
@Component
@Profile("shutdown")
public class FlagBatch {

    private final StopFlag flag;
    private final Work work;
    private final Census census;

    public FlagBatch(StopFlag flag, Work work, Census census) {
        this.flag = flag;
        this.work = work;
        this.census = census;
    }

    @Scheduled(fixedDelay = 1000, initialDelay = 0)
    void batch() {
        if (flag.stopRequested()) {
            return;
        }
        census.batchStarted();
        boolean clean = true;
        try {
            while (!flag.stopRequested()) {
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
