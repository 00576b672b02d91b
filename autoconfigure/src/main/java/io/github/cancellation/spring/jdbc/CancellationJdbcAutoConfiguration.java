package io.github.cancellation.spring.jdbc;

import javax.sql.DataSource;

import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Role;
import org.springframework.jdbc.datasource.DelegatingDataSource;

/**
 * Auto-configuration of JDBC cancellation (SPEC, second wave, item 8): every {@link DataSource}
 * bean, Spring Boot's pool included, is wrapped so that a statement executed while
 * {@code CancellationToken.current()} can be cancelled
 * <ul>
 *   <li>is not sent at all when that token is already cancelled ({@code CancelledException});
 *   <li>is cancelled with {@link java.sql.Statement#cancel()} when the token is cancelled while it
 *       runs, and then fails with {@code CancelledException} carrying the token's reason, the
 *       driver's {@code SQLException} as its cause;
 *   <li>runs with a query timeout of at most the token's {@code remaining()} time, rounded up to
 *       whole seconds (an explicit smaller timeout is kept; the statement's own timeout is restored
 *       afterwards).
 * </ul>
 * Under {@code CancellationToken.none()} statements run as before. The wrapper keeps the original
 * reachable through {@code unwrap}/{@code isWrapperFor} and {@link DelegatingDataSource}, as Spring
 * Boot's {@code DataSourceUnwrapper} (pool metrics, health, JMX) expects, and closes the original
 * when the context closes. Switched off by {@code cancellation.jdbc.enabled=false}.
 */
@AutoConfiguration
@ConditionalOnClass({ DataSource.class, DelegatingDataSource.class })
@ConditionalOnBooleanProperty(name = { "cancellation.enabled", "cancellation.jdbc.enabled" }, matchIfMissing = true)
public final class CancellationJdbcAutoConfiguration {

    CancellationJdbcAutoConfiguration() {
    }

    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    static CancellableDataSourcePostProcessor cancellableDataSourcePostProcessor() {
        return new CancellableDataSourcePostProcessor();
    }
}
