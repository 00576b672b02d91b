package io.github.cancellation.spring.web;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.context.request.async.DeferredResult;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A Spring MVC application on a real server for the request token tests, its probe (what the
 * handlers saw) and a small HTTP client.
 */
@SpringBootConfiguration
@EnableAutoConfiguration(excludeName = {
        "org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.actuate.web.servlet.ManagementWebSecurityAutoConfiguration" })
@Import({ MvcTestApplication.Handlers.class, MvcTestApplication.CappedHandlers.class })
class MvcTestApplication {

    /** How long a handler waits for its token at most: far longer than any test needs. */
    static final Duration MAX_WAIT = Duration.ofSeconds(30);

    @Bean
    Probe probe() {
        return new Probe();
    }

    static ConfigurableApplicationContext run(String... properties) {
        return run(List.of(), properties);
    }

    static ConfigurableApplicationContext run(List<Class<?>> more, String... properties) {
        SpringApplication application = new SpringApplication(MvcTestApplication.class);
        application.addPrimarySources(more);
        application.setWebApplicationType(WebApplicationType.SERVLET);
        String[] args = new String[properties.length + 2];
        args[0] = "--server.port=0";
        args[1] = "--spring.main.banner-mode=off";
        for (int i = 0; i < properties.length; i++) {
            args[i + 2] = "--" + properties[i];
        }
        return application.run(args);
    }

    /** What the handlers saw: the token of each request and when it was cancelled. */
    static final class Probe {

        final BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();

        /** Counted down by a request that waits on {@link #release}, once it started. */
        volatile CountDownLatch started = new CountDownLatch(1);

        volatile CountDownLatch release = new CountDownLatch(1);

        /** What the streaming handler's write threw, if anything. */
        volatile Exception streamFailure;

        Seen record(CancellationToken token, String where) {
            Seen s = new Seen(token, token == CancellationToken.current(), Thread.currentThread().getName(), where);
            token.onCancel((reason) -> s.cancelledAt.complete(System.nanoTime()));
            seen.add(s);
            return s;
        }

        Seen next() throws InterruptedException {
            Seen s = seen.poll(30, TimeUnit.SECONDS);
            assertThat(s).as("a request reached its handler").isNotNull();
            return s;
        }
    }

    /** One request as its handler saw it. */
    static final class Seen {

        final CancellationToken token;

        final boolean current;

        final String thread;

        final String where;

        final long startedAt = System.nanoTime();

        final CompletableFuture<Long> cancelledAt = new CompletableFuture<>();

        Seen(CancellationToken token, boolean current, String thread, String where) {
            this.token = token;
            this.current = current;
            this.thread = thread;
            this.where = where;
        }

        CancellationReason reason() {
            return token.reason().orElseThrow();
        }
    }

    /** Waits for the token for at most {@link #MAX_WAIT}, then throws if it was cancelled. */
    static String waitForCancellation(CancellationToken token) throws InterruptedException {
        token.await(MAX_WAIT);
        token.throwIfCancelled();
        return "not cancelled";
    }

    @RestController
    static class Handlers {

        private final Probe probe;

        Handlers(Probe probe) {
            this.probe = probe;
        }

        @GetMapping("/token")
        String token(CancellationToken token) {
            Seen seen = probe.record(token, "plain");
            return token.name() + " current=" + seen.current + " parent=" + token.parent().map(CancellationToken::name)
                .orElse("-");
        }

        @GetMapping("/wait")
        String await(CancellationToken token) throws InterruptedException {
            probe.record(token, "plain");
            return waitForCancellation(token);
        }

        @GetMapping("/latch")
        String latch(CancellationToken token) throws InterruptedException {
            probe.record(token, "latch");
            probe.started.countDown();
            assertThat(probe.release.await(30, TimeUnit.SECONDS)).isTrue();
            return "released";
        }

        @GetMapping("/annotated")
        @RequestTimeout("150ms")
        String annotated(CancellationToken token) throws InterruptedException {
            probe.record(token, "annotated");
            return waitForCancellation(token);
        }

        @GetMapping("/current")
        String current() throws InterruptedException {
            CancellationToken token = CancellationToken.current();
            probe.record(token, "current");
            return waitForCancellation(token);
        }

        @GetMapping("/callable")
        java.util.concurrent.Callable<String> callable(CancellationToken token) {
            return () -> {
                Seen seen = probe.record(CancellationToken.current(), "callable");
                assertThat(seen.token).isSameAs(token);
                return waitForCancellation(token);
            };
        }

        @GetMapping("/deferred")
        DeferredResult<String> deferred(CancellationToken token) {
            probe.record(token, "deferred");
            DeferredResult<String> result = new DeferredResult<>(MAX_WAIT.toMillis());
            token.onCancel((reason) -> result.setErrorResult(new CancelledException(reason)));
            return result;
        }

        @GetMapping("/future")
        CompletableFuture<String> future(CancellationToken token) {
            probe.record(token, "future");
            return token.whenCancelled().toCompletableFuture().thenApply((reason) -> {
                throw new CancelledException(reason);
            });
        }

        @GetMapping("/streaming")
        StreamingResponseBody streaming(CancellationToken token) {
            return (out) -> {
                probe.record(CancellationToken.current(), "streaming");
                try {
                    while (!token.isCancelled()) {
                        out.write('.');
                        out.flush();
                        token.await(Duration.ofMillis(20));
                    }
                }
                catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
                catch (IOException | RuntimeException ex) {
                    probe.streamFailure = ex;
                    throw ex;
                }
            };
        }

        @GetMapping("/fail")
        String fail(@RequestParam String kind) {
            throw new CancelledException(CancellationReason.of(CancellationReason.Kind.valueOf(kind), "test"));
        }
    }

    @RestController
    @RequestMapping("/capped")
    @RequestTimeout("100ms")
    static class CappedHandlers {

        private final Probe probe;

        CappedHandlers(Probe probe) {
            this.probe = probe;
        }

        @GetMapping("/class")
        String byClass(CancellationToken token) throws InterruptedException {
            probe.record(token, "class");
            return waitForCancellation(token);
        }

        @GetMapping("/method")
        @RequestTimeout("1.5s")
        String byMethod(CancellationToken token) throws InterruptedException {
            probe.record(token, "method");
            return waitForCancellation(token);
        }
    }

    /** A plain client for the running server. */
    static final class Http {

        final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

        final int port;

        Http(ConfigurableApplicationContext context) {
            this.port = ((WebServerApplicationContext) context).getWebServer().getPort();
        }

        HttpResponse<String> get(String path, String... headers) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60));
            if (headers.length > 0) {
                request.headers(headers);
            }
            try {
                return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
            }
            catch (IOException ex) {
                throw new IllegalStateException("GET " + path + " failed", ex);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", ex);
            }
        }

        CompletableFuture<HttpResponse<String>> getAsync(String path, String... headers) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60));
            if (headers.length > 0) {
                request.headers(headers);
            }
            return client.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
        }

        /**
         * Sends a GET on a raw socket and returns the socket, open, for the caller to close
         * mid-request.
         */
        Socket openRaw(String path) throws IOException {
            Socket socket = new Socket("127.0.0.1", port);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return socket;
        }

        /** Reads what a raw socket got until the server closes it. */
        static String readAll(Socket socket) throws IOException {
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
