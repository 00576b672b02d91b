package io.github.cancellation.spring.jdbc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfigMXBean;
import com.zaxxer.hikari.HikariDataSource;
import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.Scope;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.DataSourceUnwrapper;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.health.DataSourceHealthContributorAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.metrics.DataSourcePoolMetricsAutoConfiguration;
import org.springframework.boot.jdbc.metadata.DataSourcePoolMetadata;
import org.springframework.boot.jdbc.metadata.DataSourcePoolMetadataProvider;
import org.springframework.boot.jdbc.metadata.HikariDataSourcePoolMetadata;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DelegatingDataSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The JDBC auto-configuration with Boot's own DataSource (HikariCP over H2): it wraps the bean,
 * Boot's unwrapping (pool metadata, metrics, health) still reaches the pool, the pool is closed
 * with the context, and the switches and the class condition turn it off.
 */
class CancellationJdbcAutoConfigurationTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                DataSourcePoolMetricsAutoConfiguration.class, HealthContributorAutoConfiguration.class,
                DataSourceHealthContributorAutoConfiguration.class, CancellationJdbcAutoConfiguration.class))
        .withBean(SimpleMeterRegistry.class)
        .withPropertyValues("spring.datasource.url=jdbc:h2:mem:autoconfig;DB_CLOSE_DELAY=-1",
                "spring.datasource.hikari.maximum-pool-size=3");

    @Test
    void dataSourceShouldBeWrappedAndUnwrapToTheHikariPool() {
        this.contextRunner.run((context) -> {
            DataSource dataSource = context.getBean(DataSource.class);
            assertThat(dataSource).isInstanceOf(CancellableDataSource.class);
            HikariDataSource hikari = DataSourceUnwrapper.unwrap(dataSource, HikariConfigMXBean.class,
                    HikariDataSource.class);
            assertThat(hikari).isNotNull().isSameAs(((DelegatingDataSource) dataSource).getTargetDataSource());
            assertThat(dataSource.isWrapperFor(HikariDataSource.class)).isTrue();
            assertThat(dataSource.unwrap(HikariDataSource.class)).isSameAs(hikari);
            assertThat(DataSourceUnwrapper.unwrap(dataSource, HikariDataSource.class)).isSameAs(hikari);
        });
    }

    @Test
    void poolMetadataMetricsAndHealthShouldStillResolveTheHikariPool() {
        this.contextRunner.run((context) -> {
            DataSource dataSource = context.getBean(DataSource.class);
            DataSourcePoolMetadata metadata = context.getBeanProvider(DataSourcePoolMetadataProvider.class)
                .orderedStream()
                .map((provider) -> provider.getDataSourcePoolMetadata(dataSource))
                .filter((candidate) -> candidate != null)
                .findFirst()
                .orElseThrow();
            assertThat(metadata).isInstanceOf(HikariDataSourcePoolMetadata.class);
            assertThat(metadata.getMax()).isEqualTo(3);

            MeterRegistry registry = context.getBean(MeterRegistry.class);
            context.getBeansOfType(MeterBinder.class).values().forEach((binder) -> binder.bindTo(registry));
            try (Connection connection = dataSource.getConnection();
                    Statement statement = connection.createStatement();
                    ResultSet rows = statement.executeQuery("SELECT 1")) {
                assertThat(rows.next()).isTrue();
            }
            assertThat(registry.find("hikaricp.connections").gauge())
                .as("Hikari's own meters, bound through DataSourceUnwrapper").isNotNull();
            assertThat(registry.find("jdbc.connections.max").gauge()).as("Boot's pool-metadata meters").isNotNull()
                .satisfies((gauge) -> assertThat(gauge.value()).isEqualTo(3.0));

            HealthIndicator health = context.getBean("dbHealthContributor", HealthIndicator.class);
            assertThat(health.health(true).getStatus()).isEqualTo(Status.UP);
        });
    }

    @Test
    void jdbcTemplateUnderADeadlineShouldFailWithCancelledExceptionNotADataAccessException() {
        this.contextRunner.withConfiguration(AutoConfigurations.of(JdbcTemplateAutoConfiguration.class))
            .run((context) -> {
                JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
                try (CancellationToken token = CancellationToken.create("request").child(Duration.ofMillis(300));
                        Scope scope = token.bind()) {
                    assertThatExceptionOfType(CancelledException.class)
                        .isThrownBy(() -> jdbc.queryForObject(
                                "SELECT SUM(X) FROM SYSTEM_RANGE(1, 1000000000000)", Long.class))
                        .satisfies((ex) -> {
                            assertThat(ex.reason().kind()).isEqualTo(CancellationReason.Kind.TIMEOUT);
                            assertThat(ex.getCause()).isInstanceOf(SQLException.class);
                        });
                }
                assertThat(jdbc.queryForObject("SELECT 1", Integer.class)).isEqualTo(1);
            });
    }

    @Test
    void closingTheContextShouldCloseThePool() {
        HikariDataSource[] pool = new HikariDataSource[1];
        this.contextRunner.run((context) -> {
            pool[0] = context.getBean(DataSource.class).unwrap(HikariDataSource.class);
            assertThat(pool[0].isClosed()).isFalse();
        });
        assertThat(pool[0].isClosed()).isTrue();
    }

    @Test
    void wrapperShouldNotBeWrappedAgain() {
        CancellableDataSourcePostProcessor postProcessor = new CancellableDataSourcePostProcessor();
        Object once = postProcessor.postProcessAfterInitialization(new org.h2.jdbcx.JdbcDataSource(), "dataSource");
        assertThat(once).isInstanceOf(CancellableDataSource.class);
        assertThat(postProcessor.postProcessAfterInitialization(once, "dataSource")).isSameAs(once);
        assertThat(postProcessor.postProcessAfterInitialization("not a data source", "other")).isEqualTo(
                "not a data source");
    }

    @Test
    void jdbcSwitchOffShouldLeaveTheDataSourceAlone() {
        this.contextRunner.withPropertyValues("cancellation.jdbc.enabled=false").run((context) -> {
            assertThat(context).doesNotHaveBean(CancellationJdbcAutoConfiguration.class);
            assertThat(context.getBean(DataSource.class)).isInstanceOf(HikariDataSource.class);
        });
    }

    @Test
    void starterSwitchOffShouldLeaveTheDataSourceAlone() {
        this.contextRunner.withPropertyValues("cancellation.enabled=false")
            .run((context) -> assertThat(context.getBean(DataSource.class)).isInstanceOf(HikariDataSource.class));
    }

    @Test
    void withoutSpringJdbcShouldBackOff() {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(CancellationJdbcAutoConfiguration.class))
            .withClassLoader(new FilteredClassLoader(DelegatingDataSource.class))
            .run((context) -> assertThat(context).hasNotFailed()
                .doesNotHaveBean(CancellationJdbcAutoConfiguration.class)
                .doesNotHaveBean(CancellableDataSourcePostProcessor.class));
    }
}
