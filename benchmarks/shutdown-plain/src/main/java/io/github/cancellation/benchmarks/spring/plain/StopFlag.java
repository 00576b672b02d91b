package io.github.cancellation.benchmarks.spring.plain;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The careful hand-written stop signal: a volatile flag that a {@link SmartLifecycle} sets when
 * the context closes, at a phase after the web server has drained and stopped
 * ({@code DEFAULT_PHASE - 1024} and {@code - 2048}) and before the executors and the scheduler
 * wait for their tasks ({@code Integer.MAX_VALUE / 2}). Set any later (a {@code @PreDestroy}, or
 * a phase below the executors') and the executors' phase waits its full timeout for loops that
 * were never told to stop. The same phase as the starter's, so the two apps differ in the signal
 * only.
 *
 * <p>With {@code bench.plain.naive=true} the flag is never set: the control case of what many
 * applications do today (a loop with no stop signal).
 */
@Component
public class StopFlag implements SmartLifecycle {

    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 3072;

    private final boolean naive;
    private volatile boolean stopRequested;
    private volatile boolean running;

    public StopFlag(@Value("${bench.plain.naive:false}") boolean naive) {
        this.naive = naive;
    }

    /** Whether this is the naive control: no stop signal, and interrupts ignored. */
    public boolean naive() {
        return naive;
    }

    public boolean stopRequested() {
        return stopRequested;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        stopRequested = !naive;
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /** A paused context is resumed later: keep the loops running. */
    @Override
    public boolean isPauseable() {
        return false;
    }
}
