package io.github.cancellation.spring;

import java.time.Duration;

import io.github.cancellation.CancellationToken;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.SearchStrategy;
import org.springframework.boot.autoconfigure.context.LifecycleProperties;
import org.springframework.boot.autoconfigure.task.TaskExecutionAutoConfiguration;
import org.springframework.boot.autoconfigure.task.TaskSchedulingAutoConfiguration;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ImportRuntimeHints;
import org.springframework.context.annotation.Role;
import org.springframework.core.env.Environment;

/**
 * Auto-configuration of the application {@link CancellationToken}: the token, the lifecycle that
 * cancels it when the context closes and drains tracked work, the task tracker, the task decorator
 * for Boot-built executors and schedulers, a child token for every bean that injects one, and
 * readiness {@code REFUSING_TRAFFIC} once the application token is cancelled.
 * Switched off by {@code cancellation.enabled=false}.
 *
 * <p>Shutdown timeline with the defaults, for a web application:
 * <ol>
 *   <li>{@code ContextClosedEvent}: the context is closing (nothing is cancelled yet);
 *   <li>phase {@code MAX - 1024}: the web server drains in-flight requests, which may still
 *       submit work;
 *   <li>phase {@code MAX - 2048}: the web server stops;
 *   <li>phase {@code MAX - 3072} ({@code cancellation.shutdown.phase}): the application token is
 *       cancelled with kind {@code SHUTDOWN}, so every bean and task token is too; then the drain
 *       waits up to {@code cancellation.shutdown.drain-timeout} for tracked tasks and logs the
 *       stragglers;
 *   <li>phase {@code MAX / 2}: executors and schedulers wait for their tasks, which have already
 *       ended;
 *   <li>bean destruction: each bean's token is closed before the bean's own destroy callbacks.
 * </ol>
 */
@AutoConfiguration(before = { TaskExecutionAutoConfiguration.class, TaskSchedulingAutoConfiguration.class })
@ConditionalOnBooleanProperty(name = "cancellation.enabled", matchIfMissing = true)
@EnableConfigurationProperties(CancellationProperties.class)
@ImportRuntimeHints(CancellationRuntimeHints.class)
public final class CancellationAutoConfiguration {

    /** Name of the application token bean. */
    public static final String APPLICATION_TOKEN_BEAN_NAME = "applicationCancellationToken";

    /** Name of the application token itself ({@link CancellationToken#name()}). */
    public static final String APPLICATION_TOKEN_NAME = "application";

    private static final String PHASE_TIMEOUT_PROPERTY = "spring.lifecycle.timeout-per-shutdown-phase";

    CancellationAutoConfiguration() {
    }

    /**
     * The application token. A child context gets its own (a child of its parent context's
     * application token, when there is one), so that closing the child cancels the child's work
     * only, while closing the parent cancels both.
     */
    @Bean(APPLICATION_TOKEN_BEAN_NAME)
    @ConditionalOnMissingBean(value = CancellationToken.class, search = SearchStrategy.CURRENT)
    CancellationToken applicationCancellationToken(ApplicationContext context) {
        ApplicationContext parent = context.getParent();
        if (parent != null && parent.getBeanNamesForType(CancellationToken.class).length > 0) {
            return ApplicationTokens.find(parent).child(APPLICATION_TOKEN_NAME);
        }
        return CancellationToken.create(APPLICATION_TOKEN_NAME);
    }

    @Bean
    @ConditionalOnMissingBean
    CancellationTaskTracker cancellationTaskTracker() {
        return new CancellationTaskTracker();
    }

    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    IssuedTokens cancellationIssuedTokens(ApplicationContext context) {
        return new IssuedTokens(ApplicationTokens.find(context));
    }

    @Bean
    CancellationShutdownLifecycle cancellationShutdownLifecycle(ApplicationContext context,
            CancellationTaskTracker tracker, IssuedTokens issuedTokens, CancellationProperties properties,
            Environment environment) {
        Duration phaseTimeout = Binder.get(environment)
            .bind(PHASE_TIMEOUT_PROPERTY, Duration.class)
            .orElseGet(() -> new LifecycleProperties().getTimeoutPerShutdownPhase());
        return new CancellationShutdownLifecycle(context, ApplicationTokens.find(context), tracker, issuedTokens,
                properties.getShutdown(), phaseTimeout);
    }

    @Bean
    @ConditionalOnMissingBean
    CancellationTaskDecorator cancellationTaskDecorator(ApplicationContext context, CancellationTaskTracker tracker,
            IssuedTokens issuedTokens) {
        return new CancellationTaskDecorator(ApplicationTokens.find(context), tracker, issuedTokens);
    }

    @Bean
    CancellationReadiness cancellationReadiness(ApplicationContext context,
            ObjectProvider<ApplicationAvailability> availability) {
        return new CancellationReadiness(ApplicationTokens.find(context), context, availability);
    }

    @Bean
    static ExecutorPhaseTimeout cancellationExecutorPhaseTimeout(Environment environment) {
        // A post-processor is created before configuration properties beans: bind what it needs here.
        CancellationProperties.Shutdown shutdown = Binder.get(environment)
            .bind("cancellation.shutdown", CancellationProperties.Shutdown.class)
            .orElseGet(CancellationProperties.Shutdown::new);
        return new ExecutorPhaseTimeout(shutdown.getPhase(), shutdown.getExecutorPhaseTimeout());
    }

    @Bean
    static BeanTokenResolverInstaller cancellationBeanTokenResolverInstaller() {
        return new BeanTokenResolverInstaller();
    }
}
