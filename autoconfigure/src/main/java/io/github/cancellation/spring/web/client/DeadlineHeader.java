package io.github.cancellation.spring.web.client;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import io.github.cancellation.CancellationToken;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;

/**
 * Which outgoing call carries the deadline header, and its value: the current token's
 * {@code remaining()} in whole milliseconds, rounded down (a callee that gets 0 knows the caller
 * has stopped waiting). Shared by the {@code RestClient} interceptor and the {@code WebClient}
 * filter. Immutable, so thread-safe.
 */
final class DeadlineHeader {

    private final @Nullable String name;

    private final List<String> exactHosts;

    private final List<String> domainSuffixes;

    private DeadlineHeader(@Nullable String name, List<String> exactHosts, List<String> domainSuffixes) {
        this.name = name;
        this.exactHosts = exactHosts;
        this.domainSuffixes = domainSuffixes;
    }

    static DeadlineHeader of(CancellationHttpClientProperties properties) {
        if (!properties.isPropagateDeadline()) {
            return new DeadlineHeader(null, List.of(), List.of());
        }
        List<String> patterns = properties.getDeadlineExcludedHosts().stream()
            .map(pattern -> pattern.toLowerCase(Locale.ROOT))
            .toList();
        return new DeadlineHeader(properties.getDeadlineHeader(),
                patterns.stream().filter(pattern -> !pattern.startsWith("*.")).toList(),
                patterns.stream().filter(pattern -> pattern.startsWith("*.")).map(pattern -> pattern.substring(1)).toList());
    }

    /**
     * Sets the header on {@code headers} when the token has a deadline and the call's host may
     * receive it; replaces a value set by the caller only with a smaller one.
     */
    void apply(CancellationToken token, URI uri, HttpHeaders headers) {
        String value = valueFor(token, uri);
        if (value != null) {
            String existing = headers.getFirst(name);
            if (existing == null || smaller(value, existing)) {
                headers.set(name, value);
            }
        }
    }

    /** The header name, or null when deadlines are not propagated. */
    @Nullable String name() {
        return name;
    }

    /** The value to send for this call, or null when none is sent. */
    @Nullable String valueFor(CancellationToken token, URI uri) {
        if (name == null || excluded(uri.getHost())) {
            return null;
        }
        Optional<Duration> remaining = token.remaining();
        return remaining.map(left -> Long.toString(left.toMillis())).orElse(null);
    }

    private boolean excluded(@Nullable String host) {
        if (host == null || (exactHosts.isEmpty() && domainSuffixes.isEmpty())) {
            return false;
        }
        String lower = host.toLowerCase(Locale.ROOT);
        if (exactHosts.contains(lower)) {
            return true;
        }
        for (String suffix : domainSuffixes) { // ".partner.com": the domain itself and its subdomains
            if (lower.endsWith(suffix) || lower.equals(suffix.substring(1))) {
                return true;
            }
        }
        return false;
    }

    private static boolean smaller(String value, String existing) {
        try {
            return Long.parseLong(value) < Long.parseLong(existing.trim());
        }
        catch (NumberFormatException ex) {
            return true; // the caller's value is not ours to keep: the token's deadline is what holds
        }
    }
}
