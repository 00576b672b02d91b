package io.github.cancellation.spring;

import java.util.List;

import org.jspecify.annotations.Nullable;

import org.springframework.aot.hint.MemberCategory;
import org.springframework.aot.hint.RuntimeHints;
import org.springframework.aot.hint.RuntimeHintsRegistrar;
import org.springframework.aot.hint.TypeReference;

/**
 * What a GraalVM native image of an application with the starter needs beyond what Spring's AOT
 * processing infers: field access for the classes that update their fields through a
 * {@link java.lang.invoke.VarHandle} (the token's engine in core, and the starter's per-invocation
 * records), and the JDK proxies that make JDBC statements follow the current token (a connection
 * and its three kinds of statement). Everything else the starter uses is found by Spring AOT already: its configuration
 * properties (binding hints), the endpoint's operations and results, the service-loaded
 * {@code ThreadLocalAccessor}.
 *
 * <p>{@code CancellationRuntimeHintsTests} finds every class of core and of the starter with a
 * {@code VarHandle} and fails when one is missing here.
 */
final class CancellationRuntimeHints implements RuntimeHintsRegistrar {

    /** Classes whose own fields are read and written through a {@code VarHandle}. */
    static final List<String> VAR_HANDLE_CLASSES = List.of(
            "io.github.cancellation.TokenNode",
            "io.github.cancellation.Interrupter",
            "io.github.cancellation.spring.AsyncInvocation",
            "io.github.cancellation.spring.TrackedTask");

    /** The interfaces of the JDK proxies around JDBC connections and statements, one proxy each. */
    static final List<String> JDBC_PROXY_INTERFACES = List.of("java.sql.Connection", "java.sql.Statement",
            "java.sql.PreparedStatement", "java.sql.CallableStatement");

    @Override
    public void registerHints(RuntimeHints hints, @Nullable ClassLoader classLoader) {
        for (String type : VAR_HANDLE_CLASSES) {
            hints.reflection().registerType(TypeReference.of(type), MemberCategory.ACCESS_DECLARED_FIELDS);
        }
        for (String type : JDBC_PROXY_INTERFACES) {
            hints.proxies().registerJdkProxy(TypeReference.of(type));
        }
    }
}
