package io.github.cancellation.spring;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import org.springframework.aop.Advisor;
import org.springframework.aop.framework.Advised;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.task.TaskRejectedException;
import org.springframework.scheduling.annotation.Async;
import org.springframework.scheduling.annotation.EnableAsync;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * The hand-over of an {@code @Async} invocation from the caller's side to the executor's side
 * keeps nothing once the invocation has run, or has ended without running: its future cancelled
 * while it waited in the executor's queue, or its submission rejected.
 */
class AsyncHandOverTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                CancellationAsyncAutoConfiguration.class))
        .withUserConfiguration(OneThreadConfiguration.class);

    @Test
    void handOverShouldBeEmptyAfterRunCancelledBeforeStartAndRejectedInvocations() {
        contextRunner.run(context -> {
            Blocker blocker = context.getBean(Blocker.class);
            AsyncHandOver handOver = handOver(blocker);
            IssuedTokens tokens = context.getBean(IssuedTokens.class);
            long openBefore = tokens.openCount();
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);

            CompletableFuture<@Nullable Void> running = blocker.block(started, release);
            assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<@Nullable Void> queued = blocker.block(new CountDownLatch(1), new CountDownLatch(0));
            assertThat(handOver.pendingCount()).as("the queued invocation waits to be taken").isOne();
            assertThatExceptionOfType(TaskRejectedException.class)
                .isThrownBy(() -> blocker.block(new CountDownLatch(1), new CountDownLatch(0)));
            assertThat(handOver.pendingCount()).as("a rejected invocation is discarded").isOne();
            assertThat(queued.cancel(true)).isTrue();
            assertThat(handOver.pendingCount()).as("an invocation cancelled before it started is discarded").isZero();

            release.countDown();
            running.get(10, TimeUnit.SECONDS);
            await().atMost(10, TimeUnit.SECONDS).until(() -> tokens.openCount() == openBefore);
            assertThat(handOver.pendingCount()).isZero();
        });
    }

    private static AsyncHandOver handOver(Object proxy) {
        return Arrays.stream(((Advised) proxy).getAdvisors())
            .map(Advisor::getAdvice)
            .filter(AsyncInvocationInterceptors.Submission.class::isInstance)
            .map(advice -> ((AsyncInvocationInterceptors.Submission) advice).handOver())
            .findFirst()
            .orElseThrow();
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAsync
    static class OneThreadConfiguration {

        /** One thread and a queue of one: a third invocation is rejected while the first runs. */
        @Bean
        ThreadPoolTaskExecutor taskExecutor() {
            ThreadPoolTaskExecutor executor = new ThreadPoolTaskExecutor();
            executor.setCorePoolSize(1);
            executor.setMaxPoolSize(1);
            executor.setQueueCapacity(1);
            return executor;
        }

        @Bean
        Blocker blocker() {
            return new Blocker();
        }
    }

    static class Blocker {

        @Async
        public CompletableFuture<@Nullable Void> block(CountDownLatch started, CountDownLatch release)
                throws InterruptedException {
            started.countDown();
            release.await();
            return CompletableFuture.completedFuture(null);
        }
    }
}
