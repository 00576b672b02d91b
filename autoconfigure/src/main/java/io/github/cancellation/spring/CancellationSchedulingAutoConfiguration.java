package io.github.cancellation.spring;

import io.github.cancellation.CancellationToken;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Role;

/**
 * Auto-configuration of tokens for {@code @Scheduled} methods: every execution runs under a fresh
 * token of its own, named {@code beanName.methodName}, a child of its bean's token (when the bean
 * injects one) or of the application token, which is {@code CancellationToken.current()} inside
 * the method; the execution is tracked for the shutdown drain and its token closed when it ends.
 * Once the application token is cancelled, no execution starts any more (Spring itself stops
 * scheduling only when the beans are destroyed); running ones are cancelled and drained.
 *
 * <p>Works with cron, fixed-rate, fixed-delay and one-time tasks, with the scheduler Spring Boot
 * builds and with one of the application, and keeps {@code @Scheduled(scheduler = "...")}
 * routing. Scheduled methods stay argument-free, as Spring Framework requires. Switched off by
 * {@code cancellation.scheduling.enabled=false} (executions then run under the task decorator's
 * token, if their scheduler has it).
 *
 * @see CancellationSchedulingConfigurer
 */
@AutoConfiguration(after = CancellationAutoConfiguration.class)
@ConditionalOnBooleanProperty(name = { "cancellation.enabled", "cancellation.scheduling.enabled" },
        matchIfMissing = true)
@ConditionalOnBean(CancellationTaskTracker.class)
public final class CancellationSchedulingAutoConfiguration {

    CancellationSchedulingAutoConfiguration() {
    }

    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    CancellationSchedulingConfigurer cancellationSchedulingConfigurer(ListableBeanFactory beanFactory,
            CancellationTaskTracker tracker, ObjectProvider<IssuedTokens> issuedTokens) {
        IssuedTokens tokens = issuedTokens.getIfAvailable(() -> new IssuedTokens(CancellationToken.none()));
        return new CancellationSchedulingConfigurer(beanFactory, new ScheduledTaskNames(beanFactory), tracker, tokens);
    }
}
