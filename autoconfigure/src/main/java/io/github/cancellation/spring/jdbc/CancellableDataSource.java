package io.github.cancellation.spring.jdbc;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import org.springframework.jdbc.datasource.DelegatingDataSource;

/**
 * A {@link DataSource} whose connections make statements follow the current token (see
 * {@link CancellableStatements}). {@code unwrap} and {@code isWrapperFor} reach the target (inherited
 * from {@link DelegatingDataSource}), and {@link #close()} closes the target, so that the context's
 * inferred destroy method still closes a pool. Thread-safe as the target is.
 */
final class CancellableDataSource extends DelegatingDataSource implements AutoCloseable {

    CancellableDataSource(DataSource target) {
        super(target);
    }

    @Override
    public Connection getConnection() throws SQLException {
        return CancellableStatements.connection(obtainTargetDataSource().getConnection());
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return CancellableStatements.connection(obtainTargetDataSource().getConnection(username, password));
    }

    /**
     * Closes the target when it can be closed (a pool): the context calls this as the inferred
     * destroy method of the bean it replaced.
     */
    @Override
    public void close() throws Exception {
        if (obtainTargetDataSource() instanceof AutoCloseable closeable) {
            closeable.close();
        }
    }

    @Override
    public String toString() {
        return "CancellableDataSource[" + obtainTargetDataSource() + "]";
    }
}
