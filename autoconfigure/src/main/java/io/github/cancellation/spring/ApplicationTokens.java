package io.github.cancellation.spring;

import java.util.Arrays;

import io.github.cancellation.CancellationToken;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.NoSuchBeanDefinitionException;
import org.springframework.beans.factory.NoUniqueBeanDefinitionException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;

/**
 * Finds the application token: the one {@code CancellationToken} bean, or the primary one when
 * there are several. It is the token that shutdown cancels and that bean and task tokens descend
 * from.
 */
final class ApplicationTokens {

    private ApplicationTokens() {
    }

    /**
     * Returns the application token of the bean factory.
     *
     * @throws NoSuchBeanDefinitionException if there is no {@code CancellationToken} bean
     * @throws NoUniqueBeanDefinitionException if there are several and none is primary
     */
    static CancellationToken find(ListableBeanFactory beanFactory) {
        ObjectProvider<CancellationToken> tokens = beanFactory.getBeanProvider(CancellationToken.class);
        CancellationToken token = tokens.getIfUnique();
        if (token != null) {
            return token;
        }
        String[] names = beanFactory.getBeanNamesForType(CancellationToken.class);
        if (names.length == 0) {
            throw new NoSuchBeanDefinitionException(CancellationToken.class,
                    "the cancellation starter needs an application token bean");
        }
        throw new NoUniqueBeanDefinitionException(CancellationToken.class, Arrays.asList(names),
                "several CancellationToken beans " + Arrays.toString(names) + " and none is primary: mark the "
                        + "application token @Primary (it is cancelled at shutdown, and bean and task tokens "
                        + "are its children)");
    }

    /**
     * Returns the token of the singleton bean named {@code beanName}, the one it got by injecting
     * a {@code CancellationToken}, or null if it has none. Never creates one: the starter gives a
     * bean a token of its own only when the bean asks for one.
     *
     * @param beanFactory the bean factory of the bean
     * @param beanName the name of the bean
     * @return the bean's open token, or null
     */
    static @Nullable CancellationToken beanToken(BeanFactory beanFactory, String beanName) {
        if (beanFactory instanceof DefaultListableBeanFactory factory
                && factory.getAutowireCandidateResolver() instanceof BeanTokenAutowireCandidateResolver resolver) {
            return resolver.singletonToken(beanName);
        }
        return null;
    }
}
