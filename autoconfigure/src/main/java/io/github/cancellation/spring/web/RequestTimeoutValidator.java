package io.github.cancellation.spring.web;

import java.util.Collection;
import java.util.function.Supplier;

import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.web.method.HandlerMethod;

/**
 * Reads the {@link RequestTimeout} of every handler method at startup, so that a value that cannot
 * be read fails the application at once with a message naming the handler and the value, instead
 * of failing each request to that handler.
 *
 * <p>Thread-safety: used once, by the container, at startup.
 */
final class RequestTimeoutValidator implements SmartInitializingSingleton {

    private final Supplier<Collection<HandlerMethod>> handlerMethods;

    private final RequestDeadlines deadlines;

    /**
     * @param handlerMethods the handler methods of the application's request mappings
     */
    RequestTimeoutValidator(Supplier<Collection<HandlerMethod>> handlerMethods, RequestDeadlines deadlines) {
        this.handlerMethods = handlerMethods;
        this.deadlines = deadlines;
    }

    @Override
    public void afterSingletonsInstantiated() {
        for (HandlerMethod handler : handlerMethods.get()) {
            deadlines.fromAnnotation(handler.getMethod());
        }
    }
}
