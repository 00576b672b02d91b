package io.github.cancellation.demo;

import java.util.Map;
import java.util.concurrent.BlockingQueue;

import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * Feeds the ingest worker: {@code POST /ingest?item=order-1} queues an item,
 * {@code GET /ingest} tells how many are queued and processed.
 */
@RestController
@RequestMapping("/ingest")
public class IngestController {

    private final BlockingQueue<String> queue;

    private final IngestMetrics metrics;

    IngestController(BlockingQueue<String> ingestQueue, IngestMetrics metrics) {
        this.queue = ingestQueue;
        this.metrics = metrics;
    }

    @PostMapping
    ResponseEntity<Map<String, Object>> enqueue(@RequestParam String item) {
        queue.add(item);
        return ResponseEntity.accepted().body(Map.of("item", item, "queued", queue.size()));
    }

    @GetMapping
    Map<String, Object> status() {
        return Map.of("queued", queue.size(), "processed", metrics.processedCount());
    }
}
