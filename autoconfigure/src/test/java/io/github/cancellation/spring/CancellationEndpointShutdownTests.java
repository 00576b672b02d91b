package io.github.cancellation.spring;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.EndpointTestApplication.Http;
import io.github.cancellation.spring.EndpointTestApplication.Job;
import io.github.cancellation.spring.EndpointTestApplication.Worker;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code POST /actuator/shutdown} closes the context from a thread of its own, which runs the
 * same cancel-and-drain as SIGTERM: tracked tasks observe {@code SHUTDOWN} once, the context
 * closes within the drain timeout, and no non-daemon thread of the application is left, so the
 * process exits on its own (checked in a child JVM too).
 */
@ExtendWith(OutputCaptureExtension.class)
class CancellationEndpointShutdownTests {

    private static final String[] SHUTDOWN_EXPOSED = { "management.endpoints.web.exposure.include=health,shutdown",
            "management.endpoint.shutdown.access=unrestricted", "cancellation.shutdown.drain-timeout=5s" };

    @Test
    void actuatorShutdownShouldCancelOnceDrainAndLeaveNoNonDaemonThread(CapturedOutput output)
            throws InterruptedException {
        Set<Thread> before = nonDaemonThreads();
        ConfigurableApplicationContext context = EndpointTestApplication.run(false, SHUTDOWN_EXPOSED);
        CancellationToken application = context.getBean(CancellationToken.class);
        AtomicInteger applicationCancels = new AtomicInteger();
        application.onCancel((reason) -> applicationCancels.incrementAndGet());
        ApplicationAvailability availability = context.getBean(ApplicationAvailability.class);
        List<Job> jobs = new ArrayList<>(context.getBean("reports", Worker.class).start(2));
        jobs.addAll(context.getBean("exports", Worker.class).start(2));
        Set<Thread> running = nonDaemonThreads();
        running.removeAll(before);

        long start = System.nanoTime();
        HttpResponse<String> shutdown = new Http(context).post("/actuator/shutdown", null);
        for (Job job : jobs) {
            assertThat(job.awaitEnd(Duration.ofSeconds(10))).as("job ended").isTrue();
        }
        awaitClosed(context, Duration.ofSeconds(10));
        Duration shutdownTime = Duration.ofNanos(System.nanoTime() - start);

        System.out.println("Actuator shutdown with 4 looping tasks: context closed " + shutdownTime.toMillis()
                + " ms after POST /actuator/shutdown (the endpoint waits 500 ms before closing); non-daemon "
                + "threads the application had started: " + names(running));
        assertThat(shutdown.statusCode()).isEqualTo(200);
        assertThat(shutdownTime).isLessThan(Duration.ofSeconds(5));
        assertThat(applicationCancels).as("one cancel").hasValue(1);
        assertThat(application.reason()).map(CancellationReason::kind).contains(CancellationReason.Kind.SHUTDOWN);
        assertThat(jobs).allSatisfy((job) -> assertThat(job.reason.kind()).isEqualTo(CancellationReason.Kind.SHUTDOWN));
        assertThat(output.getOut().split("Shutdown drain: cancelled 'application'", -1)).as("one drain").hasSize(2);
        assertThat(output).contains("the 4 tracked task(s) in flight ended in");
        assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.REFUSING_TRAFFIC);
        Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            Set<Thread> left = newNonDaemonThreads(before);
            assertThat(left).as("non-daemon threads left by the application: %s", names(left)).isEmpty();
        });
    }

    @Test
    void actuatorShutdownShouldLetTheProcessExitOnItsOwn() throws Exception {
        ProcessBuilder builder = new ProcessBuilder(javaCommand(), "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp",
                classPath(), ShutdownMain.class.getName());
        builder.redirectErrorStream(true);
        Process process = builder.start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        List<String> all = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> readLines(process, lines, all));
        try {
            int port = awaitPort(lines, Duration.ofSeconds(60));

            long start = System.nanoTime();
            HttpResponse<String> shutdown = new Http("http://localhost:" + port).post("/actuator/shutdown", null);
            boolean exited = process.waitFor(20, TimeUnit.SECONDS);
            Duration exitTime = Duration.ofNanos(System.nanoTime() - start);

            reader.get(5, TimeUnit.SECONDS);
            String log = String.join("\n", all);
            System.out.println("Child JVM exited " + exitTime.toMillis() + " ms after POST /actuator/shutdown");
            assertThat(shutdown.statusCode()).isEqualTo(200);
            assertThat(exited).as("the process exits on its own; its output:%n%s", log).isTrue();
            assertThat(process.exitValue()).isZero();
            assertThat(log).contains("Shutdown drain: cancelled 'application'; the 4 tracked task(s) in flight ended")
                .contains("jobs ended: SHUTDOWN x4");
        }
        finally {
            process.destroyForcibly();
        }
    }

    /**
     * The child JVM: the test application with four looping tasks on Boot's executor, and a
     * thread that reports how they ended. It never calls {@code System.exit}: it ends when its
     * last non-daemon thread does.
     */
    static final class ShutdownMain {

        public static void main(String[] args) throws InterruptedException {
            ConfigurableApplicationContext context = EndpointTestApplication.run(false, SHUTDOWN_EXPOSED);
            List<Job> jobs = new ArrayList<>(context.getBean("reports", Worker.class).start(2));
            jobs.addAll(context.getBean("exports", Worker.class).start(2));
            Thread reporter = new Thread(() -> {
                for (Job job : jobs) {
                    try {
                        job.ended.await();
                    }
                    catch (InterruptedException ex) {
                        return;
                    }
                }
                System.out.println("jobs ended: " + jobs.stream()
                    .map((job) -> job.reason.kind().name())
                    .collect(Collectors.groupingBy((kind) -> kind, Collectors.counting()))
                    .entrySet()
                    .stream()
                    .map((entry) -> entry.getKey() + " x" + entry.getValue())
                    .collect(Collectors.joining(", ")));
            }, "job-reporter");
            reporter.start();
            System.out.println("PORT=" + ((WebServerApplicationContext) context).getWebServer().getPort());
        }
    }

    // ---------------------------------------------------------------- helpers

    private static void awaitClosed(ConfigurableApplicationContext context, Duration timeout) {
        Awaitility.await("context closed").atMost(timeout).until(() -> !context.isActive());
    }

    private static Set<Thread> nonDaemonThreads() {
        return Thread.getAllStackTraces()
            .keySet()
            .stream()
            .filter((thread) -> !thread.isDaemon() && thread.isAlive())
            .collect(Collectors.toSet());
    }

    private static Set<Thread> newNonDaemonThreads(Set<Thread> before) {
        Set<Thread> left = nonDaemonThreads();
        left.removeAll(before);
        left.remove(Thread.currentThread());
        return left;
    }

    private static String names(Set<Thread> threads) {
        return threads.stream().map(Thread::getName).sorted().collect(Collectors.joining(", ", "[", "]"));
    }

    private static String javaCommand() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }

    private static String classPath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    private static void readLines(Process process, BlockingQueue<String> lines, List<String> all) {
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                all.add(line);
                lines.add(line);
            }
        }
        catch (IOException ex) {
            all.add("(output unreadable: " + ex + ")");
        }
    }

    private static int awaitPort(BlockingQueue<String> lines, Duration timeout) throws InterruptedException {
        Pattern port = Pattern.compile("^PORT=(\\d+)$");
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null) {
                seen.add(line);
                Matcher matcher = port.matcher(line);
                if (matcher.matches()) {
                    return Integer.parseInt(matcher.group(1));
                }
            }
        }
        throw new AssertionError("the child application did not start:\n" + String.join("\n", seen));
    }
}
