package io.github.cancellation.spring.jdbc;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.Registration;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * The connection and statement proxies behind {@link CancellableDataSource}. A connection proxy
 * returns statement proxies from {@code createStatement}, {@code prepareStatement} and
 * {@code prepareCall}; a statement proxy runs each {@code execute*} call through
 * {@link #execute}. Every other call goes straight to the driver's (or pool's) object;
 * {@code unwrap}/{@code isWrapperFor} too, so they reach the original.
 *
 * <p>Invariants of one {@code execute*} call under a cancellable token (see {@link Execution}):
 * <ol>
 *   <li>a token that is already cancelled sends nothing;
 *   <li>{@code Statement.cancel()} is called at most once, and only between the registration on the
 *       token and the end of the call: when the call returns or throws, no cancel of this call can
 *       still reach the statement, so it never cancels the statement's or connection's next query;
 *   <li>the query timeout is changed only for the duration of the call and restored afterwards.
 * </ol>
 */
final class CancellableStatements {

    private static final Log logger = LogFactory.getLog(CancellableStatements.class);

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private CancellableStatements() {
    }

    /** Wraps a connection, unless it already is one of these proxies (nested cancellable data sources). */
    static Connection connection(Connection target) {
        if (Proxy.isProxyClass(target.getClass()) && Proxy.getInvocationHandler(target) instanceof ConnectionHandler) {
            return target;
        }
        return (Connection) Proxy.newProxyInstance(CancellableStatements.class.getClassLoader(),
                new Class<?>[] { Connection.class }, new ConnectionHandler(target));
    }

    /** The query timeout, in whole seconds, for a call with {@code remaining} time left: rounded up, at least 1. */
    static int timeoutSeconds(Duration remaining) {
        long nanos = remaining.toNanos();
        long seconds = nanos / NANOS_PER_SECOND + ((nanos % NANOS_PER_SECOND != 0) ? 1 : 0);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, seconds));
    }

    private static @Nullable Object invokeTarget(Object target, Method method, @Nullable Object @Nullable [] args)
            throws Throwable {
        try {
            return method.invoke(target, args);
        }
        catch (InvocationTargetException ex) {
            throw ex.getTargetException();
        }
    }

    /** Object methods of a proxy: identity semantics, and a toString that names the target. */
    private static @Nullable Object objectMethod(Object proxy, Object target, Method method, @Nullable Object @Nullable [] args) {
        return switch (method.getName()) {
            case "equals" -> proxy == args[0];
            case "hashCode" -> System.identityHashCode(proxy);
            default -> "Cancellable[" + target + "]";
        };
    }

    private static boolean isObjectMethod(Method method) {
        return method.getDeclaringClass() == Object.class;
    }

    /**
     * Runs one {@code execute*} call of {@code statement}. Goals: under {@code none()} only the
     * reflective call itself (one thread-local read and one comparison on top); otherwise the
     * invariants of the class header.
     */
    static @Nullable Object execute(Statement statement, Method method, @Nullable Object @Nullable [] args) throws Throwable {
        CancellationToken token = CancellationToken.current();
        if (token == CancellationToken.none()) {
            return invokeTarget(statement, method, args);
        }
        token.throwIfCancelled(); // invariant 1
        int originalTimeout = -1;
        Optional<Duration> remaining = token.remaining();
        if (remaining.isPresent()) {
            int seconds = timeoutSeconds(remaining.get());
            int current = statement.getQueryTimeout();
            if (current == 0 || seconds < current) {
                statement.setQueryTimeout(seconds);
                originalTimeout = current;
            }
        }
        Execution execution = new Execution(statement);
        Registration registration = token.onCancel(execution::cancel);
        Throwable failure = null;
        try {
            return invokeTarget(statement, method, args);
        }
        catch (SQLException ex) {
            failure = token.isCancelled() ? new CancelledException(cancelledReason(token), ex) : ex;
            throw failure;
        }
        catch (Throwable ex) {
            failure = ex;
            throw ex;
        }
        finally {
            registration.unregister();
            execution.finish(); // invariant 2
            if (originalTimeout >= 0) {
                restoreTimeout(statement, originalTimeout, failure); // invariant 3
            }
        }
    }

    private static CancellationReason cancelledReason(CancellationToken token) {
        return token.reason().orElseThrow(() -> new IllegalStateException("a cancelled token has a reason"));
    }

    /** Restores the timeout; a failure to do so is added to the call's own failure, if there is one. */
    private static void restoreTimeout(Statement statement, int seconds, @Nullable Throwable failure)
            throws SQLException {
        try {
            if (!statement.isClosed()) {
                statement.setQueryTimeout(seconds);
            }
        }
        catch (SQLException ex) {
            if (failure == null) {
                throw ex;
            }
            failure.addSuppressed(ex);
        }
    }

    /**
     * One {@code execute*} call under a token. State machine ({@code state}, all transitions by CAS,
     * so each happens at most once): {@code RUNNING -> CANCELLING -> CANCELLED} when the token's
     * callback wins (it calls {@code Statement.cancel()} in between), {@code RUNNING -> DONE} when
     * the call ends first. {@link #finish()} returns only once no cancel can still be sent: it waits
     * for a {@code Statement.cancel()} that the callback has begun (driver cancels are short: a
     * flag for H2, one request on a second connection for PostgreSQL, bounded by the driver's
     * cancel timeout). The cancel itself runs on a {@link #CANCELLERS} thread, never on the
     * cancelling thread, which may be the token timer shared by every deadline.
     */
    private static final class Execution {

        private static final int RUNNING = 0;
        private static final int CANCELLING = 1;
        private static final int CANCELLED = 2;
        private static final int DONE = 3;

        /**
         * Threads that send {@code Statement.cancel()}: daemon, created on demand, gone after a minute
         * idle, so that a slow cancel (a network round trip) never blocks the thread that cancels
         * the token.
         */
        private static final Executor CANCELLERS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS,
                new SynchronousQueue<>(), (task) -> {
                    Thread thread = new Thread(task, "cancellation-jdbc-cancel");
                    thread.setDaemon(true);
                    return thread;
                });

        private final Statement statement;
        private final AtomicInteger state = new AtomicInteger(RUNNING);
        private final CountDownLatch cancelSent = new CountDownLatch(1);

        Execution(Statement statement) {
            this.statement = statement;
        }

        /** The token's callback: runs on the cancelling thread and hands the cancel to a canceller. */
        void cancel(CancellationReason reason) {
            if (!this.state.compareAndSet(RUNNING, CANCELLING)) {
                return;
            }
            try {
                CANCELLERS.execute(() -> sendCancel(reason));
            }
            catch (RejectedExecutionException ex) {
                sendCancel(reason); // no thread to be had: send it from here rather than not at all
            }
        }

        private void sendCancel(CancellationReason reason) {
            try {
                this.statement.cancel();
            }
            catch (SQLException ex) {
                logger.warn("Statement.cancel() failed after the token was cancelled (" + reason.kind()
                        + "); the statement runs on until it ends or its query timeout", ex);
            }
            finally {
                this.state.set(CANCELLED);
                this.cancelSent.countDown();
            }
        }

        /** Ends the call: from here on the callback sends nothing, and a cancel in progress is waited for. */
        void finish() {
            if (this.state.compareAndSet(RUNNING, DONE)) {
                return;
            }
            boolean interrupted = false;
            while (true) {
                try {
                    this.cancelSent.await();
                    break;
                }
                catch (InterruptedException ex) {
                    interrupted = true; // keep waiting: invariant 2 must hold; restore the flag after
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A connection: statements it creates are proxies; everything else goes to the target. */
    private static final class ConnectionHandler implements InvocationHandler {

        private final Connection target;

        ConnectionHandler(Connection target) {
            this.target = target;
        }

        @Override
        public @Nullable Object invoke(Object proxy, Method method, @Nullable Object @Nullable [] args) throws Throwable {
            if (isObjectMethod(method)) {
                return objectMethod(proxy, this.target, method, args);
            }
            Object result = invokeTarget(this.target, method, args);
            if (result instanceof Statement statement) {
                switch (method.getName()) {
                    case "createStatement", "prepareStatement", "prepareCall" -> {
                        return statement(statement, method.getReturnType(), (Connection) proxy);
                    }
                    default -> {
                        return result;
                    }
                }
            }
            return result;
        }

        private static Statement statement(Statement target, Class<?> type, Connection connection) {
            Class<?> api = (type == CallableStatement.class || type == PreparedStatement.class) ? type
                    : Statement.class;
            return (Statement) Proxy.newProxyInstance(CancellableStatements.class.getClassLoader(),
                    new Class<?>[] { api }, new StatementHandler(target, connection));
        }
    }

    /** A statement: {@code execute*} calls follow the current token; {@code getConnection} gives the proxy. */
    private static final class StatementHandler implements InvocationHandler {

        private final Statement target;

        private final Connection connection;

        StatementHandler(Statement target, Connection connection) {
            this.target = target;
            this.connection = connection;
        }

        @Override
        public @Nullable Object invoke(Object proxy, Method method, @Nullable Object @Nullable [] args) throws Throwable {
            if (isObjectMethod(method)) {
                return objectMethod(proxy, this.target, method, args);
            }
            String name = method.getName();
            if (name.startsWith("execute")) {
                return execute(this.target, method, args);
            }
            if (name.equals("getConnection")) {
                return this.connection;
            }
            return invokeTarget(this.target, method, args);
        }
    }
}
