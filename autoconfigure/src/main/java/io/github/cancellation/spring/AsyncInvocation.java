package io.github.cancellation.spring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.Registration;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;

/**
 * One call of an {@code @Async} method: its name ({@code beanName.methodName}), its token, the
 * links from the caller's tokens, and the future handed back to the caller.
 *
 * <p>Life of an invocation, across two threads:
 * <ol>
 *   <li>the caller's thread creates it, with its token already a child of the bean's token (or
 *       of the application token), {@linkplain #linkTo(CancellationToken) links} the caller's
 *       token arguments to it, submits the method, and {@linkplain #adapt(Object, Class) adapts}
 *       the returned future;
 *   <li>the executor's thread binds the token, tracks the invocation, runs the method and
 *       {@linkplain #end() ends} it: links released, token closed.
 * </ol>
 * An invocation that never runs is ended by the caller's thread: when its submission failed, or
 * when its future was cancelled before it {@linkplain #start() started} (the executor then skips
 * it).
 *
 * <p>The token comes from {@link IssuedTokens#open}, and is {@linkplain IssuedTokens#end ended}
 * there exactly once, so that {@code cancellation.tokens.active} counts it while it is open; a
 * {@code CALLER} cancellation that this invocation starts is counted there too.
 *
 * <p>For a method that returns a {@code CompletableFuture}, the invocation is also the future
 * the caller gets (one object per call instead of two): it completes like the executor's future,
 * except that an invocation ending with {@link CancelledException} completes it as cancelled
 * (with that exception, so {@code join()} and {@code get()} throw it, reason included);
 * {@link #cancel(boolean) cancel} cancels the invocation's token, then the executor's future.
 * Dependent stages are plain {@code CompletableFuture}s. For other methods it is never handed
 * out as a future.
 *
 * <p>Thread-safety: thread-safe. The links are set on the caller's thread before the method is
 * submitted (submission orders them before the run) and released at most once, by whichever
 * thread ends or cancels the invocation first. {@link #state} decides, once, who ends it.
 */
