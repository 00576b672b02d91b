package io.github.cancellation.spring;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.Scope;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.Banner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

/**
 * A small web application for the endpoint tests: two beans, {@code reports} and {@code exports},
 * each with its own bean token, start looping jobs on Boot's {@code applicationTaskExecutor}; the
 * jobs run under task tokens that are children of the bean's token and stop when it is
 * cancelled. Plus a plain HTTP client for the running server.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
class EndpointTestApplication {

    /** Name of the jobs' task tokens, given by the task decorator (the job's class name). */
    static final String JOB = "EndpointTestApplication$Job";

    /** Spring Security's auto-configurations, left out unless a test asks for them. */
    static final String SECURITY_EXCLUDES = "spring.autoconfigure.exclude="
            + "org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration,"
            + "org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration,"
            + "org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterAutoConfiguration,"
            + "org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration,"
            + "org.springframework.boot.security.autoconfigure.actuate.web.servlet.ManagementWebSecurityAutoConfiguration";

    @Bean
    Worker reports(CancellationToken token, ThreadPoolTaskExecutor executor) {
        return new Worker(token, executor);
    }

    @Bean
    Worker exports(CancellationToken token, ThreadPoolTaskExecutor executor) {
        return new Worker(token, executor);
    }

    /**
     * Runs the application on a random port, without Spring Security unless {@code security}.
     */
    static ConfigurableApplicationContext run(boolean security, String... properties) {
        return run(List.of(), security, properties);
    }

    /**
     * Runs the application with more configuration classes.
     */
    static ConfigurableApplicationContext run(List<Class<?>> configurations, boolean security, String... properties) {
        SpringApplication application = new SpringApplication(EndpointTestApplication.class);
        application.addPrimarySources(configurations);
        application.setWebApplicationType(WebApplicationType.SERVLET);
        application.setBannerMode(Banner.Mode.OFF);
        application.setRegisterShutdownHook(false);
        List<String> args = new ArrayList<>();
        args.add("--server.port=0");
        args.add("--spring.main.log-startup-info=false");
        if (!security) {
            args.add("--" + SECURITY_EXCLUDES);
        }
        for (String property : properties) {
            args.add("--" + property);
        }
        return application.run(args.toArray(String[]::new));
    }

    /**
     * A bean that starts jobs under its own token.
     */
    static final class Worker {

        final CancellationToken token;

        private final ThreadPoolTaskExecutor executor;

        final List<Job> jobs = new CopyOnWriteArrayList<>();

        final AtomicInteger callbacks = new AtomicInteger();

        Worker(CancellationToken token, ThreadPoolTaskExecutor executor) {
            this.token = token;
            this.executor = executor;
            token.onCancel((reason) -> callbacks.incrementAndGet());
        }

        /** Starts {@code count} jobs as children of this bean's token, and waits until they run. */
        @SuppressWarnings("try") // the scope is a resource only for its close()
        List<Job> start(int count) throws InterruptedException {
            List<Job> started = new ArrayList<>();
            try (Scope scope = token.bind()) {
                for (int i = 0; i < count; i++) {
                    Job job = new Job();
                    executor.execute(job);
                    started.add(job);
                }
            }
            for (Job job : started) {
                if (!job.started.await(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("job did not start");
                }
            }
            jobs.addAll(started);
            return started;
        }
    }

    /**
     * A cooperative loop: it works in slices until its token is cancelled.
     */
    static final class Job implements Runnable {

        private static final Duration SLICE = Duration.ofMillis(100);

        final CountDownLatch started = new CountDownLatch(1);

        final CountDownLatch ended = new CountDownLatch(1);

        final AtomicInteger callbacks = new AtomicInteger();

        volatile @Nullable CancellationToken token;

        volatile @Nullable CancellationReason reason;

        @Override
        public void run() {
            CancellationToken current = CancellationToken.current();
            token = current;
            current.onCancel((cancelled) -> callbacks.incrementAndGet());
            started.countDown();
            try {
                while (!current.isCancelled()) {
                    current.await(SLICE); // a slice of work: waiting for input, say
                }
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            reason = current.reason().orElseThrow();
            ended.countDown();
        }

        CancellationToken token() {
            CancellationToken current = token;
            if (current == null) {
                throw new IllegalStateException("not started");
            }
            return current;
        }

        boolean awaitEnd(Duration timeout) throws InterruptedException {
            return ended.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * A plain HTTP/1.1 client for the running server.
     */
    static final class Http {

        private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

        private final String base;

        private @Nullable String basicAuth;

        Http(ConfigurableApplicationContext context) {
            this("http://localhost:" + ((WebServerApplicationContext) context).getWebServer().getPort());
        }

        Http(String base) {
            this.base = base;
        }

        Http withBasicAuth(String user, String password) {
            basicAuth = "Basic "
                    + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
            return this;
        }

        HttpResponse<String> get(String path) {
            return send(request(path).GET());
        }

        /**
         * Posts with a plain {@code HttpURLConnection}, about twice as fast as the
         * {@code HttpClient} for many small sequential requests; returns the status and appends
         * the body.
         */
        int postQuickly(String path, @Nullable String jsonBody, StringBuilder responseBody) {
            try {
                HttpURLConnection connection = (HttpURLConnection) URI.create(base + path).toURL().openConnection();
                connection.setRequestMethod("POST");
                connection.setRequestProperty("Content-Type", "application/json");
                connection.setRequestProperty("Accept", "application/json");
                if (basicAuth != null) {
                    connection.setRequestProperty("Authorization", basicAuth);
                }
                if (jsonBody != null) {
                    byte[] bytes = jsonBody.getBytes(StandardCharsets.UTF_8);
                    connection.setDoOutput(true);
                    connection.setFixedLengthStreamingMode(bytes.length);
                    try (OutputStream out = connection.getOutputStream()) {
                        out.write(bytes);
                    }
                }
                int status = connection.getResponseCode();
                InputStream in = (status < 400) ? connection.getInputStream() : connection.getErrorStream();
                if (in != null) {
                    try (in) {
                        responseBody.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                    }
                }
                return status;
            }
            catch (IOException ex) {
                throw new IllegalStateException(ex);
            }
        }

        HttpResponse<String> post(String path, @Nullable String jsonBody) {
            HttpRequest.BodyPublisher body = (jsonBody != null) ? HttpRequest.BodyPublishers.ofString(jsonBody)
                    : HttpRequest.BodyPublishers.noBody();
            return send(request(path).header("Content-Type", "application/json").POST(body));
        }

        private HttpRequest.Builder request(String path) {
            HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(Duration.ofSeconds(10))
                .header("Accept", "application/json");
            if (basicAuth != null) {
                builder.header("Authorization", basicAuth);
            }
            return builder;
        }

        private HttpResponse<String> send(HttpRequest.Builder request) {
            try {
                return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
            }
            catch (IOException ex) {
                throw new IllegalStateException(ex);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(ex);
            }
        }
    }
}
