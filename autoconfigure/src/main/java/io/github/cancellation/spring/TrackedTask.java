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

    /** The value of {@link #cancelSeenNanos} until the tracker sees the token cancelled. */
    static final long NOT_SEEN = Long.MIN_VALUE;

    /**
     * When the tracker first saw this task's token cancelled (a {@link System#nanoTime()} value),
     * or {@link #NOT_SEEN}: see {@link #noteCancelled()}. Through {@link #CANCEL_SEEN}.
     */
    private volatile long cancelSeenNanos = NOT_SEEN;

    /**
     * The owner of {@link #attachment} (a listener of the tracker), or null: see
     * {@link #attach(Object, Object)}.
     */
    private volatile @Nullable Object attachmentOwner;

    /**
     * What the listener that owns it keeps about this task while it runs (a timer's sample).
     * Through {@link #ATTACHMENT}, once attached.
     */
    private volatile @Nullable Object attachment;

    private static final VarHandle CANCEL_SEEN;

    private static final VarHandle ATTACHMENT_OWNER;

    private static final VarHandle ATTACHMENT;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            CANCEL_SEEN = lookup.findVarHandle(TrackedTask.class, "cancelSeenNanos", long.class);
            ATTACHMENT_OWNER = lookup.findVarHandle(TrackedTask.class, "attachmentOwner", Object.class);
            ATTACHMENT = lookup.findVarHandle(TrackedTask.class, "attachment", Object.class);
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

    TrackedTask(String name, CancellationToken token, Thread thread,
            CancellationTaskTracker.Stripe stripe) {
        this.stripe = stripe;
        this.name = name;
        this.token = token;
        this.thread = thread;
        if (token.isCancelled()) {
            cancelSeenNanos = startNanos; // born cancelled
        }
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
     * Attaches {@code value} to this task for {@code owner}, if no other owner attached something
     * first: a listener keeps its state about a running task here rather than in a map of its own.
     *
     * @return {@code true} if attached, {@code false} if another owner was first
     */
    boolean attach(Object owner, Object value) {
        if (!ATTACHMENT_OWNER.compareAndSet(this, null, owner)) {
            return false;
        }
        attachment = value;
        return true;
    }

    /** Returns whether {@code owner} {@linkplain #attach attached} something to this task. */
    boolean isAttachedBy(Object owner) {
        return attachmentOwner == owner;
    }

    /** Returns what is attached, or null; for its owner only. */
    @Nullable Object attachment() {
        return attachment;
    }

    /** Replaces what is attached, if it is {@code expected}; for its owner only. */
    boolean reattach(Object expected, Object value) {
        return ATTACHMENT.compareAndSet(this, expected, value);
    }

    /** Removes and returns what is attached, or null; for its owner only. */
    @Nullable Object detach() {
        return ATTACHMENT.getAndSet(this, (Object) null);
    }

    /**
     * Notes, once, that the tracker sees this task's token cancelled now, if it is. The tracker
     * notes it when the task starts (a task born cancelled), when the starter cancels tokens
     * itself (the shutdown, the actuator endpoint, a caller's cancel of an {@code @Async}
     * invocation) or when one of its long-lived tokens is cancelled, and at the latest when the
     * task ends: no callback on the task's token.
     */
    void noteCancelled() {
        if (cancelSeenNanos == NOT_SEEN && token.isCancelled()) {
            CANCEL_SEEN.compareAndSet(this, NOT_SEEN, System.nanoTime());
        }
    }

    /**
     * Returns when the tracker first saw this task's token cancelled, a {@link System#nanoTime()}
     * value, or {@link #NOT_SEEN}.
     */
    long cancelSeenNanos() {
        return cancelSeenNanos;
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
        noteCancelled();
        if (interrupted && Thread.currentThread() == thread) {
            // The interrupt was meant for this task, which is over: don't leak it into the thread's next work.
            Thread.interrupted();
        }
        stripe.tracker().ended(this); // the stripe knows its tracker: one field less per task
    }

    @Override
    public String toString() {
        return "TrackedTask[" + name + ", thread " + thread.getName() + ", age " + age().toMillis() + " ms]";
    }
}
