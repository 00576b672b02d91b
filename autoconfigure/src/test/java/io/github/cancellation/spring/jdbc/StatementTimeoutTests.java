package io.github.cancellation.spring.jdbc;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.sql.DataSource;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.Scope;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Query timeouts and what reaches the driver, observed by a recording layer between the
 * {@link CancellableDataSource} and H2: each {@code execute*} call records the statement's query
 * timeout at that moment, each {@code setQueryTimeout} and {@code cancel} is recorded too.
 */
class StatementTimeoutTests {

    private final List<String> driverCalls = new CopyOnWriteArrayList<>();

    private final CancellableDataSource dataSource = new CancellableDataSource(recording(h2()));

    @Test
    void timeoutSeconds_roundsUpToWholeSecondsAndAtLeastOne() {
        assertThat(CancellableStatements.timeoutSeconds(Duration.ZERO)).isEqualTo(1);
        assertThat(CancellableStatements.timeoutSeconds(Duration.ofNanos(1))).isEqualTo(1);
        assertThat(CancellableStatements.timeoutSeconds(Duration.ofSeconds(1))).isEqualTo(1);
        assertThat(CancellableStatements.timeoutSeconds(Duration.ofMillis(1001))).isEqualTo(2);
        assertThat(CancellableStatements.timeoutSeconds(Duration.ofMillis(2500))).isEqualTo(3);
        assertThat(CancellableStatements.timeoutSeconds(Duration.ofDays(365 * 100))).isEqualTo(Integer.MAX_VALUE);
    }

    @Test
    void deadline_setsTimeoutFromRemainingDuringTheCallAndRestoresIt() throws Exception {
        CancellationToken token = CancellationToken.create("request").child(Duration.ofMillis(2500));
        try (Connection connection = this.dataSource.getConnection();
                PreparedStatement statement = connection.prepareStatement("SELECT ?")) {
            statement.setInt(1, 1);
            try (Scope scope = token.bind(); ResultSet rows = statement.executeQuery()) {
                assertThat(rows.next()).isTrue();
            }
            assertThat(statement.getQueryTimeout()).as("restored").isZero();
        }
        assertThat(this.driverCalls).containsExactly("setQueryTimeout(3)", "executeQuery with timeout 3",
                "setQueryTimeout(0)");
        token.close();
    }

    @Test
    void deadline_explicitSmallerTimeoutIsKept() throws Exception {
        CancellationToken token = CancellationToken.create("request").child(Duration.ofSeconds(30));
        try (Connection connection = this.dataSource.getConnection();
                Statement statement = connection.createStatement()) {
            statement.setQueryTimeout(2);
            try (Scope scope = token.bind()) {
                statement.execute("SELECT 1");
            }
            assertThat(statement.getQueryTimeout()).isEqualTo(2);
        }
        assertThat(this.driverCalls).containsExactly("setQueryTimeout(2)", "execute with timeout 2");
        token.close();
    }

    @Test
    void deadline_explicitLargerTimeoutIsShortenedForTheCallOnly() throws Exception {
        CancellationToken token = CancellationToken.create("request").child(Duration.ofMillis(4200));
        try (Connection connection = this.dataSource.getConnection();
                Statement statement = connection.createStatement()) {
            statement.setQueryTimeout(60);
            try (Scope scope = token.bind()) {
                statement.executeUpdate("CREATE TABLE IF NOT EXISTS t (id INT)");
            }
            assertThat(statement.getQueryTimeout()).isEqualTo(60);
        }
        assertThat(this.driverCalls).containsExactly("setQueryTimeout(60)", "setQueryTimeout(5)",
                "executeUpdate with timeout 5", "setQueryTimeout(60)");
        token.close();
    }

