package io.github.cancellation.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The request token overhead benchmark (issue 13): a hello-world Spring MVC app on Tomcat
 * ({@code benchmarks/web-mvc}) and a hello-world WebFlux app on Reactor Netty
 * ({@code benchmarks/web-webflux}), both built with the starter, each run with the starter on (as
 * is) and off ({@code --cancellation.enabled=false}, which switches off every auto-configuration of
 * the starter, the request token filters included), under a closed-loop load of
 * {@code GET /hello} from this JVM ({@link HttpLoad}: raw-socket HTTP/1.1 keep-alive connections).
 *
 * <p>Every app runs in its own JVM on a free loopback port. Before it is loaded, the driver checks
 * that it is what it claims to be: on, a filter bean of the starter exists and {@code GET /probe}
 * sees a request token; off, neither. Then per JVM: {@code --warmup} seconds of unreported load,
 * then {@code --rounds} rounds of {@code --round-seconds} (each also bounded by
 * {@code --max-requests}), each reporting requests per second, latency percentiles, errors, the
 * app's CPU time per request and the CPU share of other processes on the machine (from
 * {@code /proc/stat}). {@code --jvms} JVMs per configuration, off and on alternating (off first in
 * odd rounds, on first in even ones).
 *
 * <p>Writes {@code web.json} (every JVM and round; {@code benchmarks/scripts/report.py} turns it
 * into the "Request tokens: overhead" section of {@code BENCHMARKS.md}) and one log per app JVM
 * under {@code web-logs/} in {@code --out}. Run by {@code benchmarks/run.sh}; standalone:
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.github.cancellation.benchmarks.WebOverheadBench \
 *   --mvc benchmarks/web-mvc/target/web-mvc.jar \
 *   --webflux benchmarks/web-webflux/target/web-webflux.jar --out benchmarks/results
 * </pre>
 * Other options (defaults in brackets): {@code --jvms 3}, {@code --warmup 10} (s),
 * {@code --rounds 5}, {@code --round-seconds 3}, {@code --max-requests 2000000} (per round),
 * {@code --connections 16}, {@code --ready-timeout 120} (s), {@code --stacks mvc,webflux},
 * {@code --jvm-opt X} (repeatable, every app JVM), {@code --app-arg X} (repeatable, every app's
 * command line), {@code --label TEXT}.
 */
public final class WebOverheadBench {

    /** A web stack and the app that runs it. */
    enum Stack {
        MVC("mvc", "Spring MVC (Tomcat)", "hello"), WEBFLUX("webflux", "WebFlux (Reactor Netty)", "hello");

        final String id;
        final String label;
        final String body;

        Stack(String id, String label, String body) {
            this.id = id;
            this.label = label;
            this.body = body;
        }
    }

    /** One measured round of one JVM, with the CPU the app, this driver and everything else used. */
    record Round(HttpLoad.Result load, double appCpuNanosPerRequest, double driverCpuNanosPerRequest,
            double machineBusy, double othersBusy) {
    }

    /** One app JVM. {@code note} says what went wrong, if anything; {@code valid} that it was measured. */
    record Run(int order, Stack stack, boolean on, int jvm, double readySeconds, String filters, String probe,
            boolean valid, String note, HttpLoad.Result warmup, List<Round> rounds) {
    }

    private static final int SOCKET_TIMEOUT_MILLIS = 10_000;

    private final Map<String, List<String>> options;
    private final Map<Stack, Path> jars = new LinkedHashMap<>();
    private final Path out;
    private final Path logs;
    private final List<String> jvmOpts;
    private final List<String> appArgs;
    private final int jvms;
    private final Duration warmup;
    private final int rounds;
    private final Duration roundTime;
    private final long maxRequests;
    private final int connections;
    private final Duration readyTimeout;
    private final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    /** App JVMs not yet ended: killed if the driver itself is stopped (Ctrl+C), so none is left behind. */
    private final Set<Process> live = ConcurrentHashMap.newKeySet();

