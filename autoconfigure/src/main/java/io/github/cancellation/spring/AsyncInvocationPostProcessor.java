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
 * Puts the starter's {@linkplain AsyncInvocationInterceptors.Submission interceptor} in place of
 * Spring's {@code @Async} interceptor, which it calls, in the proxy of every bean that has
 * {@code @Async} methods.
 *
 * <p>Goals:
 * <ol>
 *   <li><b>Around the submission and around the run.</b> The invocation token must exist on the
 *       caller's thread (to link a caller's token, and to hand back a future that cancels it) and
 *       be bound and tracked on the executor's thread. Whatever runs outside Spring's
 *       {@code AsyncExecutionInterceptor} runs on the caller's thread, whatever it proceeds with on
 *       the executor's: the starter's interceptor calls Spring's with a method invocation whose
 *       {@code proceed()} binds and tracks the token there.
 *   <li><b>Exactly there, whatever else advises the bean.</b> {@code AsyncAnnotationBeanPostProcessor}
 *       adds its advisor to the bean's proxy (or creates one) at index 0, before advisors of the
 *       auto-proxy creator. This post-processor is not {@code Ordered}, so it runs after that one
 *       (which is), finds the advisor whose advice is an {@code AsyncExecutionInterceptor}, and
 *       replaces it, at the same index and with the same pointcut, by an advisor whose
 *       interceptor wraps it, so that the starter applies to exactly the methods that run
 *       asynchronously and Spring still picks the executor, submits, and handles errors. It needs
 *       no auto-proxy creator and no {@code spring.aop} setting.
 *   <li><b>Infrastructure only.</b> Beans it needs (the application token, the tracker, the
 *       {@link IssuedTokens} that count invocation tokens) are looked up when first needed, never
 *       while post-processors are being created. A bean's own token (if it injects one) is looked
 *       up when its proxy is advised.
 * </ol>
 * A frozen proxy cannot take advisors: its invocations keep the task decorator's token, and a
 * warning says so.
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
        Advisor[] advisors = advised.getAdvisors();
        int async = -1;
        for (int i = 0; i < advisors.length; i++) {
            if (advisors[i].getAdvice() instanceof AsyncInvocationInterceptors.Submission) {
                return bean; // advised already
            }
            if (async < 0 && advisors[i].getAdvice() instanceof AsyncExecutionInterceptor) {
                async = i;
            }
        }
        if (async < 0) {
            return bean;
        }
        if (advised.isFrozen()) {
            logger.warn("@Async methods of bean '" + beanName + "' run without invocation tokens: its proxy is frozen");
            return bean;
        }
        Advisor springAdvisor = advisors[async];
        Pointcut pointcut = (springAdvisor instanceof PointcutAdvisor advisor) ? advisor.getPointcut() : Pointcut.TRUE;
        CancellationToken beanToken = ApplicationTokens.beanToken(beanFactory(), beanName);
        Supplier<CancellationToken> parent = (beanToken != null) ? () -> beanToken : applicationToken;
        AsyncInvocationInterceptors.Submission submission = new AsyncInvocationInterceptors.Submission(beanName,
                (AsyncExecutionInterceptor) springAdvisor.getAdvice(), parent, issuedTokens, tracker);
        advised.addAdvisor(async, new DefaultPointcutAdvisor(pointcut, submission));
        advised.removeAdvisor(springAdvisor);
        return bean;
    }
}