    @Test
    void tokenWithoutDeadline_registersCancelButLeavesTheTimeout() throws Exception {
        CancellationToken token = CancellationToken.create("request");
        try (Connection connection = this.dataSource.getConnection();
                Statement statement = connection.createStatement();
                Scope scope = token.bind()) {
            statement.execute("SELECT 1");
        }
        assertThat(this.driverCalls).containsExactly("execute with timeout 0");
        token.cancel();
        assertThat(this.driverCalls).as("the registration ended with the call: no late cancel")
            .containsExactly("execute with timeout 0");
    }

    @Test
    void none_changesNothing() throws Exception {
        assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
        try (Connection connection = this.dataSource.getConnection();
                Statement statement = connection.createStatement()) {
            statement.execute("SELECT 1");
            statement.addBatch("CREATE TABLE IF NOT EXISTS u (id INT)");
            statement.executeBatch();
        }
        assertThat(this.driverCalls).containsExactly("execute with timeout 0", "executeBatch with timeout 0");
    }

    @Test
    void alreadyCancelled_sendsNothing() throws Exception {
        CancellationToken token = CancellationToken.create("request");
        token.cancel();
        try (Connection connection = this.dataSource.getConnection();
                Statement statement = connection.createStatement();
                Scope scope = token.bind()) {
            assertThatExceptionOfType(CancelledException.class).isThrownBy(() -> statement.execute("SELECT 1"));
        }
        assertThat(this.driverCalls).isEmpty();
    }

    @Test
    void proxies_unwrapToTheDriverAndStatementsGiveTheirProxyConnection() throws Exception {
        try (Connection connection = this.dataSource.getConnection();
                Statement statement = connection.createStatement()) {
            assertThat(statement.getConnection()).isSameAs(connection);
            assertThat(connection.isWrapperFor(org.h2.jdbc.JdbcConnection.class)).isTrue();
            assertThat(connection.unwrap(org.h2.jdbc.JdbcConnection.class)).isInstanceOf(org.h2.jdbc.JdbcConnection.class);
            assertThat(statement.unwrap(org.h2.jdbc.JdbcStatement.class)).isInstanceOf(org.h2.jdbc.JdbcStatement.class);
            assertThat(connection).isEqualTo(connection).hasToString("Cancellable[" + connection.unwrap(
                    Connection.class) + "]");
        }
    }

    private static DataSource h2() {
        JdbcDataSource h2 = new JdbcDataSource();
        h2.setURL("jdbc:h2:mem:statement-timeout;DB_CLOSE_DELAY=-1");
        h2.setUser("sa");
        return h2;
    }

    // ---------------------------------------------------------------- the recording layer

    private DataSource recording(DataSource target) {
        InvocationHandler dataSourceHandler = (proxy, method, args) -> {
            Object result = invoke(target, method, args);
            return (result instanceof Connection connection) ? recordingConnection(connection) : result;
        };
        return (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { DataSource.class },
                dataSourceHandler);
    }

    private Connection recordingConnection(Connection target) {
        InvocationHandler handler = (proxy, method, args) -> {
            Object result = invoke(target, method, args);
            if (result instanceof Statement statement && method.getName().matches("createStatement|prepareStatement")) {
                return recordingStatement(statement, method.getReturnType());
            }
            return result;
        };
        return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { Connection.class },
                handler);
    }

    private Statement recordingStatement(Statement target, Class<?> type) {
        InvocationHandler handler = (proxy, method, args) -> {
            String name = method.getName();
            if (name.startsWith("execute")) {
                this.driverCalls.add(name + " with timeout " + target.getQueryTimeout());
            }
            else if (name.equals("setQueryTimeout")) {
                this.driverCalls.add("setQueryTimeout(" + args[0] + ")");
            }
            else if (name.equals("cancel")) {
                this.driverCalls.add("cancel");
            }
            return invoke(target, method, args);
        };
        return (Statement) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { type }, handler);
    }

    private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        }
        catch (InvocationTargetException ex) {
            throw ex.getTargetException();
        }
    }
}
