package io.github.cancellation.spring.web;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Caps the time a request may take on a handler method, or on every handler method of a controller
 * class. When the cap passes, the request token is cancelled with kind
 * {@link io.github.cancellation.CancellationReason.Kind#TIMEOUT TIMEOUT}; a handler that honours
 * its token then ends with {@code 504 Gateway Timeout}.
 *
 * <p>The cap only ever shortens a request's deadline: the effective deadline is the earliest of
 * {@code cancellation.web.timeout}, the {@code Request-Timeout} header and this annotation (the one
 * on the method when both method and class have one), all counted from the moment the request
 * arrived.
 *
 * <pre>{@code
 * @GetMapping("/report")
 * @RequestTimeout("2s")
 * Report report(CancellationToken token) { ... }
 * }</pre>
 *
 * <p>A value that cannot be read fails the request whose handler carries it with an
 * {@link IllegalArgumentException} that names the handler and the value.
 */
@Target({ ElementType.METHOD, ElementType.TYPE })
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface RequestTimeout {

    /**
     * How long the request may take: milliseconds ({@code "1500"}), or a number with the unit
     * {@code ms} or {@code s} ({@code "500ms"}, {@code "1.5s"}). Zero cancels the request token as
     * soon as the handler is chosen.
     *
     * @return the cap
     */
    String value();
}
