package io.github.cancellation.spring;

import java.util.ArrayDeque;
import java.util.Deque;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.Scope;
import io.micrometer.context.ThreadLocalAccessor;
import org.jspecify.annotations.Nullable;

/**
 * Lets Micrometer context propagation carry {@link CancellationToken#current()} across threads:
 * {@code ContextSnapshot.captureAll().wrap(...)}, Spring's {@code ContextPropagatingTaskDecorator},
 * Reactor's automatic context propagation and Framework's {@code PropagationContextElement} for
 * coroutines.
 *
 * <p>Registered through {@code META-INF/services/io.micrometer.context.ThreadLocalAccessor}, so it
 * takes effect only when {@code io.micrometer:context-propagation} is on the class path (an
 * optional dependency of the starter); nothing else refers to this class.
 *
 * <p>The current token can only be set by {@link CancellationToken#bind()}, which returns a
 * {@link Scope} to close on the same thread. So {@link #setValue(CancellationToken)} opens a scope
 * and keeps it on a per-thread stack, and {@link #restore(CancellationToken)} closes the most
 * recent one, which restores the token that was current before. Context propagation calls them in
 * pairs, in that order; if a restore finds no scope of its own, it binds the previous value
 * without a scope, as a plain {@code ThreadLocal.set} would. Outside any scope,
 * {@link #getValue()} returns {@code null} (never {@link CancellationToken#none()}), so nothing is
 * captured.
 *
 * <p>Thread-safety: thread-safe; every method acts on the calling thread only.
 */
public final class CancellationTokenThreadLocalAccessor implements ThreadLocalAccessor<CancellationToken> {

    /** Key of the current token in a context snapshot. */
    public static final String KEY = "io.github.cancellation.current";

    private static final ThreadLocal<Deque<Scope>> SCOPES = new ThreadLocal<>();

    /**
     * Creates the accessor; called by the {@link java.util.ServiceLoader}.
     */
    public CancellationTokenThreadLocalAccessor() {
    }

    /**
     * Returns {@link #KEY}.
     *
     * @return the key of the current token in a context snapshot
     */
    @Override
    public Object key() {
        return KEY;
    }

    /**
     * Returns the current token of this thread.
     *
     * @return the current token, or {@code null} when none is bound
     */
    @Override
    public @Nullable CancellationToken getValue() {
        CancellationToken current = CancellationToken.current();
        return (current == CancellationToken.none()) ? null : current;
    }

    /**
     * Makes {@code value} the current token of this thread until the matching {@code restore}.
     *
     * @param value the token to make current
     */
    @Override
    public void setValue(CancellationToken value) {
        push(value.bind());
    }

    /**
     * Makes no token current on this thread until the matching {@code restore}.
     */
    @Override
    public void setValue() {
        push(CancellationToken.none().bind());
    }

    /**
     * Closes the scope opened by the matching {@code setValue}, so that {@code previousValue} is
     * current again.
     *
     * @param previousValue the token that was current before the matching {@code setValue}
     */
    @Override
    public void restore(CancellationToken previousValue) {
        pop();
        if (CancellationToken.current() != previousValue) {
            previousValue.bind();
        }
    }

    /**
     * Closes the scope opened by the matching {@code setValue}, so that no token is current again.
     */
    @Override
    public void restore() {
        pop();
        if (CancellationToken.current() != CancellationToken.none()) {
            CancellationToken.none().bind();
        }
    }

    private static void push(Scope scope) {
        Deque<Scope> scopes = SCOPES.get();
        if (scopes == null) {
            scopes = new ArrayDeque<>();
            SCOPES.set(scopes);
        }
        scopes.push(scope);
    }

    private static void pop() {
        Deque<Scope> scopes = SCOPES.get();
        if (scopes == null) {
            return;
        }
        Scope scope = scopes.pop();
        if (scopes.isEmpty()) {
            SCOPES.remove();
        }
        scope.close();
    }
}
