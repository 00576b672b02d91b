package io.github.cancellation.spring;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.junit.jupiter.api.Test;

import org.springframework.aop.Advisor;
import org.springframework.aop.ProxyMethodInvocation;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.interceptor.AsyncExecutionInterceptor;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.scheduling.annotation.Async;
import org.springframework.scheduling.annotation.AsyncAnnotationBeanPostProcessor;
import org.springframework.scheduling.annotation.EnableAsync;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Spring Framework behaviour that {@link AsyncInvocationPostProcessor} relies on, checked on
 * plain Spring (no starter), one assertion per assumption: when Framework changes one of them,
 * this test fails and says which. Each is public API or documented ordering; none reads a private
 * field.
 */
class AsyncInvocationHooksTests {

    private static final String ATTRIBUTE = "hooks-test";

    @Test
    void asyncAdvisorShouldBeFoundByItsAdviceTypeOnAnOrderedPostProcessor() {
        assertThat(Ordered.class).as("AsyncAnnotationBeanPostProcessor is Ordered, so a post-processor that is "
                + "not runs after it").isAssignableFrom(AsyncAnnotationBeanPostProcessor.class);
        try (AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext(Config.class)) {
            Recorder recorder = context.getBean(Recorder.class);
            assertThat(recorder.asyncAdvisorIndex).as("a non-ordered post-processor sees Spring's @Async advisor, "
                    + "found by its advice type AsyncExecutionInterceptor").isGreaterThanOrEqualTo(0);
        }
    }

    @Test
    void advisorsAddedAroundSpringsShouldRunOnTheCallersAndTheExecutorsThreadSharingUserAttributes()
            throws Exception {
        try (AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext(Config.class)) {
            Recorder recorder = context.getBean(Recorder.class);
            String thread = context.getBean(Service.class).work().get(10, TimeUnit.SECONDS);
            assertThat(recorder.seen).as("before Spring's: the caller's thread; after it: the executor's thread, "
                    + "with the same method invocation and its user attributes")
                .containsExactly("before on " + Thread.currentThread().getName(), "after on " + thread + " saw value");
            assertThat(thread).startsWith("hooks-");
            assertThat(((Advised) context.getBean(Service.class)).getAdvisors()).extracting(Advisor::getAdvice)
                .as("Spring's advisor stays in place").anyMatch(AsyncExecutionInterceptor.class::isInstance);
        }
    }

    @Test
    void executorsSideShouldProceedWithTheCallersMethodInvocationObjectWhoseIdentityIsItsEquality()
            throws Exception {
        try (AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext(Config.class)) {
            Recorder recorder = context.getBean(Recorder.class);
            context.getBean(Service.class).work().get(10, TimeUnit.SECONDS);
            assertThat(recorder.invocations).as("AsyncHandOver keys on the MethodInvocation: the same object on "
                    + "both sides").hasSize(2);
            assertThat(recorder.invocations.get(1)).isSameAs(recorder.invocations.get(0));
            Class<?> type = recorder.invocations.get(0).getClass();
            assertThat(type.getMethod("equals", Object.class).getDeclaringClass())
                .as("%s keeps Object's identity equals, so that AsyncHandOver finds the object itself", type)
                .isEqualTo(Object.class);
            assertThat(type.getMethod("hashCode").getDeclaringClass())
                .as("%s keeps Object's identity hashCode", type).isEqualTo(Object.class);
        }
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAsync
    static class Config {

        @Bean
        static Recorder recorder() {
            return new Recorder();
        }

        @Bean
        ThreadPoolTaskExecutor taskExecutor() {
            ThreadPoolTaskExecutor executor = new ThreadPoolTaskExecutor();
            executor.setThreadNamePrefix("hooks-");
            return executor;
        }

        @Bean
        Service service() {
            return new Service();
        }
    }

    static class Service {

        @Async
        public CompletableFuture<String> work() {
            return CompletableFuture.completedFuture(Thread.currentThread().getName());
        }
    }

    /** Not {@code Ordered}, as {@link AsyncInvocationPostProcessor}; adds one interceptor on each side. */
    static class Recorder implements BeanPostProcessor {

        final List<String> seen = new CopyOnWriteArrayList<>();

        final List<MethodInvocation> invocations = new CopyOnWriteArrayList<>();

        volatile int asyncAdvisorIndex = -1;

        @Override
        public Object postProcessAfterInitialization(Object bean, String beanName) {
            if (!(bean instanceof Advised advised)) {
                return bean;
            }
            int index = AsyncInvocationPostProcessor.asyncAdvisorIndex(advised.getAdvisors());
            if (index < 0) {
                return bean;
            }
            asyncAdvisorIndex = index;
            MethodInterceptor after = invocation -> {
                Object value = ((ProxyMethodInvocation) invocation).getUserAttribute(ATTRIBUTE);
                seen.add("after on " + Thread.currentThread().getName() + " saw " + value);
                invocations.add(invocation);
                return invocation.proceed();
            };
            MethodInterceptor before = invocation -> {
                ((ProxyMethodInvocation) invocation).setUserAttribute(ATTRIBUTE, "value");
                seen.add("before on " + Thread.currentThread().getName());
                invocations.add(invocation);
                return invocation.proceed();
            };
            advised.addAdvisor(index + 1, new DefaultPointcutAdvisor(after));
            advised.addAdvisor(index, new DefaultPointcutAdvisor(before));
            return bean;
        }
    }
}
