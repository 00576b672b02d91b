package io.github.cancellation.spring;

import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Auto-configuration of the {@linkplain CancellationMetrics cancellation meters}, when Micrometer
 * is on the class path and the application has a {@link MeterRegistry}: a {@code MeterBinder}
 * that Spring Boot's metrics auto-configuration binds to the registry. Ordered after Boot's
 * metrics and export auto-configurations, which define the registry, and after
 * {@link CancellationAutoConfiguration}, whose shutdown lifecycle, task tracker and token counts
 * the meters read ({@code cancellation.tokens.active} adds the open count of every
 * {@link ActiveTokenSource} bean, such as the request tokens). Switched off by
 * {@code cancellation.metrics.enabled=false} (or {@code cancellation.enabled=false}); a
 * {@code MeterFilter}, such as {@code management.metrics.enable.cancellation=false}, applies as
 * well.
 */
@AutoConfiguration(after = CancellationAutoConfiguration.class, afterName = {
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration" })
@ConditionalOnClass(MeterRegistry.class)
@ConditionalOnBean({ MeterRegistry.class, CancellationShutdownLifecycle.class })
@ConditionalOnBooleanProperty(name = { "cancellation.enabled", "cancellation.metrics.enabled" }, matchIfMissing = true)
public final class CancellationMetricsAutoConfiguration {

    CancellationMetricsAutoConfiguration() {
    }

    @Bean
    @ConditionalOnMissingBean
    CancellationMetrics cancellationMetrics(IssuedTokens issuedTokens, CancellationTaskTracker tracker,
            CancellationShutdownLifecycle lifecycle, ObjectProvider<ActiveTokenSource> sources) {
        return new CancellationMetrics(issuedTokens, tracker, lifecycle, () -> sources.orderedStream().toList());
    }
}
