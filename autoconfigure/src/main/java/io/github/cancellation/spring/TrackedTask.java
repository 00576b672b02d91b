package io.github.cancellation.spring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;

import io.github.cancellation.CancellationToken;
import org.jspecify.annotations.Nullable;

/**
 * One piece of work tracked by a {@link CancellationTaskTracker}: its name, its token, the thread
 * that runs it and how long it has been running. Close it when the work ends.
 *
 * <p>Closing ends the tracking only; it does not close the token, which stays the caller's. If
 * the shutdown drain interrupted the task's thread (see
 * {@code cancellation.shutdown.interrupt-stragglers}) and {@code close()} is called on that
 * thread, the interrupt status is cleared, so that it does not leak into the next task a pooled
 * thread runs.
 *
 * <p>Thread-safety: all methods are thread-safe; {@code close()} is meant to be called on the
 * task's thread.
 */
public final class TrackedTask implements AutoCloseable {

    private static final int RUNNING = 0;
    private static final int INTERRUPTED = 1;
    private static final int ENDED = 2;

    private final CancellationTaskTracker tracker;
    private final String name;
    private final CancellationToken token;
    private final Thread thread;
    private final long startNanos = System.nanoTime();

    /**
     * RUNNING -> INTERRUPTED (the drain interrupted the thread) -> ENDED, or RUNNING -> ENDED.
     * Guarded by {@code this}, so that an interrupt is never delivered after the task ended:
     * {@link #interruptIfRunning()} interrupts while holding the monitor, and {@link #close()}
     * reads INTERRUPTED under the same monitor before clearing the interrupt. Nothing blocks while
     * the monitor is held.
     */
    private int state = RUNNING;

    /** Set before {@link #close()} when the work goes on under a tracking of its own. */
    private volatile boolean handedOver;

    /** What the first listener that asked keeps about this task (the metrics' run); see {@link #attach}. */
    @SuppressWarnings("unused") // through ATTACHMENT
    private volatile @Nullable Object attachment;

    private static final VarHandle ATTACHMENT;

    static {
        try {
            ATTACHMENT = MethodHandles.lookup().findVarHandle(TrackedTask.class, "attachment", Object.class);
        }
        catch (ReflectiveOperationException ex) {
            throw new ExceptionInInitializerError(ex);
        }
    }

    /** The tracker's list this task is linked into while in flight. */
    private final CancellationTaskTracker.Stripe stripe;

    /** Links of the stripe's list, guarded by the stripe's monitor. */
    @Nullable TrackedTask prev;

    @Nullable TrackedTask next;

    TrackedTask(CancellationTaskTracker tracker, String name, CancellationToken token, Thread thread,
            CancellationTaskTracker.Stripe stripe) {
        this.stripe = stripe;
        this.tracker = tracker;
        this.name = name;
        this.token = token;
        this.thread = thread;
    }

    /**
     * Returns the name given to {@link CancellationTaskTracker#track(String, CancellationToken)}.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Returns the token the work runs under.
     *
     * @return the token
     */
    public CancellationToken token() {
        return token;
    }

    /**
     * Returns the thread that started tracking the work.
     *
     * @return the thread
     */
    public Thread thread() {
        return thread;
    }

    /**
     * Returns the time since tracking started; it keeps growing after the task has ended.
     *
     * @return the time since tracking started
     */
    public Duration age() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    /**
     * Returns whether the task is still in flight.
     *
     * @return {@code false} once closed
     */
    public synchronized boolean isRunning() {
        return state != ENDED;
    }

    CancellationTaskTracker.Stripe stripe() {
        return stripe;
    }

    long startNanos() {
        return startNanos;
    }

    /**
     * Interrupts the task's thread if the task has not ended.
     *
     * @return {@code true} if the thread was interrupted
     */
    synchronized boolean interruptIfRunning() {
        if (state != RUNNING) {
            return false;
        }
        state = INTERRUPTED;
        thread.interrupt();
        return true;
    }

    /**
     * Attaches {@code value} to this task, if nothing is attached yet: a listener keeps its state
     * about the task here rather than in a map of its own.
     *
     * @return {@code true} if attached, {@code false} if another value was attached first
     */
    boolean attach(Object value) {
        return ATTACHMENT.compareAndSet(this, null, value);
    }

    /** Returns what is {@linkplain #attach attached} to this task, or null. */
    @Nullable Object attachment() {
        return attachment;
    }

    /**
     * Returns whether this task ended because the work it ran went on under a tracking of its own
     * (the task decorator's hand-over of a {@code @Scheduled} execution that a scheduler runs
     * inside a decorated task): a brief task, gone before its work was done.
     */
    boolean isHandedOver() {
        return handedOver;
    }

    /**
     * Ends the tracking of this task because its work goes on under a tracking of its own.
     * Listeners see {@link #isHandedOver()} true when told of the end.
     */
    void handOver() {
        handedOver = true;
        close();
    }

    /**
     * Ends the tracking of this task. Idempotent: only the first call counts.
     */
    @Override
    public void close() {
        boolean interrupted;
        synchronized (this) {
            if (state == ENDED) {
                return;
            }
            interrupted = (state == INTERRUPTED);
            state = ENDED;
        }
        if (interrupted && Thread.currentThread() == thread) {
            // The interrupt was meant for this task, which is over: don't leak it into the thread's next work.
            Thread.interrupted();
        }
        tracker.ended(this);
    }

    @Override
    public String toString() {
        return "TrackedTask[" + name + ", thread " + thread.getName() + ", age " + age().toMillis() + " ms]";
    }
}
