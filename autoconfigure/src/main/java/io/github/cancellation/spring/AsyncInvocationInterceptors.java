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
 * The two interceptors that give an {@code @Async} invocation its token. They sit on either side
 * of Spring's {@code AsyncExecutionInterceptor} in the bean's proxy (see
 * {@link AsyncInvocationPostProcessor}):
 *
 * <pre>
 * caller's thread:   Submission -&gt; AsyncExecutionInterceptor --submit--&gt; executor
 * executor's thread:                                  Execution -&gt; the method
 * </pre>
 *
 * {@link Submission} creates the {@link AsyncInvocation} and hands it to {@link Execution}
 * through the method invocation's user attributes: Spring's interceptor carries the same
 * {@code MethodInvocation} over to the executor's thread and proceeds there.
 */
final class AsyncInvocationInterceptors {

    /** Key of the {@link AsyncInvocation} among the method invocation's user attributes. */
    static final String INVOCATION_ATTRIBUTE = AsyncInvocation.class.getName();

    private static final Log logger = LogFactory.getLog(AsyncInvocationInterceptors.class);

    private AsyncInvocationInterceptors() {
    }

    /**
     * Runs on the caller's thread, outside Spring's {@code AsyncExecutionInterceptor}: creates the
     * invocation and its token, puts the token in place of every {@code CancellationToken}
     * argument (linking a caller's token found there), submits with the task decorator told to
     * skip the task, and adapts the returned future.
     */
    static final class Submission implements MethodInterceptor {

        private final String beanName;

        private final Supplier<CancellationToken> parent;

        private final Supplier<IssuedTokens> tokens;

        private final Map<Method, MethodInfo> methods = new ConcurrentHashMap<>();

        /**
         * The method described last: a proxy passes the same {@code Method} instance on every call
         * of a method, and most {@code @Async} beans have one, so this spares a map lookup with
         * {@code Method.equals} per call.
         */
        private volatile @Nullable MethodInfo last;

        Submission(String beanName, Supplier<CancellationToken> parent, Supplier<IssuedTokens> tokens) {
            this.beanName = beanName;
            this.parent = parent;
            this.tokens = tokens;
        }

        @Override
        @SuppressWarnings("try") // the skip is a resource only for its close()
        public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
            if (!(invocation instanceof ProxyMethodInvocation proxyInvocation)) {
                return invocation.proceed();
            }
            Method method = invocation.getMethod();
            MethodInfo info = last;
            if (info == null || info.method() != method) {
                info = methods.computeIfAbsent(method, this::describe);
                last = info;
            }
            AsyncInvocation async = new AsyncInvocation(info.taskName(), parent.get(), tokens.get());
            if (info.tokenParameters().length > 0) {
                Object[] arguments = proxyInvocation.getArguments();
                for (int index : info.tokenParameters()) {
                    if (arguments[index] instanceof CancellationToken caller) {
                        async.linkTo(caller);
                    }
                    arguments[index] = async.token();
                }
                proxyInvocation.setArguments(arguments);
            }
            proxyInvocation.setUserAttribute(INVOCATION_ATTRIBUTE, async);
            Object result;
            try (CancellationTaskDecorator.SkipDecoration skip = CancellationTaskDecorator.skipNextDecoration()) {
                result = invocation.proceed();
            }
            catch (Throwable ex) {
                // Not submitted (rejected, or a return type Spring refuses): no run will end it.
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

        @Override
        public String toString() {
            return "AsyncInvocationInterceptors.Submission[" + beanName + "]";
        }
    }

    /**
     * Runs on the executor's thread, inside Spring's {@code AsyncExecutionInterceptor}: binds the
     * invocation's token as {@link CancellationToken#current()}, tracks the invocation under its
     * name while the method runs (and while a future it returned is not done yet), then ends it.
     * A {@code void} method that ends with {@link CancelledException} while its token is cancelled
     * has simply stopped as asked: the exception is not passed on to the
     * {@code AsyncUncaughtExceptionHandler}. Every other outcome goes to Spring unchanged.
     */
    static final class Execution implements MethodInterceptor {

        private final Supplier<CancellationTaskTracker> tracker;

        Execution(Supplier<CancellationTaskTracker> tracker) {
            this.tracker = tracker;
        }

        @Override
        @SuppressWarnings("try") // the scope and the tracked task are resources only for their close()
        public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
            AsyncInvocation async = (invocation instanceof ProxyMethodInvocation proxyInvocation)
                    ? (AsyncInvocation) proxyInvocation.getUserAttribute(INVOCATION_ATTRIBUTE) : null;
            if (async == null) {
                return invocation.proceed();
            }
            async.start();
            CancellationToken token = async.token();
            try (Scope scope = token.bind(); TrackedTask task = tracker.get().track(async.name(), token)) {
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
