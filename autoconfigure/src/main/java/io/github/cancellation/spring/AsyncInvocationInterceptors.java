package io.github.cancellation.spring;

import java.lang.reflect.AccessibleObject;
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

/**
 * The interceptor that gives an {@code @Async} invocation its token. It takes the place of
 * Spring's {@code AsyncExecutionInterceptor} in the bean's proxy (see
 * {@link AsyncInvocationPostProcessor}) and calls it itself, handing it a {@link Run}: the same
 * method invocation, carrying the {@link AsyncInvocation}, whose {@code proceed()} Spring calls on
 * the executor's thread:
 *
 * <pre>
 * caller's thread:   Submission -&gt; AsyncExecutionInterceptor --submit--&gt; executor
 * executor's thread:                         Run.proceed() -&gt; the rest of the chain -&gt; the method
 * </pre>
 *
 * One object per invocation carries it across the two threads, instead of a user attribute of the
 * method invocation (a {@code HashMap} per call) read back by a second interceptor.
 */
final class AsyncInvocationInterceptors {

    private static final Log logger = LogFactory.getLog(AsyncInvocationInterceptors.class);

    private AsyncInvocationInterceptors() {
    }

    /**
     * Runs on the caller's thread, in place of Spring's {@code AsyncExecutionInterceptor}: creates
     * the invocation and its token, puts the token in place of every {@code CancellationToken}
     * argument (linking a caller's token found there), submits through Spring's interceptor with
     * the task decorator told to skip the task, and adapts the returned future.
     */
    static final class Submission implements MethodInterceptor {

        private final String beanName;

        private final MethodInterceptor asyncExecution;

        private final Supplier<CancellationToken> parent;

        private final Supplier<IssuedTokens> tokens;

        private final Supplier<CancellationTaskTracker> tracker;

        private final Map<Method, MethodInfo> methods = new ConcurrentHashMap<>();

        /**
         * The method described last: a proxy passes the same {@code Method} instance on every call
         * of a method, and most {@code @Async} beans have one, so this spares a map lookup with
         * {@code Method.equals} per call.
         */
        private volatile @Nullable MethodInfo last;

        /**
         * Creates the interceptor of one bean.
         *
         * @param asyncExecution Spring's {@code AsyncExecutionInterceptor} that this one replaces
         *     in the proxy and calls
         */
        Submission(String beanName, MethodInterceptor asyncExecution, Supplier<CancellationToken> parent,
                Supplier<IssuedTokens> tokens, Supplier<CancellationTaskTracker> tracker) {
            this.beanName = beanName;
            this.asyncExecution = asyncExecution;
            this.parent = parent;
            this.tokens = tokens;
            this.tracker = tracker;
        }

        /** Returns Spring's interceptor that this one submits through. */
        MethodInterceptor asyncExecution() {
            return asyncExecution;
        }

        @Override
        @SuppressWarnings("try") // the skip is a resource only for its close()
        public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
            Method method = invocation.getMethod();
            MethodInfo info = last;
            if (info == null || info.method() != method) {
                info = methods.computeIfAbsent(method, this::describe);
                last = info;
            }
            AsyncInvocation async = new AsyncInvocation(info.taskName(), parent.get(), tokens.get());
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
            Object result;
            try (CancellationTaskDecorator.SkipDecoration skip = CancellationTaskDecorator.skipNextDecoration()) {
                result = asyncExecution.invoke(new Run(invocation, async, tracker));
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
     * The method invocation that Spring's {@code AsyncExecutionInterceptor} is given: the bean's
     * invocation, whose {@link #proceed()} (on the executor's thread) binds the invocation's token
     * as {@link CancellationToken#current()}, tracks the invocation under its name while the rest
     * of the chain and the method run (and while a future the method returned is not done yet),
     * then ends it. A {@code void} method that ends with {@link CancelledException} while its
     * token is cancelled has simply stopped as asked: the exception is not passed on to the
     * {@code AsyncUncaughtExceptionHandler}. Every other outcome goes to Spring unchanged.
     */
    static final class Run implements MethodInvocation {

        private final MethodInvocation invocation;

        private final AsyncInvocation async;

        private final Supplier<CancellationTaskTracker> tracker;

        Run(MethodInvocation invocation, AsyncInvocation async, Supplier<CancellationTaskTracker> tracker) {
            this.invocation = invocation;
            this.async = async;
            this.tracker = tracker;
        }

        @Override
        @SuppressWarnings("try") // the scope and the tracked task are resources only for their close()
        public @Nullable Object proceed() throws Throwable {
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
        public Method getMethod() {
            return invocation.getMethod();
        }

        @Override
        public Object[] getArguments() {
            return invocation.getArguments();
        }

        @Override
        public @Nullable Object getThis() {
            return invocation.getThis();
        }

        @Override
        public AccessibleObject getStaticPart() {
            return invocation.getStaticPart();
        }

        @Override
        public String toString() {
            return "AsyncInvocationInterceptors.Run[" + async.name() + "]";
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
