package io.github.cancellation.spring.jdbc;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import com.zaxxer.hikari.HikariDataSource;

/** The long-query contract on H2 (embedded, in memory), whose {@code Statement.cancel()} sets a flag its loop checks. */
class H2LongQueryCancellationTests extends LongQueryCancellationContract {

    private static final String URL = "jdbc:h2:mem:long-query-cancellation;DB_CLOSE_DELAY=-1";

    @Override
    HikariDataSource newPool() {
        HikariDataSource pool = new HikariDataSource();
        pool.setJdbcUrl(URL);
        pool.setUsername("sa");
        pool.setMaximumPoolSize(1);
        pool.setPoolName("h2-cancellation");
        return pool;
    }

    @Override
    String longQuery() {
        // About 10^12 rows: minutes of work, checked for cancellation row by row.
        return "SELECT SUM(X * 2 + 1) FROM SYSTEM_RANGE(1, 1000000000000)";
    }

    @Override
    String shortQuery() {
        return "SELECT CAST(1 AS BIGINT)";
    }

    @Override
    Connection observer() throws SQLException {
        return DriverManager.getConnection(URL, "sa", "");
    }

    @Override
    boolean longQueryRunning(Connection observer) throws SQLException {
        try (Statement statement = observer.createStatement();
                ResultSet rows = statement.executeQuery("SELECT COUNT(*) FROM INFORMATION_SCHEMA.SESSIONS "
                        + "WHERE SESSION_ID <> SESSION_ID() AND EXECUTING_STATEMENT LIKE '%SYSTEM_RANGE(1, 1000000000000)%'")) {
            rows.next();
            return rows.getLong(1) > 0;
        }
    }

    @Override
    String databaseName() {
        return "H2 " + org.h2.engine.Constants.VERSION;
    }
}
