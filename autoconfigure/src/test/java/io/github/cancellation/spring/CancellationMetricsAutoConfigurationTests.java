package io.github.cancellation.spring;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.Scope;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import org.springframework.boot.Banner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.autoconfigure.task.TaskExecutionAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.ClassPathResource;
import org.springframework.scheduling.annotation.Async;
import org.springframework.scheduling.annotation.EnableAsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The cancellation meters: bound to Boot's registry when Micrometer and a registry are present,
 * each with its documented type, unit and tags; cancellations counted once where they began;
 * back-off without Micrometer, without a registry and with the switch off.
 */
class CancellationMetricsAutoConfigurationTests {

    private static final long TIMEOUT_SECONDS = 10;

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(MetricsAutoConfiguration.class,
                SimpleMetricsExportAutoConfiguration.class, CancellationAutoConfiguration.class,
                CancellationAsyncAutoConfiguration.class, TaskExecutionAutoConfiguration.class,
                CancellationMetricsAutoConfiguration.class))
        .withPropertyValues("spring.task.execution.mode=force");

    @Test
    void metricsShouldBeBoundToBootsRegistry() {
        contextRunner.run(context -> {
            assertThat(context).hasSingleBean(CancellationMetrics.class);
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value()).isZero();
            assertThat(registry.get(CancellationMetrics.SHUTDOWN_DRAIN).timer().count()).isZero();
        });
    }

    @Test
    void tokensActiveShouldAddTheOpenCountOfEveryActiveTokenSourceReadAtEachScrape() {
        java.util.concurrent.atomic.AtomicLong open = new java.util.concurrent.atomic.AtomicLong(3);
        contextRunner.withBean("requestLikeTokens", ActiveTokenSource.class, () -> open::get)
            .withBean("moreTokens", ActiveTokenSource.class, () -> () -> 2)
            .run(context -> {
                MeterRegistry registry = context.getBean(MeterRegistry.class);
                assertThat(registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value()).isEqualTo(5);
                open.set(7);
                System.gc(); // the gauge's state object must survive a collection (a gauge holds it weakly by default)
                assertThat(registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value()).as("read, not pushed")
                    .isEqualTo(9);
                open.set(0);
                assertThat(registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value()).isEqualTo(2);
            });
    }

    @Test
    void metricsShouldBeBoundToThePrometheusRegistryOfAnAutoConfiguredApplication() {
        SpringApplication application = new SpringApplication(AutoConfiguredApplication.class);
        application.setWebApplicationType(WebApplicationType.NONE);
        application.setBannerMode(Banner.Mode.OFF);
        application.setRegisterShutdownHook(false);
        try (ConfigurableApplicationContext context = application.run()) {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry).isInstanceOf(PrometheusMeterRegistry.class);
            assertThat(context.getBean(CancellationMetrics.class)).isNotNull();
            assertThat(registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value()).isZero();
            assertThat(registry.find(CancellationMetrics.TOKENS_CANCELLED).functionCounters()).hasSize(6);
        }
    }

    @Test
    void everyMeterShouldHaveItsDocumentedTypeUnitAndTags() {
        contextRunner.run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            try (CancellationToken token = CancellationToken.create("report"); TrackedTask task = tracker.track("report", token)) {
                token.cancel();
            }

            Map<String, List<Meter.Id>> byName = registry.getMeters().stream()
                .map(Meter::getId)
                .filter(id -> id.getName().startsWith("cancellation."))
                .collect(Collectors.groupingBy(Meter.Id::getName, TreeMap::new, Collectors.toList()));
            byName.values().stream().flatMap(List::stream).sorted(Comparator.comparing(Meter.Id::toString))
                .forEach(id -> System.out.println("meter " + id.getName() + " " + id.getType() + " unit="
                        + id.getBaseUnit() + " tags=" + id.getTags() + " -- " + id.getDescription()));

            assertThat(byName.keySet()).containsExactlyInAnyOrder(CancellationMetrics.TOKENS_ACTIVE,
                    CancellationMetrics.TOKENS_CANCELLED, CancellationMetrics.TASKS_ACTIVE,
                    CancellationMetrics.TASKS_RESPONSE, CancellationMetrics.SHUTDOWN_DRAIN,
                    CancellationMetrics.SHUTDOWN_STRAGGLERS);
            assertMeters(byName.get(CancellationMetrics.TOKENS_ACTIVE), Meter.Type.GAUGE, "tokens", Set.of());
            assertMeters(byName.get(CancellationMetrics.TOKENS_CANCELLED), Meter.Type.COUNTER, "tokens", Set.of("kind"));
            assertMeters(byName.get(CancellationMetrics.TASKS_ACTIVE), Meter.Type.LONG_TASK_TIMER, "seconds",
                    Set.of("task"));
            assertMeters(byName.get(CancellationMetrics.TASKS_RESPONSE), Meter.Type.TIMER, "seconds",
                    Set.of("task", "outcome"));
            assertMeters(byName.get(CancellationMetrics.SHUTDOWN_DRAIN), Meter.Type.TIMER, "seconds", Set.of());
            assertMeters(byName.get(CancellationMetrics.SHUTDOWN_STRAGGLERS), Meter.Type.COUNTER, "tasks",
                    Set.of("task"));
            assertThat(tagValues(byName.get(CancellationMetrics.TOKENS_CANCELLED), "kind"))
                .containsExactlyInAnyOrder("MANUAL", "TIMEOUT", "SHUTDOWN", "CALLER", "ACTUATOR", "DISCONNECTED");
            assertThat(tagValues(byName.get(CancellationMetrics.TASKS_RESPONSE), "outcome"))
                .containsExactlyInAnyOrder("completed", "straggler");
            assertThat(tagValues(byName.get(CancellationMetrics.TASKS_ACTIVE), "task")).containsExactly("report");
            assertThat(registry.get(CancellationMetrics.TASKS_RESPONSE).tags("task", "report", "outcome", "completed")
                .timer().count()).as("the cancelled task's response").isOne();
        });
    }

    @Test
    void cancellationsShouldBeCountedOnceWhereTheyBeganNotForEachDescendant() {
        contextRunner.withUserConfiguration(WaitingWorkerConfiguration.class).run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            WaitingWorker worker = context.getBean(WaitingWorker.class);

            // An invocation that cancels its own token, and one whose future the caller cancels.
            worker.cancelItself().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            CompletableFuture<CancellationReason> cancelledByFuture = worker.await(new CountDownLatch(1));
            assertThat(cancelledByFuture.cancel(true)).isTrue();
            awaitQuiet(context);
            assertThat(cancelled(registry)).containsEntry("MANUAL", 1.0).containsEntry("CALLER", 1.0);

            // The bean's own token, cancelled by the application, with three invocations under it.
            CountDownLatch started = new CountDownLatch(3);
            List<CompletableFuture<CancellationReason>> waiting = List.of(worker.await(started),
                    worker.await(started), worker.await(started));
            assertThat(started.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
            worker.token().cancel();
            for (CompletableFuture<CancellationReason> future : waiting) {
                assertThat(future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS).origin()).isEqualTo("waitingWorker");
            }
            awaitQuiet(context);
            System.out.println("cancellation.tokens.cancelled: " + cancelled(registry));
            assertThat(cancelled(registry)).as("one more MANUAL, at the bean token, none for its three invocations")
                .containsEntry("MANUAL", 2.0)
                .containsEntry("CALLER", 1.0)
                .containsEntry("SHUTDOWN", 0.0)
                .containsEntry("TIMEOUT", 0.0)
                .containsEntry("ACTUATOR", 0.0);

            context.close();
            assertThat(cancelled(registry)).as("one SHUTDOWN at the application token")
                .containsEntry("SHUTDOWN", 1.0)
                .containsEntry("MANUAL", 2.0);
        });
    }

    @Test
    void actuatorCancelShouldBeCountedOncePerTokenItCancelled() {
        contextRunner.withUserConfiguration(WaitingWorkerConfiguration.class).run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            CancellationEndpoint endpoint = new CancellationEndpoint(
                    context.getBean(CancellationAutoConfiguration.APPLICATION_TOKEN_BEAN_NAME, CancellationToken.class),
                    context.getBean(CancellationTaskTracker.class),
                    BeanTokenAutowireCandidateResolver.beanTokens(context.getBeanFactory()),
                    CancellationEndpoint.DEFAULT_MAX_TOKENS, context.getBean(IssuedTokens.class));
            WaitingWorker worker = context.getBean(WaitingWorker.class);
            CountDownLatch started = new CountDownLatch(2);
            List<CompletableFuture<CancellationReason>> waiting = List.of(worker.await(started), worker.await(started));
            assertThat(started.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();

            assertThat(endpoint.cancel(new String[] { "waitingWorker" }, "test").cancelled()).isOne();
            assertThat(endpoint.cancel(new String[] { "waitingWorker" }, "again").cancelled()).isZero();

            for (CompletableFuture<CancellationReason> future : waiting) {
                assertThat(future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS).kind()).isEqualTo(Kind.ACTUATOR);
            }
            awaitQuiet(context);
            assertThat(cancelled(registry)).containsEntry("ACTUATOR", 1.0).containsEntry("MANUAL", 0.0);
            assertThat(registry.get(CancellationMetrics.TASKS_RESPONSE)
                .tags("task", "waitingWorker.await", "outcome", "completed")
                .timer()
                .count()).as("both invocations responded").isEqualTo(2);
        });
    }

    @Test
    void handedOverTaskShouldRecordNoResponse() {
        contextRunner.run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            CancellationTaskDecorator decorator = context.getBean(CancellationTaskDecorator.class);
            CancellationToken cancelledSubmitter = CancellationToken.create("submitter");
            cancelledSubmitter.cancel();
            Runnable handOver = () -> DecoratedRun.claim(DecoratedRun.ANY_RUN);
            Runnable nothing = () -> {
            };
            String name = CancellationTaskDecorator.taskName(nothing);
            assertThat(CancellationTaskDecorator.taskName(handOver)).isEqualTo(name);
            Runnable handedOver;
            Runnable plain;
            try (Scope scope = cancelledSubmitter.bind()) {
                handedOver = decorator.decorate(handOver);
                plain = decorator.decorate(nothing);
            }

            handedOver.run();
            assertThat(registry.get(CancellationMetrics.TASKS_RESPONSE).tags("task", name, "outcome", "completed")
                .timer().count()).as("the hand-over is no response").isZero();
            assertThat(registry.get(CancellationMetrics.TASKS_ACTIVE).tag("task", name).longTaskTimer().activeTasks())
                .isZero();

            plain.run();
            assertThat(registry.get(CancellationMetrics.TASKS_RESPONSE).tags("task", name, "outcome", "completed")
                .timer().count()).as("a task born cancelled responds").isOne();
            assertThat(registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value()).isZero();
        });
    }

    @Test
    void metricsShouldBackOffWhenTheApplicationDefinesThem() {
        contextRunner.withUserConfiguration(UserMetricsConfiguration.class).run(context -> {
            assertThat(context).hasSingleBean(CancellationMetrics.class).hasBean("userCancellationMetrics");
            assertThat(context.getBean(MeterRegistry.class).get(CancellationMetrics.TOKENS_ACTIVE).gauge().value())
                .isZero();
        });
    }

    @Configuration(proxyBeanMethods = false)
    static class UserMetricsConfiguration {

        @Bean
        CancellationMetrics userCancellationMetrics(IssuedTokens issuedTokens, CancellationTaskTracker tracker,
                CancellationShutdownLifecycle lifecycle) {
            return new CancellationMetrics(issuedTokens, tracker, lifecycle);
        }
    }

    @Test
    void metricsWhenMicrometerIsAbsentShouldBackOff() {
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                    CancellationMetricsAutoConfiguration.class))
            .withBean(SimpleMeterRegistry.class, SimpleMeterRegistry::new)
            .withClassLoader(new FilteredClassLoader(MeterRegistry.class))
            .run(context -> {
                assertThat(context).doesNotHaveBean(CancellationMetrics.class)
                    .hasSingleBean(CancellationTaskTracker.class)
                    .hasSingleBean(IssuedTokens.class);
                assertThat(context.getBean(MeterRegistry.class).getMeters()).isEmpty();
            });
    }

    @Test
    void metricsWhenThereIsNoMeterRegistryShouldBackOff() {
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                    CancellationMetricsAutoConfiguration.class))
            .run(context -> assertThat(context).doesNotHaveBean(CancellationMetrics.class)
                .hasSingleBean(CancellationTaskTracker.class));
    }

    @Test
    void metricsSwitchOffShouldBackOff() {
        contextRunner.withPropertyValues("cancellation.metrics.enabled=false").run(context -> {
            assertThat(context).doesNotHaveBean(CancellationMetrics.class).hasSingleBean(CancellationTaskTracker.class);
            assertThat(context.getBean(MeterRegistry.class).find(CancellationMetrics.TOKENS_ACTIVE).meter()).isNull();
        });
    }

    @Test
    void starterSwitchOffShouldTurnMetricsOffToo() {
        contextRunner.withPropertyValues("cancellation.enabled=false")
            .run(context -> assertThat(context).doesNotHaveBean(CancellationMetrics.class)
                .doesNotHaveBean(CancellationTaskTracker.class));
    }

    @Test
    void invalidSwitchValueShouldFailStartUp() {
        contextRunner.withPropertyValues("cancellation.metrics.enabled=sometimes")
            .run(context -> assertThat(context).hasFailed());
    }

    @Test
    void switchShouldBeDocumentedInTheMetadata() throws IOException {
        try (InputStream in = new ClassPathResource("META-INF/spring-configuration-metadata.json").getInputStream()) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                .contains("\"cancellation.metrics.enabled\"");
        }
    }

    private static void assertMeters(List<Meter.Id> ids, Meter.Type type, String baseUnit, Set<String> tagKeys) {
        assertThat(ids).isNotEmpty().allSatisfy(id -> {
            assertThat(id.getType()).as("type of %s", id).isEqualTo(type);
            assertThat(id.getBaseUnit()).as("base unit of %s", id).isEqualTo(baseUnit);
            assertThat(id.getDescription()).as("description of %s", id).isNotBlank();
            assertThat(id.getTags()).extracting(Tag::getKey).as("tags of %s", id).containsExactlyInAnyOrderElementsOf(tagKeys);
        });
    }

    private static List<String> tagValues(List<Meter.Id> ids, String key) {
        return ids.stream().map(id -> id.getTag(key)).toList();
    }

    /** The value of {@code cancellation.tokens.cancelled} by kind. */
    static Map<String, Double> cancelled(MeterRegistry registry) {
        return registry.find(CancellationMetrics.TOKENS_CANCELLED).functionCounters().stream()
            .collect(Collectors.toMap(counter -> counter.getId().getTag("kind"), counter -> counter.count(),
                    (a, b) -> a, TreeMap::new));
    }

    /** Waits until no tracked task runs and every token handed out for one has been closed. */
    private static void awaitQuiet(AssertableApplicationContext context) {
        CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
        IssuedTokens tokens = context.getBean(IssuedTokens.class);
        await().atMost(TIMEOUT_SECONDS, TimeUnit.SECONDS)
            .until(() -> tracker.activeCount() == 0 && tokens.openCount() == 1); // the bean token
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class AutoConfiguredApplication {
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAsync
    static class WaitingWorkerConfiguration {

        @Bean
        WaitingWorker waitingWorker(CancellationToken token) {
            return new WaitingWorker(token);
        }
    }

    static class WaitingWorker {

        private final CancellationToken token;

        WaitingWorker(CancellationToken token) {
            this.token = token;
        }

        /** The bean's own token (a method, so that it reads through the bean's proxy). */
        public CancellationToken token() {
            return token;
        }

        /** Waits for the invocation's token to be cancelled and answers its reason. */
        @Async
        public CompletableFuture<CancellationReason> await(CountDownLatch started) throws InterruptedException {
            CancellationToken invocation = CancellationToken.current();
            started.countDown();
            invocation.await();
            return CompletableFuture.completedFuture(invocation.reason().orElseThrow());
        }

        /** Cancels its own invocation token, as a method that gives up would. */
        @Async
        public CompletableFuture<@Nullable Void> cancelItself() {
            CancellationToken.current().cancel();
            return CompletableFuture.completedFuture(null);
        }
    }
}
