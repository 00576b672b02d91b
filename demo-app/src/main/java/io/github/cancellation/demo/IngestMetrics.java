package io.github.cancellation.demo;

import java.util.Collection;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.stereotype.Component;

/**
 * What the ingest worker did, for {@code GET /ingest} and as meters ({@code demo.ingest.processed},
 * {@code demo.ingest.queued}, next to the starter's {@code cancellation.*} meters).
 */
@Component
class IngestMetrics {

    private final AtomicLong processed = new AtomicLong();

    private final Counter processedCounter;

    IngestMetrics(MeterRegistry registry, BlockingQueue<String> ingestQueue) {
        this.processedCounter = Counter.builder("demo.ingest.processed")
            .description("Items the ingest worker processed")
            .baseUnit("items")
            .register(registry);
        Gauge.builder("demo.ingest.queued", ingestQueue, Collection::size)
            .description("Items waiting in the ingest queue")
            .baseUnit("items")
            .register(registry);
    }

    void processed() {
        processed.incrementAndGet();
        processedCounter.increment();
    }

    long processedCount() {
        return processed.get();
    }
}
