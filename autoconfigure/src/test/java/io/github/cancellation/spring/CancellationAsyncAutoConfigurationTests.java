package io.github.cancellation.spring;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import org.springframework.aop.Advisor;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.aop.support.annotation.AnnotationMatchingPointcut;
import org.springframework.aop.interceptor.AsyncExecutionInterceptor;
import org.springframework.aop.interceptor.AsyncUncaughtExceptionHandler;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.autoconfigure.task.TaskExecutionAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Role;
import org.springframework.core.io.ClassPathResource;
import org.springframework.scheduling.annotation.Async;
import org.springframework.scheduling.annotation.AsyncConfigurer;
import org.springframework.scheduling.annotation.EnableAsync;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Every {@code @Async} invocation runs under a token of its own: a child of its bean's token, else
 * of the application token, named {@code beanName.methodName}, current inside the method and
 * passed as its {@code CancellationToken} argument, tracked once while it runs and closed at the
 * end; the caller's token and the returned future cancel it.
 */
class CancellationAsyncAutoConfigurationTests {

    private static final long TIMEOUT_SECONDS = 10;

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                CancellationAsyncAutoConfiguration.class, TaskExecutionAutoConfiguration.class))
        .withPropertyValues("spring.task.execution.mode=force")
        .withUserConfiguration(AsyncConfiguration.class);

    @Test
    void invocationShouldRunUnderItsOwnChildOfTheApplicationToken() {
        contextRunner.run(context -> {
            Seen seen = service(context).completable(null).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(seen.argument()).as("the token argument").isSameAs(seen.current());
            assertThat(seen.current().name()).isEqualTo("asyncService.completable");
            assertThat(seen.current().parent()).containsSame(applicationToken(context));
            assertThat(seen.thread()).startsWith("task-");
            assertThat(seen.current().reason()).as("closed when the invocation ended")
                .map(CancellationReason::kind).contains(Kind.CLOSED);
        });
    }

    @Test
    void everyReturnTypeShouldRunUnderAnInvocationToken() {
        contextRunner.run(context -> {
            AsyncService service = service(context);
            CompletableFuture<Seen> fromVoid = new CompletableFuture<>();
            service.fireAndForget(null, fromVoid);
            assertThat(fromVoid.get(TIMEOUT_SECONDS, TimeUnit.SECONDS).current().name())
                .isEqualTo("asyncService.fireAndForget");
            assertThat(service.future(null).get(TIMEOUT_SECONDS, TimeUnit.SECONDS).current().name())
                .isEqualTo("asyncService.future");
            assertThat(service.completable(null).get(TIMEOUT_SECONDS, TimeUnit.SECONDS).current().name())
                .isEqualTo("asyncService.completable");
            await().untilAsserted(() -> assertThat(applicationToken(context).children())
                .as("no invocation token left on the application token")
                .isEmpty());
        });
    }

    @Test
    void invocationShouldBeTrackedOnceUnderBeanAndMethodName() {
        contextRunner.run(context -> {
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Seen> seen = service(context).blockUntil(started, release);
            assertThat(started.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
            List<TrackedTask> tracked = tracker.tasks();
            release.countDown();
            assertThat(tracked).singleElement().satisfies(task -> {
                assertThat(task.name()).isEqualTo("asyncService.blockUntil");
                assertThat(task.thread().getName()).startsWith("task-");
                assertThat(task.token()).isSameAs(seen.get(TIMEOUT_SECONDS, TimeUnit.SECONDS).current());
            });
            await().untilAsserted(() -> assertThat(tracker.activeCount()).isZero());
        });
    }

    @Test
    void callerTokenShouldBeLinkedAndCancelTheInvocationWithKindCaller() {
        contextRunner.run(context -> {
            CancellationToken caller = CancellationToken.create("request");
            CountDownLatch started = new CountDownLatch(1);
            CompletableFuture<CancellationReason> reason = service(context).awaitCancellation(caller, started);
            assertThat(started.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
            caller.cancel(CancellationReason.of(Kind.TIMEOUT, "request deadline"));
            CancellationReason seen = reason.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(seen.kind()).isEqualTo(Kind.CALLER);
            assertThat(seen.origin()).isEqualTo("asyncService.awaitCancellation");
            assertThat(seen.message()).hasValueSatisfying(message -> assertThat(message).contains("'request'"));
            assertThat(seen.cause()).containsInstanceOf(CancelledException.class)
                .get()
                .satisfies(cause -> assertThat(((CancelledException) cause).reason().kind()).isEqualTo(Kind.TIMEOUT));
            assertThat(applicationToken(context).isCancelled()).isFalse();
        });
    }

    @Test
    void callerTokenShouldNotBeCancelledByTheInvocation() {
        contextRunner.run(context -> {
            CancellationToken caller = CancellationToken.create("request");
            Seen seen = service(context).completable(caller).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(seen.argument()).as("the method gets its own token in the caller's place")
                .isNotSameAs(caller)
                .isSameAs(seen.current());
            assertThat(seen.current().isCancelled()).as("closed at its end").isTrue();
            assertThat(caller.isCancelled()).isFalse();
        });
    }

    @Test
    void cancellingTheFutureShouldCancelTheTokenAndWakeABlockedCall() {
        contextRunner.run(context -> {
            BlockingQueue<String> queue = new ArrayBlockingQueue<>(1);
            CountDownLatch started = new CountDownLatch(1);
            CompletableFuture<CancellationReason> ended = new CompletableFuture<>();
            Future<String> future = service(context).take(queue, started, ended);
            assertThat(started.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();

            assertThat(future.cancel(true)).isTrue();

            CancellationReason reason = ended.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(reason.kind()).isEqualTo(Kind.CALLER);
            assertThat(reason.message()).contains("the future of 'asyncService.take' was cancelled");
            assertThat(future.isCancelled()).isTrue();
            assertThatExceptionOfType(CancellationException.class).isThrownBy(future::get);
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            await().untilAsserted(() -> assertThat(tracker.activeCount()).isZero());
        });
    }

    @Test
    void cancellingTheCompletableFutureShouldCancelTheToken() {
        contextRunner.run(context -> {
            CountDownLatch started = new CountDownLatch(1);
            CompletableFuture<CancellationReason> ended = new CompletableFuture<>();
            CompletableFuture<Void> future = service(context).awaitAndReport(started, ended);
            assertThat(started.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();

            assertThat(future.cancel(false)).isTrue();

            CancellationReason reason = ended.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(reason.kind()).isEqualTo(Kind.CALLER);
            assertThat(future.isCancelled()).isTrue();
        });
    }

    @Test
    void invocationEndingWithCancelledExceptionShouldCompleteItsFutureAsCancelled() {
        contextRunner.run(context -> {
            AsyncService service = service(context);
            CompletableFuture<String> completable = service.giveUpCompletable();
            await().until(completable::isDone);
            assertThat(completable.isCancelled()).isTrue();
            assertThat(completable.isCompletedExceptionally()).isTrue();
            assertThatExceptionOfType(CancelledException.class).isThrownBy(completable::join)
                .satisfies(ex -> assertThat(ex.reason().message()).contains("gave up"));

            Future<String> future = service.giveUpFuture();
            await().until(future::isDone);
            assertThat(future.isCancelled()).isTrue();
            assertThatExceptionOfType(CancelledException.class).isThrownBy(future::get)
                .satisfies(ex -> assertThat(ex.reason().message()).contains("gave up"));
        });
    }

    @Test
    void otherFailuresShouldCompleteTheFutureExceptionallyAsBefore() {
        contextRunner.run(context -> {
            CompletableFuture<String> completable = service(context).failCompletable();
            await().until(completable::isDone);
            assertThat(completable.isCancelled()).isFalse();
            assertThat(completable).failsWithin(0, TimeUnit.SECONDS)
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(IllegalStateException.class);
        });
    }

    @Test
    void namedExecutorShouldRunTheInvocationUnderItsToken() {
        contextRunner.run(context -> {
            Seen seen = service(context).onOtherExecutor().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(seen.thread()).startsWith("other-");
            assertThat(seen.current().name()).isEqualTo("asyncService.onOtherExecutor");
            assertThat(seen.current().parent()).containsSame(applicationToken(context));
        });
    }

    @Test
    void exceptionHandlerShouldStillBeCalledButNotForAnInvocationThatStoppedAsAsked() {
        contextRunner.withUserConfiguration(ExceptionHandlerConfiguration.class).run(context -> {
            RecordingExceptionHandler handler = context.getBean(RecordingExceptionHandler.class);
            AsyncService service = service(context);
            CancellationToken caller = CancellationToken.create("caller");
            CountDownLatch started = new CountDownLatch(1);
            service.stopWhenCancelled(caller, started);
            assertThat(started.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
            caller.cancel();
            // One thread runs both in order: when the failure is handled, the cancelled one is over.
            service.fail();
            await().until(() -> !handler.failures.isEmpty());
            assertThat(handler.failures).singleElement().satisfies(failure -> {
                assertThat(failure.exception()).isInstanceOf(IllegalStateException.class)
                    .hasMessage("failure on purpose");
                assertThat(failure.method().getName()).isEqualTo("fail");
            });
        });
    }

    @Test
    void beanThatInjectsATokenShouldBeTheParentOfItsInvocations() {
        contextRunner.withBean("tokenAwareService", TokenAwareService.class).run(context -> {
            TokenAwareService service = context.getBean(TokenAwareService.class);
            Seen seen = service.work(null).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(seen.current().name()).isEqualTo("tokenAwareService.work");
            assertThat(seen.current().parent()).containsSame(service.token());
            assertThat(service.token().parent()).containsSame(applicationToken(context));
        });
    }

    @Test
    void interfaceBasedProxyShouldGetInvocationTokensToo() {
        contextRunner.withBean("interfaceService", AsyncApi.class, InterfaceService::new).run(context -> {
            AsyncApi api = context.getBean(AsyncApi.class);
            assertThat(api).isNotInstanceOf(InterfaceService.class);
            Seen seen = api.work(null).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(seen.current().name()).isEqualTo("interfaceService.work");
            assertThat(seen.argument()).isSameAs(seen.current());
        });
    }

    @Test
    void otherAdvisorsOfTheBeanShouldRunOnTheExecutorUnderTheInvocationToken() {
        contextRunner.withConfiguration(AutoConfigurations.of(AopAutoConfiguration.class))
            .withUserConfiguration(RecordingAdvisorConfiguration.class)
            .run(context -> {
                Seen seen = service(context).completable(null).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                RecordingInterceptor recording = (RecordingInterceptor) context.getBean(DefaultPointcutAdvisor.class)
                    .getAdvice();
                assertThat(recording.seen).singleElement().satisfies(advised -> {
                    assertThat(advised.current()).isSameAs(seen.current());
                    assertThat(advised.thread()).startsWith("task-");
                });
                // Spring's @Async advisor stays, between the starter's two interceptors
                assertThat(((Advised) service(context)).getAdvisors()).extracting(Advisor::getAdvice)
                    .filteredOn(advice -> advice instanceof AsyncExecutionInterceptor
                            || advice instanceof AsyncInvocationInterceptors.Submission
                            || advice instanceof AsyncInvocationInterceptors.Execution)
                    .extracting(advice -> (advice instanceof AsyncExecutionInterceptor) ? "Spring"
                            : advice.getClass().getSimpleName())
                    .containsExactly("Submission", "Spring", "Execution");
            });
    }

    @Test
    void asyncSwitchOffShouldLeaveAsyncMethodsAlone() {
        contextRunner.withPropertyValues("cancellation.async.enabled=false").run(context -> {
            assertThat(context).doesNotHaveBean(AsyncInvocationPostProcessor.class)
                .hasSingleBean(CancellationTaskDecorator.class);
            Seen seen = service(context).completable(null).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(seen.argument()).isNull();
            assertThat(seen.current().name()).as("the task decorator's token")
                .isEqualTo(CancellationTaskDecorator.DEFAULT_TASK_NAME);
        });
    }

    @Test
    void starterSwitchOffShouldTurnAsyncSupportOffToo() {
        contextRunner.withPropertyValues("cancellation.enabled=false")
            .run(context -> assertThat(context).doesNotHaveBean(AsyncInvocationPostProcessor.class));
    }

    @Test
    void invalidSwitchValueShouldFailStartUp() {
        contextRunner.withPropertyValues("cancellation.async.enabled=sometimes")
            .run(context -> assertThat(context).hasFailed());
    }

    @Test
    void switchShouldBeDocumentedInTheMetadata() throws IOException {
        try (InputStream in = new ClassPathResource("META-INF/spring-configuration-metadata.json").getInputStream()) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                .contains("\"cancellation.async.enabled\"");
        }
    }

    private static AsyncService service(AssertableApplicationContext context) {
        return context.getBean(AsyncService.class);
    }

    private static CancellationToken applicationToken(AssertableApplicationContext context) {
        return context.getBean(CancellationAutoConfiguration.APPLICATION_TOKEN_BEAN_NAME, CancellationToken.class);
    }

    /** What an invocation saw: its token argument, the current token, its thread. */
    record Seen(@Nullable CancellationToken argument, CancellationToken current, String thread) {

        static Seen now(@Nullable CancellationToken argument) {
            return new Seen(argument, CancellationToken.current(), Thread.currentThread().getName());
        }
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAsync
    static class AsyncConfiguration {

        @Bean
        AsyncService asyncService() {
            return new AsyncService();
        }

        @Bean
        ThreadPoolTaskExecutor otherExecutor() {
            ThreadPoolTaskExecutor executor = new ThreadPoolTaskExecutor();
            executor.setThreadNamePrefix("other-");
            executor.setCorePoolSize(1);
            return executor;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class ExceptionHandlerConfiguration {

        @Bean
        RecordingExceptionHandler recordingExceptionHandler() {
            return new RecordingExceptionHandler();
        }

        @Bean
        AsyncConfigurer asyncConfigurer(RecordingExceptionHandler handler) {
            return new AsyncConfigurer() {
                @Override
                public AsyncUncaughtExceptionHandler getAsyncUncaughtExceptionHandler() {
                    return handler;
                }
            };
        }
    }

    static class RecordingExceptionHandler implements AsyncUncaughtExceptionHandler {

        final List<Failure> failures = new CopyOnWriteArrayList<>();

        @Override
        public void handleUncaughtException(Throwable ex, Method method, @Nullable Object... params) {
            failures.add(new Failure(ex, method));
        }

        record Failure(Throwable exception, Method method) {
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class RecordingAdvisorConfiguration {

        @Bean
        @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
        static DefaultPointcutAdvisor recordingAdvisor() {
            return new DefaultPointcutAdvisor(AnnotationMatchingPointcut.forMethodAnnotation(Async.class),
                    new RecordingInterceptor());
        }
    }

    /** Another advisor's advice on {@code @Async} methods: records what it sees. */
    static class RecordingInterceptor implements MethodInterceptor {

        final List<Seen> seen = new CopyOnWriteArrayList<>();

        @Override
        public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
            seen.add(Seen.now(null));
            return invocation.proceed();
        }
    }

    static class AsyncService {

        @Async
        public void fireAndForget(@Nullable CancellationToken token, CompletableFuture<Seen> seen) {
            seen.complete(Seen.now(token));
        }

        @Async
        public Future<Seen> future(@Nullable CancellationToken token) {
            return CompletableFuture.completedFuture(Seen.now(token));
        }

        @Async
        public CompletableFuture<Seen> completable(@Nullable CancellationToken token) {
            return CompletableFuture.completedFuture(Seen.now(token));
        }

        @Async
        public CompletableFuture<Seen> blockUntil(CountDownLatch started, CountDownLatch release)
                throws InterruptedException {
            started.countDown();
            assertThat(release.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
            return CompletableFuture.completedFuture(Seen.now(null));
        }

        @Async
        public CompletableFuture<CancellationReason> awaitCancellation(CancellationToken token, CountDownLatch started)
                throws InterruptedException {
            started.countDown();
            token.await();
            return CompletableFuture.completedFuture(token.reason().orElseThrow());
        }

        @Async
        public CompletableFuture<Void> awaitAndReport(CountDownLatch started,
                CompletableFuture<CancellationReason> ended) throws InterruptedException {
            CancellationToken token = CancellationToken.current();
            started.countDown();
            token.await();
            ended.complete(token.reason().orElseThrow());
            return CompletableFuture.completedFuture(null);
        }

        @Async
        public Future<String> take(BlockingQueue<String> queue, CountDownLatch started,
                CompletableFuture<CancellationReason> ended) throws Exception {
            CancellationToken token = CancellationToken.current();
            started.countDown();
            try {
                return CompletableFuture.completedFuture(token.call(queue::take));
            }
            catch (CancelledException ex) {
                ended.complete(ex.reason());
                throw ex;
            }
        }

        @Async
        public CompletableFuture<String> giveUpCompletable() {
            throw new CancelledException(CancellationReason.of(Kind.MANUAL, "gave up"));
        }

        @Async
        public Future<String> giveUpFuture() {
            throw new CancelledException(CancellationReason.of(Kind.MANUAL, "gave up"));
        }

        @Async
        public CompletableFuture<String> failCompletable() {
            throw new IllegalStateException("failure on purpose");
        }

        @Async("otherExecutor")
        public CompletableFuture<Seen> onOtherExecutor() {
            return CompletableFuture.completedFuture(Seen.now(null));
        }

        @Async("otherExecutor")
        public void stopWhenCancelled(CancellationToken token, CountDownLatch started) throws InterruptedException {
            started.countDown();
            token.await();
            token.throwIfCancelled();
        }

        @Async("otherExecutor")
        public void fail() {
            throw new IllegalStateException("failure on purpose");
        }
    }

    static class TokenAwareService {

        private final CancellationToken token;

        TokenAwareService(CancellationToken token) {
            this.token = token;
        }

        public CancellationToken token() {
            return token;
        }

        @Async
        public CompletableFuture<Seen> work(@Nullable CancellationToken token) {
            return CompletableFuture.completedFuture(Seen.now(token));
        }
    }

    interface AsyncApi {

        CompletableFuture<Seen> work(@Nullable CancellationToken token);
    }

    static class InterfaceService implements AsyncApi {

        @Override
        @Async
        public CompletableFuture<Seen> work(@Nullable CancellationToken token) {
            return CompletableFuture.completedFuture(Seen.now(token));
        }
    }
}
