package io.github.cancellation.spring.web;

import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Enumeration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.jspecify.annotations.Nullable;

import org.springframework.core.annotation.AnnotatedElementUtils;

/**
 * Reads request deadlines: the values of the deadline header, which come from the network and may
 * be anything, and the values of {@link RequestTimeout}, which come from the application.
 *
 * <h2>Syntax</h2>
 * A value is a non-negative decimal number, optionally with a fraction of at most nine digits,
 * followed by nothing (milliseconds), {@code ms} or {@code s} (case-insensitive), with optional
 * spaces or tabs around it: {@code 1500}, {@code 500ms}, {@code 1.5s}.
 *
 * <h2>Header values</h2>
 * A header may arrive several times, or carry a comma-separated list: each element is read, and
 * the shortest valid one wins (a repeated header can only shorten the deadline). Whatever cannot
 * be read is ignored: empty values, signs, other units, more than {@value #MAX_ELEMENT_LENGTH}
 * characters, more than {@value #MAX_ELEMENTS} elements in all. A valid value longer than
 * {@link #MAX_HEADER_TIMEOUT} counts as that. So no header value ever fails a request, and none
 * gives a request more time than the cap it is then combined with.
 *
 * <p>Thread-safety: thread-safe (stateless but for the cache of annotation values).
 */
final class RequestDeadlines {

    /** The longest deadline a header value can ask for; a longer one is cut to this. */
    static final Duration MAX_HEADER_TIMEOUT = Duration.ofDays(1);

    /** The longest header element that is read; a longer one is ignored. */
    static final int MAX_ELEMENT_LENGTH = 32;

    /** The most header elements (over all repetitions of the header) that are looked at. */
    static final int MAX_ELEMENTS = 16;

    private static final long MAX_HEADER_NANOS = MAX_HEADER_TIMEOUT.toNanos();

    /** Returned by {@link #parseNanos} for a value that cannot be read. */
    private static final long INVALID = -1;

    private static final Duration NO_ANNOTATION = Duration.ofNanos(-1);

    private final Map<Method, Duration> annotations = new ConcurrentHashMap<>();

    /**
     * Returns the deadline the header values ask for, or empty if none of them can be read.
     *
     * @param values the values of every occurrence of the header, as the server gave them
     * @return at most {@link #MAX_HEADER_TIMEOUT}, never negative
     */
    static Optional<Duration> fromHeader(Enumeration<String> values) {
        long shortest = Long.MAX_VALUE;
        int seen = 0;
        while (values.hasMoreElements() && seen < MAX_ELEMENTS) {
            String value = values.nextElement();
            if (value == null) {
                continue;
            }
            int start = 0;
            while (start <= value.length() && seen < MAX_ELEMENTS) {
                int comma = value.indexOf(',', start);
                int end = (comma < 0) ? value.length() : comma;
                seen++;
                long nanos = parseNanos(value, start, end);
                if (nanos != INVALID) {
                    shortest = Math.min(shortest, Math.min(nanos, MAX_HEADER_NANOS));
                }
                start = end + 1;
            }
        }
        return (shortest == Long.MAX_VALUE) ? Optional.empty() : Optional.of(Duration.ofNanos(shortest));
    }

    /**
     * Returns the header deadline of a single header value. See {@link #fromHeader(Enumeration)}.
     */
    static Optional<Duration> fromHeader(@Nullable String value) {
        return fromHeader((value != null) ? java.util.Collections.enumeration(java.util.List.of(value))
                : java.util.Collections.emptyEnumeration());
    }

    /**
     * Returns the cap of {@link RequestTimeout} on the method or, failing that, on its class, or
     * empty if neither has one.
     *
     * @throws IllegalArgumentException naming the method and the value if the value cannot be read
     */
    Optional<Duration> fromAnnotation(Method method) {
        Duration cap = annotations.computeIfAbsent(method, RequestDeadlines::readAnnotation);
        return (cap == NO_ANNOTATION) ? Optional.empty() : Optional.of(cap);
    }

    private static Duration readAnnotation(Method method) {
        RequestTimeout annotation = AnnotatedElementUtils.findMergedAnnotation(method, RequestTimeout.class);
        if (annotation == null) {
            annotation = AnnotatedElementUtils.findMergedAnnotation(method.getDeclaringClass(), RequestTimeout.class);
        }
        if (annotation == null) {
            return NO_ANNOTATION;
        }
        String value = annotation.value();
        long nanos = parseNanos(value, 0, value.length());
        if (nanos == INVALID) {
            throw new IllegalArgumentException("@RequestTimeout(\"" + value + "\") on "
                    + method.getDeclaringClass().getName() + "." + method.getName()
                    + "(): expected milliseconds or a number with the unit ms or s, such as 1500, 500ms or 1.5s");
        }
        return Duration.ofNanos(nanos);
    }

    /**
     * Parses {@code value[start, end)} as a duration in nanoseconds, saturated at
     * {@code Long.MAX_VALUE}, or returns {@link #INVALID}. Allocation-free.
     */
    static long parseNanos(String value, int start, int end) {
        while (start < end && isSpace(value.charAt(start))) {
            start++;
        }
        while (end > start && isSpace(value.charAt(end - 1))) {
            end--;
        }
        if (end - start == 0 || end - start > MAX_ELEMENT_LENGTH) {
            return INVALID;
        }
        long unit = 1_000_000L;
        if (endsWithIgnoreCase(value, start, end, "ms")) {
            end -= 2;
        }
        else if (endsWithIgnoreCase(value, start, end, "s")) {
            end -= 1;
            unit = 1_000_000_000L;
        }
        int i = start;
        long whole = 0;
        boolean overflow = false;
        while (i < end && isDigit(value.charAt(i))) {
            if (whole > (Long.MAX_VALUE - 9) / 10) {
                overflow = true;
            }
            else {
                whole = whole * 10 + (value.charAt(i) - '0');
            }
            i++;
        }
        if (i == start) {
            return INVALID;
        }
        long fraction = 0;
        long scale = 1;
        if (i < end && value.charAt(i) == '.') {
            i++;
            int fractionStart = i;
            while (i < end && isDigit(value.charAt(i))) {
                if (i - fractionStart == 9) {
                    return INVALID;
                }
                fraction = fraction * 10 + (value.charAt(i) - '0');
                scale *= 10;
                i++;
            }
            if (i == fractionStart) {
                return INVALID;
            }
        }
        if (i != end) {
            return INVALID;
        }
        if (overflow || whole > Long.MAX_VALUE / unit) {
            return Long.MAX_VALUE;
        }
        // fraction < scale <= 10^9 and unit <= 10^9: the product fits in a long.
        return saturatedAdd(whole * unit, (fraction * unit) / scale);
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return (sum < 0) ? Long.MAX_VALUE : sum;
    }

    /** Whether the text ends with the lower-case ASCII {@code suffix}, in either case (ASCII only). */
    private static boolean endsWithIgnoreCase(String value, int start, int end, String suffix) {
        int length = suffix.length();
        if (end - start < length) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            char c = value.charAt(end - length + i);
            char expected = suffix.charAt(i);
            if (c != expected && c != (char) (expected - ('a' - 'A'))) {
                return false;
            }
        }
        return true;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t';
    }

    /**
     * Formats a duration for messages: {@code 500ms}, {@code 1.5s}.
     */
    static String format(Duration duration) {
        long millis = duration.toMillis();
        if (millis < 1000 || millis % 100 != 0) {
            return millis + "ms";
        }
        return (millis % 1000 == 0) ? (millis / 1000) + "s" : (millis / 1000) + "." + (millis % 1000) / 100 + "s";
    }
}
