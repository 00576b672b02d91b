package io.github.cancellation.spring.web;

import java.time.Duration;

import org.springframework.boot.web.server.context.WebServerGracefulShutdownLifecycle;
import org.springframework.context.SmartLifecycle;

/**
 * Gives requests in flight {@code cancellation.web.shutdown-grace} once the web server's graceful
 * shutdown begins, then cancels their tokens with kind {@code SHUTDOWN}. Its phase is just above
 * the graceful shutdown's, so it stops just before that begins; it does not wait itself: the
 * graceful shutdown waits for the requests, which end sooner when they honour their tokens.
 *
 * <p>Thread-safety: thread-safe.
 */
final class RequestShutdownLifecycle implements SmartLifecycle {

    /** Stops right before the web server's graceful shutdown. */
    static final int PHASE = WebServerGracefulShutdownLifecycle.SMART_LIFECYCLE_PHASE + 1;

    private final RequestTokens tokens;

    private final Duration grace;

    private volatile boolean running;

    RequestShutdownLifecycle(RequestTokens tokens, Duration grace) {
        this.tokens = tokens;
        this.grace = grace;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        if (running) {
            running = false;
            tokens.cancelAllAfter(grace);
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
