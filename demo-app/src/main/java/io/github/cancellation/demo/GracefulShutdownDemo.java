package io.github.cancellation.demo;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;

/**
 * The seed's graceful-shutdown pattern in plain Java: a root token, workers on child tokens, Ctrl+C
 * cancels the root, and the main thread waits a bounded time for the workers to clean up.
 *
 * <p>Workers block in {@code queue.take()} through {@link CancellationToken#call}, so a worker that
 * is waiting for input wakes up on cancellation instead of hanging shutdown, which is what a plain
 * boolean flag cannot do. Run it with the README's first command, watch the workers, press Ctrl+C.
 * {@code -Ddemo.seconds=N} stops it by itself after N seconds (as if Ctrl+C had been pressed).
 */
public final class GracefulShutdownDemo {

    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(5);

    private GracefulShutdownDemo() {
    }

    public static void main(String[] args) throws InterruptedException {
        CancellationToken shutdown = CancellationToken.create("shutdown");
        BlockingQueue<Integer> queue = new LinkedBlockingQueue<>();
        CountDownLatch stopped = new CountDownLatch(3);
        AtomicInteger processed = new AtomicInteger();

        Thread producer = new Thread(() -> produce(shutdown.child("producer"), queue, stopped), "producer");
        List<Thread> threads = new ArrayList<>(List.of(producer));
        for (int i = 1; i <= 2; i++) {
            CancellationToken token = shutdown.child("worker-" + i);
            threads.add(new Thread(() -> consume(token, queue, processed, stopped), token.name()));
        }

        CountDownLatch drained = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            log("shutting down: cancelling '%s'", shutdown.name());
            shutdown.cancel(CancellationReason.of(CancellationReason.Kind.SHUTDOWN, "Ctrl+C"));
            awaitDrain(stopped, processed);
            drained.countDown();
        }, "shutdown-hook");
        Runtime.getRuntime().addShutdownHook(hook);

        threads.forEach(Thread::start);
        log("running %d threads; press Ctrl+C to stop them gracefully", threads.size());

        long seconds = Long.getLong("demo.seconds", 0L);
        if (seconds > 0 && !shutdown.await(Duration.ofSeconds(seconds))) {
            log("%d s are up: stopping as if Ctrl+C had been pressed", seconds);
            Runtime.getRuntime().removeShutdownHook(hook);
            hook.run();
        }
        drained.await();
    }

    private static void produce(CancellationToken token, BlockingQueue<Integer> queue, CountDownLatch stopped) {
        int next = 0;
        try {
            while (!token.isCancelled()) {
                queue.put(next++);
                // Wait between items, but wake at once on cancellation.
                token.await(Duration.ofMillis(700));
            }
            log("producer: stopping (%s)", token.reason().orElseThrow());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stopped.countDown();
        }
    }

    private static void consume(CancellationToken token, BlockingQueue<Integer> queue, AtomicInteger processed,
            CountDownLatch stopped) {
        try {
            while (true) {
                // A blocked take() wakes up when the token is cancelled: call() interrupts this thread
                // for the duration of the take only, and turns the wake-up into CancelledException.
                Integer item = token.call(queue::take);
                log("%s: processed item %d", token.name(), item);
                processed.incrementAndGet();
            }
        } catch (CancelledException e) {
            log("%s: cancelled while waiting (%s); cleaning up", token.name(), e.reason());
        } catch (Exception e) {
            log("%s: failed: %s", token.name(), e);
        } finally {
            token.close();
            stopped.countDown();
        }
    }

    private static void awaitDrain(CountDownLatch stopped, AtomicInteger processed) {
        Instant start = Instant.now();
        try {
            boolean all = stopped.await(DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            long millis = Duration.between(start, Instant.now()).toMillis();
            if (all) {
                log("all workers stopped in %d ms; %d items processed; bye", millis, processed.get());
            } else {
                log("%d worker(s) still running after %s; exiting anyway", stopped.getCount(), DRAIN_TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void log(String format, Object... args) {
        System.out.printf("%tT.%<tL [%s] %s%n", System.currentTimeMillis(), Thread.currentThread().getName(),
                String.format(format, args));
    }
}
