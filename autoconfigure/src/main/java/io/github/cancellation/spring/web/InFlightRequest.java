package io.github.cancellation.spring.web;

import java.time.Duration;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.CancellationTaskTracker;
import io.github.cancellation.spring.TrackedTask;
import org.jspecify.annotations.Nullable;

/**
 * One request in flight: its token (whose own timer is the deadline) and its tracking. Created by
 * {@link RequestTokens#open}, closed exactly once when the response is complete (later calls do
 * nothing).
 *
 * <p>Thread-safety: thread-safe. A request moves between threads (the request thread, an async
 * dispatch, a timer, a container's error callback); every state change is under this object's
 * monitor, held only briefly and never while a token callback runs.
 */
final class InFlightRequest {

    private final RequestTokens owner;

    private final CancellationToken token;

    private final long startNanos;

    /** The current deadline, from {@link #startNanos}; {@code Long.MAX_VALUE} for none. */
    private long deadlineNanos = Long.MAX_VALUE;

    private @Nullable TrackedTask task;

    private boolean closed;

    InFlightRequest(RequestTokens owner, CancellationToken token, long startNanos) {
        this.owner = owner;
        this.token = token;
        this.startNanos = startNanos;
    }

    CancellationToken token() {
        return token;
    }

    /**
     * Moves the deadline to {@code timeout} after the request arrived if that is earlier than the
     * current one; {@code source} says where it comes from, for the reason's message.
     */
    void tightenDeadline(Duration timeout, String source) {
        long timeoutNanos = saturatedNanos(timeout);
        String message = "request deadline of " + RequestDeadlines.format(timeout) + " (" + source + ") passed";
        long delay;
        synchronized (this) {
            if (closed || timeoutNanos >= deadlineNanos) {
                return;
            }
            deadlineNanos = timeoutNanos;
            delay = timeoutNanos - (System.nanoTime() - startNanos);
            if (delay > 0) {
                // The token's own timer: remaining() sees the request deadline, so outgoing calls
                // and queries made for this request are bounded by it; the timer goes with the
                // token's close. Scheduled under the monitor, so a later, shorter deadline always
                // replaces an earlier one; it runs no callback here.
                token.cancelAfter(Duration.ofNanos(delay), message);
                return;
            }
        }
        token.cancelAfter(Duration.ZERO, message); // already due: cancels now, outside the monitor
    }

    /**
     * Starts tracking the request on the calling thread, under {@code name} (its method and
     * pattern), if the application has a tracker and the request is not tracked yet.
     */
    void track(String name) {
        CancellationTaskTracker tracker = owner.tracker();
        if (tracker == null) {
            return;
        }
        synchronized (this) {
            if (closed || task != null) {
                return;
            }
            task = tracker.track(name, token);
        }
    }

    /**
     * Cancels the token with a reason of {@code kind}; does nothing if it is cancelled already.
     */
    void cancel(Kind kind, String message) {
        token.cancel(CancellationReason.of(kind, message));
    }

    /**
     * Ends the request: stops its timer and tracking, counts how it ended and closes its token.
     * Idempotent.
     */
    void close() {
        TrackedTask ended;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            ended = task;
            task = null;
        }
        CancellationReason reason = token.reason().orElse(null);
        token.close();
        if (ended != null) {
            ended.close();
        }
        owner.ended(reason);
    }

    synchronized boolean isClosed() {
        return closed;
    }

    private static long saturatedNanos(Duration duration) {
        try {
            return Math.max(0, duration.toNanos());
        }
        catch (ArithmeticException ex) {
            return duration.isNegative() ? 0 : Long.MAX_VALUE;
        }
    }

    @Override
    public String toString() {
        return "InFlightRequest[" + token + "]";
    }
}
