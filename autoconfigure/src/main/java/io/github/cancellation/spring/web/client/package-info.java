/**
 * Outgoing HTTP calls under a cancellation token: {@code RestClient} and {@code WebClient} built
 * from Spring Boot's builders (and the HTTP interface clients on them) send the current token's
 * remaining time as a deadline header, fail at once with
 * {@link io.github.cancellation.CancelledException} under a cancelled token, and abort an exchange
 * in flight when the token is cancelled.
 *
 * <p>The public types are {@link io.github.cancellation.spring.web.client.CancellationHttpClientAutoConfiguration}
 * and {@link io.github.cancellation.spring.web.client.CancellationHttpClientProperties}; everything
 * else is package-private. Every parameter and return value is non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package io.github.cancellation.spring.web.client;

import org.jspecify.annotations.NullMarked;
