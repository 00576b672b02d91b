package io.github.cancellation.spring;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.core.Ordered;
import org.springframework.core.PriorityOrdered;

/**
 * Installs the {@link BeanTokenAutowireCandidateResolver} around the bean factory's resolver,
 * before any ordinary bean is created. Runs early ({@link PriorityOrdered}) so that beans created
 * by later post-processors get bean tokens too.
 */
final class BeanTokenResolverInstaller implements BeanFactoryPostProcessor, PriorityOrdered {

    private static final Log logger = LogFactory.getLog(BeanTokenResolverInstaller.class);

    @Override
    public void postProcessBeanFactory(ConfigurableListableBeanFactory beanFactory) {
        if (!(beanFactory instanceof DefaultListableBeanFactory factory)) {
            logger.warn("Beans that inject CancellationToken get the application token itself, not a child "
                    + "of their own: bean factory " + beanFactory.getClass().getName() + " is not a "
                    + "DefaultListableBeanFactory");
            return;
        }
        if (!(factory.getAutowireCandidateResolver() instanceof BeanTokenAutowireCandidateResolver)) {
            factory.setAutowireCandidateResolver(
                    new BeanTokenAutowireCandidateResolver(factory.getAutowireCandidateResolver(), factory));
        }
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }
}
