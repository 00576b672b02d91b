package io.github.cancellation.demo;

import io.github.cancellation.CancellationReason;

/** Short, log-friendly descriptions of cancellation reasons. */
final class Reasons {

    private Reasons() {
    }

    /**
     * Describes a reason as {@code KIND at origin: message}, without its cause.
     *
     * @param reason the reason
     * @return for example {@code SHUTDOWN at application: application context is closing}
     */
    static String describe(CancellationReason reason) {
        return reason.kind() + (reason.origin().isEmpty() ? "" : " at " + reason.origin())
                + reason.message().map(message -> ": " + message).orElse("");
    }
}
