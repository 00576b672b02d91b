package io.github.cancellation.spring;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.ClassPathResource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The auto-configuration's beans, back-off, switch and properties.
 */
@ExtendWith(OutputCaptureExtension.class)
class CancellationAutoConfigurationTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class));

    @Test
    void applicationTokenShouldBeABeanNamedApplicationCancellationToken() {
        contextRunner.run(context -> {
            assertThat(context).hasSingleBean(CancellationToken.class)
                .hasBean(CancellationAutoConfiguration.APPLICATION_TOKEN_BEAN_NAME);
            CancellationToken token = context.getBean(CancellationToken.class);
            assertThat(token.name()).isEqualTo("application");
            assertThat(token.parent()).isEmpty();
            assertThat(token.isCancelled()).isFalse();
        });
    }

    @Test
    void infrastructureBeansShouldBeCreated() {
        contextRunner.run(context -> {
            assertThat(context).hasSingleBean(CancellationTaskTracker.class)
                .hasSingleBean(CancellationShutdownLifecycle.class)
                .hasSingleBean(CancellationTaskDecorator.class)
                .hasSingleBean(CancellationProperties.class)
                .hasSingleBean(BeanTokenResolverInstaller.class);
            DefaultListableBeanFactory beanFactory = (DefaultListableBeanFactory) context.getBeanFactory();
            assertThat(beanFactory.getAutowireCandidateResolver()).isInstanceOf(BeanTokenAutowireCandidateResolver.class);
        });
    }

    @Test
    void lifecycleShouldRunAtTheDefaultPhaseAndNeverPause() {
        contextRunner.run(context -> {
            CancellationShutdownLifecycle lifecycle = context.getBean(CancellationShutdownLifecycle.class);
            assertThat(lifecycle.getPhase()).isEqualTo(Integer.MAX_VALUE - 3072);
            assertThat(lifecycle.isPauseable()).isFalse();
            assertThat(lifecycle.isAutoStartup()).isTrue();
            assertThat(lifecycle.isRunning()).isTrue();
        });
    }

    @Test
    void tokenShouldBeCancelledWithShutdownWhenTheContextCloses() {
        contextRunner.run(context -> {
            CancellationToken token = context.getBean(CancellationToken.class);
            context.close();
            assertThat(token.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.SHUTDOWN);
        });
    }

    /**
     * A child context gets its own application token, a child of the parent's: closing the child
     * cancels the child's token only, and closing the parent cancels both.
     */
    @Test
    void childContextShouldHaveItsOwnTokenBelowTheParentsAndNeverCancelTheParentsOnClose() {
        contextRunner.run(parent -> {
            CancellationToken parentToken = parent.getBean(CancellationToken.class);
            contextRunner.withParent(parent).run(child -> {
                CancellationToken childToken = child.getBean(CancellationToken.class);
                assertThat(childToken).isNotSameAs(parentToken);
                assertThat(childToken.parent()).containsSame(parentToken);
                child.close();
                assertThat(childToken.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.SHUTDOWN);
                assertThat(parentToken.isCancelled()).as("closing the child leaves the parent's token alone").isFalse();
            });
            contextRunner.withParent(parent).run(child -> {
                CancellationToken childToken = child.getBean(CancellationToken.class);
                parent.close();
                assertThat(parentToken.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.SHUTDOWN);
                assertThat(childToken.reason()).as("closing the parent cancels the child's token too")
                    .isEqualTo(parentToken.reason());
            });
        });
    }

    @Test
    void tokenWhenUserDefinesOneShouldBackOff() {
        contextRunner.withUserConfiguration(UserTokenConfiguration.class).run(context -> {
            assertThat(context).hasSingleBean(CancellationToken.class)
                .hasBean("userToken")
                .doesNotHaveBean(CancellationAutoConfiguration.APPLICATION_TOKEN_BEAN_NAME);
            CancellationToken token = context.getBean(CancellationToken.class);
            assertThat(token.name()).isEqualTo("mine");
            context.close();
            assertThat(token.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.SHUTDOWN);
        });
    }

    @Test
    void trackerWhenUserDefinesOneShouldBackOff() {
        CancellationTaskTracker mine = new CancellationTaskTracker();
        contextRunner.withBean("myTracker", CancellationTaskTracker.class, () -> mine).run(context -> {
            assertThat(context).hasSingleBean(CancellationTaskTracker.class).hasBean("myTracker");
            context.close();
            assertThat(mine.isClosed()).as("the shutdown drain closed the user's tracker").isTrue();
        });
    }

    @Test
    void whenDisabledShouldCreateNoBeans() {
        contextRunner.withPropertyValues("cancellation.enabled=false").run(context -> {
            assertThat(context).doesNotHaveBean(CancellationToken.class)
                .doesNotHaveBean(CancellationTaskTracker.class)
                .doesNotHaveBean(CancellationShutdownLifecycle.class)
                .doesNotHaveBean(CancellationTaskDecorator.class)
                .doesNotHaveBean(CancellationProperties.class)
                .doesNotHaveBean(BeanTokenResolverInstaller.class);
            DefaultListableBeanFactory beanFactory = (DefaultListableBeanFactory) context.getBeanFactory();
            assertThat(beanFactory.getAutowireCandidateResolver())
                .isNotInstanceOf(BeanTokenAutowireCandidateResolver.class);
        });
    }

    @Test
    void whenExplicitlyEnabledShouldCreateBeans() {
        contextRunner.withPropertyValues("cancellation.enabled=true")
            .run(context -> assertThat(context).hasSingleBean(CancellationToken.class)
                .hasSingleBean(CancellationShutdownLifecycle.class));
    }

    @Test
    void withoutMicrometerShouldStillWork() {
        contextRunner.withClassLoader(new FilteredClassLoader("io.micrometer.core"))
            .run(CancellationAutoConfigurationTests::assertWorks);
    }

    @Test
    void withoutContextPropagationShouldStillWork() {
        contextRunner.withClassLoader(new FilteredClassLoader("io.micrometer.context"))
            .run(CancellationAutoConfigurationTests::assertWorks);
    }

    @Test
    void withoutActuatorShouldStillWork() {
        contextRunner.withClassLoader(new FilteredClassLoader("org.springframework.boot.actuate"))
            .run(CancellationAutoConfigurationTests::assertWorks);
    }

    private static void assertWorks(AssertableApplicationContext context) {
        assertThat(context).hasNotFailed().hasSingleBean(CancellationToken.class)
            .hasSingleBean(CancellationShutdownLifecycle.class)
            .hasSingleBean(CancellationTaskDecorator.class);
        CancellationToken token = context.getBean(CancellationToken.class);
        context.close();
        assertThat(token.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.SHUTDOWN);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "cancellation.shutdown.drain-timeout=-1s | cancellation.shutdown.drain-timeout",
        "cancellation.shutdown.drain-timeout=soon | cancellation.shutdown.drain-timeout",
        "cancellation.shutdown.phase=late | cancellation.shutdown.phase",
        "cancellation.shutdown.interrupt-stragglers=maybe | cancellation.shutdown.interrupt-stragglers",
    })
    void invalidValueShouldFailWithTheKeyInTheMessage(String property, String key) {
        contextRunner.withPropertyValues(property).run(context -> {
            assertThat(context).hasFailed();
            // Boot's top-level message names the prefix only; the binder's causes name the key.
            assertThat(context.getStartupFailure()).hasStackTraceContaining(key);
        });
    }

    @Test
    void negativeDrainTimeoutShouldBeRejectedWithAnExplanation() {
        contextRunner.withPropertyValues("cancellation.shutdown.drain-timeout=-1s").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause()
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cancellation.shutdown.drain-timeout must not be negative, but was PT-1S");
        });
    }

    @Test
    void propertiesShouldHaveDocumentedDefaults() {
        contextRunner.run(context -> {
            CancellationProperties.Shutdown shutdown = context.getBean(CancellationProperties.class).getShutdown();
            assertThat(shutdown.getPhase()).isEqualTo(Integer.MAX_VALUE - 3072);
            assertThat(shutdown.getDrainTimeout()).isEqualTo(Duration.ofSeconds(20));
            assertThat(shutdown.isInterruptStragglers()).isFalse();
        });
    }

    @Test
    void propertiesShouldBind() {
        contextRunner.withPropertyValues("cancellation.shutdown.phase=2147483000",
                "cancellation.shutdown.drain-timeout=0", "cancellation.shutdown.interrupt-stragglers=true")
            .run(context -> {
                CancellationProperties.Shutdown shutdown = context.getBean(CancellationProperties.class)
                    .getShutdown();
                assertThat(shutdown.getPhase()).isEqualTo(2147483000);
                assertThat(shutdown.getDrainTimeout()).isZero();
                assertThat(shutdown.isInterruptStragglers()).isTrue();
                assertThat(context.getBean(CancellationShutdownLifecycle.class).getPhase()).isEqualTo(2147483000);
            });
    }

    @Test
    void defaultsShouldNotWarn(CapturedOutput output) {
        contextRunner.run(context -> assertThat(context).hasNotFailed());
        assertThat(output).doesNotContain("does not fit").doesNotContain("is not above");
    }

    @Test
    void drainTimeoutThatDoesNotFitInThePhaseTimeoutShouldWarn(CapturedOutput output) {
        contextRunner.withPropertyValues("cancellation.shutdown.drain-timeout=10s",
                "spring.lifecycle.timeout-per-shutdown-phase=10s")
            .run(context -> assertThat(context).hasNotFailed());
        assertThat(output).contains("WARN")
            .contains("cancellation.shutdown.drain-timeout (PT10S) does not fit in "
                    + "spring.lifecycle.timeout-per-shutdown-phase (PT10S)");
    }

    @Test
    void drainTimeoutAboveBootsDefaultPhaseTimeoutShouldWarn(CapturedOutput output) {
        contextRunner.withPropertyValues("cancellation.shutdown.drain-timeout=45s")
            .run(context -> assertThat(context).hasNotFailed());
        assertThat(output).contains("cancellation.shutdown.drain-timeout (PT45S) does not fit in "
                + "spring.lifecycle.timeout-per-shutdown-phase (PT30S)");
    }

    @Test
    void phaseAtOrBelowTheExecutorsPhaseShouldWarn(CapturedOutput output) {
        contextRunner.withPropertyValues("cancellation.shutdown.phase=" + (Integer.MAX_VALUE / 2))
            .run(context -> assertThat(context).hasNotFailed());
        assertThat(output).contains("cancellation.shutdown.phase (1073741823) is not above the executors'");
    }

    @Test
    void metadataShouldDescribeEveryProperty() throws IOException {
        String metadata;
        try (InputStream in = new ClassPathResource("META-INF/spring-configuration-metadata.json").getInputStream()) {
            metadata = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(metadata).contains("\"cancellation.enabled\"", "\"cancellation.shutdown.phase\"",
                "\"cancellation.shutdown.drain-timeout\"", "\"cancellation.shutdown.interrupt-stragglers\"",
                "\"defaultValue\": \"20s\"", "\"defaultValue\": 2147480575");
    }

    @Configuration(proxyBeanMethods = false)
    static class UserTokenConfiguration {

        @Bean
        CancellationToken userToken() {
            return CancellationToken.create("mine");
        }
    }
}
