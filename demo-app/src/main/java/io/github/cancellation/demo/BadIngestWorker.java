package io.github.cancellation.demo;

import java.util.concurrent.BlockingQueue;

import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.scheduling.annotation.Async;
import org.springframework.stereotype.Component;

/**
 * The seed's "Bad" variant, for the negative control ({@code demo.bad-ingest=true}): the loop
 * checks a plain boolean flag, but spends its life blocked in {@code queue.take()}, which the flag
 * cannot wake. Shutdown cancels the invocation's token, which this loop never looks at; the drain
 * then waits the whole {@code cancellation.shutdown.drain-timeout} and logs it as a straggler. The
 * {@code @PreDestroy} that clears the flag runs only after the drain, and changes nothing anyway.
 */
@Component
@ConditionalOnBooleanProperty(name = "demo.bad-ingest")
public class BadIngestWorker {

    private static final Logger logger = LoggerFactory.getLogger(BadIngestWorker.class);

    private final BlockingQueue<String> queue;

    private final IngestMetrics metrics;

    private volatile boolean running = true;

    BadIngestWorker(BlockingQueue<String> ingestQueue, IngestMetrics metrics) {
        this.queue = ingestQueue;
        this.metrics = metrics;
    }

    /**
     * Runs while the flag is set, blocked in {@code take()} most of the time.
     *
     * @throws InterruptedException if the executor interrupts it (only its shutdown does, late)
     */
    @Async
    @EventListener(ApplicationReadyEvent.class)
    public void run() throws InterruptedException {
        logger.warn("BAD ingest worker started (demo.bad-ingest=true): a plain boolean flag and a bare "
                + "queue.take(); shutdown will wait for the drain timeout");
        while (running) {
            String item = queue.take(); // blocked here, the flag cannot wake it up
            metrics.processed();
            logger.info("bad ingest worker processed '{}'", item);
        }
        logger.info("bad ingest worker stopped");
    }

    @PreDestroy
    void stop() {
        running = false;
        logger.warn("bad ingest worker: running = false, but it is still blocked in queue.take()");
    }
}
