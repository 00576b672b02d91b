package io.github.cancellation.spring.web;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of the request tokens ({@code cancellation.web.*}).
 *
 * <p>Thread-safety: a mutable bean bound once at startup; read-only afterwards.
 */
@ConfigurationProperties("cancellation.web")
public class CancellationWebProperties {

    /**
     * Whether every request handled by Spring MVC or WebFlux runs under a request token.
     */
    private boolean enabled = true;

    /**
     * Longest time any request may take before its token is cancelled with kind TIMEOUT. None by
     * default. A deadline header and @RequestTimeout can only shorten it.
     */
    private @Nullable Duration timeout;

    /**
     * Name of the inbound header that may shorten a request's deadline, in milliseconds or with
     * the unit ms or s (1500, 500ms, 1.5s). Empty to ignore every header.
     */
    private String deadlineHeader = "Request-Timeout";

    /**
     * Time that requests still in flight when the web server's graceful shutdown begins get to
     * finish before their tokens are cancelled with kind SHUTDOWN.
     */
    private Duration shutdownGrace = Duration.ofSeconds(5);

    /**
     * Creates the settings with their defaults.
     */
    public CancellationWebProperties() {
    }

    /**
     * Returns whether request tokens are on.
     *
     * @return whether request tokens are on
     */
    public boolean isEnabled() {
        return enabled;
    }

    /**
     * Sets whether request tokens are on.
     *
     * @param enabled whether request tokens are on
     */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /**
     * Returns the cap of every request, or null for none.
     *
     * @return the cap, or null
     */
    public @Nullable Duration getTimeout() {
        return timeout;
    }

    /**
     * Sets the cap of every request.
     *
     * @param timeout the cap, or null for none
     * @throws IllegalArgumentException if the cap is negative
     */
    public void setTimeout(@Nullable Duration timeout) {
        if (timeout != null && timeout.isNegative()) {
            throw new IllegalArgumentException("cancellation.web.timeout must not be negative, but was " + timeout);
        }
        this.timeout = timeout;
    }

    /**
     * Returns the name of the deadline header, empty if headers are ignored.
     *
     * @return the header name
     */
    public String getDeadlineHeader() {
        return deadlineHeader;
    }

    /**
     * Sets the name of the deadline header.
     *
     * @param deadlineHeader the header name, empty to ignore headers
     * @throws IllegalArgumentException if the name contains characters a header name cannot have
     */
    public void setDeadlineHeader(@Nullable String deadlineHeader) {
        String name = (deadlineHeader != null) ? deadlineHeader.strip() : "";
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c <= ' ' || c >= 127 || "\"(),/:;<=>?@[\\]{}".indexOf(c) >= 0) {
                throw new IllegalArgumentException("cancellation.web.deadline-header must be an HTTP header name "
                        + "(letters, digits and !#$%&'*+-.^_`|~), but was '" + deadlineHeader + "'");
            }
        }
        this.deadlineHeader = name;
    }

    /**
     * Returns the grace of requests in flight at shutdown.
     *
     * @return the grace
     */
    public Duration getShutdownGrace() {
        return shutdownGrace;
    }

    /**
     * Sets the grace of requests in flight at shutdown.
     *
     * @param shutdownGrace the grace, zero or more
     * @throws IllegalArgumentException if the grace is negative
     */
    public void setShutdownGrace(Duration shutdownGrace) {
        if (shutdownGrace.isNegative()) {
            throw new IllegalArgumentException(
                    "cancellation.web.shutdown-grace must not be negative, but was " + shutdownGrace);
        }
        this.shutdownGrace = shutdownGrace;
    }
}
