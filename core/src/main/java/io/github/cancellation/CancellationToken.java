package io.github.cancellation;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A hierarchical, cooperative cancellation signal: work checks it, waits on it or reacts to it, and
 * stops cleanly when it is cancelled.
 *
 * <pre>{@code
 * CancellationToken shutdown = CancellationToken.create("shutdown");
 * CancellationToken worker = shutdown.child("worker");
 * executor.execute(() -> {
 *     while (!worker.isCancelled()) {
 *         Item item = worker.call(queue::take); // a blocked take wakes up on cancellation
 *         process(item);
 *     }
 * });
 * shutdown.cancel(); // cancels worker too
 * }</pre>
 *
 * <h2>The tree</h2>
 * A token made by {@link #child()} is cancelled when any of its ancestors is, with the ancestor's
 * {@linkplain #reason() reason}; cancelling it never affects its parent or siblings. A child made
 * from a token that is already cancelled is born cancelled. {@link #close()} ends a token's life:
 * it cancels it with kind {@link CancellationReason.Kind#CLOSED CLOSED} and detaches it from its
 * parent. Forgetting to close is safe too: a child that nobody references and that has nothing
 * registered on it costs its parent nothing and is garbage-collected, while a child with a callback,
 * a waiter or such a child of its own stays reachable from its parent, so no callback is lost.
 *
 * <h2>Cancellation</h2>
 * {@link #cancel()} is idempotent: the first call wins, its reason is kept, and only that call
 * returns {@code true}. When it returns, the token and every descendant read as cancelled, and every
 * callback registered on them has run, on the cancelling thread, outside every lock of the tree. A
 * callback that throws does not stop the others: its exception goes to the cancelling thread's
 * {@linkplain Thread.UncaughtExceptionHandler uncaught-exception handler}, once. Cancelling is
 * iterative, so a chain of a million tokens cancels without a deep stack.
 *
 * <h2>Threads</h2>
 * All methods are thread-safe and none blocks except {@link #await()}, {@link #await(Duration)} and
 * the work given to {@link #call}/{@link #run}. No method holds a monitor while it blocks, so
 * tokens are safe to use from virtual threads. Threads are never interrupted, except by
 * {@link #call}/{@link #run}, and only while the work they were given runs.
 *
 * <h2>Memory consistency effects</h2>
 * Actions in a thread prior to calling {@code cancel} (or to a cancellation by an ancestor, a
 * timeout or {@code close}) <i>happen-before</i> actions following a successful return from
 * {@link #isCancelled()} returning {@code true}, from {@link #await()}, from {@link #reason()}
 * returning a reason, and the actions of every callback and dependent stage run because of that
 * cancellation.
 *
 * <p>Instances are created only by the factory methods of this class; it is not meant to be
 * subclassed or mocked: use real tokens in tests.
 */
public abstract sealed class CancellationToken implements AutoCloseable permits TokenNode, NoneToken {

    private static final ThreadLocal<CancellationToken> CURRENT = new ThreadLocal<>();

    CancellationToken() {
    }

    // ---------------------------------------------------------------- factories

    /**
     * Creates a new root token with a short generated name.
     *
     * @return a new token that is not cancelled
     */
    public static CancellationToken create() {
        return TokenNode.newRoot(null);
    }

    /**
     * Creates a new root token with the given name.
     *
     * @param name the token's name, used in reasons, logs and tools
     * @return a new token that is not cancelled
     * @throws NullPointerException if {@code name} is null
     */
    public static CancellationToken create(String name) {
        return TokenNode.newRoot(Objects.requireNonNull(name, "name must not be null"));
    }

    /**
     * Returns the token that is never cancelled: its {@code cancel()} returns {@code false} and
     * changes nothing, {@code onCancel} stores nothing, {@code await()} blocks until interrupted,
     * {@code whenCancelled()} never completes, {@code close()} does nothing and {@code child()}
     * gives a new root. It is what {@link #current()} returns outside any scope.
     *
     * @return the one shared never-cancelled token
     */
    public static CancellationToken none() {
        return NoneToken.INSTANCE;
    }

    /**
     * Creates a token that is cancelled as soon as any of the sources is, with that source's reason
     * (its origin kept). The result is a root (it has no parent) and detaches from every source once
     * it is cancelled or closed; close it when it is no longer needed, because until then each
     * source that is not cancelled keeps a callback for it. Sources that are {@link #none()} are
     * ignored. If a source is already cancelled, the result is born cancelled with its reason.
     *
     * @param sources the tokens to follow; at least one
     * @return a new root token linked to the sources
     * @throws IllegalArgumentException if no source is given
     * @throws NullPointerException if the array or one of its elements is null
     */
    public static CancellationToken anyOf(CancellationToken... sources) {
        Objects.requireNonNull(sources, "sources must not be null");
        if (sources.length == 0) {
            throw new IllegalArgumentException("anyOf needs at least one source token");
        }
        for (int i = 0; i < sources.length; i++) {
            Objects.requireNonNull(sources[i], () -> "sources must not contain null");
        }
        return TokenNode.newAnyOf(sources);
    }

    /**
     * Returns the token bound to the current thread by {@link #bind()}, or {@link #none()} outside
     * any scope. There is no global default: the Spring Boot starter binds a token around every task
     * it runs, so several application contexts in one JVM never see each other's tokens.
     *
     * @return the current token, never null
     */
    public static CancellationToken current() {
        CancellationToken token = CURRENT.get();
        return (token != null) ? token : NoneToken.INSTANCE;
    }

    // ---------------------------------------------------------------- tree

    /**
     * Creates a child with a short generated name. See {@link #child(String)}.
     *
     * @return a new child; already cancelled, with this token's reason, if this token is cancelled
     */
    public abstract CancellationToken child();

    /**
     * Creates a child: it is cancelled when this token or any ancestor is, with that ancestor's
     * reason; cancelling the child never affects this token. Creating a child is cheap and links
     * nothing until something is registered on it.
     *
     * @param name the child's name
     * @return a new child; already cancelled, with this token's reason, if this token is cancelled
     * @throws NullPointerException if {@code name} is null
     */
    public abstract CancellationToken child(String name);

    /**
     * Creates a child with a generated name that cancels itself with kind
     * {@link CancellationReason.Kind#TIMEOUT TIMEOUT} when the timeout runs out. See
     * {@link #child(String, Duration)}.
     *
     * @param timeout how long the child may live; zero or negative cancels it at once
     * @return a new child
     * @throws NullPointerException if {@code timeout} is null
     */
    public CancellationToken child(Duration timeout) {
        CancellationToken child = child();
        child.cancelAfter(timeout);
        return child;
    }

    /**
     * Creates a named child that cancels itself with kind {@link CancellationReason.Kind#TIMEOUT
     * TIMEOUT} when the timeout runs out. The timer holds the child until it fires or the child is
     * cancelled or closed; then the timer is released.
     *
     * @param name the child's name
     * @param timeout how long the child may live; zero or negative cancels it at once
     * @return a new child
     * @throws NullPointerException if an argument is null
     */
    public CancellationToken child(String name, Duration timeout) {
        CancellationToken child = child(name);
        child.cancelAfter(timeout);
        return child;
    }

    /**
     * Schedules cancellation of this token with kind {@link CancellationReason.Kind#TIMEOUT TIMEOUT}
     * after the delay, replacing a timer set by an earlier call. The timer is released as soon as
     * the token is cancelled or closed, so no timer outlives it. Does nothing on a cancelled token.
     *
     * @param delay how long until cancellation; zero or negative cancels at once
     * @throws NullPointerException if {@code delay} is null
     */
    public abstract void cancelAfter(Duration delay);

    /**
     * Returns the time left until the earliest deadline of this token and its ancestors: a deadline
     * is set by {@link #child(Duration)}, {@link #child(String, Duration)} or {@link #cancelAfter}
     * (a later {@code cancelAfter} on the same token replaces its deadline, also with a later one).
     * The result is never negative: zero once the earliest deadline has passed. Thread-safe,
     * non-blocking and allocation-free when no deadline is set; it walks the ancestors, so it costs
     * time in proportion to the depth, but nothing on tokens that do not call it.
     *
     * <p>Cancellation does not change the answer: a token cancelled before its deadline still reports
     * the time left, and one cancelled without any deadline reports none; check {@link #isCancelled()}
     * first when that matters. An {@link #anyOf} result is a root: its sources' deadlines are not
     * its own. {@link #none()} has no deadline.
     *
     * @return the time left, or empty when neither this token nor an ancestor has a deadline
     */
    public abstract Optional<Duration> remaining();

    // ---------------------------------------------------------------- cancel and check

    /**
     * Cancels this token and its descendants with kind {@link CancellationReason.Kind#MANUAL
     * MANUAL}. See {@link #cancel(CancellationReason)}.
     *
     * @return {@code true} if this call cancelled the token
     */
    public boolean cancel() {
        return cancel(CancellationReason.of(CancellationReason.Kind.MANUAL));
    }

    /**
     * Cancels this token and its descendants with the given reason; if the reason has no origin, this
     * token's name becomes its origin. Idempotent: if the token is already cancelled (also through an
     * ancestor) nothing changes and the first reason is kept. When this method returns, whatever it
     * returns, the token and every descendant read as cancelled. When it returns {@code true}, every
     * callback of the subtree has also run, on this thread (those registered concurrently run either
     * here or on their registering thread); a call that returns {@code false} does not wait for the
     * callbacks of a cancellation that another thread is still carrying out. Never throws because of
     * a callback.
     *
     * @param reason why the token is cancelled
     * @return {@code true} only for the call that cancelled the token
     * @throws NullPointerException if {@code reason} is null
     */
    public abstract boolean cancel(CancellationReason reason);

    /**
     * Returns whether this token is cancelled, by itself or through an ancestor. Non-blocking,
     * allocation-free and cheap: meant to be called in loops.
     *
     * @return {@code true} once the token is cancelled; never goes back to {@code false}
     */
    public abstract boolean isCancelled();

    /**
     * Returns why this token was cancelled; a token cancelled through an ancestor reports the
     * ancestor's reason.
     *
     * @return the reason, or empty while the token is not cancelled
     */
    public abstract Optional<CancellationReason> reason();

    /**
     * Throws if this token is cancelled; does nothing otherwise.
     *
     * @throws CancelledException carrying {@link #reason()}, if the token is cancelled
     */
    public void throwIfCancelled() {
        if (isCancelled()) {
            throw new CancelledException(cancelledReason());
        }
    }

    // ---------------------------------------------------------------- react and wait

    /**
     * Registers a callback that runs exactly once when this token is cancelled, with the reason. On a
     * token that is already cancelled it runs at once, on the calling thread. Callbacks run on the
     * cancelling thread, outside every lock, in no specified order, and may use any token API. A
     * callback's exception goes to the running thread's uncaught-exception handler, never to the
     * caller. Keep callbacks short: they delay {@code cancel()}.
     *
     * @param callback what to run on cancellation
     * @return a registration whose {@link Registration#unregister() unregister()} removes the
     *     callback and releases it
     * @throws NullPointerException if {@code callback} is null
     */
    public abstract Registration onCancel(Consumer<CancellationReason> callback);

    /**
     * Returns a stage completed with the reason when this token is cancelled (already completed if it
     * is). Each call returns a new stage: completing or cancelling it from outside does not affect the
     * token, and releases the callback behind it.
     *
     * @return a stage that completes normally with the reason on cancellation
     */
    public CompletionStage<CancellationReason> whenCancelled() {
        CompletableFuture<CancellationReason> stage = new CompletableFuture<>();
        Registration registration = onCancel(stage::complete);
        if (!stage.isDone()) {
            stage.whenComplete((reason, failure) -> registration.unregister());
        }
        return stage;
    }

    /**
     * Blocks until this token is cancelled.
     *
     * @throws InterruptedException if the thread is interrupted before or while waiting; the token is
     *     unaffected
     */
    public void await() throws InterruptedException {
        awaitNanos(Long.MAX_VALUE, false);
    }

    /**
     * Blocks until this token is cancelled or the timeout runs out.
     *
     * @param timeout how long to wait at most; zero or negative only checks
     * @return {@code true} if the token is cancelled, {@code false} if the time ran out first
     * @throws InterruptedException if the thread is interrupted before or while waiting
     * @throws NullPointerException if {@code timeout} is null
     */
    public boolean await(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout must not be null");
        return awaitNanos(saturatedNanos(timeout), true);
    }

    private boolean awaitNanos(long nanos, boolean timed) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        if (isCancelled()) {
            return true;
        }
        if (timed && nanos <= 0) {
            return false;
        }
        Thread waiter = Thread.currentThread();
        Registration registration = onCancel(reason -> LockSupport.unpark(waiter));
        try {
            long deadline = timed ? System.nanoTime() + nanos : 0L;
            while (!isCancelled()) {
                if (timed) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    LockSupport.parkNanos(this, left);
                } else {
                    LockSupport.park(this);
                }
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
            return true;
        } finally {
            registration.unregister();
        }
    }

    // ---------------------------------------------------------------- run work

    /**
     * Runs blocking work on this thread; if the token is cancelled meanwhile, interrupts this thread
     * so that blocking calls in the work wake up. The interrupt never leaks past this call: when it
     * returns or throws, the thread's interrupt status is what it was on entry (unless the work
     * itself changed it).
     *
     * <ul>
     *   <li>On a token that is already cancelled, throws at once without running the work.
     *   <li>Work that returns normally returns its value, even if cancellation came meanwhile.
     *   <li>Work that throws while the token is cancelled ends with {@link CancelledException},
     *       the original as its cause; otherwise the original is rethrown.
     * </ul>
     *
     * @param work the blocking work
     * @param <T> the work's result type
     * @return the work's result
     * @throws CancelledException if the token was cancelled before or while the work ran and the work
     *     did not return normally
     * @throws Exception whatever the work threw while the token was not cancelled
     * @throws NullPointerException if {@code work} is null
     */
    public <T> T call(Callable<T> work) throws Exception {
        Objects.requireNonNull(work, "work must not be null");
        throwIfCancelled();
        Interrupter interrupter = new Interrupter(Thread.currentThread());
        Registration registration = onCancel(interrupter);
        try {
            return work.call();
        } catch (Exception | Error failure) {
            if (failure instanceof CancelledException || !isCancelled()) {
                throw failure;
            }
            throw new CancelledException(cancelledReason(), failure);
        } finally {
            registration.unregister();
            interrupter.finish();
        }
    }

    /**
     * Runs blocking work on this thread, interrupting it if the token is cancelled meanwhile; the
     * {@link Runnable} form of {@link #call(Callable)}, with the same rules.
     *
     * @param work the blocking work
     * @throws CancelledException if the token was cancelled before or while the work ran and the work
     *     did not return normally
     * @throws NullPointerException if {@code work} is null
     */
    public void run(Runnable work) {
        Objects.requireNonNull(work, "work must not be null");
        throwIfCancelled();
        Interrupter interrupter = new Interrupter(Thread.currentThread());
        Registration registration = onCancel(interrupter);
        try {
            work.run();
        } catch (RuntimeException | Error failure) {
            if (failure instanceof CancelledException || !isCancelled()) {
                throw failure;
            }
            throw new CancelledException(cancelledReason(), failure);
        } finally {
            registration.unregister();
            interrupter.finish();
        }
    }

    /**
     * Returns a future that completes like {@code work}, or exceptionally with
     * {@link CancelledException} when this token is cancelled first; in that case {@code work} is
     * cancelled too ({@code cancel(false)}) if it is a {@link Future}. If the token is already
     * cancelled, the result fails at once. Cancelling the returned future cancels the work, not the
     * token. Tokio's {@code run_until_cancelled}.
     *
     * @param work the asynchronous work to race against cancellation
     * @param <T> the work's result type
     * @return a new future; its callback on this token is released when either side completes
     * @throws NullPointerException if {@code work} is null
     */
    public <T> CompletableFuture<T> runUntilCancelled(CompletionStage<T> work) {
        Objects.requireNonNull(work, "work must not be null");
        CompletableFuture<T> result = new CompletableFuture<>();
        Registration registration = onCancel(reason -> {
            if (result.completeExceptionally(new CancelledException(reason))) {
                cancelWork(work);
            }
        });
        if (result.isDone()) {
            return result;
        }
        work.whenComplete((value, failure) -> {
            registration.unregister();
            if (failure == null) {
                result.complete(value);
            } else {
                result.completeExceptionally(unwrap(failure));
            }
        });
        result.whenComplete((value, failure) -> {
            if (result.isCancelled()) {
                registration.unregister();
                cancelWork(work);
            }
        });
        return result;
    }

    private static void cancelWork(CompletionStage<?> work) {
        if (work instanceof Future<?> future) {
            try {
                future.cancel(false);
            } catch (UnsupportedOperationException notCancellable) {
                // A minimalCompletionStage() is a Future that refuses cancel(): nothing to cancel.
                return;
            }
        }
    }

    private static Throwable unwrap(Throwable failure) {
        return (failure instanceof CompletionException && failure.getCause() != null) ? failure.getCause() : failure;
    }

    // ---------------------------------------------------------------- scope and guard

    /**
     * Makes this token {@link #current()} on this thread until the returned scope is closed; scopes
     * nest. Use with try-with-resources.
     *
     * @return the scope to close on this thread
     */
    public Scope bind() {
        Thread owner = Thread.currentThread();
        CancellationToken previous = CURRENT.get();
        CURRENT.set(this);
        return new Scope() {
            private boolean closed;

            @Override
            public CancellationToken token() {
                return CancellationToken.this;
            }

            @Override
            public void close() {
                if (Thread.currentThread() != owner) {
                    throw new IllegalStateException("a Scope must be closed on the thread that opened it ("
                            + owner.getName() + "), not on " + Thread.currentThread().getName());
                }
                if (closed) {
                    return;
                }
                closed = true;
                // set(null) rather than remove(): the entry holds no token once the outermost scope
                // closes, and a pooled thread that binds a token per task keeps reusing it instead of
                // allocating a new map entry (and expunging the old one) every time.
                CURRENT.set(previous);
            }
        };
    }

    /**
     * Returns a guard whose {@code close()} cancels this token (kind
     * {@link CancellationReason.Kind#MANUAL MANUAL}) unless it was disarmed.
     *
     * @return a new guard for this token
     */
    public DropGuard dropGuard() {
        return new Guard(this);
    }

    // ---------------------------------------------------------------- lifecycle and introspection

    /**
     * Ends this token's life: cancels it with kind {@link CancellationReason.Kind#CLOSED CLOSED} if it
     * is not cancelled yet (so its descendants are cancelled too) and detaches it from its parent, so
     * that a long-lived parent does not grow with closed children. Idempotent.
     */
    @Override
    public abstract void close();

    /**
     * Returns this token's name, given at creation or generated (short, stable for the token).
     *
     * @return the name, never null
     */
    public abstract String name();

    /**
     * Returns the token this one was created from.
     *
     * @return the parent, or empty for a root (including {@link #anyOf} results and {@link #none()})
     */
    public abstract Optional<CancellationToken> parent();

    /**
     * Returns a snapshot of the children this token currently holds on to: those with a callback, a
     * waiter or such a child of their own, and that are neither cancelled nor closed. Children with
     * nothing registered are not held (they can be collected when forgotten) and are not listed.
     *
     * @return an unmodifiable snapshot, not a live view
     */
    public abstract List<CancellationToken> children();

    /** The reason of a token known to be cancelled. */
    final CancellationReason cancelledReason() {
        return reason().orElseThrow(() -> new IllegalStateException("token is not cancelled: " + name()));
    }

    static long saturatedNanos(Duration duration) {
        try {
            return duration.toNanos();
        } catch (ArithmeticException overflow) {
            return duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    @Override
    public String toString() {
        Optional<CancellationReason> reason = reason();
        return "CancellationToken[" + name() + (reason.isPresent() ? ", cancelled: " + reason.get() : "") + "]";
    }

    /** The {@link DropGuard} implementation: exactly one of close and disarm takes effect. */
    private static final class Guard implements DropGuard {
        private final CancellationToken token;
        private final AtomicBoolean armed = new AtomicBoolean(true);

        Guard(CancellationToken token) {
            this.token = token;
        }

        @Override
        public CancellationToken token() {
            return token;
        }

        @Override
        public CancellationToken disarm() {
            armed.set(false);
            return token;
        }

        @Override
        public void close() {
            if (armed.compareAndSet(true, false)) {
                token.cancel();
            }
        }
    }
}
