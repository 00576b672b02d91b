package io.github.cancellation.spring;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import io.github.cancellation.CancellationToken;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.config.BeanDefinitionHolder;
import org.springframework.beans.factory.config.DependencyDescriptor;
import org.springframework.beans.factory.support.AutowireCandidateResolver;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.util.function.SingletonSupplier;

/**
 * Gives every bean that injects a {@code CancellationToken} its own child of the application
 * token, named after the bean, and closes it when the bean is destroyed.
 *
 * <h2>Why an autowire candidate resolver</h2>
 * A per-bean value needs the name of the bean being injected. Of the hooks that Spring calls for
 * every injection point (constructor and {@code @Bean} method parameters, {@code @Autowired}
 * fields and methods), only
 * {@link AutowireCandidateResolver#getLazyResolutionProxyIfNecessary(DependencyDescriptor, String)}
 * receives it: {@code DefaultListableBeanFactory.resolveDependency} asks it first and uses a
 * non-null answer as the value. A resolvable dependency ({@code registerResolvableDependency}) or
 * a prototype {@code @Bean} with an {@code InjectionPoint} parameter does not know the requesting
 * bean, and a prototype bean of type {@code CancellationToken} would defeat
 * {@code @ConditionalOnMissingBean(CancellationToken.class)}. So this class wraps the factory's
 * resolver (normally {@code ContextAnnotationAutowireCandidateResolver}), answers for plain
 * {@code CancellationToken} injection points, and delegates everything else. Per-bean tokens are
 * never beans.
 *
 * <h2>Which injection points get a bean token</h2>
 * Those whose type is exactly {@code CancellationToken}, in a named bean, except when:
 * <ul>
 *   <li>the injection point has a qualifier ({@code @Qualifier("x")}) or {@code @Value}: it asks
 *       for a specific bean or value;
 *   <li>its field or parameter name is the name of a {@code CancellationToken} bean (say
 *       {@code applicationCancellationToken}): Spring matches such names to beans, and this is
 *       how a bean asks for the application token itself;
 *   <li>the requesting bean is itself a {@code CancellationToken} bean, which may well be the
 *       application token.
 * </ul>
 * Those get normal resolution, and so do {@code ObjectProvider<CancellationToken>},
 * {@code Optional<CancellationToken>}, collections and {@code @Resource}.
 *
 * <h2>Lifetime</h2>
 * A singleton gets one token for all its injection points. The token is closed by a disposable
 * registered for the bean as a dependent of it, so the bean factory closes it right
 * <em>before</em> the bean's own destroy callbacks run (whether the whole factory or only that
 * bean is destroyed): a {@code @PreDestroy} method that joins the bean's worker thread does not
 * hang. Beans of other scopes get a new child per injection, which the container never closes:
 * it is cancelled with the application token at shutdown and garbage-collected when unreferenced.
 * Singleton bean tokens are counted by {@link IssuedTokens} while they are open; the others are
 * not, since nothing marks their end.
 *
 * <p>Thread-safety: thread-safe, as the bean factory requires.
 */
final class BeanTokenAutowireCandidateResolver implements AutowireCandidateResolver {

    /** Suffix of the name under which the disposable that closes a bean's token is registered. */
    static final String CLOSER_SUFFIX = "#cancellationToken";

    private final AutowireCandidateResolver delegate;

    private final DefaultListableBeanFactory beanFactory;

    /** The open tokens of singleton beans, by bean name. */
    private final Map<String, CancellationToken> singletonTokens = new ConcurrentHashMap<>();

    /** Counts the singleton bean tokens; looked up when the first one is created. */
    private final Supplier<IssuedTokens> issuedTokens;

    BeanTokenAutowireCandidateResolver(AutowireCandidateResolver delegate, DefaultListableBeanFactory beanFactory) {
        this.delegate = delegate;
        this.beanFactory = beanFactory;
        this.issuedTokens = SingletonSupplier.of(() -> beanFactory.getBeanProvider(IssuedTokens.class)
            .getIfAvailable(() -> new IssuedTokens(CancellationToken.none())));
    }

    AutowireCandidateResolver getDelegate() {
        return delegate;
    }

    /**
     * Returns a snapshot of the open tokens of singleton beans, by bean name (tokens of beans of
     * other scopes are not kept). Used by the actuator endpoint to show the token tree.
     */
    Map<String, CancellationToken> beanTokens() {
        return Map.copyOf(singletonTokens);
    }

