package io.github.cancellation.spring.web.client;

import java.util.concurrent.atomic.AtomicReference;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.Registration;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFilterFunction;
import org.springframework.web.reactive.function.client.ExchangeFunction;

/**
 * A {@code WebClient} exchange under a token: the one in the Reactor context under
 * {@link #CONTEXT_KEY} (where the starter's WebFlux request token and Micrometer context
 * propagation put it), else {@link CancellationToken#current()} on the subscribing thread. Under
 * {@code none()} nothing changes; under a cancelled token the exchange fails with
 * {@link CancelledException} and sends nothing; under a token with a deadline it sends the time
 * left; when the token is cancelled while the exchange or its body is in flight, the subscription
 * is cancelled (Reactor Netty then never pools the half-read connection) and the
 * caller gets {@link CancelledException} with the token's reason. Every registration on the token
 * ends with the exchange or the body. Stateless, so thread-safe.
 */
final class CancellationExchangeFilterFunction implements ExchangeFilterFunction {

    /** The Reactor context key of the current token; the key of the starter's {@code ThreadLocalAccessor}. */
    static final String CONTEXT_KEY = "io.github.cancellation.current";

    private final DeadlineHeader deadlineHeader;

    CancellationExchangeFilterFunction(DeadlineHeader deadlineHeader) {
        this.deadlineHeader = deadlineHeader;
    }

    @Override
    public Mono<ClientResponse> filter(ClientRequest request, ExchangeFunction next) {
        return Mono.deferContextual(context -> {
            Object fromContext = context.getOrDefault(CONTEXT_KEY, null);
            CancellationToken token = fromContext instanceof CancellationToken contextToken ? contextToken
                    : CancellationToken.current();
            if (token == CancellationToken.none()) {
                return next.exchange(request);
            }
            if (token.isCancelled()) {
                return Mono.error(new CancelledException(token.reason().orElseThrow()));
            }
            String value = deadlineHeader.valueFor(token, request.url());
            ClientRequest sent = value == null ? request
                    : ClientRequest.from(request).headers(headers -> deadlineHeader.apply(token, request.url(), headers))
                        .build();
            Mono<ClientResponse> exchange = next.exchange(sent)
                .map(response -> response.mutate().body(body -> untilCancelled(body, token)).build());
            return Mono.firstWithSignal(exchange, failOnCancel(token));
        });
    }

    /** Errors with {@link CancelledException} when the token is cancelled; never completes otherwise. */
    private static <T> Mono<T> failOnCancel(CancellationToken token) {
        return Mono.create(sink -> {
            Registration registration = token.onCancel(reason -> sink.error(new CancelledException(reason)));
            sink.onDispose(registration::unregister);
        });
    }

    /**
     * The body, cut off with {@link CancelledException} when the token is cancelled before it ends.
     * A body that ended first is whole, whatever happens to the token afterwards.
     */
    private static <T> Flux<T> untilCancelled(Flux<T> body, CancellationToken token) {
        AtomicReference<CancellationReason> cut = new AtomicReference<>();
        Mono<CancellationReason> cancelled = Mono.create(sink -> {
            Registration registration = token.onCancel(reason -> {
                cut.set(reason);
                sink.success(reason);
            });
            sink.onDispose(registration::unregister);
        });
        return body.takeUntilOther(cancelled).concatWith(Mono.defer(() -> {
            CancellationReason reason = cut.get();
            return reason == null ? Mono.<T>empty() : Mono.<T>error(new CancelledException(reason));
        }));
    }
}
