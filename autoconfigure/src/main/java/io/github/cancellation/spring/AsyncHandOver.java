package io.github.cancellation.spring;

import java.util.concurrent.ConcurrentHashMap;

import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;

/**
 * Hands an {@link AsyncInvocation} from {@link AsyncInvocationInterceptors.Submission}, on the
 * caller's thread, to {@link AsyncInvocationInterceptors.Execution}, on the executor's thread,
 * keyed by the {@code MethodInvocation} that Spring's {@code AsyncExecutionInterceptor} proceeds
 * with on the executor's thread: the one object both sides see. One per bean whose
 * {@code @Async} methods the starter advises.
 *
 * <h2>Why not the invocation's user attributes</h2>
 * {@code ProxyMethodInvocation.setUserAttribute} is the hook Framework offers for this, but its
 * first use allocates a {@code HashMap} with a table of 16 per invocation (160 bytes of the
 * starter's cost per call); an entry here is one map node. It relies on two things, both checked
 * by {@code AsyncInvocationHooksTests}: Spring proceeds with the same {@code MethodInvocation}
 * object on the executor's thread, and Framework's method invocations keep {@code Object}'s
 * identity {@code equals} and {@code hashCode} (so the key is the object, never an equal one).
 *
 * <p>An entry lives from the submission until the executor's side {@linkplain #take takes} it,
 * or until the invocation ends without running (its submission failed, or its future was
 * cancelled first and the executor skips it): the invocation then {@linkplain #discard discards}
 * it. A task an executor drops silently (a discarding rejection policy) leaves its entry, as it
 * leaves its token open.
 *
 * <p>Thread-safety: thread-safe.
 */
final class AsyncHandOver {

    private final ConcurrentHashMap<MethodInvocation, AsyncInvocation> pending = new ConcurrentHashMap<>();

    /** Hands {@code invocation} over, to be taken by the executor's side of {@code key}. */
    void put(MethodInvocation key, AsyncInvocation invocation) {
        pending.put(key, invocation);
    }

    /** Takes the invocation handed over with {@code key}, or returns null if there is none. */
    @Nullable AsyncInvocation take(MethodInvocation key) {
        return pending.remove(key);
    }

    /** Discards {@code invocation}, handed over with {@code key}, if it was not taken. */
    void discard(MethodInvocation key, AsyncInvocation invocation) {
        pending.remove(key, invocation);
    }

    /** Returns how many invocations wait to be taken. */
    int pendingCount() {
        return pending.size();
    }

    @Override
    public String toString() {
        return "AsyncHandOver[" + pending.size() + " pending]";
    }
}
