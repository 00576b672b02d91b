/**
 * JDBC statements that follow {@link io.github.cancellation.CancellationToken#current()}: every
 * {@link javax.sql.DataSource} bean is wrapped so that a statement executed under a token that can be
 * cancelled is cancelled ({@link java.sql.Statement#cancel()}) when the token is, and runs with a
 * query timeout of at most the token's {@code remaining()} time. Code that runs under
 * {@link io.github.cancellation.CancellationToken#none()} sees no change. The only public type is
 * {@link io.github.cancellation.spring.jdbc.CancellationJdbcAutoConfiguration}; everything else is
 * package-private. Every parameter and return value is non-null unless annotated {@code @Nullable}.
 */
@NullMarked
package io.github.cancellation.spring.jdbc;

import org.jspecify.annotations.NullMarked;
