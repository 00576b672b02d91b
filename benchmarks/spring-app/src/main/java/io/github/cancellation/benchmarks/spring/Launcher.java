package io.github.cancellation.benchmarks.spring;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Once the app is ready: in mode {@code shutdown}, starts the {@code @Async} loops; in mode
 * {@code throughput}, times {@code bench.throughput.invocations} calls of {@link Echo#echo} (all
 * submitted from this thread, then joined) for {@code bench.throughput.warmups} unreported and
 * {@code bench.throughput.rounds} reported rounds, prints one {@code BENCH THROUGHPUT} line per
 * round (invocations per second, bytes allocated and process CPU time per invocation) and exits.
 */
@Component
public class Launcher {

    private final String mode;
    private final Census census;
    private final Loopers loopers;
    private final Echo echo;
    private final int invocations;
    private final int warmups;
    private final int rounds;

    public Launcher(@Value("${bench.mode:idle}") String mode, Census census, Loopers loopers, Echo echo,
            @Value("${bench.throughput.invocations:200000}") int invocations,
            @Value("${bench.throughput.warmups:10}") int warmups,
            @Value("${bench.throughput.rounds:20}") int rounds) {
        this.mode = mode;
        this.census = census;
        this.loopers = loopers;
        this.echo = echo;
        this.invocations = invocations;
        this.warmups = warmups;
        this.rounds = rounds;
    }

    @EventListener
    void onReady(ApplicationReadyEvent event) {
        switch (mode) {
            case "shutdown" -> {
                for (int i = 0; i < census.tasks(); i++) {
                    loopers.loop(i);
                }
            }
            case "throughput" -> {
                throughput();
                ConfigurableApplicationContext context = event.getApplicationContext();
                System.exit(SpringApplication.exit(context));
            }
            default -> Census.say("IDLE (bench.mode=" + mode + ")");
        }
    }

    private void throughput() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        @SuppressWarnings("unchecked")
        CompletableFuture<Integer>[] futures = new CompletableFuture[invocations];
        for (int round = -warmups; round < rounds; round++) {
            long bytesBefore = allocatedBytes(threads);
            long cpuBefore = os.getProcessCpuTime();
            long start = System.nanoTime();
            for (int i = 0; i < invocations; i++) {
                futures[i] = echo.echo(i);
            }
            long sum = 0;
            for (CompletableFuture<Integer> future : futures) {
                sum += future.join();
            }
            long nanos = System.nanoTime() - start;
            long cpu = os.getProcessCpuTime() - cpuBefore;
            long bytes = allocatedBytes(threads) - bytesBefore;
            Arrays.fill(futures, null);
            if (sum != (long) invocations * (invocations - 1) / 2) {
                throw new IllegalStateException("wrong sum " + sum);
            }
            if (round >= 0) {
                Census.say(String.format(
                        "THROUGHPUT round=%d invocations=%d seconds=%.4f ops_per_s=%.0f bytes_per_op=%.0f cpu_ns_per_op=%.0f",
                        round, invocations, nanos / 1e9, invocations / (nanos / 1e9), (double) bytes / invocations,
                        (double) cpu / invocations));
            }
        }
        Census.say("THROUGHPUT-DONE");
    }

    /** Bytes allocated so far by all live threads (the pool's threads live through all rounds). */
    private static long allocatedBytes(com.sun.management.ThreadMXBean threads) {
        long[] ids = threads.getAllThreadIds();
        long total = 0;
        for (long bytes : threads.getThreadAllocatedBytes(ids)) {
            if (bytes > 0) {
                total += bytes;
            }
        }
        return total;
    }
}
