package io.github.cancellation.benchmarks.spring;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Counts the loops and the scheduled batch, and tells the driver on stdout:
 * <ul>
 *   <li>{@code BENCH READY} once all {@code bench.tasks} loops and the scheduled batch run;
 *   <li>{@code BENCH CLOSING} when the context starts closing ({@link ContextClosedEvent});
 *   <li>{@code BENCH STOPPED} once every loop and the batch have ended, with how many ended
 *       cleanly (saw the stop signal between units) and how many were interrupted, and the time
 *       since {@code CLOSING}.
 * </ul>
 * A loop cut off by the JVM halt never reports: then {@code STOPPED} is never printed.
 */
@Component
public class Census {

    private final int tasks;
    private final AtomicInteger started = new AtomicInteger();
    private final AtomicInteger ended = new AtomicInteger();
    private final AtomicInteger clean = new AtomicInteger();
    private final AtomicInteger interrupted = new AtomicInteger();
    private final AtomicInteger batchesRunning = new AtomicInteger();
    private final AtomicInteger batchesStarted = new AtomicInteger();
    private final AtomicBoolean ready = new AtomicBoolean();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private volatile long closingNanos;

    public Census(@Value("${bench.tasks:1000}") int tasks) {
        this.tasks = tasks;
    }

    public int tasks() {
        return tasks;
    }

    public void loopStarted() {
        started.incrementAndGet();
        checkReady();
    }

    public void loopEnded(boolean endedCleanly) {
        (endedCleanly ? clean : interrupted).incrementAndGet();
        ended.incrementAndGet();
        checkStopped();
    }

    public void batchStarted() {
        batchesRunning.incrementAndGet();
        batchesStarted.incrementAndGet();
        checkReady();
    }

    public void batchEnded(boolean endedCleanly) {
        (endedCleanly ? clean : interrupted).incrementAndGet();
        batchesRunning.decrementAndGet();
        checkStopped();
    }

    @EventListener
    void onClose(ContextClosedEvent event) {
        closingNanos = System.nanoTime();
        say("CLOSING running=" + (started.get() - ended.get()) + " batches=" + batchesRunning.get());
    }

    private void checkReady() {
        if (started.get() == tasks && batchesStarted.get() > 0 && ready.compareAndSet(false, true)) {
            say("READY tasks=" + tasks + " batches=" + batchesRunning.get());
        }
    }

    private void checkStopped() {
        if (ready.get() && ended.get() == tasks && batchesRunning.get() == 0 && stopped.compareAndSet(false, true)) {
            long since = closingNanos == 0 ? -1 : (System.nanoTime() - closingNanos) / 1_000_000;
            say("STOPPED clean=" + clean.get() + " interrupted=" + interrupted.get() + " of=" + (tasks + batchesStarted.get())
                    + " ms_after_closing=" + since);
        }
    }

    public static void say(String line) {
        System.out.println("BENCH " + line);
        System.out.flush();
    }
}
