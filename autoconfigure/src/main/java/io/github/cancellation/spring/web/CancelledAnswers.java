package io.github.cancellation.spring.web;

import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancelledException;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpStatus;

/**
 * What a {@code CancelledException} that escapes a handler answers, for every web stack:
 * {@code TIMEOUT} is {@code 504}, {@code SHUTDOWN} is {@code 503}, both as a problem detail
 * (RFC 9457) with a fixed text, never the reason's message; {@code DISCONNECTED} writes nothing;
 * any other kind is left to the application's error handling.
 */
final class CancelledAnswers {

    /** Media type of the answers. */
    static final String PROBLEM_JSON = "application/problem+json";

    /** How deep the cause chain is searched for a {@code CancelledException}. */
    private static final int MAX_DEPTH = 8;

    private CancelledAnswers() {
    }

    /**
     * Returns the {@code CancelledException} that {@code failure} is or wraps, or null.
     */
    static @Nullable CancelledException find(@Nullable Throwable failure) {
        Throwable current = failure;
        for (int depth = 0; current != null && depth < MAX_DEPTH; depth++) {
            if (current instanceof CancelledException cancelled) {
                return cancelled;
            }
            current = current.getCause();
        }
        return null;
    }

    /**
     * Returns the status of the answer to a cancellation of {@code kind}, or null if it has none
     * of its own.
     */
    static @Nullable HttpStatus status(Kind kind) {
        return switch (kind) {
            case TIMEOUT -> HttpStatus.GATEWAY_TIMEOUT;
            case SHUTDOWN -> HttpStatus.SERVICE_UNAVAILABLE;
            default -> null;
        };
    }

    /**
     * Returns the problem detail body of {@code status}.
     */
    static String body(HttpStatus status) {
        String detail = (status == HttpStatus.GATEWAY_TIMEOUT)
                ? "The request's deadline passed before it was answered."
                : "The server is shutting down and stopped working on the request.";
        return "{\"type\":\"about:blank\",\"title\":\"" + status.getReasonPhrase() + "\",\"status\":" + status.value()
                + ",\"detail\":\"" + detail + "\"}";
    }
}
