package io.github.cancellation.spring.web.client;

import java.util.ArrayList;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of outgoing HTTP calls under a token, under {@code cancellation.web.client}.
 *
 * <p>{@code cancellation.web.client.enabled} (default {@code true}) is read by the
 * auto-configuration's condition and documented in the additional metadata.
 *
 * <p>Thread-safety: bound once at start-up on one thread and only read afterwards.
 */
@ConfigurationProperties("cancellation.web.client")
public class CancellationHttpClientProperties {

    /**
     * Whether a call made while the current token has a deadline sends the time left, in
     * milliseconds, in the deadline header.
     */
    private boolean propagateDeadline = true;

    /** Name of the header that carries the time left, in milliseconds. */
    private String deadlineHeader = "Request-Timeout";

    /**
     * Hosts that never receive the deadline header (a deadline tells the callee how long the
     * caller waits): exact names ({@code api.partner.com}) or a leading wildcard for a domain and
     * its subdomains ({@code *.partner.com}); case-insensitive. Cancellation and aborts still apply.
     */
    private List<String> deadlineExcludedHosts = new ArrayList<>();

    /**
     * Returns whether calls send the time left in the deadline header.
     *
     * @return whether the deadline is propagated
     */
    public boolean isPropagateDeadline() {
        return propagateDeadline;
    }

    /**
     * Sets whether calls send the time left in the deadline header.
     *
     * @param propagateDeadline whether the deadline is propagated
     */
    public void setPropagateDeadline(boolean propagateDeadline) {
        this.propagateDeadline = propagateDeadline;
    }

    /**
     * Returns the name of the deadline header.
     *
     * @return the header name
     */
    public String getDeadlineHeader() {
        return deadlineHeader;
    }

    /**
     * Sets the name of the deadline header.
     *
     * @param deadlineHeader the header name, not blank
     * @throws IllegalArgumentException if the name is blank or not a valid header name
     */
    public void setDeadlineHeader(String deadlineHeader) {
        if (deadlineHeader == null || deadlineHeader.isBlank() || !deadlineHeader.chars().allMatch(
                c -> c > 32 && c < 127 && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) {
            throw new IllegalArgumentException("cancellation.web.client.deadline-header must be a valid HTTP header "
                    + "name, was '" + deadlineHeader + "'");
        }
        this.deadlineHeader = deadlineHeader;
    }

    /**
     * Returns the hosts that never receive the deadline header.
     *
     * @return the host patterns, a live list
     */
    public List<String> getDeadlineExcludedHosts() {
        return deadlineExcludedHosts;
    }

    /**
     * Sets the hosts that never receive the deadline header.
     *
     * @param deadlineExcludedHosts exact host names or {@code *.domain} patterns
     * @throws IllegalArgumentException if a pattern is blank or has a wildcard other than a leading {@code *.}
     */
    public void setDeadlineExcludedHosts(List<String> deadlineExcludedHosts) {
        for (String pattern : deadlineExcludedHosts) {
            String rest = pattern == null ? "" : (pattern.startsWith("*.") ? pattern.substring(2) : pattern);
            if (rest.isBlank() || rest.contains("*")) {
                throw new IllegalArgumentException("cancellation.web.client.deadline-excluded-hosts: '" + pattern
                        + "' is not a host name or a '*.domain' pattern");
            }
        }
        this.deadlineExcludedHosts = new ArrayList<>(deadlineExcludedHosts);
    }
}
