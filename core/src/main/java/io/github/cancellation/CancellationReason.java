package io.github.cancellation;

import java.util.Objects;
import java.util.Optional;

import org.jspecify.annotations.Nullable;

/**
 * Why a {@link CancellationToken} was cancelled: a {@link Kind kind}, an optional message, an
 * optional cause and the {@linkplain #origin() origin}, the name of the token where cancellation
 * began.
 *
 * <p>A reason is an immutable value: two reasons are equal when kind, message, origin and cause (by
 * identity) are. A token that is cancelled through an ancestor reports that ancestor's reason, so
 * every token of a cancelled subtree tells where the cancellation came from.
 *
 * <p>Users create reasons with {@link #of(Kind, String)} and pass them to
 * {@link CancellationToken#cancel(CancellationReason)}; the token stamps its own name as the origin
 * unless the reason already carries one (as a reason forwarded by
 * {@link CancellationToken#anyOf(CancellationToken...)} does).
 *
 * <p>Thread-safety: instances are immutable and safe to share between threads.
 */
public final class CancellationReason {

    /**
     * What kind of event cancelled a token. The set is closed and small, so a kind can be used as a
     * metric tag.
     */
    public enum Kind {
        /** Cancelled by a call to {@code cancel()} in user code. */
        MANUAL,
        /** Cancelled because the token was closed: the work it stood for is over. */
        CLOSED,
        /** Cancelled because a timeout ({@code child(Duration)}, {@code cancelAfter}) ran out. */
        TIMEOUT,
        /** Cancelled because the application is shutting down. */
        SHUTDOWN,
        /** Cancelled because the caller that started the work cancelled its own token. */
        CALLER,
        /** Cancelled by an operator through a management endpoint. */
        ACTUATOR,
        /**
         * Cancelled because the client of the request the work serves went away (it closed or reset
         * its connection) before the response was complete.
         */
        DISCONNECTED
    }

    private final Kind kind;
    private final @Nullable String message;
    private final @Nullable Throwable cause;
    /**
     * Where cancellation began: {@code null} while the reason has not been passed to a token, a
     * {@code String}, or the {@code TokenNode} whose name is the origin (resolved lazily, so that
     * closing an unnamed token never has to build its generated name).
     */
    private final @Nullable Object origin;

    CancellationReason(Kind kind, @Nullable String message, @Nullable Throwable cause, @Nullable Object origin) {
        this.kind = Objects.requireNonNull(kind, "kind must not be null");
        this.message = message;
        this.cause = cause;
        this.origin = origin;
    }

    /**
     * Returns a reason with the given kind and no message.
     *
     * @param kind what cancelled the token
     * @return a new reason without origin; the token it is passed to stamps its name
     * @throws NullPointerException if {@code kind} is null
     */
    public static CancellationReason of(Kind kind) {
        return new CancellationReason(kind, null, null, null);
    }

    /**
     * Returns a reason with the given kind and message.
     *
     * @param kind what cancelled the token
     * @param message a short human-readable explanation, or {@code null} for none
     * @return a new reason without origin; the token it is passed to stamps its name
     * @throws NullPointerException if {@code kind} is null
     */
    public static CancellationReason of(Kind kind, @Nullable String message) {
        return new CancellationReason(kind, message, null, null);
    }

    /**
     * Returns a reason with the given kind, message and cause.
     *
     * @param kind what cancelled the token
     * @param message a short human-readable explanation, or {@code null} for none
     * @param cause the failure that led to cancellation, or {@code null} for none
     * @return a new reason without origin; the token it is passed to stamps its name
     * @throws NullPointerException if {@code kind} is null
     */
    public static CancellationReason of(Kind kind, @Nullable String message, @Nullable Throwable cause) {
        return new CancellationReason(kind, message, cause, null);
    }

    /**
     * Returns what kind of event cancelled the token.
     *
     * @return the kind, never null
     */
    public Kind kind() {
        return kind;
    }

    /**
     * Returns the message given when the reason was made.
     *
     * @return the message, or empty if none was given
     */
    public Optional<String> message() {
        return Optional.ofNullable(message);
    }

    /**
     * Returns the failure that led to cancellation.
     *
     * @return the cause, or empty if none was given
     */
    public Optional<Throwable> cause() {
        return Optional.ofNullable(cause);
    }

    /**
     * Returns the name of the token on which cancellation began. A token cancelled through an
     * ancestor reports the ancestor's name here.
     *
     * @return the origin token's name, or the empty string for a reason that has not been passed to
     *     a token yet
     */
    public String origin() {
        Object o = origin;
        if (o == null) {
            return "";
        }
        return (o instanceof String s) ? s : ((CancellationToken) o).name();
    }

    /**
     * Returns this reason with {@code token} as origin when it has none yet, else this reason.
     */
    CancellationReason stampedBy(CancellationToken token) {
        return (origin != null) ? this : new CancellationReason(kind, message, cause, token);
    }

    @Override
    public boolean equals(@Nullable Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof CancellationReason that)) {
            return false;
        }
        return kind == that.kind && Objects.equals(message, that.message) && cause == that.cause
                && origin().equals(that.origin());
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, message, System.identityHashCode(cause), origin());
    }

    /**
     * Returns a short description such as {@code SHUTDOWN at application: context closing}.
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(kind.name());
        String from = origin();
        if (!from.isEmpty()) {
            sb.append(" at ").append(from);
        }
        if (message != null) {
            sb.append(": ").append(message);
        }
        if (cause != null) {
            sb.append(" (cause: ").append(cause).append(')');
        }
        return sb.toString();
    }
}
