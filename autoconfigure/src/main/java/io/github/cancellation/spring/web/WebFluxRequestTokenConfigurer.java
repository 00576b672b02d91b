package io.github.cancellation.spring.web;

import java.lang.reflect.Method;

import io.github.cancellation.CancellationToken;
import org.jspecify.annotations.Nullable;

import org.springframework.core.MethodParameter;
import org.springframework.web.reactive.BindingContext;
import org.springframework.web.reactive.HandlerMapping;
import org.springframework.web.reactive.config.WebFluxConfigurer;
import org.springframework.web.reactive.result.method.SyncHandlerMethodArgumentResolver;
import org.springframework.web.reactive.result.method.annotation.ArgumentResolverConfigurer;
import org.springframework.web.server.ServerWebExchange;

/**
 * Plugs request tokens into WebFlux annotated controllers: a {@code CancellationToken} handler
 * parameter receives the request token. WebFlux has no handler interceptor, so the handler's
 * {@link RequestTimeout} and the request's tracking under its method and pattern (for the tree)
 * are applied when that parameter is resolved: on WebFlux they need a handler that takes the
 * token.
 *
 * <p>Thread-safety: thread-safe.
 */
final class WebFluxRequestTokenConfigurer implements WebFluxConfigurer {

    private final RequestTokens tokens;

    WebFluxRequestTokenConfigurer(RequestTokens tokens) {
        this.tokens = tokens;
    }

    @Override
    public void configureArgumentResolvers(ArgumentResolverConfigurer configurer) {
        configurer.addCustomResolver(new TokenArgumentResolver(tokens.deadlines()));
    }

    /** Resolves a {@code CancellationToken} parameter to the request token. */
    static final class TokenArgumentResolver implements SyncHandlerMethodArgumentResolver {

        private final RequestDeadlines deadlines;

        TokenArgumentResolver(RequestDeadlines deadlines) {
            this.deadlines = deadlines;
        }

        @Override
        public boolean supportsParameter(MethodParameter parameter) {
            return parameter.getParameterType() == CancellationToken.class;
        }

        @Override
        public @Nullable Object resolveArgumentValue(MethodParameter parameter, BindingContext bindingContext,
                ServerWebExchange exchange) {
            Object attribute = exchange.getAttribute(WebFluxRequestTokenFilter.ATTRIBUTE);
            if (!(attribute instanceof InFlightRequest inFlight)) {
                return CancellationToken.none();
            }
            Method method = parameter.getMethod();
            if (method != null) {
                deadlines.fromAnnotation(method).ifPresent((cap) -> inFlight.tightenDeadline(cap,
                        "@RequestTimeout on " + method.getDeclaringClass().getSimpleName() + "." + method.getName()));
            }
            inFlight.track(MvcRequestTokenConfigurer.describe(exchange.getRequest().getMethod().name(),
                    exchange.getAttribute(HandlerMapping.BEST_MATCHING_PATTERN_ATTRIBUTE)));
            return inFlight.token();
        }
    }
}
