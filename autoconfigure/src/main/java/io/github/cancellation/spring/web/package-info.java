/**
 * Request tokens for Spring MVC and WebFlux: every request handled by a controller runs under a
 * child of the application token that is cancelled when the client goes away (where the server can
 * tell), when the request's deadline passes and, after a grace, when the application shuts down, and
 * that is closed when the response is complete. A handler receives it as a {@code CancellationToken}
 * parameter; on Spring MVC it is also {@code CancellationToken.current()} while the request is
 * handled. Only {@link io.github.cancellation.spring.web.RequestTimeout} and the auto-configurations
 * are public; everything else is internal.
 */
@NullMarked
package io.github.cancellation.spring.web;

import org.jspecify.annotations.NullMarked;