final class AsyncInvocation extends CompletableFuture<@Nullable Object>
        implements BiConsumer<@Nullable Object, @Nullable Throwable> {

    private static final int NEW = 0;
    private static final int STARTED = 1;
    private static final int ENDED = 2;

    /** The value of {@link #links} once released. */
    private static final List<Registration> RELEASED = List.of();

    private static final VarHandle LINKS;

    private static final VarHandle STATE;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            LINKS = lookup.findVarHandle(AsyncInvocation.class, "links", List.class);
            STATE = lookup.findVarHandle(AsyncInvocation.class, "state", int.class);
        }
        catch (ReflectiveOperationException ex) {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final String name;

    private final CancellationToken token;

    private final IssuedTokens tokens;

    /** The method invocation it was handed over with, and how: see {@link AsyncHandOver}. */
    private final MethodInvocation key;

    private final AsyncHandOver handOver;

    /** When the caller submitted it: see {@link DecoratedRun#claim(long)}. */
    private final long submittedNanos = System.nanoTime();

    /**
     * Registrations on the caller's tokens: null while there are none (most invocations), then a
     * list, {@link #RELEASED} once released. Through {@link #LINKS}.
     */
    @SuppressWarnings("unused") // through LINKS
    private volatile @Nullable List<Registration> links;

    /**
     * NEW -> STARTED (the executor's thread runs it) -> ENDED, or NEW -> ENDED (never ran: its
     * submission failed or its future was cancelled first). The thread that moves it to ENDED
     * ends the token. Through {@link #STATE}.
     */
    @SuppressWarnings("unused") // through STATE
    private volatile int state; // NEW

    /** The executor's future, once {@link #adapt} made this invocation the caller's future. */
    private volatile @Nullable CompletableFuture<?> source;

    /** The tracking while it runs, once known: see {@link #tracking(TrackedTask)}. */
    private volatile @Nullable TrackedTask tracked;

    /**
     * Creates an invocation whose token is a new child of {@code parent}, counted by
     * {@code tokens}.
     */
    AsyncInvocation(String name, CancellationToken parent, IssuedTokens tokens, MethodInvocation key,
            AsyncHandOver handOver) {
        this.name = name;
        this.tokens = tokens;
        this.key = key;
        this.handOver = handOver;
        this.token = tokens.open(parent, name);
    }

    String name() {
        return name;
    }

    CancellationToken token() {
        return token;
    }

    long submittedNanos() {
        return submittedNanos;
    }

    /**
     * Links a token the caller passed: cancelling it cancels this invocation, with kind
     * {@code CALLER} and the caller's reason as cause. Call on the caller's thread, before the
     * submission; {@code none()} and this invocation's own token are ignored.
     */
    void linkTo(CancellationToken caller) {
        @SuppressWarnings("unchecked")
        List<Registration> registrations = (List<Registration>) LINKS.getAcquire(this);
        if (caller == CancellationToken.none() || caller == token || registrations == RELEASED) {
            return;
        }
        if (registrations == null) {
            // Only the caller's thread adds links, before the submission: nothing releases them meanwhile.
            registrations = new ArrayList<>(1);
            LINKS.setRelease(this, registrations);
        }
        registrations.add(caller.onCancel(reason -> cancel(CancellationReason.of(CancellationReason.Kind.CALLER,
                "caller token '" + caller.name() + "' was cancelled (" + reason.kind() + ")",
                new CancelledException(reason)))));
    }

    /**
     * Cancels this invocation, because the caller cancelled the future it was given. If it has
     * not started, it never will (the executor skips a cancelled future's task): ends it now.
     */
    void cancelFromFuture() {
        cancel(CancellationReason.of(CancellationReason.Kind.CALLER, "the future of '" + name + "' was cancelled"));
        releaseLinks();
        if (STATE.compareAndSet(this, NEW, ENDED)) {
            handOver.discard(key, this); // the executor skips it: its side will not take it
            tokens.end(token);
        }
    }

    private void cancel(CancellationReason reason) {
        if (token.cancel(reason)) {
            tokens.countStarted(reason.kind());
            TrackedTask task = tracked;
            if (task != null) {
                task.noteCancelled();
            }
        }
    }

    /**
     * Marks this invocation as running, on the executor's thread. An invocation whose future was
     * cancelled just before is already ended; it runs all the same, with its token cancelled.
     */
    void start() {
        STATE.compareAndSet(this, NEW, STARTED);
    }

    /**
     * Records the tracking of the running invocation, so that a cancel by the caller is noted in
     * it at once (see {@link TrackedTask#noteCancelled()}).
     */
    void tracking(TrackedTask task) {
        tracked = task;
    }

    /** Ends this invocation: releases the links and closes the token. Idempotent. */
    void end() {
        int previous = (int) STATE.getAndSet(this, ENDED);
        if (previous == NEW) {
            handOver.discard(key, this); // never ran: its submission failed
        }
        if (previous != ENDED) {
            releaseLinks();
            tokens.end(token);
        }
    }

    private void releaseLinks() {
        @SuppressWarnings("unchecked")
        List<Registration> registrations = (List<Registration>) LINKS.getAndSet(this, RELEASED);
        if (registrations != null) {
            registrations.forEach(Registration::unregister); // RELEASED is empty
        }
    }

    /**
     * Returns what the caller gets in place of {@code result}, the future that Spring's
     * {@code AsyncExecutionInterceptor} returned: a future whose {@code cancel} also cancels this
     * invocation and which is cancelled when the invocation ends with {@link CancelledException},
     * if the method's return type admits one; otherwise {@code result} itself.
     */
    @Nullable Object adapt(@Nullable Object result, Class<?> returnType) {
        if (result instanceof CompletableFuture<?> future && returnType.isAssignableFrom(AsyncInvocation.class)) {
            source = future;
            future.whenComplete(this);
            return this;
        }
        if (result instanceof Future<?> future && returnType.isAssignableFrom(InvocationFuture.class)) {
            return new InvocationFuture<>(future, this);
        }
        return result;
    }

    /** The cancellation a failure of the invocation stands for, if it is one. */
    static @Nullable CancelledException cancellation(@Nullable Throwable failure) {
        Throwable cause = (failure instanceof CompletionException || failure instanceof ExecutionException)
                ? failure.getCause() : failure;
        return (cause instanceof CancelledException cancelled) ? cancelled : null;
    }

    /**
     * Completes this invocation's future as the executor's future completed. Not for callers: the
     * executor's future's callback.
     */
    @Override
    public void accept(@Nullable Object value, @Nullable Throwable failure) {
        if (failure == null) {
            complete(value);
        }
        else {
            CancelledException cancelled = cancellation(failure);
            completeExceptionally((cancelled != null) ? cancelled : failure);
        }
    }

    /**
     * Cancels this invocation's future, then the invocation's token and the executor's future.
     * In that order: once the token is cancelled, the invocation may end at once and complete
     * this future first.
     */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        if (cancelled) {
            cancelFromFuture();
            CompletableFuture<?> executorsFuture = source;
            if (executorsFuture != null) {
                executorsFuture.cancel(mayInterruptIfRunning);
            }
        }
        return cancelled;
    }

    @Override
    public String toString() {
        return name + " " + super.toString();
    }

    /**
     * The {@code Future} the caller gets for a method declared to return {@code Future}: the
     * executor's future, except that {@code cancel} first cancels the invocation's token (so a
     * blocked {@code token.call(...)} ends with {@link CancelledException} rather than a bare
     * interrupt), and an invocation that ended with {@link CancelledException} reads as cancelled.
     */
    static final class InvocationFuture<T> implements Future<T> {

        private final Future<?> delegate;

        private final AsyncInvocation invocation;

        InvocationFuture(Future<?> delegate, AsyncInvocation invocation) {
            this.delegate = delegate;
            this.invocation = invocation;
        }

        /**
         * Cancels the invocation's token, then the executor's future. In that order, so that an
         * interrupt from {@code cancel(true)} finds the token already cancelled. The invocation
         * may then end, with {@link CancelledException}, before the executor's future is
         * cancelled: this future reads as cancelled then too.
         */
        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (!delegate.isDone()) {
                invocation.cancelFromFuture();
            }
            return delegate.cancel(mayInterruptIfRunning) || isCancelled();
        }

        @Override
        public boolean isCancelled() {
            return delegate.isCancelled() || (delegate.isDone() && endedCancelled() != null);
        }

        @Override
        public boolean isDone() {
            return delegate.isDone();
        }

        @Override
        @SuppressWarnings("unchecked")
        public T get() throws InterruptedException, ExecutionException {
            try {
                return (T) delegate.get();
            }
            catch (ExecutionException ex) {
                throw rethrown(ex);
            }
        }

        @Override
        @SuppressWarnings("unchecked")
        public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
            try {
                return (T) delegate.get(timeout, unit);
            }
            catch (ExecutionException ex) {
                throw rethrown(ex);
            }
        }

        private static ExecutionException rethrown(ExecutionException ex) {
            CancelledException cancelled = cancellation(ex);
            if (cancelled != null) {
                throw cancelled;
            }
            return ex;
        }

        /** The {@link CancelledException} the done invocation ended with, or null. */
        private @Nullable CancelledException endedCancelled() {
            try {
                delegate.get();
                return null;
            }
            catch (ExecutionException ex) {
                return cancellation(ex);
            }
            catch (CancellationException ex) {
                return null;
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return null;
            }
        }

        @Override
        public String toString() {
            return "InvocationFuture[" + invocation.name() + ", " + delegate + "]";
        }
    }
}