    private WebOverheadBench(Map<String, List<String>> options) {
        this.options = options;
        for (String id : option("stacks", "mvc,webflux").split(",")) {
            Stack stack = Arrays.stream(Stack.values()).filter((s) -> s.id.equals(id.trim())).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("--stacks: unknown stack '" + id + "' (mvc, webflux)"));
            String jar = option(stack.id, null);
            if (jar == null) {
                throw new IllegalArgumentException("--" + stack.id + " <jar> is required");
            }
            jars.put(stack, Path.of(jar).toAbsolutePath());
        }
        this.out = Path.of(option("out", "benchmarks/results")).toAbsolutePath();
        this.logs = out.resolve("web-logs");
        this.jvmOpts = options.getOrDefault("jvm-opt", List.of());
        this.appArgs = options.getOrDefault("app-arg", List.of());
        this.jvms = positive("jvms", "3");
        this.warmup = Duration.ofMillis(Math.round(Double.parseDouble(option("warmup", "10")) * 1000));
        this.rounds = positive("rounds", "5");
        this.roundTime = Duration.ofMillis(Math.round(Double.parseDouble(option("round-seconds", "3")) * 1000));
        this.maxRequests = Long.parseLong(option("max-requests", "2000000"));
        this.connections = positive("connections", "16");
        this.readyTimeout = Duration.ofSeconds(Long.parseLong(option("ready-timeout", "120")));
        if (roundTime.isZero() || roundTime.isNegative() || warmup.isNegative() || maxRequests < 1) {
            throw new IllegalArgumentException("--round-seconds and --max-requests must be positive, --warmup not negative");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> live.forEach(Process::destroyForcibly), "kill-apps"));
    }

    public static void main(String[] args) throws Exception {
        Map<String, List<String>> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 == args.length) {
                throw new IllegalArgumentException("expected --option value, got " + args[i]);
            }
            options.computeIfAbsent(args[i].substring(2), (k) -> new ArrayList<>()).add(args[++i]);
        }
        new WebOverheadBench(options).runAll();
    }

    private String option(String key, String fallback) {
        List<String> values = options.get(key);
        return (values == null) ? fallback : values.get(values.size() - 1);
    }

    private int positive(String key, String fallback) {
        int value = Integer.parseInt(option(key, fallback));
        if (value < 1) {
            throw new IllegalArgumentException("--" + key + " must be at least 1, was " + value);
        }
        return value;
    }

    private void runAll() throws Exception {
        for (Path jar : jars.values()) {
            if (!Files.isRegularFile(jar)) {
                throw new IllegalArgumentException(jar + " does not exist: build it first (see run.sh)");
            }
        }
        Files.createDirectories(logs);
        String started = LocalDateTime.now().format(DateTimeFormatter.ISO_LOCAL_DATE_TIME).substring(0, 19);
        String loadBefore = SpringShutdownBench.loadAverage();
        long begin = System.nanoTime();
        List<Run> runs = new ArrayList<>();
        int order = 0;
        for (int j = 1; j <= jvms; j++) {
            for (Stack stack : jars.keySet()) {
                boolean[] sequence = (j % 2 == 1) ? new boolean[] {false, true} : new boolean[] {true, false};
                for (boolean on : sequence) {
                    Run run = runJvm(++order, stack, on, j);
                    log("%-7s %-3s jvm %d: %s", stack.id, on ? "on" : "off", j, describe(run));
                    runs.add(run);
                }
            }
        }
        String json = json(started, loadBefore, SpringShutdownBench.loadAverage(), (System.nanoTime() - begin) / 1e9, runs);
        Files.writeString(out.resolve("web.json"), json);
        log("wrote %s in %.0f s", out.resolve("web.json"), (System.nanoTime() - begin) / 1e9);
        long invalid = runs.stream().filter((r) -> !r.valid()).count();
        if (invalid > 0) {
            log("WARNING: %d of %d app JVMs were not measured (see their notes in web.json and the logs)", invalid, runs.size());
        }
    }

    // ---------------------------------------------------------------- one JVM

    private Run runJvm(int order, Stack stack, boolean on, int jvm) throws Exception {
        int port = SpringShutdownBench.freePort();
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(jvmOpts);
        command.addAll(List.of("-jar", jars.get(stack).toString(), "--server.address=127.0.0.1", "--server.port=" + port));
        if (!on) {
            command.add("--cancellation.enabled=false");
        }
        command.addAll(appArgs);
        Path logFile = logs.resolve(String.format(Locale.ROOT, "%02d-%s-%s.log", order, stack.id, on ? "on" : "off"));
        long launched = System.nanoTime();
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        live.add(process);
        process.onExit().thenRun(() -> live.remove(process));
        Watcher watcher = new Watcher(process, logFile, String.join(" ", command));
        watcher.start();
        try {
            String ready = watcher.awaitReady(readyTimeout);
            if (ready == null) {
                return failed(order, stack, on, jvm, Double.NaN, "", "", "never READY (see " + out.relativize(logFile) + ")");
            }
            double readySeconds = (System.nanoTime() - launched) / 1e9;
            int at = ready.indexOf("filters=");
            String filters = (at < 0) ? "" : ready.substring(at + "filters=".length()).trim();
            String probe;
            try {
                probe = probe(port);
            }
            catch (IOException ex) {
                return failed(order, stack, on, jvm, readySeconds, filters, "", "GET /probe failed: " + ex);
            }
            String mismatch = checkVariant(on, filters, probe);
            if (mismatch != null) {
                return failed(order, stack, on, jvm, readySeconds, filters, probe, mismatch);
            }
            List<Round> measured = new ArrayList<>();
            HttpLoad.Result warm;
            try (HttpLoad load = new HttpLoad(new InetSocketAddress("127.0.0.1", port), "/hello", stack.body, connections,
                    SOCKET_TIMEOUT_MILLIS)) {
                long warmBudget = maxRequests * Math.max(1, (long) Math.ceil((double) warmup.toMillis() / roundTime.toMillis()));
                warm = load.round(warmup, warmBudget);
                for (int r = 0; r < rounds; r++) {
                    measured.add(measuredRound(load, process));
                }
            }
            catch (IOException ex) {
                return failed(order, stack, on, jvm, readySeconds, filters, probe, "cannot connect the load: " + ex);
            }
            String note = process.isAlive() ? "" : "app ended during the load (exit " + process.exitValue() + ")";
            return new Run(order, stack, on, jvm, readySeconds, filters, probe, note.isEmpty(), note, warm, measured);
        }
        finally {
            stop(process);
            watcher.join(TimeUnit.SECONDS.toMillis(10));
        }
    }

    /** Null if the app runs the variant asked for, else what is wrong. */
    static String checkVariant(boolean on, String filters, String probe) {
        boolean filter = Arrays.stream(filters.split(",")).anyMatch((name) -> name.toLowerCase(Locale.ROOT).contains("cancellation"));
        boolean token = Arrays.asList(probe.split(",")).contains("request");
        List<String> wrong = new ArrayList<>();
        if (filter != on) {
            wrong.add((on ? "no filter bean of the starter" : "a filter bean of the starter") + " (filters: " + filters + ")");
        }
        if (token != on) {
            wrong.add("GET /probe saw " + (on ? "no request token" : "a request token") + " (probe: " + probe + ")");
        }
        return wrong.isEmpty() ? null
                : (on ? "starter on" : "starter off (--cancellation.enabled=false)") + ", but " + String.join(" and ", wrong);
    }

    private String probe(int port) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/probe"))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("GET /probe answered " + response.statusCode() + ": " + response.body());
        }
        return response.body().trim();
    }

    private Round measuredRound(HttpLoad load, Process process) throws InterruptedException {
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long appBefore = appCpuNanos(process);
        long driverBefore = os.getProcessCpuTime();
        long[] machineBefore = machineTicks();
        HttpLoad.Result result = load.round(roundTime, maxRequests);
        long appCpu = appCpuNanos(process) - appBefore;
        long driverCpu = os.getProcessCpuTime() - driverBefore;
        long[] machineAfter = machineTicks();
        double busy = Double.NaN;
        double others = Double.NaN;
        if (machineBefore != null && machineAfter != null && machineAfter[0] > machineBefore[0]) {
            double total = machineAfter[0] - machineBefore[0];
            busy = 1 - (machineAfter[1] - machineBefore[1]) / total;
            double ours = (appBefore < 0 || appCpu < 0) ? Double.NaN
                    : (appCpu + driverCpu) / (result.seconds() * 1e9 * machineAfter[2]);
            others = Math.max(0, busy - ours);
        }
        double requests = Math.max(1, result.requests());
        return new Round(result, (appBefore < 0) ? Double.NaN : appCpu / requests, driverCpu / requests, busy, others);
    }

    /** The app's CPU time so far (all its threads), or -1 where the OS does not tell. */
    private static long appCpuNanos(Process process) {
        return process.toHandle().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    /**
     * {@code /proc/stat}: total ticks of all CPUs, idle (and iowait) ticks, and the number of CPUs;
     * null where there is no such file.
     */
    private static long[] machineTicks() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/stat"));
            String[] fields = lines.get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < Math.min(fields.length, 9); i++) {
                total += Long.parseLong(fields[i]);
            }
            long idle = Long.parseLong(fields[4]) + Long.parseLong(fields[5]);
            long cpus = lines.stream().filter((l) -> l.matches("cpu\\d+ .*")).count();
            return new long[] {total, idle, Math.max(1, cpus)};
        }
        catch (IOException | RuntimeException ex) {
            log("cannot read /proc/stat (%s): no machine load figures", ex);
            return null;
        }
    }

    private Run failed(int order, Stack stack, boolean on, int jvm, double readySeconds, String filters, String probe,
            String note) {
        log("%s %s jvm %d NOT MEASURED: %s", stack.id, on ? "on" : "off", jvm, note);
        return new Run(order, stack, on, jvm, readySeconds, filters, probe, false, note, null, List.of());
    }

    /** SIGTERM, then SIGKILL after 30 s. */
    private static void stop(Process process) throws InterruptedException {
        if (!process.isAlive()) {
            return;
        }
        process.toHandle().destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            log("app pid %d did not exit 30 s after SIGTERM: killed", process.pid());
            process.destroyForcibly().waitFor();
        }
    }

    private static String describe(Run run) {
        if (!run.valid()) {
            return "NOT MEASURED: " + run.note();
        }
        return String.format(Locale.ROOT, "ready in %.1f s; warm-up %.0f req/s; req/s %s; p99 ms %s; errors %d",
                run.readySeconds(), run.warmup().requestsPerSecond(),
                run.rounds().stream().map((r) -> String.format(Locale.ROOT, "%.0f", r.load().requestsPerSecond()))
                        .collect(Collectors.joining(" ")),
                run.rounds().stream().map((r) -> String.format(Locale.ROOT, "%.2f", r.load().p99Nanos() / 1e6))
                        .collect(Collectors.joining(" ")),
                run.warmup().errors() + run.rounds().stream().mapToLong((r) -> r.load().errors()).sum());
    }

    /** Drains one app's output into its log and hands over its {@code BENCH READY} line. */
    private static final class Watcher extends Thread {

        private final Process process;
        private final Path logFile;
        private final String command;
        private final CountDownLatch ready = new CountDownLatch(1);
        private volatile String readyLine;

        Watcher(Process process, Path logFile, String command) {
            super("watch-" + logFile.getFileName());
            setDaemon(true);
            this.process = process;
            this.logFile = logFile;
            this.command = command;
        }

        @Override
        public void run() {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                    PrintWriter log = new PrintWriter(Files.newBufferedWriter(logFile))) {
                log.println("$ " + command);
                String line;
                while ((line = reader.readLine()) != null) {
                    log.println(line);
                    if (readyLine == null && line.startsWith("BENCH READY")) {
                        readyLine = line;
                        ready.countDown();
                    }
                }
                log.println("--- end of output");
            }
            catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            finally {
                ready.countDown();
            }
        }

        /** The READY line; null if the app ended or the time ran out first. */
        String awaitReady(Duration timeout) throws InterruptedException {
            return (ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && process.isAlive()) ? readyLine : null;
        }
    }

    // ---------------------------------------------------------------- web.json

    private String json(String started, String loadBefore, String loadAfter, double seconds, List<Run> runs) {
        StringBuilder j = new StringBuilder();
        j.append("{\n");
        j.append("  \"started\": ").append(q(started)).append(",\n");
        j.append("  \"seconds\": ").append(num(seconds)).append(",\n");
        j.append("  \"label\": ").append(q(option("label", ""))).append(",\n");
        j.append("  \"machine\": {\"cpu\": ").append(q(SpringShutdownBench.cpu())).append(", \"cores\": ")
                .append(Runtime.getRuntime().availableProcessors()).append(", \"load_before\": ").append(q(loadBefore))
                .append(", \"load_after\": ").append(q(loadAfter)).append("},\n");
        j.append("  \"jvm\": ").append(q(System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")))
                .append(",\n");
        j.append("  \"app_jvm_options\": ").append(q(String.join(" ", jvmOpts))).append(",\n");
        j.append("  \"app_args\": ").append(q(String.join(" ", appArgs))).append(",\n");
        j.append("  \"apps\": {");
        j.append(jars.entrySet().stream().map((e) -> q(e.getKey().id) + ": {\"label\": " + q(e.getKey().label) + ", \"jar\": "
                + q(String.valueOf(e.getValue().getFileName())) + ", \"boot\": " + q(SpringShutdownBench.bootVersion(e.getValue())) + "}")
                .collect(Collectors.joining(", ")));
        j.append("},\n");
        j.append("  \"settings\": {\"jvms\": ").append(jvms).append(", \"warmup_seconds\": ").append(num(warmup.toMillis() / 1e3))
                .append(", \"rounds\": ").append(rounds).append(", \"round_seconds\": ").append(num(roundTime.toMillis() / 1e3))
                .append(", \"max_requests\": ").append(maxRequests).append(", \"connections\": ").append(connections)
                .append(", \"path\": \"/hello\"},\n");
        j.append("  \"runs\": [\n");
        for (int i = 0; i < runs.size(); i++) {
            Run run = runs.get(i);
            j.append("    {\"order\": ").append(run.order()).append(", \"stack\": ").append(q(run.stack().id))
                    .append(", \"starter\": ").append(q(run.on() ? "on" : "off")).append(", \"jvm\": ").append(run.jvm())
                    .append(", \"ready_seconds\": ").append(num(run.readySeconds())).append(", \"filters\": ").append(q(run.filters()))
                    .append(", \"probe\": ").append(q(run.probe())).append(", \"valid\": ").append(run.valid())
                    .append(", \"note\": ").append(q(run.note())).append(",\n");
            j.append("     \"warmup\": ").append(run.warmup() == null ? "null" : result(run.warmup(), null)).append(",\n");
            j.append("     \"rounds\": [");
            j.append(run.rounds().stream().map((r) -> "\n       " + result(r.load(), r)).collect(Collectors.joining(",")));
            j.append(run.rounds().isEmpty() ? "]}" : "\n     ]}").append(i + 1 < runs.size() ? ",\n" : "\n");
        }
        j.append("  ]\n}\n");
        return j.toString();
    }

    private static String result(HttpLoad.Result load, Round round) {
        StringBuilder j = new StringBuilder("{");
        j.append("\"requests\": ").append(load.requests()).append(", \"seconds\": ").append(num(load.seconds()))
                .append(", \"rps\": ").append(num(load.requestsPerSecond()))
                .append(", \"p50_us\": ").append(num(load.p50Nanos() / 1e3)).append(", \"p99_us\": ").append(num(load.p99Nanos() / 1e3))
                .append(", \"p999_us\": ").append(num(load.p999Nanos() / 1e3)).append(", \"max_us\": ").append(num(load.maxNanos() / 1e3))
                .append(", \"errors\": ").append(load.errors()).append(", \"reconnects\": ").append(load.reconnects())
                .append(", \"first_error\": ").append(q(load.firstError()));
        if (round != null) {
            j.append(", \"app_cpu_us_per_request\": ").append(num(round.appCpuNanosPerRequest() / 1e3))
                    .append(", \"driver_cpu_us_per_request\": ").append(num(round.driverCpuNanosPerRequest() / 1e3))
                    .append(", \"machine_busy\": ").append(num(round.machineBusy()))
                    .append(", \"others_busy\": ").append(num(round.othersBusy()));
        }
        return j.append('}').toString();
    }

    private static String num(double value) {
        return (Double.isNaN(value) || Double.isInfinite(value)) ? "null" : String.format(Locale.ROOT, "%.4f", value);
    }

    /** A JSON string. */
    static String q(String text) {
        StringBuilder j = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> j.append("\\\"");
                case '\\' -> j.append("\\\\");
                case '\n' -> j.append("\\n");
                case '\r' -> j.append("\\r");
                case '\t' -> j.append("\\t");
                default -> {
                    if (c < 0x20) {
                        j.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    }
                    else {
                        j.append(c);
                    }
                }
            }
        }
        return j.append('"').toString();
    }

    private static void log(String format, Object... args) {
        System.err.println("[web-bench] " + String.format(Locale.ROOT, format, args));
    }
}
