package io.github.cancellation.spring.web;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.WeakReference;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.util.ClassUtils;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Jetty's failure listener ({@code JettyFailureSignal}) on a real Jetty 12 server with raw sockets:
 * the listener is installed, and a normal request is
 * not cancelled, its token is closed with the response, and Jetty does not keep the listener (nor
 * the token) once the exchange is over, even while the connection stays open. Runs only with Jetty
 * on the class path ({@code mvn -Pjetty}); on Tomcat the class is never loaded (see
 * {@link #onlyJettyFailureSignalNamesJettyTypes()}, which runs everywhere). That a failure Jetty
 * reports cancels the token with {@code DISCONNECTED} is shown by {@link JettyHttp2DisconnectTests}
 * (an HTTP/2 stream reset). Measured and dropped: a client closing while a plain handler was
 * blocked reading a request body announced longer than sent gave no failure-listener call within
 * 30 s (Jetty 12.1.10, HTTP/1.1).
 */
class JettyFailureSignalTests {

    /** Spring Boot's Jetty server (spring-boot-starter-jetty, {@code -Pjetty}); Jetty's own jars are always there. */
    private static final String JETTY_SERVER_FACTORY = "org.springframework.boot.jetty.servlet.JettyServletWebServerFactory";

    /** By name: on Tomcat this test must not load it. */
    private static final String SIGNAL = "io.github.cancellation.spring.web.JettyFailureSignal";

    private static final String JETTY_CONFIGURATION = CancellationWebMvcAutoConfiguration.class.getName()
            + "$JettyConfiguration";

    private static ConfigurableApplicationContext context;

    static boolean jettyPresent() {
        return ClassUtils.isPresent(JETTY_SERVER_FACTORY, JettyFailureSignalTests.class.getClassLoader());
    }

    @BeforeAll
    static void start() {
        if (jettyPresent()) {
            context = MvcTestApplication.run(List.of(JettyHandlers.class));
        }
    }

    @AfterAll
    static void stop() {
        if (context != null) {
            context.close();
        }
    }

    @Test
    @EnabledIf("jettyPresent")
    void serverShouldBeJettyWithTheSignalInstalled() {
        assertThat(((WebServerApplicationContext) context).getWebServer().getClass().getSimpleName())
            .isEqualTo("JettyServletWebServer");
        assertThat(context.getBean(MvcRequestTokenFilter.class)).extracting("signals")
            .asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.LIST)
            .singleElement()
            .extracting((signal) -> signal.getClass().getName())
            .isEqualTo(SIGNAL);
    }

    /**
     * Two requests on one kept-alive connection, answered normally: neither token is cancelled
     * before its response, each is closed (kind {@code CLOSED}) with its response, closing the
     * connection afterwards cancels nothing, and neither token stays reachable once its exchange
     * is over (Jetty drops the failure listener) while the connection is still open.
     */
    @Test
    @EnabledIf("jettyPresent")
    void normalRequestsShouldNotBeCancelledAndNothingShouldFireOrStayAfterTheResponse() throws Exception {
        JettyHandlers handlers = context.getBean(JettyHandlers.class);
        RequestTokens tokens = context.getBean(RequestTokens.class);
        int openBefore = tokens.openCount();
        long[] cancelledBefore = cancelledCounts(tokens);
        handlers.tokens.clear();
        try (Socket socket = new Socket("127.0.0.1", port())) {
            for (int i = 0; i < 2; i++) {
                String response = exchange(socket, "GET /jetty/normal HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                assertThat(response).startsWith("HTTP/1.1 200").endsWith("cancelled=false");
            }
            await("both request tokens closed").atMost(Duration.ofSeconds(10))
                .until(() -> tokens.openCount() == openBefore);
            assertThat(handlers.tokens).hasSize(2);
            assertClosedWhereReachable(handlers.tokens);
            await("no request token reachable while the connection is still open").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    System.gc();
                    return handlers.tokens.stream().allMatch((ref) -> ref.get() == null);
                });
        }
        // The connection is closed now; a request on a new one proves the server went on, and that
        // closing the first changed no count.
        try (Socket socket = new Socket("127.0.0.1", port())) {
            assertThat(exchange(socket, "GET /jetty/normal HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 200");
        }
        await("the last request token closed").atMost(Duration.ofSeconds(10))
            .until(() -> tokens.openCount() == openBefore);
        assertThat(cancelledCounts(tokens)).as("requests counted as cancelled, by kind").containsExactly(
                cancelledBefore);
    }

    /**
     * Runs with or without Jetty: the only class of the starter that names a Jetty type is
     * {@code JettyFailureSignal}, which only a configuration behind a Jetty class-presence
     * condition creates (that configuration names Jetty only as strings); so nothing loaded on
     * Tomcat reaches a Jetty type.
     */
    @Test
    void onlyJettyFailureSignalNamesJettyTypes() {
        JavaClasses main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.github.cancellation");
        assertThat(main.contain(SIGNAL)).isTrue();
        assertThat(main.contain(JETTY_CONFIGURATION)).isTrue();
        ArchRule rule = noClasses().that()
            .doNotHaveFullyQualifiedName(SIGNAL)
            .should()
            .dependOnClassesThat()
            .resideInAPackage("org.eclipse.jetty..")
            .because("Jetty is optional: its types may be loaded only when it is present");
        rule.check(main);
        // And the rule is not vacuous: JettyFailureSignal itself does depend on Jetty.
        ArchRule planted = noClasses().that().haveFullyQualifiedName(SIGNAL)
            .should()
            .dependOnClassesThat()
            .resideInAPackage("org.eclipse.jetty..");
        assertThat(planted.evaluate(main).hasViolation()).as("JettyFailureSignal names Jetty types").isTrue();
    }

    /** In its own frame, so that no strong reference to a token is left in the test's. */
    private static void assertClosedWhereReachable(BlockingQueue<WeakReference<CancellationToken>> refs) {
        for (WeakReference<CancellationToken> ref : refs) {
            CancellationToken token = ref.get();
            if (token != null) {
                assertThat(token.reason()).hasValueSatisfying(
                        (reason) -> assertThat(reason.kind()).isEqualTo(Kind.CLOSED));
            }
        }
    }

    private static long[] cancelledCounts(RequestTokens tokens) {
        long[] counts = new long[Kind.values().length];
        for (Kind kind : Kind.values()) {
            counts[kind.ordinal()] = tokens.cancelledCount(kind);
        }
        return counts;
    }

    private static int port() {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    private static final Pattern CONTENT_LENGTH = Pattern.compile("(?im)^Content-Length:\\s*(\\d+)\\s*$");

    /** Sends a request and reads one response with a {@code Content-Length} body, keeping the socket open. */
    private static String exchange(Socket socket, String request) throws IOException {
        socket.setSoTimeout(30_000);
        OutputStream out = socket.getOutputStream();
        out.write(request.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            assertThat(b).as("the response head is complete").isNotNegative();
            head.write(b);
        }
        String headers = head.toString(StandardCharsets.ISO_8859_1);
        Matcher length = CONTENT_LENGTH.matcher(headers);
        assertThat(length.find()).as("Content-Length in %s", headers).isTrue();
        byte[] body = in.readNBytes(Integer.parseInt(length.group(1)));
        return headers + new String(body, StandardCharsets.UTF_8);
    }

    @RestController
    static class JettyHandlers {

        /** The tokens of /jetty/normal, weakly: whether anything keeps them after the response. */
        final BlockingQueue<WeakReference<CancellationToken>> tokens = new LinkedBlockingQueue<>();

        @GetMapping("/jetty/normal")
        String normal(CancellationToken token) {
            tokens.add(new WeakReference<>(token));
            return "cancelled=" + token.isCancelled();
        }
    }
}
