package io.github.cancellation.spring.web;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.ActiveTokenSource;
import io.github.cancellation.spring.CancellationTaskTracker;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;

/**
 * The request tokens of one application, whatever the web stack: creates them, runs their
 * deadlines, cancels them at shutdown and counts how their requests ended.
 *
 * <h2>Shape</h2>
 * Every request token is a child named {@value #REQUEST_TOKEN_NAME} of one token named
 * {@value #REQUESTS_TOKEN_NAME}, itself a child of the application token. Shutdown cancels that
 * one token ({@link #cancelAll}), which reaches every request in flight without a set of them.
 * Each request is also tracked by the application's task tracker (when there is one) once its
 * handler is known, under its method and pattern, so the actuator tree lists it with age and
 * thread.
 *
 * <h2>Counts</h2>
 * A request token is open from {@link #open} to {@link InFlightRequest#close()}, that is until the
 * response is complete; as an {@link ActiveTokenSource} the open ones are counted in
 * {@code cancellation.tokens.active}. How each request ended is counted by kind for
 * {@code cancellation.requests.cancelled}.
 *
 * <h2>Deadlines</h2>
 * One daemon thread runs every deadline timer; a timer is removed as soon as its request closes.
 *
 * <p>Thread-safety: thread-safe.
 */
final class RequestTokens implements ActiveTokenSource, DisposableBean {

    /** Name of the parent of every request token. */
    static final String REQUESTS_TOKEN_NAME = "requests";

    /** Name of every request token. */
    static final String REQUEST_TOKEN_NAME = "request";

    private static final Log logger = LogFactory.getLog(RequestTokens.class);

    private final CancellationToken requests;

    private final @Nullable CancellationTaskTracker tracker;

    private final @Nullable Duration cap;

    private final String deadlineHeader;

    private final ScheduledThreadPoolExecutor timers;

    private final LongAdder[] cancelled = new LongAdder[Kind.values().length];

    private final AtomicInteger open = new AtomicInteger();

    private final RequestDeadlines deadlines = new RequestDeadlines();

    RequestTokens(CancellationToken applicationToken, @Nullable CancellationTaskTracker tracker,
            CancellationWebProperties properties) {
        this.requests = applicationToken.child(REQUESTS_TOKEN_NAME);
        this.tracker = tracker;
        this.cap = properties.getTimeout();
        this.deadlineHeader = properties.getDeadlineHeader();
        for (int i = 0; i < cancelled.length; i++) {
            cancelled[i] = new LongAdder();
        }
        this.timers = new ScheduledThreadPoolExecutor(1, (task) -> {
            Thread thread = new Thread(task, "cancellation-request-deadlines");
            thread.setDaemon(true);
            return thread;
        });
        this.timers.setRemoveOnCancelPolicy(true);
        this.timers.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /**
     * Opens the token of a request that arrives now, with the deadline of the cap and of the
     * header values (either may be absent).
     *
     * @param headerDeadline what the deadline header asks for, already read
     */
    InFlightRequest open(Optional<Duration> headerDeadline) {
        InFlightRequest request = new InFlightRequest(this, requests.child(REQUEST_TOKEN_NAME), System.nanoTime());
        open.incrementAndGet();
        if (cap != null) {
            request.tightenDeadline(cap, "cancellation.web.timeout");
        }
        headerDeadline.ifPresent((deadline) -> request.tightenDeadline(deadline, "header " + deadlineHeader));
        return request;
    }

    /** The name of the deadline header, empty if headers are ignored. */
    String deadlineHeader() {
        return deadlineHeader;
    }

    RequestDeadlines deadlines() {
        return deadlines;
    }

    @Nullable CancellationTaskTracker tracker() {
        return tracker;
    }

    ScheduledThreadPoolExecutor timers() {
        return timers;
    }

    /** Called once per request by {@link InFlightRequest#close()}, with the reason it ended with. */
    void ended(@Nullable CancellationReason reason) {
        // Counted before it stops being open: once the open count is back down, every count is in.
        if (reason != null && reason.kind() != Kind.CLOSED) {
            cancelled[reason.kind().ordinal()].increment();
        }
        open.decrementAndGet();
    }

    /**
     * Returns how many requests ended with their token cancelled with {@code kind}.
     */
    long cancelledCount(Kind kind) {
        return cancelled[kind.ordinal()].sum();
    }

    /** Returns how many request tokens are open. */
    int openCount() {
        return open.get();
    }

    /**
     * Returns how many request tokens are open: requests that arrived and whose response is not
     * complete yet, cancelled or not.
     */
    @Override
    public long activeTokens() {
        return Math.max(0, open.get());
    }

    /**
     * Cancels every request token, open or opened later, with kind {@code SHUTDOWN}.
     *
     * @param message what the reason says
     */
    void cancelAll(String message) {
        if (requests.cancel(CancellationReason.of(Kind.SHUTDOWN, message)) && logger.isInfoEnabled()) {
            logger.info("Cancelled the tokens of " + open.get() + " request(s) in flight: " + message);
        }
    }

    /**
     * Cancels every request token with kind {@code SHUTDOWN} once {@code grace} has passed.
     */
    void cancelAllAfter(Duration grace) {
        String message = "shutdown grace of " + RequestDeadlines.format(grace)
                + " (cancellation.web.shutdown-grace) passed";
        if (grace.isZero()) {
            cancelAll(message);
            return;
        }
        try {
            timers.schedule(() -> cancelAll(message), grace.toNanos(), TimeUnit.NANOSECONDS);
        }
        catch (java.util.concurrent.RejectedExecutionException ex) {
            // Already destroyed: the application token is cancelled by now, and so is every request.
            cancelAll(message);
        }
    }

    @Override
    public void destroy() {
        timers.shutdownNow();
        requests.close();
    }

    @Override
    public String toString() {
        return "RequestTokens[" + open.get() + " open]";
    }
}
