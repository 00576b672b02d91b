package io.github.cancellation.spring;

import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Role;

/**
 * Auto-configuration of tokens for {@code @Async} methods: every invocation runs under a token of
 * its own, named {@code beanName.methodName}, a child of its bean's token (when the bean injects
 * one) or of the application token. Inside the method it is {@code CancellationToken.current()}
 * and the value of every {@code CancellationToken} parameter; a token the caller passed there is
 * linked to it (kind {@code CALLER}); cancelling the returned {@code Future} or
 * {@code CompletableFuture} cancels it; the invocation is tracked for the shutdown drain while it
 * runs, and its token is closed when it ends. An invocation that ends with
 * {@code CancelledException} completes its future as cancelled.
 *
 * <p>Works with any executor ({@code @Async("name")} included), for {@code void},
 * {@code Future} and {@code CompletableFuture} methods, and keeps the application's
 * {@code AsyncUncaughtExceptionHandler} (a {@code void} method that ends with
 * {@code CancelledException} once its token is cancelled has stopped as asked and does not reach
 * it). Like {@code @Async} itself, it applies to calls through the bean's proxy
 * ({@code @EnableAsync}'s default proxy mode), not to calls a bean makes on itself. An invocation
 * is tracked from the moment it starts: one still queued in its executor at shutdown is not
 * waited for. Switched off by {@code cancellation.async.enabled=false} (invocations then run
 * under the task decorator's token, if their executor has it).
 *
 * @see AsyncInvocationPostProcessor
 */
@AutoConfiguration(after = CancellationAutoConfiguration.class)
@ConditionalOnBooleanProperty(name = { "cancellation.enabled", "cancellation.async.enabled" }, matchIfMissing = true)
@ConditionalOnBean(CancellationTaskTracker.class)
public final class CancellationAsyncAutoConfiguration {

    CancellationAsyncAutoConfiguration() {
    }

    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    static AsyncInvocationPostProcessor cancellationAsyncInvocationPostProcessor() {
        return new AsyncInvocationPostProcessor();
    }
}
