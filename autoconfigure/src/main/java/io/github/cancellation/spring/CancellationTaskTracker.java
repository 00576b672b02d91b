package io.github.cancellation.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.Registration;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Counts work in flight so that shutdown can wait for it, after tokio's {@code TaskTracker}.
 *
 * <p>Work calls {@link #track(String, CancellationToken)} on the thread that does it and closes
 * the returned {@link TrackedTask} when it ends, typically with try-with-resources:
 *
 * <pre>{@code
 * @PostConstruct
 * void startWorker() {
 *     new Thread(() -> {
 *         try (TrackedTask task = tracker.track("ingest-worker", token)) {
 *             while (!token.isCancelled()) {
 *                 ingestOneBatch();
 *             }
 *         }
 *     }, "ingest-worker").start();
 * }
 * }</pre>
 *
 * <p>The owner {@linkplain #close() closes} the tracker, then {@linkplain #awaitEmpty(Duration)
 * waits} until nothing is in flight. Closing does not refuse new work: a task tracked after
 * {@code close()} is waited for as well (work that starts during shutdown starts with a cancelled
 * token and ends quickly). Closing first only guarantees that the wait does not end in a moment
 * where the tracker happens to be empty before the owner is done, which is why
 * {@code awaitEmpty} waits for "closed and empty". The starter's application tracker is closed
 * by the shutdown drain, which waits up to {@code cancellation.shutdown.drain-timeout}.
 *
 * <p>{@link #tasks()} gives a snapshot of the work in flight (name, age, thread, token), and
 * {@linkplain #addListener(Listener) listeners} observe every start and end.
 *
 * <p>Thread-safety: all methods are thread-safe. {@code track} and {@code TrackedTask.close()}
 * never wait: they link or unlink the task in a striped list (a short monitor per stripe), run the listeners, and take the tracker's lock
 * only to wake waiters when the tracker becomes empty after {@code close()}.
 *
 * <p>Memory consistency effects: actions of a task prior to closing its {@link TrackedTask}
 * <i>happen-before</i> a successful return from {@link #awaitEmpty(Duration)} that observed the
 * tracker empty.
 */
public final class CancellationTaskTracker {

    private static final Log logger = LogFactory.getLog(CancellationTaskTracker.class);

    /** A power of two: stripes of the in-flight list, picked by the tracking thread. */
    private static final int STRIPES = Math.min(64,
            Integer.highestOneBit(Math.max(1, Runtime.getRuntime().availableProcessors() * 4) - 1) << 1);

    /**
     * The tasks in flight, in lists linked through the tasks themselves (no allocation per task),
     * one list per stripe, each guarded by its stripe's monitor. A thread always adds to the
     * stripe of its identity hash, so threads that track at the same time seldom share a stripe.
     */
    private final Stripe[] inFlight = new Stripe[STRIPES];

    /**
     * Number of tasks tracked and not yet ended. Incremented before a task enters
     * {@link #inFlight} and decremented after it left, so "zero" implies an empty set.
     */
    private final AtomicInteger count = new AtomicInteger();

    /** Copy-on-write without an iterator per task: replaced as a whole under {@code this}. */
    private volatile Listener[] listeners = new Listener[0];

    private final ReentrantLock lock = new ReentrantLock();

    /** Signalled, under {@link #lock}, when the tracker becomes closed or empty after closing. */
    private final Condition closedAndEmpty = lock.newCondition();

    private volatile boolean closed;

    /**
     * Creates an open, empty tracker.
     */
    public CancellationTaskTracker() {
        for (int i = 0; i < inFlight.length; i++) {
            inFlight[i] = new Stripe(this);
        }
    }

    /**
     * Starts tracking work that runs on the calling thread. Works also after {@link #close()}.
     *
     * @param name a short, stable name for the work (used in logs and, later, as a metric tag:
     *     keep it bounded, for example a class or job name, never an id)
     * @param token the token that tells the work to stop
     * @return the handle to close, on this thread, when the work ends
     * @throws NullPointerException if an argument is null
     */
    public TrackedTask track(String name, CancellationToken token) {
        Objects.requireNonNull(name, "name must not be null");
        Objects.requireNonNull(token, "token must not be null");
        Thread thread = Thread.currentThread();
        Stripe stripe = inFlight[System.identityHashCode(thread) & (STRIPES - 1)];
        TrackedTask task = new TrackedTask(name, token, thread, stripe);
        count.incrementAndGet();
        stripe.add(task);
        for (Listener listener : listeners) {
            try {
                listener.taskStarted(task);
            }
            catch (RuntimeException ex) {
                logger.warn("Task tracker listener " + listener + " failed on the start of " + task, ex);
            }
        }
        return task;
    }

    /** Called once per task by {@link TrackedTask#close()}. */
    void ended(TrackedTask task) {
        task.stripe().remove(task);
        int left = count.decrementAndGet();
        for (Listener listener : listeners) {
            try {
                listener.taskFinished(task);
            }
            catch (RuntimeException ex) {
                logger.warn("Task tracker listener " + listener + " failed on the end of " + task, ex);
            }
        }
        if (left == 0 && closed) {
            signalAll();
        }
    }

    /**
     * Returns the number of tasks in flight.
     *
     * @return tasks tracked and not yet ended
     */
    public int activeCount() {
        return count.get();
    }

    /**
     * Returns a snapshot of the tasks in flight, oldest first.
     *
     * @return an unmodifiable list, not a live view
     */
    public List<TrackedTask> tasks() {
        List<TrackedTask> tasks = new ArrayList<>(count.get());
        for (Stripe stripe : inFlight) {
            stripe.copyTo(tasks);
        }
        // nanoTime values are compared by difference, as System.nanoTime() asks
        tasks.sort((a, b) -> Long.signum(a.startNanos() - b.startNanos()));
        return List.copyOf(tasks);
    }

    /**
     * Notes, in every task in flight whose token reads cancelled, that the tracker sees it
     * cancelled now (see {@link TrackedTask#noteCancelled()}). Called right after the starter
     * cancels tokens itself, so that the time from that cancellation to each task's end is known
     * without a callback on each task's token. Walks the tasks in flight: as many as threads that
     * run tracked work.
     */
    void noteCancelled() {
        for (Stripe stripe : inFlight) {
            stripe.noteCancelled();
        }
    }

    /**
     * Closes the tracker: from now on {@link #awaitEmpty(Duration)} returns as soon as no task is
     * in flight. Tasks can still be tracked. Idempotent.
     *
     * @return {@code true} if this call closed the tracker
     */
    public boolean close() {
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            closed = true;
            closedAndEmpty.signalAll();
            return true;
        }
        finally {
            lock.unlock();
        }
    }

    /**
     * Returns whether {@link #close()} has been called.
     *
     * @return {@code true} once closed; never goes back to {@code false}
     */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Waits until this tracker is closed and no task is in flight, or the timeout runs out.
     *
     * @param timeout how long to wait at most; zero or negative only checks
     * @return {@code true} if the tracker is closed and empty, {@code false} if the time ran out
     * @throws InterruptedException if the calling thread is interrupted while waiting
     * @throws NullPointerException if {@code timeout} is null
     */
    public boolean awaitEmpty(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout must not be null");
        long nanos = saturatedNanos(timeout);
        lock.lockInterruptibly();
        try {
            while (!(closed && count.get() == 0)) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = closedAndEmpty.awaitNanos(nanos);
            }
            return true;
        }
        finally {
            lock.unlock();
        }
    }

    /**
     * Adds a listener that is told about every task start and end, on the thread that starts or
     * ends it. A listener that throws is logged and does not affect the task or other listeners.
     *
     * @param listener the listener; keep it fast, it runs on the task's thread
     * @return a registration that removes the listener
     * @throws NullPointerException if {@code listener} is null
     */
    public Registration addListener(Listener listener) {
        Objects.requireNonNull(listener, "listener must not be null");
        synchronized (this) {
            Listener[] added = Arrays.copyOf(listeners, listeners.length + 1);
            added[added.length - 1] = listener;
            listeners = added;
        }
        return () -> removeListener(listener);
    }

    private synchronized boolean removeListener(Listener listener) {
        List<Listener> left = new ArrayList<>(Arrays.asList(listeners));
        boolean removed = left.remove(listener);
        listeners = left.toArray(new Listener[0]);
        return removed;
    }

    private void signalAll() {
        lock.lock();
        try {
            closedAndEmpty.signalAll();
        }
        finally {
            lock.unlock();
        }
    }

    private static long saturatedNanos(Duration duration) {
        try {
            return duration.toNanos();
        }
        catch (ArithmeticException overflow) {
            return duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    @Override
    public String toString() {
        return "CancellationTaskTracker[" + count.get() + " in flight" + (closed ? ", closed" : "") + "]";
    }

    /**
     * One list of tasks in flight, linked through {@link TrackedTask#prev} and
     * {@link TrackedTask#next}, guarded by this object's monitor (nothing blocks while it is held).
     */
    static final class Stripe {

        private final CancellationTaskTracker tracker;

        Stripe(CancellationTaskTracker tracker) {
            this.tracker = tracker;
        }

        CancellationTaskTracker tracker() {
            return tracker;
        }

        private @Nullable TrackedTask head;

        synchronized void add(TrackedTask task) {
            task.next = head;
            if (head != null) {
                head.prev = task;
            }
            head = task;
        }

        synchronized void remove(TrackedTask task) {
            TrackedTask prev = task.prev;
            TrackedTask next = task.next;
            if (prev != null) {
                prev.next = next;
            }
            else if (head == task) {
                head = next;
            }
            if (next != null) {
                next.prev = prev;
            }
            task.prev = null;
            task.next = null;
        }

        synchronized void noteCancelled() {
            for (TrackedTask task = head; task != null; task = task.next) {
                task.noteCancelled();
            }
        }

        synchronized void copyTo(List<TrackedTask> tasks) {
            for (TrackedTask task = head; task != null; task = task.next) {
                tasks.add(task);
            }
        }
    }

    /**
     * Observes the tasks of a {@link CancellationTaskTracker}, for example to record metrics. Both
     * methods run on the thread that starts or ends the task and must not block.
     */
    public interface Listener {

        /**
         * Called when a task is tracked, after it counts as in flight.
         *
         * @param task the task that started
         */
        default void taskStarted(TrackedTask task) {
        }

        /**
         * Called once when a task ends, after it no longer counts as in flight.
         *
         * @param task the task that ended
         */
        default void taskFinished(TrackedTask task) {
        }
    }
}
