package io.github.cancellation.spring;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.task.TaskSchedulingAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.ClassPathResource;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.scheduling.annotation.EnableScheduling;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.scheduling.concurrent.SimpleAsyncTaskScheduler;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every {@code @Scheduled} execution runs under a fresh token of its own: a child of its bean's
 * token, else of the application token, named {@code beanName.methodName}, current inside the
 * method, tracked once while it runs and closed at the end; once the application token is
 * cancelled, no execution starts.
 */
class CancellationSchedulingAutoConfigurationTests {

    private static final long TIMEOUT_SECONDS = 10;

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                CancellationSchedulingAutoConfiguration.class, TaskSchedulingAutoConfiguration.class));

    @Test
    void fixedRateExecutionsShouldEachRunUnderAFreshToken() {
        contextRunner.withUserConfiguration(FixedRateJob.class).run(context -> {
            List<Seen> seen = executions(context, "fixedRateJob", 3);
            assertThat(seen).extracting(Seen::token).doesNotHaveDuplicates();
            assertThat(seen).allSatisfy(execution -> {
                assertThat(execution.token().name()).isEqualTo("fixedRateJob.run");
                assertThat(execution.token().parent()).containsSame(applicationToken(context));
                assertThat(execution.thread()).startsWith("scheduling-");
                assertThat(execution.tracked()).as("tracked once, under its name").containsExactly("fixedRateJob.run");
            });
            assertThat(seen.get(0).token().reason()).as("closed when the execution ended")
                .map(CancellationReason::kind).contains(Kind.CLOSED);
        });
    }

    @Test
    void fixedDelayExecutionsShouldEachRunUnderAFreshToken() {
        contextRunner.withUserConfiguration(FixedDelayJob.class).run(context -> {
            List<Seen> seen = executions(context, "fixedDelayJob", 3);
            assertThat(seen).extracting(Seen::token).doesNotHaveDuplicates();
            assertThat(seen).allSatisfy(execution -> {
                assertThat(execution.token().name()).isEqualTo("fixedDelayJob.run");
                assertThat(execution.tracked()).containsExactly("fixedDelayJob.run");
            });
        });
    }

    @Test
    void cronExecutionsShouldEachRunUnderAFreshTokenAlsoWhenTheSchedulerDecoratesEachRun() {
        // ThreadPoolTaskScheduler decorates every run of a trigger task but the first while the previous one ends.
        contextRunner.withUserConfiguration(CronJob.class).run(context -> {
            List<Seen> seen = executions(context, "cronJob", 2);
            assertThat(seen).extracting(Seen::token).doesNotHaveDuplicates();
            assertThat(seen).allSatisfy(execution -> {
                assertThat(execution.token().name()).isEqualTo("cronJob.run");
                assertThat(execution.token().parent()).containsSame(applicationToken(context));
                assertThat(execution.tracked()).containsExactly("cronJob.run");
            });
        });
    }

    @Test
    void userSchedulerWithoutTheTaskDecoratorShouldRunExecutionsUnderTheirTokens() {
        contextRunner.withUserConfiguration(UserSchedulerConfiguration.class, FixedDelayJob.class).run(context -> {
            assertThat(context).hasSingleBean(TaskScheduler.class);
            List<Seen> seen = executions(context, "fixedDelayJob", 2);
            assertThat(seen).allSatisfy(execution -> {
                assertThat(execution.thread()).startsWith("user-");
                assertThat(execution.token().name()).isEqualTo("fixedDelayJob.run");
                assertThat(execution.tracked()).containsExactly("fixedDelayJob.run");
            });
        });
    }

    @Test
    void schedulerThatDecoratesEveryRunShouldHaveTheRunHandedOver() {
        // SimpleAsyncTaskScheduler (Boot's with virtual threads) decorates each run where it starts it.
        contextRunner.withUserConfiguration(DecoratedSimpleSchedulerConfiguration.class, FixedRateJob.class)
            .run(context -> {
                List<Seen> seen = executions(context, "fixedRateJob", 2);
                assertThat(seen).allSatisfy(execution -> {
                    assertThat(execution.thread()).startsWith("simple-");
                    assertThat(execution.token().name()).isEqualTo("fixedRateJob.run");
                    assertThat(execution.token().parent()).containsSame(applicationToken(context));
                    // Its runs may overlap: each on a thread of its own.
                    assertThat(execution.tracked()).as("no decorator task").containsOnly("fixedRateJob.run");
                    assertThat(execution.timesTracked()).as("tracked once").isOne();
                });
            });
    }

    @Test
    void schedulerQualifierShouldStillRouteTheTask() {
        contextRunner.withUserConfiguration(OtherSchedulerConfiguration.class, QualifiedJob.class).run(context -> {
            List<Seen> seen = executions(context, "qualifiedJob", 2);
            assertThat(seen).allSatisfy(execution -> {
                assertThat(execution.thread()).startsWith("other-");
                assertThat(execution.token().name()).isEqualTo("qualifiedJob.run");
            });
        });
    }

    @Test
    void beanThatInjectsATokenShouldBeTheParentOfItsExecutions() {
        contextRunner.withUserConfiguration(TokenAwareJob.class).run(context -> {
            TokenAwareJob job = context.getBean(TokenAwareJob.class);
            Seen seen = executions(context, "tokenAwareJob", 1).get(0);
            assertThat(seen.token().name()).isEqualTo("tokenAwareJob.run");
            assertThat(seen.token().parent()).containsSame(job.token);
        });
    }

    @Test
    void beansSharingAClassShouldGetBoundedClassBasedNames() {
        contextRunner.withUserConfiguration(TwoJobsOfOneClass.class).run(context -> {
            Seen first = executions(context, "first", 1).get(0);
            Seen second = executions(context, "second", 1).get(0);
            assertThat(first.token().name()).isEqualTo("CancellationSchedulingAutoConfigurationTests$SharedJob.run");
            assertThat(second.token().name()).isEqualTo(first.token().name());
            assertThat(first.token().parent()).containsSame(applicationToken(context));
        });
    }

    @Test
    void noExecutionShouldStartOnceTheApplicationTokenIsCancelled() {
        contextRunner.withUserConfiguration(CountingFixedRateJob.class).run(context -> {
            CountingFixedRateJob job = context.getBean(CountingFixedRateJob.class);
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            TaskScheduler scheduler = context.getBean(TaskScheduler.class);
            AtomicInteger ticks = new AtomicInteger();
            scheduler.scheduleAtFixedRate(ticks::incrementAndGet, Duration.ofMillis(10));
            await().until(() -> job.executions.get() >= 3);

            // The context stays open: the scheduler goes on firing, the starter must skip.
            applicationToken(context).cancel(CancellationReason.of(Kind.SHUTDOWN, "test"));
            await().until(() -> tracker.activeCount() == 0);
            int executionsAtCancel = job.executions.get();
            int ticksAtCancel = ticks.get();

            await().until(() -> ticks.get() >= ticksAtCancel + 20);
            int executionsAfterCancel = job.executions.get() - executionsAtCancel;
            System.out.println("Fixed-rate 10 ms job: " + executionsAtCancel + " executions before the cancel, "
                    + executionsAfterCancel + " after it, while the scheduler fired " + (ticks.get() - ticksAtCancel)
                    + " more times");
            assertThat(executionsAfterCancel).isZero();
        });
    }

    @Test
    void schedulingSwitchOffShouldLeaveScheduledMethodsAlone() {
        contextRunner.withPropertyValues("cancellation.scheduling.enabled=false")
            .withUserConfiguration(FixedRateJob.class)
            .run(context -> {
                assertThat(context).doesNotHaveBean(CancellationSchedulingConfigurer.class)
                    .doesNotHaveBean(ScheduledTaskNames.class);
                Seen seen = executions(context, "fixedRateJob", 1).get(0);
                assertThat(seen.token().name()).as("the task decorator's token")
                    .isEqualTo(CancellationTaskDecorator.DEFAULT_TASK_NAME);
            });
    }

    @Test
    void starterSwitchOffShouldTurnSchedulingSupportOffToo() {
        contextRunner.withPropertyValues("cancellation.enabled=false")
            .run(context -> assertThat(context).doesNotHaveBean(CancellationSchedulingConfigurer.class));
    }

    @Test
    void invalidSwitchValueShouldFailStartUp() {
        contextRunner.withPropertyValues("cancellation.scheduling.enabled=sometimes")
            .run(context -> assertThat(context).hasFailed());
    }

    @Test
    void switchShouldBeDocumentedInTheMetadata() throws IOException {
        try (InputStream in = new ClassPathResource("META-INF/spring-configuration-metadata.json").getInputStream()) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                .contains("\"cancellation.scheduling.enabled\"");
        }
    }

    private static List<Seen> executions(AssertableApplicationContext context, String jobName, int count)
            throws InterruptedException {
        RecordingJob job = context.getBean(jobName, RecordingJob.class);
        List<Seen> seen = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Seen next = job.seen.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(next).as("execution %d of %s", i + 1, jobName).isNotNull();
            seen.add(next);
        }
        return seen;
    }

    private static CancellationToken applicationToken(AssertableApplicationContext context) {
        return context.getBean(CancellationAutoConfiguration.APPLICATION_TOKEN_BEAN_NAME, CancellationToken.class);
    }

    /**
     * What an execution saw: the current token, its thread, the names of the tasks tracked then,
     * and how many of them had the current token.
     */
    record Seen(CancellationToken token, String thread, List<String> tracked, long timesTracked) {
    }

    /** Records what each execution sees; subclasses say when it runs. */
    static class RecordingJob {

        final BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();

        private final CancellationTaskTracker tracker;

        RecordingJob(CancellationTaskTracker tracker) {
            this.tracker = tracker;
        }

        void record() {
            CancellationToken current = CancellationToken.current();
            List<TrackedTask> tasks = tracker.tasks();
            seen.add(new Seen(current, Thread.currentThread().getName(), tasks.stream().map(TrackedTask::name).toList(),
                    tasks.stream().filter(task -> task.token() == current).count()));
        }
    }

    @Configuration(value = "fixedRateJob", proxyBeanMethods = false)
    @EnableScheduling
    static class FixedRateJob extends RecordingJob {

        FixedRateJob(CancellationTaskTracker tracker) {
            super(tracker);
        }

        @Scheduled(fixedRate = 10)
        void run() {
            record();
        }
    }

    @Configuration(value = "fixedDelayJob", proxyBeanMethods = false)
    @EnableScheduling
    static class FixedDelayJob extends RecordingJob {

        FixedDelayJob(CancellationTaskTracker tracker) {
            super(tracker);
        }

        @Scheduled(fixedDelay = 10)
        void run() {
            record();
        }
    }

    @Configuration(value = "cronJob", proxyBeanMethods = false)
    @EnableScheduling
    static class CronJob extends RecordingJob {

        CronJob(CancellationTaskTracker tracker) {
            super(tracker);
        }

        @Scheduled(cron = "* * * * * *")
        void run() {
            record();
        }
    }

    @Configuration(value = "qualifiedJob", proxyBeanMethods = false)
    @EnableScheduling
    static class QualifiedJob extends RecordingJob {

        QualifiedJob(CancellationTaskTracker tracker) {
            super(tracker);
        }

        @Scheduled(fixedDelay = 10, scheduler = "otherScheduler")
        void run() {
            record();
        }
    }

    @Configuration(value = "tokenAwareJob", proxyBeanMethods = false)
    @EnableScheduling
    static class TokenAwareJob extends RecordingJob {

        final CancellationToken token;

        TokenAwareJob(CancellationTaskTracker tracker, CancellationToken token) {
            super(tracker);
            this.token = token;
        }

        @Scheduled(fixedDelay = 10)
        void run() {
            record();
        }
    }

    @Configuration(value = "countingFixedRateJob", proxyBeanMethods = false)
    @EnableScheduling
    static class CountingFixedRateJob {

        final AtomicInteger executions = new AtomicInteger();

        @Scheduled(fixedRate = 10)
        void run() {
            executions.incrementAndGet();
        }
    }

    /** A job class that the application uses twice. */
    static class SharedJob extends RecordingJob {

        SharedJob(CancellationTaskTracker tracker) {
            super(tracker);
        }

        @Scheduled(fixedDelay = 10)
        void run() {
            record();
        }
    }

    @Configuration(proxyBeanMethods = false)
    @EnableScheduling
    static class TwoJobsOfOneClass {

        @Bean
        SharedJob first(CancellationTaskTracker tracker) {
            return new SharedJob(tracker);
        }

        @Bean
        SharedJob second(CancellationTaskTracker tracker) {
            return new SharedJob(tracker);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class UserSchedulerConfiguration {

        @Bean
        ThreadPoolTaskScheduler taskScheduler() {
            ThreadPoolTaskScheduler scheduler = new ThreadPoolTaskScheduler();
            scheduler.setThreadNamePrefix("user-");
            return scheduler;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class DecoratedSimpleSchedulerConfiguration {

        @Bean
        SimpleAsyncTaskScheduler taskScheduler(CancellationTaskDecorator decorator) {
            SimpleAsyncTaskScheduler scheduler = new SimpleAsyncTaskScheduler();
            scheduler.setThreadNamePrefix("simple-");
            scheduler.setTaskDecorator(decorator);
            return scheduler;
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class OtherSchedulerConfiguration {

        @Bean
        ThreadPoolTaskScheduler otherScheduler() {
            ThreadPoolTaskScheduler scheduler = new ThreadPoolTaskScheduler();
            scheduler.setThreadNamePrefix("other-");
            return scheduler;
        }
    }
}
