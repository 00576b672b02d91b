package io.github.cancellation.spring;

import java.util.concurrent.atomic.AtomicBoolean;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.context.annotation.Scope;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A bean that injects {@code CancellationToken} gets its own child of the application token, named
 * after the bean, closed when the bean is destroyed; explicit requests for a token bean still get
 * that bean.
 */
class BeanTokenInjectionTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class));

    @Test
    void constructorInjectionShouldGetAChildNamedAfterTheBean() {
        contextRunner.withBean("constructorWorker", ConstructorWorker.class).run(context -> {
            CancellationToken application = context.getBean(CancellationToken.class);
            CancellationToken token = context.getBean(ConstructorWorker.class).token;
            assertThat(token.name()).isEqualTo("constructorWorker");
            assertThat(token.parent()).containsSame(application);
            assertThat(token.isCancelled()).isFalse();
        });
    }

    @Test
    void fieldInjectionShouldGetAChildNamedAfterTheBean() {
        contextRunner.withBean("fieldWorker", FieldWorker.class).run(context -> {
            CancellationToken token = context.getBean(FieldWorker.class).token;
            assertThat(token.name()).isEqualTo("fieldWorker");
            assertThat(token.parent()).containsSame(context.getBean(CancellationToken.class));
        });
    }

    @Test
    void beanMethodParameterShouldGetAChildNamedAfterTheBean() {
        contextRunner.withUserConfiguration(BeanMethodConfiguration.class).run(context -> {
            CancellationToken token = context.getBean(BeanMethodWorker.class).token();
            assertThat(token.name()).isEqualTo("beanMethodWorker");
            assertThat(token.parent()).containsSame(context.getBean(CancellationToken.class));
        });
    }

    @Test
    void singletonShouldGetOneTokenForAllItsInjectionPoints() {
        contextRunner.withBean("twoPoints", TwoInjectionPoints.class).run(context -> {
            TwoInjectionPoints bean = context.getBean(TwoInjectionPoints.class);
            assertThat(bean.fromConstructor).isSameAs(bean.fromField);
        });
    }

    @Test
    void beansShouldGetDistinctTokens() {
        contextRunner.withBean("first", ConstructorWorker.class)
            .withBean("second", FieldWorker.class)
            .run(context -> {
                CancellationToken first = context.getBean(ConstructorWorker.class).token;
                CancellationToken second = context.getBean(FieldWorker.class).token;
                assertThat(first).isNotSameAs(second);
                first.cancel();
                assertThat(second.isCancelled()).as("cancelling one bean's token leaves the others").isFalse();
                assertThat(context.getBean(CancellationToken.class).isCancelled()).isFalse();
            });
    }

    @Test
    void prototypeShouldGetANewTokenPerInstance() {
        contextRunner.withUserConfiguration(PrototypeConfiguration.class).run(context -> {
            CancellationToken first = context.getBean(BeanMethodWorker.class).token();
            CancellationToken second = context.getBean(BeanMethodWorker.class).token();
            assertThat(first).isNotSameAs(second);
            assertThat(first.name()).isEqualTo("prototypeWorker");
            assertThat(first.parent()).containsSame(context.getBean(CancellationToken.class));
        });
    }

    @Test
    void tokenShouldBeClosedWhenTheBeanIsDestroyedBeforeItsDestroyCallback() {
        contextRunner.withBean("disposableWorker", DisposableWorker.class).run(context -> {
            DisposableWorker worker = context.getBean(DisposableWorker.class);
            ((DefaultListableBeanFactory) context.getBeanFactory()).destroySingleton("disposableWorker");
            assertThat(worker.token.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.CLOSED);
            assertThat(worker.tokenCancelledInDestroy).as("token closed before the bean's destroy()").isTrue();
            assertThat(context.getBean(CancellationToken.class).isCancelled()).isFalse();
        });
    }

    @Test
    void tokenShouldBeCancelledWithShutdownWhenTheContextCloses() {
        contextRunner.withBean("disposableWorker", DisposableWorker.class).run(context -> {
            DisposableWorker worker = context.getBean(DisposableWorker.class);
            context.close();
            assertThat(worker.token.reason()).map(CancellationReason::kind)
                .contains(CancellationReason.Kind.SHUTDOWN);
            assertThat(worker.tokenCancelledInDestroy).isTrue();
        });
    }

    @Test
    void qualifierShouldGetTheApplicationTokenItself() {
        contextRunner.withBean("qualifiedWorker", QualifiedWorker.class).run(context -> {
            assertThat(context.getBean(QualifiedWorker.class).token).isSameAs(context.getBean(CancellationToken.class));
        });
    }

    @Test
    void parameterNamedAfterATokenBeanShouldGetThatBean() {
        contextRunner.withBean("namedWorker", NamedWorker.class).run(context -> {
            assertThat(context.getBean(NamedWorker.class).token).isSameAs(context.getBean(CancellationToken.class));
        });
    }

    @Test
    void objectProviderShouldGetTheApplicationToken() {
        contextRunner.withBean("providerWorker", ProviderWorker.class).run(context -> {
            assertThat(context.getBean(ProviderWorker.class).token).isSameAs(context.getBean(CancellationToken.class));
        });
    }

    @Test
    void beanTokensWhenUserDefinesTheApplicationTokenShouldBeItsChildren() {
        contextRunner.withUserConfiguration(UserTokenConfiguration.class)
            .withBean("constructorWorker", ConstructorWorker.class)
            .run(context -> {
                CancellationToken userToken = context.getBean("userToken", CancellationToken.class);
                CancellationToken token = context.getBean(ConstructorWorker.class).token;
                assertThat(token.name()).isEqualTo("constructorWorker");
                assertThat(token.parent()).containsSame(userToken);
            });
    }

    @Test
    void withSeveralTokenBeansThePrimaryShouldBeTheApplicationToken() {
        contextRunner.withUserConfiguration(SeveralTokensConfiguration.class)
            .withBean("constructorWorker", ConstructorWorker.class)
            .withBean("otherWorker", OtherTokenWorker.class)
            .run(context -> {
                assertThat(context).hasNotFailed()
                    .doesNotHaveBean(CancellationAutoConfiguration.APPLICATION_TOKEN_BEAN_NAME);
                CancellationToken main = context.getBean("mainToken", CancellationToken.class);
                CancellationToken other = context.getBean("otherToken", CancellationToken.class);
                assertThat(context.getBean(ConstructorWorker.class).token.parent()).containsSame(main);
                assertThat(context.getBean(OtherTokenWorker.class).token).isSameAs(other);
                AtomicBoolean otherCancelledAtShutdown = new AtomicBoolean(true);
                main.onCancel(reason -> otherCancelledAtShutdown.set(other.isCancelled()));
                context.close();
                assertThat(main.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.SHUTDOWN);
                assertThat(otherCancelledAtShutdown).as("only the application token is cancelled at shutdown").isFalse();
                assertThat(other.reason()).as("other token beans end as beans do, closed at destruction")
                    .map(CancellationReason::kind).contains(CancellationReason.Kind.CLOSED);
            });
    }

    @Test
    void withSeveralTokenBeansAndNoPrimaryStartupShouldFailWithAnExplanation() {
        contextRunner.withUserConfiguration(AmbiguousTokensConfiguration.class).run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).hasStackTraceContaining("mark the application token @Primary");
        });
    }

    @Test
    void whenDisabledInjectionShouldGetTheUserBeanItself() {
        contextRunner.withPropertyValues("cancellation.enabled=false")
            .withUserConfiguration(UserTokenConfiguration.class)
            .withBean("constructorWorker", ConstructorWorker.class)
            .run(context -> assertThat(context.getBean(ConstructorWorker.class).token)
                .isSameAs(context.getBean("userToken")));
    }

    static class ConstructorWorker {

        final CancellationToken token;

        ConstructorWorker(CancellationToken token) {
            this.token = token;
        }
    }

    static class FieldWorker {

        @Autowired
        CancellationToken token;
    }

    static class TwoInjectionPoints {

        final CancellationToken fromConstructor;

        @Autowired
        CancellationToken fromField;

        TwoInjectionPoints(CancellationToken fromConstructor) {
            this.fromConstructor = fromConstructor;
        }
    }

    static class DisposableWorker implements DisposableBean {

        final CancellationToken token;

        volatile boolean tokenCancelledInDestroy;

        DisposableWorker(CancellationToken token) {
            this.token = token;
        }

        @Override
        public void destroy() {
            tokenCancelledInDestroy = token.isCancelled();
        }
    }

    static class QualifiedWorker {

        final CancellationToken token;

        QualifiedWorker(@Qualifier(CancellationAutoConfiguration.APPLICATION_TOKEN_BEAN_NAME) CancellationToken token) {
            this.token = token;
        }
    }

    static class NamedWorker {

        final CancellationToken token;

        NamedWorker(CancellationToken applicationCancellationToken) {
            this.token = applicationCancellationToken;
        }
    }

    static class ProviderWorker {

        final CancellationToken token;

        ProviderWorker(ObjectProvider<CancellationToken> tokens) {
            this.token = tokens.getObject();
        }
    }

    static class OtherTokenWorker {

        final CancellationToken token;

        OtherTokenWorker(@Qualifier("otherToken") CancellationToken token) {
            this.token = token;
        }
    }

    record BeanMethodWorker(CancellationToken token) {
    }

    @Configuration(proxyBeanMethods = false)
    static class BeanMethodConfiguration {

        @Bean
        BeanMethodWorker beanMethodWorker(CancellationToken token) {
            return new BeanMethodWorker(token);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class PrototypeConfiguration {

        @Bean
        @Scope("prototype")
        BeanMethodWorker prototypeWorker(CancellationToken token) {
            return new BeanMethodWorker(token);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class UserTokenConfiguration {

        @Bean
        CancellationToken userToken() {
            return CancellationToken.create("mine");
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class SeveralTokensConfiguration {

        @Bean
        @Primary
        CancellationToken mainToken() {
            return CancellationToken.create("main");
        }

        @Bean
        CancellationToken otherToken() {
            return CancellationToken.create("other");
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class AmbiguousTokensConfiguration {

        @Bean
        CancellationToken firstToken() {
            return CancellationToken.create("first");
        }

        @Bean
        CancellationToken secondToken() {
            return CancellationToken.create("second");
        }
    }
}
