package io.github.cancellation.spring;

/**
 * A part of the starter that hands out tokens of its own, outside the bean, {@code @Async},
 * {@code @Scheduled} and task tokens, and counts how many of them are open: today the request
 * tokens of Spring MVC and WebFlux. The {@value CancellationMetrics#TOKENS_ACTIVE} gauge is the
 * starter's own count plus {@link #activeTokens()} of every bean of this type, read each time the
 * gauge is read (a scrape), never pushed.
 *
 * <p>An application may define a bean of this type too, to have tokens it hands out itself
 * counted in the same gauge; a bean is found when the meters are bound to a registry.
 *
 * <p>Thread-safety: implementations must be thread-safe; {@link #activeTokens()} is called on the
 * thread that reads the gauge while tokens open and close on others.
 */
@FunctionalInterface
public interface ActiveTokenSource {

    /**
     * Returns how many of this source's tokens are open now: opened, and not yet closed. A token
     * that is cancelled but not yet closed is still open (its work has not ended). Must be cheap
     * (it runs at every scrape) and must not block.
     *
     * @return the number of open tokens, zero or more
     */
    long activeTokens();
}
