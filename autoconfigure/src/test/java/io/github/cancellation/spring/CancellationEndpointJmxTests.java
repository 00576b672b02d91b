package io.github.cancellation.spring;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.management.MBeanOperationInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.ReflectionException;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import org.junit.jupiter.api.Test;

import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.endpoint.jmx.JmxEndpointAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jmx.JmxAutoConfiguration;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The endpoint over JMX: reads with the default access, and cancels only when access is
 * unrestricted.
 */
class CancellationEndpointJmxTests {

    private static final String DOMAIN = "io.github.cancellation.test";

    private static final String[] PATH_SIGNATURE = { String[].class.getName() };

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withInitializer((context) -> context.getEnvironment().setConversionService(new ApplicationConversionService()))
        .withConfiguration(AutoConfigurations.of(JmxAutoConfiguration.class, EndpointAutoConfiguration.class,
                JmxEndpointAutoConfiguration.class, CancellationAutoConfiguration.class,
                CancellationEndpointAutoConfiguration.class))
        .withBean("reports", CancellationEndpointTests.TokenHolder.class)
        .withPropertyValues("spring.jmx.enabled=true", "management.endpoints.jmx.exposure.include=cancellation",
                "management.endpoints.jmx.domain=" + DOMAIN);

    @Test
    void treeShouldBeReadableOverJmx() {
        contextRunner.run((context) -> {
            MBeanServer server = context.getBean(MBeanServer.class);
            ObjectName name = endpointName(server);

            Map<?, ?> tree = (Map<?, ?>) server.invoke(name, "tokens", new Object[0], new String[0]);
            Map<?, ?> subtree = (Map<?, ?>) server.invoke(name, "subtree", new Object[] { new String[] { "reports" } },
                    PATH_SIGNATURE);

            Map<?, ?> root = (Map<?, ?>) ((List<?>) tree.get("tokens")).get(0);
            assertThat(root.get("name")).isEqualTo("application");
            assertThat((List<?>) root.get("children")).singleElement()
                .satisfies((child) -> assertThat(((Map<?, ?>) child).get("path")).isEqualTo("reports"));
            assertThat(tree.get("truncated")).isEqualTo(false);
            assertThat(((Map<?, ?>) ((List<?>) subtree.get("tokens")).get(0)).get("type")).isEqualTo("bean");
            assertThat(operations(server, name)).containsExactlyInAnyOrder("tokens", "subtree");
        });
    }

    @Test
    void cancelShouldBeAnOperationOnlyWithUnrestrictedAccess() {
        contextRunner.withPropertyValues("management.endpoint.cancellation.access=unrestricted").run((context) -> {
            MBeanServer server = context.getBean(MBeanServer.class);
            ObjectName name = endpointName(server);
            CancellationToken reports = context.getBean(CancellationEndpointTests.TokenHolder.class).token;

            Map<?, ?> unknown = cancel(server, name, "nosuchbean");
            assertThat(unknown.get("outcome")).isEqualTo("NOT_FOUND");
            assertThatExceptionOfType(ReflectionException.class).isThrownBy(
                    () -> server.invoke(name, "subtree", new Object[] { new String[] { ".." } }, PATH_SIGNATURE));
            assertThat(cancel(server, name, "..").get("outcome")).isEqualTo("INVALID");
            assertThat(reports.isCancelled()).isFalse();

            Map<?, ?> result = cancel(server, name, "reports");

            assertThat(result.get("outcome")).isEqualTo("CANCELLED");
            assertThat(reports.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.ACTUATOR);
            assertThat(applicationToken(context).isCancelled()).isFalse();
            assertThat(operations(server, name)).containsExactlyInAnyOrder("tokens", "subtree", "cancel");
        });
    }

    private static Map<?, ?> cancel(MBeanServer server, ObjectName name, String... path) throws Exception {
        return (Map<?, ?>) server.invoke(name, "cancel", new Object[] { path, "over JMX" },
                new String[] { String[].class.getName(), String.class.getName() });
    }

    private static ObjectName endpointName(MBeanServer server) throws Exception {
        Set<ObjectName> names = server.queryNames(new ObjectName(DOMAIN + ":type=Endpoint,name=Cancellation,*"), null);
        assertThat(names).hasSize(1);
        return names.iterator().next();
    }

    private static List<String> operations(MBeanServer server, ObjectName name) throws Exception {
        return Arrays.stream(server.getMBeanInfo(name).getOperations()).map(MBeanOperationInfo::getName).toList();
    }

    private static CancellationToken applicationToken(ApplicationContext context) {
        return context.getBean(CancellationAutoConfiguration.APPLICATION_TOKEN_BEAN_NAME, CancellationToken.class);
    }
}
