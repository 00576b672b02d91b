package io.github.cancellation.demo;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.scheduling.annotation.EnableAsync;
import org.springframework.scheduling.annotation.EnableScheduling;

/**
 * A small web application whose background work stops cleanly, within milliseconds, when the
 * application shuts down (Ctrl+C, SIGTERM, {@code /actuator/shutdown}), thanks to the
 * cancellation starter:
 * <ul>
 *   <li>{@link IngestWorker}: an {@code @Async} loop that blocks in {@code queue.take()} through
 *       {@code token.call(...)}, fed by {@code POST /ingest} ({@link IngestController});
 *   <li>{@link ReportJob}: a {@code @Scheduled} report in several steps that checks its token
 *       between steps and removes its partial output when cancelled;
 *   <li>{@link JobController} and {@link JobService}: long jobs started over HTTP, each an
 *       {@code @Async} method returning a {@code CompletableFuture}, cancelled by the caller's
 *       token ({@code DELETE /jobs/{id}}, kind {@code CALLER});
 *   <li>actuator: health (with readiness), metrics, prometheus and the {@code cancellation} tree.
 * </ul>
 * With {@code demo.bad-ingest=true}, {@link BadIngestWorker} replaces the ingest worker with the
 * classic mistake, a loop behind a plain boolean flag that cannot wake a blocked
 * {@code queue.take()}: shutdown then waits for the drain timeout and reports a straggler.
 */
@SpringBootApplication
@EnableAsync
@EnableScheduling
@EnableConfigurationProperties(DemoProperties.class)
public class DemoApplication {

    /**
     * The ingest queue: {@code POST /ingest} puts, the ingest worker takes.
     *
     * @return an unbounded queue
     */
    @Bean
    BlockingQueue<String> ingestQueue() {
        return new LinkedBlockingQueue<>();
    }

    public static void main(String[] args) {
        // exec:java names this thread after the main class; keep the log lines short either way.
        Thread.currentThread().setName("main");
        SpringApplication.run(DemoApplication.class, args);
    }
}
