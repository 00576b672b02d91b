package io.github.cancellation.spring.jdbc;

import javax.sql.DataSource;

import org.springframework.beans.factory.config.BeanPostProcessor;

/**
 * Wraps every {@link DataSource} bean in a {@link CancellableDataSource}, after its initialization
 * and after the post-processors that are ordered (so that Boot's pool configuration and any
 * AOP proxy see the original). A bean that already is one is left alone.
 */
final class CancellableDataSourcePostProcessor implements BeanPostProcessor {

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (bean instanceof DataSource dataSource && !(bean instanceof CancellableDataSource)) {
            return new CancellableDataSource(dataSource);
        }
        return bean;
    }
}
