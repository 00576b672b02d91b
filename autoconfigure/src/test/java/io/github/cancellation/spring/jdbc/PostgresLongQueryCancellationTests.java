package io.github.cancellation.spring.jdbc;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The long-query contract on PostgreSQL, whose {@code Statement.cancel()} sends a cancel request
 * over a second connection: the case where a late cancel could hit the next query. Runs when
 * {@code CANCELLATION_POSTGRES_URL} (with {@code CANCELLATION_POSTGRES_USER} and
 * {@code CANCELLATION_POSTGRES_PASSWORD}) is set; fails without it when
 * {@code CANCELLATION_POSTGRES_REQUIRED=true} (CI), and is skipped otherwise.
 */
@ExtendWith(PostgresLongQueryCancellationTests.PostgresAvailable.class)
class PostgresLongQueryCancellationTests extends LongQueryCancellationContract {

    static final String HOW_TO_RUN = "PostgreSQL tests need CANCELLATION_POSTGRES_URL (a jdbc:postgresql:// URL), "
            + "CANCELLATION_POSTGRES_USER and CANCELLATION_POSTGRES_PASSWORD; on Debian, as root: "
            + "eval \"$(.ci/postgres.sh)\" installs and starts PostgreSQL and prints them";

    private static String url;

    private static String user;

    private static String password;

    @BeforeAll
    static void readConnectionSettings() {
        url = System.getenv("CANCELLATION_POSTGRES_URL");
        user = System.getenv().getOrDefault("CANCELLATION_POSTGRES_USER", "");
        password = System.getenv().getOrDefault("CANCELLATION_POSTGRES_PASSWORD", "");
    }

    @Override
    HikariDataSource newPool() {
        HikariDataSource pool = new HikariDataSource();
        pool.setJdbcUrl(url);
        pool.setUsername(user);
        pool.setPassword(password);
        pool.setMaximumPoolSize(1);
        pool.setPoolName("postgres-cancellation");
        return pool;
    }

    @Override
    String longQuery() {
        return "SELECT pg_sleep(30)";
    }

    @Override
    String shortQuery() {
        return "SELECT 1::bigint";
    }

    @Override
    Connection observer() throws SQLException {
        return DriverManager.getConnection(url, user, password);
    }

    @Override
    boolean longQueryRunning(Connection observer) throws SQLException {
        try (Statement statement = observer.createStatement();
                ResultSet rows = statement.executeQuery("SELECT count(*) FROM pg_stat_activity "
                        + "WHERE pid <> pg_backend_pid() AND state = 'active' AND query = 'SELECT pg_sleep(30)'")) {
            rows.next();
            return rows.getLong(1) > 0;
        }
    }

    @Override
    String databaseName() {
        return "PostgreSQL (pgjdbc " + org.postgresql.util.DriverInfo.DRIVER_VERSION + ")";
    }

    /**
     * Runs the tests when {@code CANCELLATION_POSTGRES_URL} is set; otherwise fails them when
     * {@code CANCELLATION_POSTGRES_REQUIRED=true} and skips them, saying how to run them, when not.
     */
    static final class PostgresAvailable implements ExecutionCondition {

        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            String configured = System.getenv("CANCELLATION_POSTGRES_URL");
            if (configured != null && !configured.isBlank()) {
                return ConditionEvaluationResult.enabled("CANCELLATION_POSTGRES_URL is set");
            }
            if ("true".equalsIgnoreCase(System.getenv("CANCELLATION_POSTGRES_REQUIRED"))) {
                throw new IllegalStateException(
                        "CANCELLATION_POSTGRES_REQUIRED=true but CANCELLATION_POSTGRES_URL is not set. " + HOW_TO_RUN);
            }
            System.out.println("Skipped: " + HOW_TO_RUN);
            return ConditionEvaluationResult.disabled("Skipped: " + HOW_TO_RUN);
        }
    }
}
