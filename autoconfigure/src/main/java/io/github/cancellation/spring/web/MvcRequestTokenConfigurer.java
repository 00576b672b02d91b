package io.github.cancellation.spring.web;

import java.lang.reflect.Method;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.Scope;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.jspecify.annotations.Nullable;

import org.springframework.core.MethodParameter;
import org.springframework.web.bind.support.WebDataBinderFactory;
import org.springframework.web.context.request.NativeWebRequest;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.async.CallableProcessingInterceptor;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.method.support.HandlerMethodArgumentResolver;
import org.springframework.web.method.support.ModelAndViewContainer;
import org.springframework.web.servlet.HandlerExceptionResolver;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.HandlerMapping;
import org.springframework.web.servlet.config.annotation.AsyncSupportConfigurer;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Plugs request tokens into Spring MVC through its documented extension points: a
 * {@code CancellationToken} handler parameter, a handler interceptor that applies
 * {@link RequestTimeout} and tracks the request under its method and pattern once the handler is
 * known, a {@code Callable} interceptor that binds the request token on the thread running the
 * callable, and the exception resolver that answers a {@code CancelledException}, placed after
 * Spring's own (so a user's {@code @ExceptionHandler} wins).
 *
 * <p>Thread-safety: thread-safe.
 */
final class MvcRequestTokenConfigurer implements WebMvcConfigurer {

    private static final Set<String> STANDARD_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
            "OPTIONS", "TRACE");

    private final RequestTokens tokens;

    MvcRequestTokenConfigurer(RequestTokens tokens) {
        this.tokens = tokens;
    }

    @Override
    public void addArgumentResolvers(List<HandlerMethodArgumentResolver> resolvers) {
        resolvers.add(new TokenArgumentResolver());
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(new DeadlineAndTrackingInterceptor(tokens.deadlines()));
    }

    @Override
    public void configureAsyncSupport(AsyncSupportConfigurer configurer) {
        configurer.registerCallableInterceptors(new BindingCallableInterceptor());
    }

    @Override
    public void extendHandlerExceptionResolvers(List<HandlerExceptionResolver> resolvers) {
        resolvers.add(new MvcCancelledExceptionResolver());
    }

    static @Nullable InFlightRequest inFlight(HttpServletRequest request) {
        return (InFlightRequest) request.getAttribute(MvcRequestTokenFilter.ATTRIBUTE);
    }

    /**
     * A name for the request in the tree: its method (one of the standard ones, else
     * {@code OTHER}) and the pattern that matched, never the raw URI.
     */
    static String describe(String method, @Nullable Object pattern) {
        String upper = method.toUpperCase(Locale.ROOT);
        return (STANDARD_METHODS.contains(upper) ? upper : "OTHER") + " "
                + ((pattern != null) ? pattern.toString() : "(no pattern)");
    }

    /** Resolves a {@code CancellationToken} handler parameter to the request token. */
    static final class TokenArgumentResolver implements HandlerMethodArgumentResolver {

        @Override
        public boolean supportsParameter(MethodParameter parameter) {
            return parameter.getParameterType() == CancellationToken.class;
        }

        @Override
        public Object resolveArgument(MethodParameter parameter, @Nullable ModelAndViewContainer mavContainer,
                NativeWebRequest webRequest, @Nullable WebDataBinderFactory binderFactory) {
            Object inFlight = webRequest.getAttribute(MvcRequestTokenFilter.ATTRIBUTE,
                    RequestAttributes.SCOPE_REQUEST);
            return (inFlight instanceof InFlightRequest request) ? request.token() : CancellationToken.current();
        }
    }

    /** Applies {@link RequestTimeout} and starts tracking once the handler is known. */
    static final class DeadlineAndTrackingInterceptor implements HandlerInterceptor {

        private final RequestDeadlines deadlines;

        DeadlineAndTrackingInterceptor(RequestDeadlines deadlines) {
            this.deadlines = deadlines;
        }

        @Override
        public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
            InFlightRequest inFlight = inFlight(request);
            if (inFlight == null) {
                return true;
            }
            if (handler instanceof HandlerMethod handlerMethod) {
                Method method = handlerMethod.getMethod();
                deadlines.fromAnnotation(method).ifPresent((cap) -> inFlight.tightenDeadline(cap,
                        "@RequestTimeout on " + method.getDeclaringClass().getSimpleName() + "." + method.getName()));
            }
            inFlight.track(describe(request.getMethod(),
                    request.getAttribute(HandlerMapping.BEST_MATCHING_PATTERN_ATTRIBUTE)));
            return true;
        }
    }

    /**
     * Binds the request token on the thread that runs a {@code Callable} returned by a handler,
     * from just before the call to just after it.
     */
    static final class BindingCallableInterceptor implements CallableProcessingInterceptor {

        private final ThreadLocal<Scope> scopes = new ThreadLocal<>();

        @Override
        public <T> void preProcess(NativeWebRequest request, Callable<T> task) {
            Object inFlight = request.getAttribute(MvcRequestTokenFilter.ATTRIBUTE, RequestAttributes.SCOPE_REQUEST);
            if (inFlight instanceof InFlightRequest found) {
                scopes.set(found.token().bind());
            }
        }

        @Override
        public <T> void postProcess(NativeWebRequest request, Callable<T> task, @Nullable Object concurrentResult) {
            Scope scope = scopes.get();
            if (scope != null) {
                scopes.remove();
                scope.close();
            }
        }
    }
}
