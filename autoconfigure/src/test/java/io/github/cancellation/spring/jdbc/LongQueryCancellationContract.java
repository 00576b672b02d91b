package io.github.cancellation.spring.jdbc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.Scope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * What every database must show behind a {@link CancellableDataSource} over HikariCP (Boot's
 * default pool) with a pool of one connection, so that the "next borrower" gets the very
 * connection whose statement was cancelled: a long query is cancelled soon after its token, the
 * caller gets {@link CancelledException} with the token's reason and the driver's exception as
 * cause, the connection runs the next query fine, and a cancel racing with a statement's end never
 * reaches the next query.
 */
abstract class LongQueryCancellationContract {

    static final int RUNS = 20;

    /** Generous bound on cancel-to-exception; the measured figures are printed, not asserted. */
    static final Duration GENEROUS = Duration.ofSeconds(5);

    HikariDataSource pool;

    CancellableDataSource dataSource;

    ExecutorService executor;

    /** A Hikari pool of one connection to the database under test. */
    abstract HikariDataSource newPool();

    /** A query that runs for many seconds unless cancelled. */
    abstract String longQuery();

    /** A short query that returns one row whose first column is the long value 1. */
    abstract String shortQuery();

    /** A connection outside the pool, to watch the database. */
    abstract Connection observer() throws SQLException;

    /** Whether another session is running {@link #longQuery()}, as seen from {@code observer}. */
    abstract boolean longQueryRunning(Connection observer) throws SQLException;

    abstract String databaseName();

    @BeforeEach
    void startPool() {
        this.pool = newPool();
        this.dataSource = new CancellableDataSource(this.pool);
        this.executor = Executors.newFixedThreadPool(2);
    }

    @AfterEach
    void stopPool() throws Exception {
        this.executor.shutdownNow();
        assertThat(this.executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        this.dataSource.close();
    }

    @Test
    void longQuery_cancelledToken_cancelledSoonWithReasonAndConnectionReusable() throws Exception {
        List<Long> micros = new ArrayList<>();
        try (Connection observer = observer()) {
            for (int run = 0; run < RUNS; run++) {
                CancellationToken token = CancellationToken.create("request");
                Future<Outcome> query = this.executor.submit(() -> runLongQuery(token));
                await().atMost(GENEROUS).until(() -> longQueryRunning(observer));
                long cancelledAt = System.nanoTime();
                token.cancel(CancellationReason.of(CancellationReason.Kind.TIMEOUT, "deadline of the test"));
                Outcome outcome = query.get(GENEROUS.toMillis(), TimeUnit.MILLISECONDS);

                assertThat(outcome.failure()).isInstanceOf(CancelledException.class);
                CancelledException cancelled = (CancelledException) outcome.failure();
                assertThat(cancelled.reason().kind()).isEqualTo(CancellationReason.Kind.TIMEOUT);
                assertThat(cancelled.reason().message()).hasValue("deadline of the test");
                assertThat(cancelled.getCause()).isInstanceOf(SQLException.class);
                long latency = outcome.endedAt() - cancelledAt;
                assertThat(Duration.ofNanos(latency)).isLessThan(GENEROUS);
                micros.add(TimeUnit.NANOSECONDS.toMicros(latency));

                assertNextBorrowerRunsAQuery();
            }
        }
        Collections.sort(micros);
        System.out.printf("%s: cancel -> CancelledException over %d runs: median %.1f ms, max %.1f ms, all (us) %s%n",
                databaseName(), RUNS, median(micros) / 1000.0, micros.get(micros.size() - 1) / 1000.0, micros);
        assertThat(this.pool.getHikariPoolMXBean().getTotalConnections()).as("the one connection was never evicted")
            .isEqualTo(1);
    }

    @Test
    void longQuery_deadline_cancelledWithTimeout() throws Exception {
        CancellationToken token = CancellationToken.create("request").child("query", Duration.ofMillis(300));
        Outcome outcome = this.executor.submit(() -> runLongQuery(token)).get(GENEROUS.toMillis(),
                TimeUnit.MILLISECONDS);
        assertThat(outcome.failure()).isInstanceOfSatisfying(CancelledException.class,
                (ex) -> assertThat(ex.reason().kind()).isEqualTo(CancellationReason.Kind.TIMEOUT));
        assertNextBorrowerRunsAQuery();
    }

    @Test
    void alreadyCancelledToken_sendsNothingAndThrows() throws Exception {
        CancellationToken token = CancellationToken.create("request");
        token.cancel();
        try (Connection connection = this.dataSource.getConnection();
                Statement statement = connection.createStatement();
                Scope scope = token.bind()) {
            assertThatExceptionOfType(CancelledException.class)
                .isThrownBy(() -> statement.executeQuery("SELECT no_such_column FROM no_such_table"))
                .satisfies((ex) -> assertThat(ex.getCause()).isNull());
        }
    }

    /**
     * A cancel racing with the end of a short statement: whichever wins, the next query on the same
     * connection (pool of one) under {@code none()} is never cancelled.
     */
    @Test
    void cancelRacingWithStatementEnd_neverCancelsTheNextQuery() throws Exception {
        int cancelledRuns = 0;
        for (int run = 0; run < 200; run++) {
            CancellationToken token = CancellationToken.create("racer");
            long delayNanos = ThreadLocalRandom.current().nextLong(0, 3_000_000);
            Future<?> canceller = this.executor.submit(() -> {
                long until = System.nanoTime() + delayNanos;
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
                token.cancel();
            });
            try (Connection connection = this.dataSource.getConnection();
                    Statement statement = connection.createStatement()) {
                try (Scope scope = token.bind(); ResultSet rows = statement.executeQuery(shortQuery())) {
                    assertThat(rows.next()).isTrue();
                }
                catch (CancelledException ex) {
                    cancelledRuns++;
                }
                canceller.get(GENEROUS.toMillis(), TimeUnit.MILLISECONDS);
                for (int next = 0; next < 3; next++) {
                    try (ResultSet rows = statement.executeQuery(shortQuery())) {
                        assertThat(rows.next()).isTrue();
                        assertThat(rows.getLong(1)).isEqualTo(1L);
                    }
                }
            }
        }
        System.out.printf("%s: 200 racing cancels, %d ended in CancelledException, every next query ran%n",
                databaseName(), cancelledRuns);
    }

    private Outcome runLongQuery(CancellationToken token) {
        try (Connection connection = this.dataSource.getConnection();
                Statement statement = connection.createStatement();
                Scope scope = token.bind()) {
            try (ResultSet rows = statement.executeQuery(longQuery())) {
                rows.next();
                return new Outcome(null, System.nanoTime());
            }
            catch (RuntimeException | SQLException ex) {
                return new Outcome(ex, System.nanoTime());
            }
        }
        catch (SQLException ex) {
            throw new IllegalStateException("closing the connection failed", ex);
        }
    }

    void assertNextBorrowerRunsAQuery() throws SQLException {
        try (Connection connection = this.dataSource.getConnection();
                Statement statement = connection.createStatement();
                ResultSet rows = statement.executeQuery(shortQuery())) {
            assertThat(rows.next()).isTrue();
            assertThat(rows.getLong(1)).isEqualTo(1L);
        }
    }

    static double median(List<Long> sorted) {
        int n = sorted.size();
        return (n % 2 == 1) ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2.0;
    }

    record Outcome(Exception failure, long endedAt) {
    }
}
