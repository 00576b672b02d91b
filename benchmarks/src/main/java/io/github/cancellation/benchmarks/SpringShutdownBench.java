package io.github.cancellation.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The Spring part of the benchmarks: starts the shutdown benchmark app, built twice
 * ({@code benchmarks/shutdown-plain}: loops stop on a volatile flag set by a SmartLifecycle;
 * {@code benchmarks/shutdown-starter}: loops stop on their cancellation tokens), as separate
 * JVMs and measures
 * <ol>
 *   <li>shutdown: with 1,000 {@code @Async} loops and a {@code @Scheduled} batch running, the
 *       time from SIGTERM ({@link ProcessHandle#destroy()}) to process exit, and from
 *       {@code POST /actuator/shutdown} to process exit; {@code --runs} runs of each, plain and
 *       starter alternating;
 *   <li>{@code @Async} throughput: invocations per second of a trivial {@code @Async} method
 *       returning a {@code CompletableFuture}, {@code --throughput-jvms} JVMs of each, alternating.
 * </ol>
 * Writes {@code shutdown.md} (Markdown tables: median, min, max, exit codes, ratio starter/plain)
 * and one log per JVM under {@code shutdown-logs/} in {@code --out}. Run by
 * {@code benchmarks/run.sh}; standalone:
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.github.cancellation.benchmarks.SpringShutdownBench \
 *   --plain benchmarks/shutdown-plain/target/shutdown-plain.jar \
 *   --starter benchmarks/shutdown-starter/target/shutdown-starter.jar --out benchmarks/results
 * </pre>
 * Other options: {@code --runs 5}, {@code --exit-timeout 60} (seconds; then SIGKILL and "did not
 * exit"), {@code --ready-timeout 300}, {@code --settle 1000} (ms between READY and the signal),
 * {@code --throughput-jvms 3}, {@code --app-arg X} (repeatable, appended to every app's command line,
 * e.g. {@code --bench.throughput.invocations=50000} or {@code --bench.unit-millis=10}), {@code --jvm-opt X} (repeatable, every app JVM),
 * {@code --label TEXT} (printed at the top, e.g. "smoke run on a loaded machine"),
 * {@code --naive-runs 2} (rounds that also run the no-signal control; 0 for none),
 * {@code --skip-throughput}, {@code --skip-shutdown}.
 */
public final class SpringShutdownBench {

    private static final Pattern STOPPED = Pattern.compile("BENCH STOPPED clean=(\\d+) interrupted=(\\d+) of=(\\d+)");
    private static final Pattern ROUND = Pattern.compile(
            "BENCH THROUGHPUT round=\\d+ invocations=\\d+ seconds=[\\d.]+ ops_per_s=(\\d+) bytes_per_op=(-?\\d+) cpu_ns_per_op=(-?\\d+)");

    enum Path2Exit {
        SIGTERM("SIGTERM"), ACTUATOR("POST /actuator/shutdown");

        final String label;

        Path2Exit(String label) {
            this.label = label;
        }
    }

    /** One app as run: a jar, plus arguments of its own (the naive control is the plain jar in naive mode). */
    record Variant(String name, String label, Path jar, List<String> appArgs) {
    }

    /** One shutdown run. Times in ms from the signal; NaN when the event never came. */
    record Run(int order, Path2Exit path, Variant variant, boolean ready, boolean exited, double exitMillis,
            Integer exitCode, double stoppedMillis, String stoppedCounts, String note) {
    }

    record Round(Variant variant, int jvm, double opsPerSecond, double bytesPerOp, double cpuNanosPerOp) {
    }

    private final Map<String, List<String>> options;
    private final List<Variant> variants;
    /** The control without any stop signal, shutdown part only; null with {@code --naive-runs 0}. */
    private final Variant naive;
    private final int naiveRuns;
    private final Path out;
    private final Path logs;
    private final List<String> jvmOpts;
    private final int runs;
    private final Duration exitTimeout;
    private final Duration readyTimeout;
    private final long settleMillis;
    private final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    /** App JVMs not yet ended: killed if the driver itself is stopped (Ctrl+C), so none is left behind. */
    private final Set<Process> live = ConcurrentHashMap.newKeySet();

    private SpringShutdownBench(Map<String, List<String>> options) {
        this.options = options;
        this.variants = List.of(
                new Variant("plain", "plain (volatile flag)", Path.of(required("plain")).toAbsolutePath(), List.of()),
                new Variant("starter", "starter (token)", Path.of(required("starter")).toAbsolutePath(), List.of()));
        this.naiveRuns = Integer.parseInt(option("naive-runs", "2"));
        this.naive = (naiveRuns > 0) ? new Variant("naive", "plain, no stop signal (control)", variants.get(0).jar(),
                List.of("--bench.plain.naive=true")) : null;
        this.out = Path.of(option("out", "benchmarks/results")).toAbsolutePath();
        this.logs = out.resolve("shutdown-logs");
        this.jvmOpts = options.getOrDefault("jvm-opt", List.of());
        this.runs = Integer.parseInt(option("runs", "5"));
        this.exitTimeout = Duration.ofSeconds(Long.parseLong(option("exit-timeout", "60")));
        this.readyTimeout = Duration.ofSeconds(Long.parseLong(option("ready-timeout", "300")));
        this.settleMillis = Long.parseLong(option("settle", "1000"));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> live.forEach(Process::destroyForcibly), "kill-apps"));
    }

    private Process start(List<String> command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        live.add(process);
        process.onExit().thenRun(() -> live.remove(process));
        return process;
    }

    public static void main(String[] args) throws Exception {
        Map<String, List<String>> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            String key = args[i].substring(2);
            String value = (key.startsWith("skip-")) ? "true" : args[++i];
            options.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        }
        new SpringShutdownBench(options).runAll();
    }

    private String option(String key, String fallback) {
        List<String> values = options.get(key);
        return (values == null) ? fallback : values.get(values.size() - 1);
    }

    private String required(String key) {
        String value = option(key, null);
        if (value == null) {
            throw new IllegalArgumentException("--" + key + " <jar> is required");
        }
        return value;
    }

    private void runAll() throws Exception {
        for (Variant variant : variants) {
            if (!Files.isRegularFile(variant.jar())) {
                throw new IllegalArgumentException(variant.jar() + " does not exist: build it first (see run.sh)");
            }
        }
        Files.createDirectories(logs);
        String loadBefore = loadAverage();
        String started = LocalDateTime.now().format(DateTimeFormatter.ISO_LOCAL_DATE_TIME).substring(0, 19);
        List<Run> shutdownRuns = new ArrayList<>();
        if (!options.containsKey("skip-shutdown")) {
            int order = 0;
            for (int i = 1; i <= runs; i++) {
                for (Path2Exit path : Path2Exit.values()) {
                    List<Variant> cells = new ArrayList<>(variants);
                    if (naive != null && i <= naiveRuns) {
                        cells.add(naive);
                    }
                    for (Variant variant : cells) {
                        Run run = shutdownRun(++order, path, variant, i);
                        log("%s %-8s run %d: %s", path.label, variant.name(), i, describe(run));
                        shutdownRuns.add(run);
                    }
                }
            }
        }
        List<Round> rounds = new ArrayList<>();
        if (!options.containsKey("skip-throughput")) {
            int jvms = Integer.parseInt(option("throughput-jvms", "3"));
            for (int j = 1; j <= jvms; j++) {
                for (Variant variant : variants) {
                    List<Round> jvmRounds = throughputJvm(variant, j);
                    log("throughput %-8s jvm %d: %s", variant.name(), j, jvmRounds.stream()
                            .map(r -> String.format(Locale.ROOT, "%.0f", r.opsPerSecond())).collect(Collectors.joining(" ")));
                    rounds.addAll(jvmRounds);
                }
            }
        }
        String report = report(started, loadBefore, loadAverage(), shutdownRuns, rounds);
        Files.writeString(out.resolve("shutdown.md"), report);
        System.out.print(report);
        log("wrote %s", out.resolve("shutdown.md"));
    }

    // ---------------------------------------------------------------- shutdown

    private Run shutdownRun(int order, Path2Exit path, Variant variant, int index) throws Exception {
        int port = freePort();
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(jvmOpts);
        command.addAll(List.of("-jar", variant.jar().toString(),
                "--spring.profiles.active=shutdown",
                "--server.address=127.0.0.1",
                "--server.port=" + port,
                "--management.endpoints.web.exposure.include=health,shutdown",
                "--management.endpoint.shutdown.access=unrestricted"));
        command.addAll(variant.appArgs());
        command.addAll(options.getOrDefault("app-arg", List.of()));
        Path logFile = logs.resolve(String.format("%02d-%s-%s.log", order, path.name().toLowerCase(Locale.ROOT), variant.name()));
        Process process = start(command);
        Watcher watcher = new Watcher(process, logFile, String.join(" ", command));
        watcher.start();
        if (!watcher.awaitReady(readyTimeout)) {
            process.destroyForcibly().waitFor();
            watcher.join();
            return new Run(order, path, variant, false, false, Double.NaN, null, Double.NaN, "",
                    "never READY (see " + logs.relativize(logFile) + ")");
        }
        // One request first, in both paths: the app initialises its DispatcherServlet and JSON writer on the first
        // request, and the driver's HttpClient warms up, so neither is timed in the actuator path.
        int health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health"))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        Thread.sleep(settleMillis);
        String note = (health == 200) ? "" : "health answered " + health;
        long signal = System.nanoTime();
        watcher.mark(signal, path.label);
        if (path == Path2Exit.SIGTERM) {
            // SIGTERM. Not Process.destroy(): that also closes the streams, and the app's last lines would be lost.
            process.toHandle().destroy();
        }
        else {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/actuator/shutdown"))
                    .timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            note = (note.isEmpty() ? "" : note + "; ") + "HTTP " + response.statusCode() + " after "
                    + millis(signal, System.nanoTime()) + " ms";
            if (response.statusCode() != 200) {
                note += ": " + response.body();
            }
        }
        boolean exited = process.waitFor(exitTimeout.toMillis(), TimeUnit.MILLISECONDS);
        long end = System.nanoTime();
        Integer exitCode = null;
        if (exited) {
            exitCode = process.exitValue();
        }
        else {
            process.destroyForcibly().waitFor();
            note = (note.isEmpty() ? "" : note + "; ") + "did not exit in " + exitTimeout.toSeconds() + " s: killed";
        }
        watcher.join();
        double stopped = (watcher.stoppedAt == 0) ? Double.NaN : (watcher.stoppedAt - signal) / 1e6;
        return new Run(order, path, variant, true, exited, exited ? (end - signal) / 1e6 : Double.NaN, exitCode,
                stopped, watcher.stoppedCounts, note);
    }

    private static String describe(Run run) {
        if (!run.ready()) {
            return run.note();
        }
        return (run.exited() ? String.format(Locale.ROOT, "exit %.0f ms, code %d", run.exitMillis(), run.exitCode()) : "did not exit")
                + (Double.isNaN(run.stoppedMillis()) ? ", loops never all stopped"
                        : String.format(Locale.ROOT, ", loops stopped at %.0f ms (%s)", run.stoppedMillis(), run.stoppedCounts()))
                + (run.note().isEmpty() ? "" : ", " + run.note());
    }

    /** Drains one app's output into its log and notes when READY and STOPPED came. */
    private static final class Watcher extends Thread {

        private final Process process;
        private final Path logFile;
        private final String command;
        private final CountDownLatch ready = new CountDownLatch(1);
        private final long born = System.nanoTime();
        private volatile long stoppedAt;
        private volatile String stoppedCounts = "";
        private final List<String> marks = new ArrayList<>();

        Watcher(Process process, Path logFile, String command) {
            super("watch-" + logFile.getFileName());
            setDaemon(true);
            this.process = process;
            this.logFile = logFile;
            this.command = command;
        }

        synchronized void mark(long nanos, String what) {
            marks.add(String.format(Locale.ROOT, "[driver %9.1f ms] --- %s sent", (nanos - born) / 1e6, what));
        }

        @Override
        public void run() {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                    PrintWriter log = new PrintWriter(Files.newBufferedWriter(logFile))) {
                log.println("$ " + command);
                String line;
                while ((line = reader.readLine()) != null) {
                    long now = System.nanoTime();
                    synchronized (this) {
                        marks.forEach(log::println);
                        marks.clear();
                    }
                    log.printf(Locale.ROOT, "[driver %9.1f ms] %s%n", (now - born) / 1e6, line);
                    if (line.startsWith("BENCH READY")) {
                        ready.countDown();
                    }
                    Matcher stopped = STOPPED.matcher(line);
                    if (stopped.find()) {
                        stoppedAt = now;
                        stoppedCounts = stopped.group(1) + " clean, " + stopped.group(2) + " interrupted, of " + stopped.group(3);
                    }
                }
                log.printf(Locale.ROOT, "[driver %9.1f ms] --- end of output%n", (System.nanoTime() - born) / 1e6);
            }
            catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            finally {
                ready.countDown();
            }
        }

        /** True once READY came; false if the app ended or the time ran out first. */
        boolean awaitReady(Duration timeout) throws InterruptedException {
            return ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && process.isAlive();
        }
    }

    // ---------------------------------------------------------------- throughput

    private List<Round> throughputJvm(Variant variant, int jvm) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(jvmOpts);
        command.addAll(List.of("-jar", variant.jar().toString(), "--spring.profiles.active=throughput"));
        command.addAll(options.getOrDefault("app-arg", List.of()));
        Path logFile = logs.resolve(String.format("throughput-%d-%s.log", jvm, variant.name()));
        Process process = start(command);
        List<Round> rounds = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                PrintWriter log = new PrintWriter(Files.newBufferedWriter(logFile))) {
            log.println("$ " + String.join(" ", command));
            String line;
            while ((line = reader.readLine()) != null) {
                log.println(line);
                Matcher round = ROUND.matcher(line);
                if (round.find()) {
                    rounds.add(new Round(variant, jvm, Double.parseDouble(round.group(1)), Double.parseDouble(round.group(2)),
                            Double.parseDouble(round.group(3))));
                }
            }
        }
        if (!process.waitFor(10, TimeUnit.MINUTES)) {
            process.destroyForcibly();
        }
        if (rounds.isEmpty()) {
            log("throughput %s jvm %d: no rounds reported (exit %s), see %s", variant.name(), jvm,
                    process.isAlive() ? "-" : process.exitValue(), logFile);
        }
        return rounds;
    }

    // ---------------------------------------------------------------- report

    private String report(String started, String loadBefore, String loadAfter, List<Run> shutdownRuns, List<Round> rounds) {
        StringBuilder md = new StringBuilder();
        md.append("## Spring Boot: shutdown with 1,000 in-flight @Async tasks, and @Async throughput\n\n");
        String label = option("label", "");
        if (!label.isEmpty()) {
            md.append("> **").append(label).append("**\n\n");
        }
        md.append("Generated by `SpringShutdownBench` (`benchmarks/run.sh`), started ").append(started).append(".\n\n");
        md.append("- Machine: ").append(cpu()).append(", ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores; load average before ").append(loadBefore).append(", after ").append(loadAfter).append('\n');
        md.append("- JVM of the apps: ").append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.runtime.version"))
                .append(jvmOpts.isEmpty() ? ", default options" : ", options `" + String.join(" ", jvmOpts) + "`").append('\n');
        md.append("- Apps: Spring Boot ").append(bootVersion(variants.get(0).jar()))
                .append(", the same sources (`benchmarks/spring-app`) built twice: `shutdown-plain.jar` (no starter) and "
                        + "`shutdown-starter.jar` (`cancellation-spring-boot-starter`), Boot defaults otherwise "
                        + "(30 s per shutdown phase, graceful Tomcat shutdown).\n");
        List<String> appArgs = options.getOrDefault("app-arg", List.of());
        if (!appArgs.isEmpty()) {
            md.append("- Extra app arguments (every app JVM): `").append(String.join(" ", appArgs)).append("`\n");
        }
        md.append("- Load: 1,000 `@Async` loops (`spring.task.execution.pool.core-size=1000`, one pool thread each) and one "
                + "`@Scheduled(fixedDelay)` batch, each a loop of 50 ms units (a sleep) that checks its stop signal between "
                + "units. Plain: a `volatile boolean` set by a `SmartLifecycle` at phase `Integer.MAX_VALUE - 3072` (after the "
                + "web server, before the executors' phase wait). Starter: `CancellationToken.current().isCancelled()`; the "
                + "starter cancels the application token at the same phase.\n");
        if (naive != null) {
            md.append("- Control (in the first ").append(naiveRuns).append(" round(s) only, `--naive-runs`): the plain jar with "
                    + "`--bench.plain.naive=true`: the flag is never set and the loops swallow `InterruptedException`, as "
                    + "a loop with no stop signal does; Spring's executor phase waits its 30 s for them, and after "
                    + "`/actuator/shutdown` their non-daemon pool threads keep the JVM alive.\n");
        }
        md.append("- Each run: a fresh JVM on a free port (`--spring.profiles.active=shutdown "
                + "--management.endpoints.web.exposure.include=health,shutdown --management.endpoint.shutdown.access=unrestricted`), "
                + "wait for `BENCH READY` (all 1,000 loops and the batch running), one `GET /actuator/health` (so that "
                + "neither the app's first-request initialisation nor the driver's HTTP client warm-up is timed), ")
                .append(settleMillis).append(" ms more, then the signal (SIGTERM: `ProcessHandle.destroy()`). Time = signal sent by the driver to process exit seen by "
                        + "`Process.waitFor`; \"loops stopped\" = the app's `BENCH STOPPED` line (every loop and the batch "
                        + "ended) as received by the driver. ").append(runs).append(" runs per cell; order per round: SIGTERM "
                        + "plain, SIGTERM starter[, SIGTERM control], actuator plain, actuator starter[, actuator control]. After ").append(exitTimeout.toSeconds())
                .append(" s a JVM that has not exited is killed (\"did not exit\").\n");
        md.append("- `POST /actuator/shutdown`: Boot's `ShutdownEndpoint` answers at once and calls `context.close()` "
                + "after a fixed 500 ms sleep, and never calls `System.exit`: the process ends when no non-daemon thread is "
                + "left. The 500 ms are included in both apps' times.\n\n");

        if (!shutdownRuns.isEmpty()) {
            md.append("### Shutdown: signal to process exit\n\n");
            md.append("| shutdown path | app | median ms | min ms | max ms | exited | exit codes | loops all stopped, median ms after signal | ended cleanly (all runs) |\n");
            md.append("| --- | --- | ---: | ---: | ---: | --- | --- | ---: | --- |\n");
            for (Path2Exit path : Path2Exit.values()) {
                Map<String, double[]> medians = new LinkedHashMap<>();
                List<Variant> rows = new ArrayList<>(variants);
                if (naive != null) {
                    rows.add(naive);
                }
                for (Variant variant : rows) {
                    List<Run> cell = shutdownRuns.stream().filter(r -> r.path() == path && r.variant() == variant).toList();
                    if (cell.isEmpty()) {
                        continue;
                    }
                    double[] exit = cell.stream().mapToDouble(r -> r.exited() ? r.exitMillis() : Double.POSITIVE_INFINITY).toArray();
                    double[] stopped = cell.stream()
                            .mapToDouble(r -> Double.isNaN(r.stoppedMillis()) ? Double.POSITIVE_INFINITY : r.stoppedMillis()).toArray();
                    medians.put(variant.name(), new double[] {median(exit), median(stopped)});
                    long exitedCount = cell.stream().filter(Run::exited).count();
                    String codes = cell.stream().map(r -> r.exitCode() == null ? "killed" : r.exitCode().toString())
                            .collect(Collectors.toCollection(TreeSet::new)).toString();
                    String clean = cell.stream().map(Run::stoppedCounts).map(s -> s.isEmpty() ? "-" : s).distinct()
                            .collect(Collectors.joining("; "));
                    md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %d/%d | %s | %s | %s |%n", path.label,
                            variant.label(), ms(median(exit)), ms(min(exit)), ms(max(exit)), exitedCount, cell.size(),
                            codes.substring(1, codes.length() - 1), ms(median(stopped)), clean));
                    if (variant.name().equals("starter") && medians.containsKey("plain")) {
                        double[] plain = medians.get("plain");
                        double[] starter = medians.get("starter");
                        md.append(String.format(Locale.ROOT, "| %s | **ratio starter / plain** | **%s** | | | | | %s | |%n",
                                path.label, ratio(starter[0], plain[0]), ratio(starter[1], plain[1])));
                    }
                }
            }
            md.append('\n');
        }

        if (!rounds.isEmpty()) {
            md.append("### @Async invocation throughput\n\n");
            md.append("A trivial `@Async` method returning `CompletableFuture.completedFuture(i)` on Boot's default "
                    + "`applicationTaskExecutor` (8 threads, unbounded queue), no web server: per round one thread submits "
                    + "N invocations, then joins them all. Each JVM runs unreported warm-up rounds, then reports rounds; "
                    + "JVMs alternate plain/starter. B/invocation = bytes allocated by all threads during a round / N "
                    + "(`ThreadMXBean`); CPU/invocation = the process's CPU time during a round / N "
                    + "(`OperatingSystemMXBean.getProcessCpuTime`, all threads, JIT and GC included): steadier than the "
                    + "rate, which swings with how the 8 pool threads and the submitter share the 2 cores.");
            md.append(" Defaults: N = 200,000, 10 warm-up + 20 reported rounds per JVM (`bench.throughput.*`; see the "
                    + "extra app arguments above).\n\n");
            md.append("| app | median invocations/s | min | max | B/invocation (median) | CPU ns/invocation (median) | rounds (JVMs) |\n");
            md.append("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
            Map<String, Double> medians = new LinkedHashMap<>();
            for (Variant variant : variants) {
                List<Round> cell = rounds.stream().filter(r -> r.variant() == variant).toList();
                double[] ops = cell.stream().mapToDouble(Round::opsPerSecond).toArray();
                double[] bytes = cell.stream().mapToDouble(Round::bytesPerOp).toArray();
                double[] cpu = cell.stream().mapToDouble(Round::cpuNanosPerOp).toArray();
                medians.put(variant.name(), median(ops));
                md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %d (%d) |%n", variant.label(),
                        count(median(ops)), count(min(ops)), count(max(ops)), count(median(bytes)), count(median(cpu)),
                        cell.size(),
                        cell.stream().mapToInt(Round::jvm).distinct().count()));
            }
            md.append(String.format(Locale.ROOT, "| **ratio starter / plain** | **%s** | | | %s | %s | |%n%n",
                    ratio(medians.get("starter"), medians.get("plain")),
                    ratio(median(rounds.stream().filter(r -> r.variant() == variants.get(1)).mapToDouble(Round::bytesPerOp).toArray()),
                            median(rounds.stream().filter(r -> r.variant() == variants.get(0)).mapToDouble(Round::bytesPerOp).toArray())),
                    ratio(median(rounds.stream().filter(r -> r.variant() == variants.get(1)).mapToDouble(Round::cpuNanosPerOp).toArray()),
                            median(rounds.stream().filter(r -> r.variant() == variants.get(0)).mapToDouble(Round::cpuNanosPerOp).toArray()))));
        }

        md.append("### Goals (issue 8)\n\n");
        if (!shutdownRuns.isEmpty()) {
            double[] sigterm = exitTimes(shutdownRuns, Path2Exit.SIGTERM, "starter");
            long actuatorExited = shutdownRuns.stream()
                    .filter(r -> r.path() == Path2Exit.ACTUATOR && r.variant().name().equals("starter") && r.exited()).count();
            long actuatorRuns = shutdownRuns.stream()
                    .filter(r -> r.path() == Path2Exit.ACTUATOR && r.variant().name().equals("starter")).count();
            md.append(String.format(Locale.ROOT, "- Starter, SIGTERM to exit under 500 ms: median %s ms: **%s**.%n",
                    ms(median(sigterm)), median(sigterm) < 500 ? "met" : "missed"));
            md.append(String.format(Locale.ROOT, "- Starter, the process exits after `/actuator/shutdown`: %d of %d runs: **%s**.%n",
                    actuatorExited, actuatorRuns, actuatorExited == actuatorRuns && actuatorRuns > 0 ? "met" : "missed"));
            if (naive != null) {
                double[] naiveSigterm = exitTimes(shutdownRuns, Path2Exit.SIGTERM, naive.name());
                double[] naiveActuator = exitTimes(shutdownRuns, Path2Exit.ACTUATOR, naive.name());
                long naiveExited = Arrays.stream(naiveActuator).filter(Double::isFinite).count();
                md.append(String.format(Locale.ROOT, "- For comparison, the no-signal control: SIGTERM to exit median %s ms "
                        + "(starter / control %s); after `/actuator/shutdown` it exited in %d of %d runs.%n",
                        ms(median(naiveSigterm)), ratio(median(sigterm), median(naiveSigterm)), naiveExited,
                        naiveActuator.length));
            }
        }
        if (!rounds.isEmpty()) {
            double[] plain = rounds.stream().filter(r -> r.variant() == variants.get(0)).mapToDouble(Round::opsPerSecond).toArray();
            double[] starter = rounds.stream().filter(r -> r.variant() == variants.get(1)).mapToDouble(Round::opsPerSecond).toArray();
            double r = median(starter) / median(plain);
            md.append(String.format(Locale.ROOT, "- `@Async` throughput with the starter at least 0.95x plain: %.2fx: **%s**.%n",
                    r, r >= 0.95 ? "met" : "missed"));
        }
        md.append('\n');

        if (!shutdownRuns.isEmpty()) {
            md.append("<details><summary>Every shutdown run, in order (logs in <code>results/shutdown-logs/</code>)</summary>\n\n");
            md.append("| # | path | app | exit ms | exit code | loops stopped ms | ended | note |\n");
            md.append("| ---: | --- | --- | ---: | --- | ---: | --- | --- |\n");
            for (Run run : shutdownRuns) {
                md.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s | %s | %s | %s |%n", run.order(), run.path().label,
                        run.variant().name(), run.exited() ? ms(run.exitMillis()) : (run.ready() ? "did not exit" : "-"),
                        run.exitCode() == null ? "-" : run.exitCode(), ms(run.stoppedMillis()),
                        run.stoppedCounts().isEmpty() ? "-" : run.stoppedCounts(), run.note()));
            }
            md.append("\n</details>\n");
        }
        return md.toString();
    }

    private static double[] exitTimes(List<Run> runs, Path2Exit path, String variant) {
        return runs.stream().filter(r -> r.path() == path && r.variant().name().equals(variant))
                .mapToDouble(r -> r.exited() ? r.exitMillis() : Double.POSITIVE_INFINITY).toArray();
    }

    // ---------------------------------------------------------------- helpers

    /** The median; an even count takes the mean of the middle two. Infinity stands for "never". */
    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return (sorted.length % 2 == 1) ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static double min(double[] values) {
        return Arrays.stream(values).min().orElse(Double.NaN);
    }

    private static double max(double[] values) {
        return Arrays.stream(values).max().orElse(Double.NaN);
    }

    private static String ms(double millis) {
        if (Double.isNaN(millis)) {
            return "-";
        }
        if (Double.isInfinite(millis)) {
            return "never";
        }
        return String.format(Locale.ROOT, "%,.0f", millis);
    }

    private static String count(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%,.0f", value);
    }

    private static String ratio(double ours, double base) {
        if (Double.isNaN(ours) || Double.isNaN(base) || Double.isInfinite(ours) || Double.isInfinite(base) || base == 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2f", ours / base);
    }

    private static long millis(long from, long to) {
        return (to - from) / 1_000_000;
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return fields[0] + " " + fields[1] + " " + fields[2];
        }
        catch (IOException | RuntimeException ex) {
            return "n/a";
        }
    }

    static String cpu() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse(System.getProperty("os.arch"))
                    + ", " + System.getProperty("os.name") + " " + System.getProperty("os.version");
        }
        catch (IOException ex) {
            return System.getProperty("os.arch") + ", " + System.getProperty("os.name");
        }
    }

    static String bootVersion(Path jar) {
        try (JarFile file = new JarFile(jar.toFile())) {
            String version = file.getManifest().getMainAttributes().getValue("Spring-Boot-Version");
            return (version == null) ? "?" : version;
        }
        catch (IOException ex) {
            return "?";
        }
    }

    private static void log(String format, Object... args) {
        System.err.println("[spring-bench] " + String.format(Locale.ROOT, format, args));
    }
}
