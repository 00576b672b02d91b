package io.github.cancellation.spring;

import org.jspecify.annotations.Nullable;

/**
 * Cleaning of what a caller of the {@link CancellationEndpoint} sends, before it reaches a
 * cancellation reason or a log line: control, format and separator characters are dropped and
 * the text is cut to a bounded length, so that nobody can forge log lines or flood them.
 *
 * <p>Thread-safety: stateless.
 */
final class EndpointInput {

    /** The longest principal name logged, in characters. */
    static final int MAX_PRINCIPAL_LENGTH = 100;

    private EndpointInput() {
    }

    /**
     * Returns the message without control, format and separator characters, cut to
     * {@link CancellationEndpoint#MAX_MESSAGE_LENGTH}, or the default message if nothing is left.
     */
    static String cleanMessage(@Nullable String message) {
        String cleaned = (message != null) ? clean(message, CancellationEndpoint.MAX_MESSAGE_LENGTH) : "";
        return cleaned.isEmpty() ? CancellationEndpoint.DEFAULT_MESSAGE : cleaned;
    }

    /** Returns the principal's name cleaned as a message, cut to {@link #MAX_PRINCIPAL_LENGTH}. */
    static String cleanPrincipal(String principal) {
        return clean(principal, MAX_PRINCIPAL_LENGTH);
    }

    private static String clean(String text, int maxLength) {
        StringBuilder out = new StringBuilder(Math.min(text.length(), maxLength));
        text.codePoints().filter(EndpointInput::isPrintable).forEach((codePoint) -> {
            if (out.length() + Character.charCount(codePoint) <= maxLength) {
                out.appendCodePoint(codePoint);
            }
        });
        return out.toString().strip();
    }

    private static boolean isPrintable(int codePoint) {
        return switch (Character.getType(codePoint)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                    Character.SURROGATE, Character.UNASSIGNED, Character.PRIVATE_USE -> false;
            default -> true;
        };
    }
}
