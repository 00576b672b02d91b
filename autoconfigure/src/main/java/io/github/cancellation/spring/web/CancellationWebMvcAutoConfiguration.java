package io.github.cancellation.spring.web;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.CancellationAutoConfiguration;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.core.Ordered;
import org.springframework.web.servlet.DispatcherServlet;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

/**
 * Auto-configuration of request tokens for Spring MVC on a Servlet container: every request runs
 * under a child of the application token that is {@code CancellationToken.current()} on the
 * request thread and in MVC async processing, that a {@code CancellationToken} handler parameter
 * receives, and that is cancelled on client disconnect (where the container tells), on the
 * request's deadline and after the shutdown grace (see {@link CancellationWebProperties}).
 * A {@code CancelledException} escaping a handler answers {@code 504} ({@code TIMEOUT}) or
 * {@code 503} ({@code SHUTDOWN}). On Jetty 12 (ee11), Jetty's own failure listener on the request
 * is used as well. Switched off by {@code cancellation.web.enabled=false} (or
 * {@code cancellation.enabled=false}).
 */
@AutoConfiguration(after = CancellationAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass({ DispatcherServlet.class, FilterRegistrationBean.class,
        org.springframework.boot.web.server.context.WebServerGracefulShutdownLifecycle.class })
@ConditionalOnBean(CancellationToken.class)
@ConditionalOnBooleanProperty(name = { "cancellation.enabled", "cancellation.web.enabled" }, matchIfMissing = true)
@EnableConfigurationProperties(CancellationWebProperties.class)
@Import(RequestTokensConfiguration.class)
public final class CancellationWebMvcAutoConfiguration {

    /** Order of the request token filter: early, so that every later filter runs under the token. */
    public static final int FILTER_ORDER = Ordered.HIGHEST_PRECEDENCE + 10;

    CancellationWebMvcAutoConfiguration() {
    }

    /**
     * The filter, registered by Spring Boot like any {@code Filter} bean: for every dispatcher type
     * (as a {@code OncePerRequestFilter}, it runs once per request and again on async dispatches),
     * at {@link #FILTER_ORDER}.
     */
    @Bean
    MvcRequestTokenFilter cancellationRequestTokenFilter(RequestTokens tokens,
            ObjectProvider<ContainerDisconnectSignal> signals) {
        return new MvcRequestTokenFilter(tokens, signals.orderedStream().toList());
    }

    @Bean
    RequestTimeoutValidator cancellationRequestTimeoutValidator(ListableBeanFactory beanFactory, RequestTokens tokens) {
        return new RequestTimeoutValidator(() -> beanFactory.getBeansOfType(RequestMappingHandlerMapping.class, false,
                false).values().stream().flatMap((mapping) -> mapping.getHandlerMethods().values().stream()).toList(),
                tokens.deadlines());
    }

    @Bean
    MvcRequestTokenConfigurer cancellationRequestTokenConfigurer(RequestTokens tokens) {
        return new MvcRequestTokenConfigurer(tokens);
    }

    /**
     * Jetty's failure listener, only when Jetty 12's ee11 Servlet and core server classes are
     * present: no Jetty type is loaded otherwise.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = { "org.eclipse.jetty.ee11.servlet.ServletContextRequest",
            "org.eclipse.jetty.server.Request" })
    static class JettyConfiguration {

        @Bean
        JettyFailureSignal cancellationJettyFailureSignal() {
            return new JettyFailureSignal();
        }
    }
}
