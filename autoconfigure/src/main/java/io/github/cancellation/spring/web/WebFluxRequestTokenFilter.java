package io.github.cancellation.spring.web;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.spring.CancellationTokenThreadLocalAccessor;
import reactor.core.publisher.Mono;

import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;

/**
 * Opens a request token when a request arrives on WebFlux, puts it in the Reactor context (under
 * {@link CancellationTokenThreadLocalAccessor#KEY}, so that {@code CancellationToken.current()}
 * works inside operators where context propagation is on) and in the exchange's attributes, and
 * closes it when the response is complete. When the server cancels the response subscription
 * (the client went away) the token is cancelled with {@code DISCONNECTED} first.
 *
 * <p>Thread-safety: thread-safe; state lives in the exchange.
 */
final class WebFluxRequestTokenFilter implements WebFilter, Ordered {

    /** The exchange attribute holding the {@link InFlightRequest}. */
    static final String ATTRIBUTE = WebFluxRequestTokenFilter.class.getName() + ".request";

    private final RequestTokens tokens;

    WebFluxRequestTokenFilter(RequestTokens tokens) {
        this.tokens = tokens;
    }

    @Override
    public int getOrder() {
        return CancellationWebMvcAutoConfiguration.FILTER_ORDER;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        return Mono.defer(() -> {
            InFlightRequest inFlight = tokens.open(headerDeadline(exchange));
            exchange.getAttributes().put(ATTRIBUTE, inFlight);
            return chain.filter(exchange)
                .contextWrite((context) -> context.put(CancellationTokenThreadLocalAccessor.KEY, inFlight.token()))
                .doOnCancel(() -> inFlight.cancel(Kind.DISCONNECTED,
                        "client went away (the response subscription was cancelled)"))
                .doFinally((signal) -> inFlight.close());
        });
    }

    private Optional<Duration> headerDeadline(ServerWebExchange exchange) {
        String header = tokens.deadlineHeader();
        if (header.isEmpty()) {
            return Optional.empty();
        }
        List<String> values = exchange.getRequest().getHeaders().get(header);
        return (values == null) ? Optional.empty()
                : RequestDeadlines.fromHeader(java.util.Collections.enumeration(values));
    }
}