    /**
     * Returns a view of the open tokens of the singleton beans of {@code beanFactory}: empty if
     * its resolver is not this class (the bean factory is not a {@code DefaultListableBeanFactory},
     * or the starter is off).
     */
    static Supplier<Map<String, CancellationToken>> beanTokens(BeanFactory beanFactory) {
        if (beanFactory instanceof DefaultListableBeanFactory factory
                && factory.getAutowireCandidateResolver() instanceof BeanTokenAutowireCandidateResolver resolver) {
            return resolver::beanTokens;
        }
        return Map::of;
    }

    @Override
    public @Nullable Object getLazyResolutionProxyIfNecessary(DependencyDescriptor descriptor,
            @Nullable String beanName) {
        if (beanName != null && wantsBeanToken(descriptor, beanName)) {
            return beanToken(beanName);
        }
        return delegate.getLazyResolutionProxyIfNecessary(descriptor, beanName);
    }

    private boolean wantsBeanToken(DependencyDescriptor descriptor, String beanName) {
        if (descriptor.getDependencyType() != CancellationToken.class || delegate.hasQualifier(descriptor)
                || delegate.getSuggestedValue(descriptor) != null) {
            return false;
        }
        List<String> tokenBeans = Arrays.asList(beanFactory.getBeanNamesForType(CancellationToken.class));
        String dependencyName = descriptor.getDependencyName();
        return !tokenBeans.contains(beanName) && (dependencyName == null || !tokenBeans.contains(dependencyName));
    }

    private CancellationToken beanToken(String beanName) {
        CancellationToken existing = singletonTokens.get(beanName);
        if (existing != null) {
            return existing;
        }
        // Found outside computeIfAbsent: finding it may create the token bean, and with it other beans.
        CancellationToken applicationToken = ApplicationTokens.find(beanFactory);
        if (!isSingleton(beanName)) {
            return applicationToken.child(beanName);
        }
        IssuedTokens tokens = issuedTokens.get();
        return singletonTokens.computeIfAbsent(beanName, name -> {
            CancellationToken token = tokens.openLongLived(applicationToken, name);
            String closerName = name + CLOSER_SUFFIX;
            beanFactory.registerDisposableBean(closerName, () -> {
                singletonTokens.remove(name, token);
                tokens.endLongLived(token);
            });
            // The closer depends on the bean, so destroying the bean destroys the closer first.
            beanFactory.registerDependentBean(name, closerName);
            return token;
        });
    }

    /**
     * Returns the open token of the singleton bean named {@code beanName}, or null if it has none
     * (it injects no token, is not a singleton, or was destroyed). Never creates one.
     */
    @Nullable CancellationToken singletonToken(String beanName) {
        return singletonTokens.get(beanName);
    }

    private boolean isSingleton(String beanName) {
        return beanFactory.containsBeanDefinition(beanName) && beanFactory.getMergedBeanDefinition(beanName).isSingleton();
    }

    // ---------------------------------------------------------------- plain delegation

    @Override
    public boolean isAutowireCandidate(BeanDefinitionHolder bdHolder, DependencyDescriptor descriptor) {
        return delegate.isAutowireCandidate(bdHolder, descriptor);
    }

    @Override
    public boolean isRequired(DependencyDescriptor descriptor) {
        return delegate.isRequired(descriptor);
    }

    @Override
    public boolean hasQualifier(DependencyDescriptor descriptor) {
        return delegate.hasQualifier(descriptor);
    }

    @Override
    public @Nullable String getSuggestedName(DependencyDescriptor descriptor) {
        return delegate.getSuggestedName(descriptor);
    }

    @Override
    public @Nullable Object getSuggestedValue(DependencyDescriptor descriptor) {
        return delegate.getSuggestedValue(descriptor);
    }

    @Override
    public @Nullable Class<?> getLazyResolutionProxyClass(DependencyDescriptor descriptor, @Nullable String beanName) {
        return delegate.getLazyResolutionProxyClass(descriptor, beanName);
    }

    /**
     * Returns a copy of the wrapped resolver only: a bean factory that copies this one's
     * configuration is not where the starter runs, so it gets no bean tokens.
     */
    @Override
    public AutowireCandidateResolver cloneIfNecessary() {
        return delegate.cloneIfNecessary();
    }
}
