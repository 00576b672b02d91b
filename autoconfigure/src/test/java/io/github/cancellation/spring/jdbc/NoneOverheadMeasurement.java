package io.github.cancellation.spring.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import io.github.cancellation.CancellationToken;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * On-demand measurement (not part of {@code mvn verify}: the name does not end in {@code Tests}) of
 * what the wrapper costs under {@code none()}: a borrowed connection, a prepared {@code SELECT 1}
 * and its row, through Hikari over H2 in memory, directly and through {@link CancellableDataSource},
 * in alternating rounds. Run with {@code -Dtest=NoneOverheadMeasurement}. A direction check, not a
 * benchmark: the figures are printed, the only assertion is that both paths return the same rows.
 */
class NoneOverheadMeasurement {

    private static final int ROUNDS = 10;

    private static final int OPS = 50_000;

    @Test
    void measure() throws Exception {
        assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
        try (HikariDataSource pool = new HikariDataSource()) {
            pool.setJdbcUrl("jdbc:h2:mem:overhead;DB_CLOSE_DELAY=-1");
            pool.setMaximumPoolSize(1);
            CancellableDataSource wrapped = new CancellableDataSource(pool);
            long[] direct = new long[ROUNDS];
            long[] through = new long[ROUNDS];
            for (int round = -3; round < ROUNDS; round++) { // three warm-up rounds
                long a = nanosPerOp(pool);
                long b = nanosPerOp(wrapped);
                if (round >= 0) {
                    direct[round] = a;
                    through[round] = b;
                }
            }
            java.util.Arrays.sort(direct);
            java.util.Arrays.sort(through);
            System.out.printf("none() overhead, borrow + prepare + execute + read + close, median of %d rounds of %d:"
                    + " direct %d ns/op, wrapped %d ns/op (min %d vs %d)%n", ROUNDS, OPS, direct[ROUNDS / 2],
                    through[ROUNDS / 2], direct[0], through[0]);
        }
    }

    private static long nanosPerOp(DataSource dataSource) throws SQLException {
        long sum = 0;
        long start = System.nanoTime();
        for (int i = 0; i < OPS; i++) {
            try (Connection connection = dataSource.getConnection();
                    PreparedStatement statement = connection.prepareStatement("SELECT 1");
                    ResultSet rows = statement.executeQuery()) {
                rows.next();
                sum += rows.getInt(1);
            }
        }
        long elapsed = System.nanoTime() - start;
        assertThat(sum).isEqualTo(OPS);
        return elapsed / OPS;
    }
}
