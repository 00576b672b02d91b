package io.github.cancellation.benchmarks.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.scheduling.annotation.EnableAsync;
import org.springframework.scheduling.annotation.EnableScheduling;

/**
 * The Spring shutdown benchmark app. The same sources (this folder) are built twice, by
 * {@code benchmarks/shutdown-plain} and {@code benchmarks/shutdown-starter}; each adds only its
 * {@link Loopers} and its {@code @Scheduled} job: a volatile flag in the plain app, the
 * cancellation token in the starter's.
 *
 * <p>Profiles: {@code shutdown} starts {@code bench.tasks} endless {@code @Async} loops and a
 * {@code @Scheduled} batch, prints {@code BENCH READY} once all run and {@code BENCH STOPPED}
 * once all ended; {@code throughput} times {@code @Async} invocations, prints the rounds and exits.
 * Driven by {@code io.github.cancellation.benchmarks.SpringShutdownBench}.
 */
@SpringBootApplication
@EnableAsync
@EnableScheduling
public class BenchApplication {

    public static void main(String[] args) {
        SpringApplication.run(BenchApplication.class, args);
    }
}
