package io.github.cancellation.spring.web;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.CancellationMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The request load drill (issue 13), one per server: Spring MVC on the servlet container Spring
 * Boot picks (Tomcat; Jetty 12 with {@code -Pjetty}), WebFlux on Reactor Netty (on Jetty 12 with
 * {@code -Pjetty}). Each prints its figures (for {@code RELIABILITY.md}). A real server on
 * a free port, {@value #CONCURRENCY} real clients at a time, {@link #REQUESTS} requests (system
 * property {@code cancellation.drill.requests}, 10,000 in the build), in thirds:
 * <ol>
 *   <li>plain: {@code GET /drill/fast} with the JDK {@code HttpClient}, answered {@code 200};
 *   <li>deadline: {@code GET /drill/work} with {@code Request-Timeout: }{@value #DEADLINE_MS}, whose
 *       handler works in small units until its token is cancelled, answered {@code 504};
 *   <li>disconnect: the same handler on a raw socket, closed as soon as the handler has started
 *       (it counts down a latch of that request's id). These carry a backstop deadline
 *       ({@value #BACKSTOP_MS} ms): a servlet container gives no disconnect signal to a blocked
 *       plain handler (README table), so there the token ends on {@code TIMEOUT}; Reactor Netty
 *       cancels it with {@code DISCONNECTED}, or with {@code TIMEOUT} if the backstop passes first.
 * </ol>
 * A warm-up round of the same mix comes first. Afterwards: {@code cancellation.tokens.active} is
 * back at its baseline; no thread is left in the handler's work; the used heap after a full GC is
 * within {@value #HEAP_BOUND_MB} MB of the one after the warm-up; and the books balance exactly:
 * every plain request answered 200, every deadline request 504, and every disconnected request
 * counted in {@code cancellation.requests.cancelled} (the sum over kinds, less the 504s, which are
 * counted there too): {@code 200s + 504s + disconnected-counted == sent}.
 *
 * <h2>A disconnected request that completes normally</h2>
 * It would be counted nowhere: its 200 goes into a closed socket, and its token ends
 * {@code CLOSED}. The drill rules it out by construction (the work handler only ends when its
 * token is cancelled, or at a 60 s bound far beyond the backstop, counted as
 * {@code bound reached}), and asserts that no handler reached its bound, so that such a request
 * cannot hide in the books.
 *
 * <h2>Heap bound</h2>
 * {@value #HEAP_BOUND_MB} MB: what one leaked request retains (its token node, the
 * {@code InFlightRequest}, its tracked task and timer entry, and the container's request objects
 * that point to them) is well over 1.6 KB, so a leak of every request, or of every disconnected one,
 * over a 10,000-request drill exceeds it; below it is noise from allocation buffers, pools and
 * caches that fill up as the servers run, which this bound must not turn into a flaky failure.
 * (The token leak is checked exactly by {@code cancellation.tokens.active}.)
 */
class RequestLoadDrillTests {

    /** Requests per drill. */
    static final int REQUESTS = Integer.getInteger("cancellation.drill.requests", 10_000);

    /**
     * Requests in the warm-up round: half the drill, so that the servers' pools and caches (Tomcat's
     * threads and processors grow to its 200-thread limit while disconnected handlers wait out their
     * backstop) reach the size the drill gives them before the heap is first measured. With a
     * warm-up of a tenth, Tomcat's heap once grew by 21 MB in the full build (not in a run alone).
     */
    static final int WARM_UP = Math.max(300, REQUESTS / 2);

    static final int CONCURRENCY = 50;

    /** The deadline of the deadline third, in milliseconds. */
    static final long DEADLINE_MS = 30;

    /** The backstop deadline of the disconnecting third, in milliseconds. */
    static final long BACKSTOP_MS = 200;

    static final long HEAP_BOUND_MB = 16;

    /** A unit of the work handler's work: it checks its token between units. */
    static final Duration UNIT = Duration.ofMillis(2);

    /** The work handler's bound: far beyond every deadline of the drill. */
    static final Duration BOUND = Duration.ofSeconds(60);

    /** The name of the work method, whose frames the thread check looks for. */
    private static final String WORK_METHOD = "workUntilCancelled";

    @Test
    void springMvcDrillShouldEndWithEveryRequestAccountedForAndNothingLeft() throws Exception {
        try (ConfigurableApplicationContext context = MvcTestApplication.run(List.of(MvcDrillHandlers.class),
                "cancellation.web.timeout=20s")) {
            drill(context, context.getBean(MvcDrillHandlers.class).state);
        }
    }

    @Test
    void webFluxDrillShouldEndWithEveryRequestAccountedForAndNothingLeft() throws Exception {
        try (ConfigurableApplicationContext context = WebFluxTestApplication.run(List.of(WebFluxDrillHandlers.class),
                "cancellation.web.timeout=20s")) {
            drill(context, context.getBean(WebFluxDrillHandlers.class).state);
        }
    }

    private static void drill(ConfigurableApplicationContext context, DrillState state) throws Exception {
        String server = ((WebServerApplicationContext) context).getWebServer().getClass().getSimpleName();
        int port = ((WebServerApplicationContext) context).getWebServer().getPort();
        MeterRegistry registry = context.getBean(MeterRegistry.class);
        RequestTokens tokens = context.getBean(RequestTokens.class);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Function<Integer, Round> round = (count) -> new Round(client, port, state, count);

        Round warmUp = round.apply(WARM_UP).run();
        warmUp.assertBooksBalance(registry, null);
        settle(tokens, state);
        double baseline = tokensActive(registry);
        long heapAfterWarmUp = usedHeapAfterFullGc();
        Counts before = Counts.read(registry);

        Round drill = round.apply(REQUESTS).run();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(tokensActive(registry))
            .as("cancellation.tokens.active back at its baseline").isEqualTo(baseline));
        assertThat(tokens.openCount()).as("request tokens open").isZero();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(threadsInTheWork())
            .as("threads still in the handler's work").isEmpty());
        Counts counted = Counts.read(registry).minus(before);
        long heapAtEnd = usedHeapAfterFullGc();

        System.out.printf("Request load drill on %s (%d cores, Java %s): %,d requests, %d at a time, %.1f s "
                + "(warm-up %,d in %.1f s)%n"
                + "  plain %,d: 200 %,d%n"
                + "  deadline %d ms %,d: 504 %,d%n"
                + "  disconnected after the handler started %,d: counted DISCONNECTED %,d, TIMEOUT %,d (backstop "
                + "%d ms); handler interrupted %,d%n"
                + "  books: 200 %,d + 504 %,d + disconnected counted %,d = %,d of %,d sent; other statuses %,d, "
                + "client errors %,d, handlers at their bound %,d%n"
                + "  cancellation.tokens.active %.0f before, %.0f after; threads left in the work: 0%n"
                + "  used heap after a full GC: %.1f MB after the warm-up, %.1f MB at the end (%+.1f MB)%n",
                server, Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                drill.sent(), CONCURRENCY, drill.seconds, warmUp.sent(), warmUp.seconds,
                drill.plain, drill.ok.sum(),
                DEADLINE_MS, drill.deadline, drill.timedOut.sum(),
                drill.disconnects.sum(), counted.disconnected, counted.timeout - drill.timedOut.sum(), BACKSTOP_MS,
                state.interrupted.sum(),
                drill.ok.sum(), drill.timedOut.sum(), counted.total() - drill.timedOut.sum(),
                drill.ok.sum() + counted.total(), drill.sent(), drill.otherStatus.sum(), drill.errors.sum(),
                state.boundReached.sum(),
                baseline, tokensActive(registry),
                mb(heapAfterWarmUp), mb(heapAtEnd), mb(heapAtEnd - heapAfterWarmUp));

        drill.assertBooksBalance(registry, counted);
        assertThat(heapAtEnd - heapAfterWarmUp).as("used heap after a full GC grew by (bytes)")
            .isLessThanOrEqualTo(HEAP_BOUND_MB * 1024 * 1024);
    }

    /** Waits until every request of the round has ended and no thread is left in the work. */
    private static void settle(RequestTokens tokens, DrillState state) {
        await().atMost(Duration.ofSeconds(30)).until(() -> tokens.openCount() == 0);
        await().atMost(Duration.ofSeconds(10)).until(() -> threadsInTheWork().isEmpty());
        assertThat(state.boundReached.sum()).isZero();
    }

    private static double tokensActive(MeterRegistry registry) {
        return registry.get(CancellationMetrics.TOKENS_ACTIVE).gauge().value();
    }

    /** The threads whose stack has a frame of the handler's work, with their state. */
    static List<String> threadsInTheWork() {
        List<String> found = new ArrayList<>();
        for (ThreadInfo info : ManagementFactory.getThreadMXBean().dumpAllThreads(false, false)) {
            if (info != null && Arrays.stream(info.getStackTrace()).anyMatch((frame) ->
                    frame.getClassName().equals(RequestLoadDrillTests.class.getName())
                            && frame.getMethodName().equals(WORK_METHOD))) {
                found.add(info.getThreadName() + " " + info.getThreadState());
            }
        }
        return found;
    }

    /** Used heap after two full collections (the surefire JVM runs ParallelGC: System.gc() is a full GC). */
    private static long usedHeapAfterFullGc() {
        System.gc();
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static double mb(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    /**
     * The handler's work: units of {@link #UNIT}, checking the token between them, until it is
     * cancelled (true) or the {@link #BOUND} is reached (false, counted). An interrupt (Reactor
     * interrupts a blocking task whose subscription is cancelled) ends it too, counted, with the
     * thread's interrupt status kept.
     */
    static boolean workUntilCancelled(CancellationToken token, DrillState state) {
        long units = BOUND.toNanos() / UNIT.toNanos();
        try {
            for (long unit = 0; unit < units; unit++) {
                if (token.await(UNIT)) {
                    return true;
                }
            }
            state.boundReached.increment();
            return false;
        }
        catch (InterruptedException ex) {
            state.interrupted.increment();
            Thread.currentThread().interrupt();
            return token.isCancelled();
        }
    }

    /** What the drill's handlers saw. */
    static final class DrillState {

        /** The latch of each disconnecting request in flight, by id: counted down when its handler starts. */
        final Map<Long, CountDownLatch> started = new ConcurrentHashMap<>();

        final LongAdder boundReached = new LongAdder();

        final LongAdder interrupted = new LongAdder();

        void started(@Nullable Long id) {
            if (id != null) {
                CountDownLatch latch = started.get(id);
                if (latch != null) {
                    latch.countDown();
                }
            }
        }
    }

    @RestController
    @RequestMapping("/drill")
    static class MvcDrillHandlers {

        final DrillState state = new DrillState();

        @GetMapping("/fast")
        String fast() {
            return "ok";
        }

        @GetMapping("/work")
        String work(CancellationToken token, @RequestParam(name = "id", required = false) @Nullable Long id) {
            state.started(id);
            workUntilCancelled(token, state);
            token.throwIfCancelled(); // TIMEOUT: 504
            return "bound reached";
        }
    }

    @RestController
    @RequestMapping("/drill")
    static class WebFluxDrillHandlers {

        final DrillState state = new DrillState();

        @GetMapping("/fast")
        Mono<String> fast() {
            return Mono.just("ok");
        }

        /**
         * The same blocking work, on Reactor's bounded elastic scheduler. The callable never throws:
         * a value emitted after the subscription was cancelled (the client went away) is discarded,
         * where an error would be reported as dropped.
         */
        @GetMapping("/work")
        Mono<String> work(CancellationToken token, @RequestParam(name = "id", required = false) @Nullable Long id) {
            return Mono.fromCallable(() -> {
                state.started(id);
                return workUntilCancelled(token, state);
            }).subscribeOn(Schedulers.boundedElastic()).map((cancelled) -> {
                token.throwIfCancelled(); // TIMEOUT: 504
                return "bound reached";
            });
        }
    }

    /** One round of the mix: its client side, and what it got. */
    private static final class Round {

        /** Ids of disconnecting requests, unique in the JVM. */
        private static final AtomicLong IDS = new AtomicLong();

        final HttpClient client;

        final int port;

        final DrillState state;

        final int count;

        final int plain;

        final int deadline;

        final LongAdder ok = new LongAdder();

        final LongAdder timedOut = new LongAdder();

        final LongAdder disconnects = new LongAdder();

        final LongAdder otherStatus = new LongAdder();

        final LongAdder errors = new LongAdder();

        final List<String> firstProblems = java.util.Collections.synchronizedList(new ArrayList<>());

        double seconds;

        Round(HttpClient client, int port, DrillState state, int count) {
            this.client = client;
            this.port = port;
            this.state = state;
            this.count = count;
            this.plain = (count + 2) / 3;
            this.deadline = (count + 1) / 3;
        }

        int sent() {
            return count;
        }

        Round run() throws InterruptedException {
            ExecutorService clients = Executors.newFixedThreadPool(CONCURRENCY);
            long start = System.nanoTime();
            try {
                List<Future<?>> futures = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    int kind = i % 3;
                    futures.add(clients.submit(() -> one(kind)));
                }
                for (Future<?> future : futures) {
                    try {
                        future.get(2, TimeUnit.MINUTES);
                    }
                    catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException ex) {
                        problem("client task: " + ex);
                    }
                }
            }
            finally {
                clients.shutdownNow();
            }
            seconds = (System.nanoTime() - start) / 1e9;
            return this;
        }

        private void one(int kind) {
            try {
                switch (kind) {
                    case 0 -> expect(get("/drill/fast"), 200, ok);
                    case 1 -> expect(get("/drill/work", "Request-Timeout", Long.toString(DEADLINE_MS)), 504, timedOut);
                    default -> disconnect(IDS.incrementAndGet());
                }
            }
            catch (IOException | RuntimeException ex) {
                problem(ex.toString());
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                problem("interrupted");
            }
        }

        private int get(String path, String... headers) throws IOException, InterruptedException {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(60));
            if (headers.length > 0) {
                request.headers(headers);
            }
            return client.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        }

        private void expect(int status, int expected, LongAdder counter) {
            if (status == expected) {
                counter.increment();
            }
            else {
                otherStatus.increment();
                if (firstProblems.size() < 10) {
                    firstProblems.add("status " + status + " where " + expected + " was expected");
                }
            }
        }

        /** Sends the work request on a raw socket and closes it once its handler has started. */
        private void disconnect(long id) throws IOException, InterruptedException {
            CountDownLatch started = new CountDownLatch(1);
            state.started.put(id, started);
            try (Socket socket = new Socket("127.0.0.1", port)) {
                OutputStream out = socket.getOutputStream();
                out.write(("GET /drill/work?id=" + id + " HTTP/1.1\r\nHost: 127.0.0.1\r\nRequest-Timeout: "
                        + BACKSTOP_MS + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                if (!started.await(60, TimeUnit.SECONDS)) {
                    problem("the handler of disconnecting request " + id + " did not start");
                    return;
                }
            }
            finally {
                state.started.remove(id);
            }
            disconnects.increment();
        }

        private void problem(String problem) {
            errors.increment();
            if (firstProblems.size() < 10) {
                firstProblems.add(problem);
            }
        }

        /**
         * The books: every plain request answered 200, every deadline request 504, every
         * disconnecting one closed after its handler started and (given {@code counted}, the
         * round's {@code cancellation.requests.cancelled}) counted there: 504s are counted there
         * too, so disconnected-counted is the sum over kinds less the 504s.
         */
        void assertBooksBalance(MeterRegistry registry, @Nullable Counts counted) {
            assertThat(firstProblems).as("client errors and unexpected statuses").isEmpty();
            assertThat(errors.sum() + otherStatus.sum()).isZero();
            assertThat(ok.sum()).as("plain requests answered 200").isEqualTo(plain);
            assertThat(timedOut.sum()).as("deadline requests answered 504").isEqualTo(deadline);
            assertThat(disconnects.sum()).as("requests disconnected after their handler started")
                .isEqualTo(count - plain - deadline);
            assertThat(state.boundReached.sum()).as("work handlers that reached their bound (a disconnected request "
                    + "that completed normally would hide there)").isZero();
            if (counted != null) {
                assertThat(counted.other).as("requests cancelled with kinds other than TIMEOUT and DISCONNECTED")
                    .isZero();
                assertThat(counted.timeout).as("TIMEOUT counted (at least every 504)")
                    .isGreaterThanOrEqualTo(timedOut.sum());
                assertThat(counted.total() - timedOut.sum()).as("disconnected requests counted").isEqualTo(
                        disconnects.sum());
                assertThat(ok.sum() + timedOut.sum() + (counted.total() - timedOut.sum())).as("the books")
                    .isEqualTo(sent());
            }
        }
    }

    /** {@code cancellation.requests.cancelled} by kind. */
    private record Counts(long timeout, long disconnected, long other) {

        static Counts read(MeterRegistry registry) {
            long timeout = 0;
            long disconnected = 0;
            long other = 0;
            for (Kind kind : Kind.values()) {
                if (kind == Kind.CLOSED) {
                    continue;
                }
                long value = (long) registry.get(RequestMetrics.REQUESTS_CANCELLED).tag(RequestMetrics.TAG_KIND,
                        kind.name()).functionCounter().count();
                switch (kind) {
                    case TIMEOUT -> timeout += value;
                    case DISCONNECTED -> disconnected += value;
                    default -> other += value;
                }
            }
            return new Counts(timeout, disconnected, other);
        }

        Counts minus(Counts earlier) {
            return new Counts(timeout - earlier.timeout, disconnected - earlier.disconnected, other - earlier.other);
        }

        long total() {
            return timeout + disconnected + other;
        }
    }
}
