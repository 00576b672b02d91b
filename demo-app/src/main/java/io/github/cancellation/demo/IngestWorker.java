package io.github.cancellation.demo;

import java.util.concurrent.BlockingQueue;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.scheduling.annotation.Async;
import org.springframework.stereotype.Component;

/**
 * The ingest worker, done right: an {@code @Async} loop on Boot's task executor that takes items
 * from the queue through {@code token.call(queue::take)}. When the application shuts down, the
 * starter cancels the invocation's token (kind {@code SHUTDOWN}); {@code call} then interrupts the
 * blocked {@code take()}, which ends with {@link CancelledException} at once, and the shutdown
 * drain sees the invocation end within milliseconds. An item already taken is always finished:
 * nothing is lost, what is still queued stays for the next start (a real worker would nack it).
 */
@Component
@ConditionalOnBooleanProperty(name = "demo.bad-ingest", havingValue = false, matchIfMissing = true)
public class IngestWorker {

    private static final Logger logger = LoggerFactory.getLogger(IngestWorker.class);

    private final BlockingQueue<String> queue;

    private final IngestMetrics metrics;

    private final DemoProperties properties;

    IngestWorker(BlockingQueue<String> ingestQueue, IngestMetrics metrics, DemoProperties properties) {
        this.queue = ingestQueue;
        this.metrics = metrics;
        this.properties = properties;
    }

    /**
     * Runs until the application shuts down. Called through the proxy when the application is
     * ready, so it runs asynchronously, under its own invocation token {@code ingestWorker.run}.
     */
    @Async
    @EventListener(ApplicationReadyEvent.class)
    public void run() {
        CancellationToken token = CancellationToken.current(); // the invocation token, bound by the starter
        logger.info("ingest worker started under token '{}' on {}, waiting for items", token.name(),
                Thread.currentThread()); // VirtualThread[...] with spring.threads.virtual.enabled=true
        try {
            while (true) {
                String item = token.call(queue::take); // blocks; wakes up with CancelledException on cancel
                process(item);                         // never interrupted: an item taken is finished
            }
        }
        catch (CancelledException ex) {
            logger.info("ingest worker stopped: {}; processed {} item(s), {} left in the queue",
                    Reasons.describe(ex.reason()), metrics.processedCount(), queue.size());
        }
        catch (InterruptedException ex) {
            // Interrupted without a cancellation (an executor's shutdownNow): stop as well.
            Thread.currentThread().interrupt();
            logger.warn("ingest worker interrupted; {} left in the queue", queue.size());
        }
        catch (Exception ex) {
            throw new IllegalStateException("ingest worker failed", ex);
        }
    }

    private void process(String item) throws InterruptedException {
        Thread.sleep(properties.ingest().processTime().toMillis()); // stands for parsing and storing the item
        metrics.processed();
        logger.info("ingest worker processed '{}' ({} so far)", item, metrics.processedCount());
    }
}
