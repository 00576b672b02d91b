package io.github.cancellation.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The packaged demo ({@code java -jar} on the repackaged jar) running as a separate JVM on a
 * random port, with its console output collected line by line, and a small HTTP client for it.
 */
final class DemoProcess implements AutoCloseable {

    private static final Pattern PORT = Pattern.compile("Tomcat started on port (\\d+)");

    private final String label;

    private final Process process;

    private final Thread reader;

    private final List<String> lines = new ArrayList<>();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private int port;

    private DemoProcess(String label, Process process) {
        this.label = label;
        this.process = process;
        this.reader = new Thread(this::readOutput, "demo-output-" + label);
        this.reader.setDaemon(true);
        this.reader.start();
    }

    /**
     * Starts the demo jar with {@code server.port=0} and the given application arguments, and
     * waits until its port is known and readiness is {@code UP}.
     */
    static DemoProcess start(String label, String... arguments) throws IOException {
        return start(label, Platform.baseline(), arguments);
    }

    /**
     * Starts the demo jar on the given platform (JVM, JVM options, application arguments) with
     * {@code server.port=0} and the given application arguments, and waits until its port is
     * known and readiness is {@code UP}.
     */
    static DemoProcess start(String label, Platform platform, String... arguments) throws IOException {
        Path jar = Path.of(System.getProperty("demo.jar", "target/cancellation-demo-app-0.1.0-SNAPSHOT.jar"));
        assertThat(jar).as("the repackaged demo jar (run after 'package': mvn verify)").isRegularFile();
        List<String> command = new ArrayList<>(platform.command(jar));
        command.addAll(List.of("--server.port=0", "--spring.output.ansi.enabled=never"));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        DemoProcess demo = new DemoProcess(label, process);
        try {
            Matcher port = demo.awaitLine(PORT, Duration.ofSeconds(60));
            demo.port = Integer.parseInt(port.group(1));
            await("readiness UP").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                .until(() -> demo.isReady());
        }
        catch (RuntimeException | Error ex) {
            demo.close();
            demo.dump();
            throw ex;
        }
        return demo;
    }

    private void readOutput() {
        try (BufferedReader in = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                synchronized (lines) {
                    lines.add(line);
                }
            }
        }
        catch (IOException ex) {
            // the process is gone
        }
    }

    private boolean isReady() {
        try {
            HttpResponse<String> response = get("/actuator/health/readiness");
            return response.statusCode() == 200 && response.body().contains("\"UP\"");
        }
        catch (IOException ex) {
            return false;
        }
    }

    /** Waits until a line of the output matches, failing early if the process ends. */
    Matcher awaitLine(Pattern pattern, Duration timeout) {
        Matcher[] found = new Matcher[1];
        await("a line matching " + pattern).atMost(timeout).pollInterval(Duration.ofMillis(20)).until(() -> {
            Optional<Matcher> match = find(pattern);
            if (match.isPresent()) {
                found[0] = match.get();
                return true;
            }
            if (!process.isAlive()) {
                throw new AssertionError("the demo ended (exit status " + process.exitValue()
                        + ") before printing a line matching " + pattern);
            }
            return false;
        });
        return found[0];
    }

    Matcher awaitLine(String regex) {
        return awaitLine(Pattern.compile(regex), Duration.ofSeconds(10));
    }

    Optional<Matcher> find(Pattern pattern) {
        for (String line : lines()) {
            Matcher matcher = pattern.matcher(line);
            if (matcher.find()) {
                return Optional.of(matcher);
            }
        }
        return Optional.empty();
    }

    List<String> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    /** The output from the first line that contains {@code marker} on (empty if none does). */
    List<String> linesFrom(String marker) {
        List<String> all = lines();
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).contains(marker)) {
                return all.subList(i, all.size());
            }
        }
        return List.of();
    }

    HttpResponse<String> get(String path) throws IOException {
        return send(HttpRequest.newBuilder(uri(path)).GET());
    }

    HttpResponse<String> get(String path, String header, String value) throws IOException {
        return send(HttpRequest.newBuilder(uri(path)).header(header, value).GET());
    }

    /** Sends a GET without waiting for its answer (at most {@code timeout}). */
    java.util.concurrent.CompletableFuture<HttpResponse<String>> getAsync(String path, Duration timeout) {
        return http.sendAsync(HttpRequest.newBuilder(uri(path)).timeout(timeout).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path) throws IOException {
        return send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.noBody()));
    }

    HttpResponse<String> delete(String path) throws IOException {
        return send(HttpRequest.newBuilder(uri(path)).DELETE());
    }

    private URI uri(String path) {
        return URI.create("http://localhost:" + port + path);
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws IOException {
        try {
            return http.send(request.timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IOException(ex);
        }
    }

    /**
     * Sends SIGTERM (on Linux and macOS). Through the process handle, not {@link Process#destroy()}:
     * that one also closes this side's pipes, so what the demo prints while it stops would be lost.
     */
    void sigterm() {
        assertThat(process.toHandle().destroy()).as("SIGTERM sent").isTrue();
    }

    Process process() {
        return process;
    }

    /** Waits for the output to be read to its end, once the process has exited. */
    void awaitOutputEnd() throws InterruptedException {
        reader.join(TimeUnit.SECONDS.toMillis(5));
    }

    /** Prints the whole output, prefixed with the label. */
    void dump() {
        System.out.println("---- output of the demo (" + label + ") ----");
        lines().forEach(line -> System.out.println("[" + label + "] " + line));
        System.out.println("---- end of the output of the demo (" + label + ") ----");
    }

    void print(List<String> part) {
        part.forEach(line -> System.out.println("[" + label + "] " + line));
    }

    /** Kills the process if it is still running. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
