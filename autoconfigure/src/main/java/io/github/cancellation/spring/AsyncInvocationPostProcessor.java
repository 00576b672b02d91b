package io.github.cancellation.spring;

import java.util.function.Supplier;

import io.github.cancellation.CancellationToken;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.aop.Advisor;
import org.springframework.aop.Pointcut;
import org.springframework.aop.PointcutAdvisor;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.framework.AopInfrastructureBean;
import org.springframework.aop.interceptor.AsyncExecutionInterceptor;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.util.Assert;
import org.springframework.util.function.SingletonSupplier;

/**
 * Adds the starter's two {@code @Async} interceptors to the proxy of every bean that has
 * {@code @Async} methods, on either side of Spring's {@code AsyncExecutionInterceptor}, which
 * stays where it is and does what it does (picks the executor, submits, handles errors):
 *
 * <pre>
 * [ ..., AsyncInvocationInterceptors.Submission, AsyncExecutionInterceptor, AsyncInvocationInterceptors.Execution, ... ]
 *        caller's thread                         submits                   executor's thread
 * </pre>
 *
 * <h2>Why this is the one workaround of the {@code @Async} path</h2>
 * Spring Framework offers no public hook that runs around an {@code @Async} submission on the
 * caller's thread and around the run on the executor's thread: {@code AsyncAnnotationBeanPostProcessor}
 * builds its advisor itself and puts it first in the proxy, before every advisor an auto-proxy
 * creator adds (which therefore all run on the executor's thread). What the starter relies on,
 * all of it public API:
 * <ul>
 *   <li>{@link Advised#addAdvisor(int, Advisor)} on the proxy, next to Spring's advisor, found by
 *       its advice type ({@link AsyncExecutionInterceptor}); Spring's advisor is neither removed
 *       nor replaced;
 *   <li>this post-processor runs after {@code AsyncAnnotationBeanPostProcessor}: that one is
 *       {@code Ordered}, this one is not, and Framework applies ordered post-processors before
 *       the others;
 *   <li>Spring's interceptor proceeds with the same {@code MethodInvocation} on the executor's
 *       thread, so the two interceptors of the starter hand over the invocation keyed by that
 *       object ({@link AsyncHandOver}, which says why not as a user attribute of it).
 * </ul>
 * {@code AsyncInvocationHooksTests} checks each of these against the Framework on the class path,
 * and fails naming the one that changed.
 *
 * <p>Beans it needs (the application token, the tracker, the {@link IssuedTokens}) are looked up
 * when first needed, never while post-processors are being created. A bean's own token (if it
 * injects one) is looked up when its proxy is advised. A frozen proxy cannot take advisors: its
 * invocations keep the task decorator's token, and a warning says so.
 */
final class AsyncInvocationPostProcessor implements BeanPostProcessor, BeanFactoryAware {

    private static final Log logger = LogFactory.getLog(AsyncInvocationPostProcessor.class);

    private @Nullable ListableBeanFactory beanFactory;

    private final Supplier<CancellationToken> applicationToken = SingletonSupplier
        .of(() -> ApplicationTokens.find(beanFactory()));

    private final Supplier<CancellationTaskTracker> tracker = SingletonSupplier
        .of(() -> beanFactory().getBean(CancellationTaskTracker.class));

    private final Supplier<IssuedTokens> issuedTokens = SingletonSupplier.of(() -> beanFactory()
        .getBeanProvider(IssuedTokens.class)
        .getIfAvailable(() -> new IssuedTokens(CancellationToken.none())));

    @Override
    public void setBeanFactory(BeanFactory beanFactory) {
        Assert.isInstanceOf(ListableBeanFactory.class, beanFactory, "@Async support needs a ListableBeanFactory");
        this.beanFactory = (ListableBeanFactory) beanFactory;
    }

    private ListableBeanFactory beanFactory() {
        Assert.state(beanFactory != null, "No BeanFactory set");
        return beanFactory;
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (!(bean instanceof Advised advised) || bean instanceof AopInfrastructureBean) {
            return bean;
        }
        int async = asyncAdvisorIndex(advised.getAdvisors());
        if (async < 0) {
            return bean;
        }
        if (advised.isFrozen()) {
            logger.warn("@Async methods of bean '" + beanName + "' run without invocation tokens: its proxy is frozen");
            return bean;
        }
        Advisor springAdvisor = advised.getAdvisors()[async];
        Pointcut pointcut = (springAdvisor instanceof PointcutAdvisor advisor) ? advisor.getPointcut() : Pointcut.TRUE;
        CancellationToken beanToken = ApplicationTokens.beanToken(beanFactory(), beanName);
        Supplier<CancellationToken> parent = (beanToken != null) ? () -> beanToken : applicationToken;
        // After Spring's first, so that its index still holds for the one before it.
        AsyncHandOver handOver = new AsyncHandOver();
        advised.addAdvisor(async + 1,
                new DefaultPointcutAdvisor(pointcut, new AsyncInvocationInterceptors.Execution(tracker, handOver)));
        advised.addAdvisor(async, new DefaultPointcutAdvisor(pointcut,
                new AsyncInvocationInterceptors.Submission(beanName, parent, issuedTokens, handOver)));
        return bean;
    }

    /**
     * The index of Spring's {@code @Async} advisor, or -1 if there is none or the starter's
     * interceptors are in place already.
     */
    static int asyncAdvisorIndex(Advisor[] advisors) {
        int async = -1;
        for (int i = 0; i < advisors.length; i++) {
            if (advisors[i].getAdvice() instanceof AsyncInvocationInterceptors.Submission) {
                return -1; // advised already
            }
            if (async < 0 && advisors[i].getAdvice() instanceof AsyncExecutionInterceptor) {
                async = i;
            }
        }
        return async;
    }
}
