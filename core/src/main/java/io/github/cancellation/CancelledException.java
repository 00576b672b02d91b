package io.github.cancellation;

import java.util.Objects;
import java.util.concurrent.CancellationException;

import org.jspecify.annotations.Nullable;

/**
 * Thrown when work stops because its {@link CancellationToken} was cancelled. It carries the
 * {@linkplain #reason() reason}, so handlers can tell a shutdown from a timeout or a caller that
 * gave up.
 *
 * <p>It extends {@link CancellationException}, so code that already treats
 * {@code CancellationException} as "cancelled, not failed" (such as {@code CompletableFuture} and
 * Spring's task executors) handles it the same way.
 *
 * <p>Thread-safety: the reason is immutable; the exception is as thread-safe as any throwable.
 */
public class CancelledException extends CancellationException {

    private static final long serialVersionUID = 1L;

    private final transient CancellationReason reason;

    /**
     * Creates an exception for the given reason.
     *
     * @param reason why the token was cancelled
     * @throws NullPointerException if {@code reason} is null
     */
    public CancelledException(CancellationReason reason) {
        super("cancelled: " + Objects.requireNonNull(reason, "reason must not be null"));
        this.reason = reason;
    }

    /**
     * Creates an exception for the given reason, caused by the failure that the cancelled work ended
     * with (for example the {@link InterruptedException} that cancellation provoked).
     *
     * @param reason why the token was cancelled
     * @param cause what the cancelled work threw, or {@code null}
     * @throws NullPointerException if {@code reason} is null
     */
    public CancelledException(CancellationReason reason, @Nullable Throwable cause) {
        this(reason);
        if (cause != null) {
            initCause(cause);
        }
    }

    /**
     * Returns why the token was cancelled.
     *
     * @return the reason, never null
     */
    public CancellationReason reason() {
        return reason;
    }
}
