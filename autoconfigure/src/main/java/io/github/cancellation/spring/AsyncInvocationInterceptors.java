package io.github.cancellation.spring;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import java.util.stream.IntStream;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.Scope;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.aop.ProxyMethodInvocation;

/**
 * The two interceptors that give an {@code @Async} invocation its token, on either side of
 * Spring's {@code AsyncExecutionInterceptor} in the bean's proxy (see
 * {@link AsyncInvocationPostProcessor}); the whole {@code @Async} path, top to bottom:
 *
 * <pre>
 * caller's thread:   Submission -&gt; AsyncExecutionInterceptor --submit--&gt; executor
 * executor's thread:                                   Execution -&gt; the rest of the chain -&gt; the method
 * </pre>
 *
 * {@link Submission} creates the {@link AsyncInvocation} and hands it to {@link Execution}
 * through the bean's {@link AsyncHandOver}, keyed by the method invocation, the one object that
 * Spring carries from the caller's thread to the executor's.
 */
final class AsyncInvocationInterceptors {

    private static final Log logger = LogFactory.getLog(AsyncInvocationInterceptors.class);

    private AsyncInvocationInterceptors() {
    }

    /**
     * Runs on the caller's thread, before Spring's {@code AsyncExecutionInterceptor}: creates the
     * invocation and its token, puts the token in place of every {@code CancellationToken}
     * argument (linking a caller's token found there), hands the invocation to {@link Execution},
     * proceeds (Spring submits the method, with the task decorator told to leave the task alone:
     * see {@link SubmissionSkip}) and adapts the returned future.
     */
    static final class Submission implements MethodInterceptor {

        private final String beanName;

        private final Supplier<CancellationToken> parent;

        private final Supplier<IssuedTokens> tokens;

        private final AsyncHandOver handOver;

        private final Map<Method, MethodInfo> methods = new ConcurrentHashMap<>();

        /**
         * The method described last: a proxy passes the same {@code Method} instance on every call
         * of a method, and most {@code @Async} beans have one, so this spares a map lookup with
         * {@code Method.equals} per call.
         */
        private volatile @Nullable MethodInfo last;

        /** Creates the interceptor of one bean. */
        Submission(String beanName, Supplier<CancellationToken> parent, Supplier<IssuedTokens> tokens,
                AsyncHandOver handOver) {
            this.beanName = beanName;
            this.parent = parent;
            this.tokens = tokens;
            this.handOver = handOver;
        }

        @Override
        public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
            if (!(invocation instanceof ProxyMethodInvocation)) {
                return invocation.proceed(); // not from a Spring proxy: no way to reach the executor's side
            }
            Method method = invocation.getMethod();
            MethodInfo info = last;
            if (info == null || info.method() != method) {
                info = methods.computeIfAbsent(method, this::describe);
                last = info;
            }
            AsyncInvocation async = new AsyncInvocation(info.taskName(), parent.get(), tokens.get(), invocation,
                    handOver);
            if (info.tokenParameters().length > 0) {
                // MethodInvocation.getArguments(): "possible to change element values within this array"
                Object[] arguments = invocation.getArguments();
                for (int index : info.tokenParameters()) {
                    if (arguments[index] instanceof CancellationToken caller) {
                        async.linkTo(caller);
                    }
                    arguments[index] = async.token();
                }
            }
            handOver.put(invocation, async);
            Object result;
            try (SubmissionSkip skip = SubmissionSkip.open()) {
                result = invocation.proceed();
            }
            catch (Throwable ex) {
                // Not submitted (rejected, or a return type Spring refuses): no execution will end it.
                async.end();
                throw ex;
            }
            return async.adapt(result, method.getReturnType());
        }

        private MethodInfo describe(Method method) {
            Class<?>[] types = method.getParameterTypes();
            int[] tokenParameters = IntStream.range(0, types.length)
                .filter(index -> types[index] == CancellationToken.class)
                .toArray();
            return new MethodInfo(method, beanName + "." + method.getName(), tokenParameters);
        }

        /** The hand-over this interceptor shares with the bean's {@link Execution}. */
        AsyncHandOver handOver() {
            return handOver;
        }

        @Override
        public String toString() {
            return "AsyncInvocationInterceptors.Submission[" + beanName + "]";
        }
    }

    /**
     * Runs on the executor's thread, right after Spring's {@code AsyncExecutionInterceptor}
     * proceeded there: takes over the decorated run it starts in (see
     * {@link DecoratedRun#claim(long)}), binds the invocation's token as
     * {@link CancellationToken#current()}, tracks the invocation under its name while the rest of
     * the chain and the method run (and while a future the method returned is not done yet),
     * then ends it. A {@code void} method that ends with {@link CancelledException} while its
     * token is cancelled has simply stopped as asked: the exception is not passed on to the
     * {@code AsyncUncaughtExceptionHandler}. Every other outcome goes to Spring unchanged.
     */
    static final class Execution implements MethodInterceptor {

        private final Supplier<CancellationTaskTracker> tracker;

        private final AsyncHandOver handOver;

        Execution(Supplier<CancellationTaskTracker> tracker, AsyncHandOver handOver) {
            this.tracker = tracker;
            this.handOver = handOver;
        }

        @Override
        @SuppressWarnings("try") // the scope and the tracked task are resources only for their close()
        public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
            AsyncInvocation async = handOver.take(invocation);
            if (async == null) {
                return invocation.proceed();
            }
            DecoratedRun.claim(async.submittedNanos());
            async.start();
            CancellationToken token = async.token();
            try (Scope scope = token.bind(); TrackedTask task = tracker.get().track(async.name(), token)) {
                async.tracking(task);
                Object result = invocation.proceed();
                if (result instanceof Future<?> future && !future.isDone()) {
                    // Spring's interceptor waits for it next; wait here, tracked and cancellable.
                    token.call(future::get);
                }
                return result;
            }
            catch (CancelledException ex) {
                if (invocation.getMethod().getReturnType() == void.class && token.isCancelled()) {
                    if (logger.isDebugEnabled()) {
                        logger.debug("@Async invocation '" + async.name() + "' stopped: " + ex.reason());
                    }
                    return null;
                }
                throw ex;
            }
            finally {
                async.end();
            }
        }

        @Override
        public String toString() {
            return "AsyncInvocationInterceptors.Execution";
        }
    }

    /** What {@link Submission} needs to know about a method, computed once. */
    private record MethodInfo(Method method, String taskName, int[] tokenParameters) {

        @Override
        public String toString() {
            return taskName + Arrays.toString(tokenParameters);
        }
    }
}
