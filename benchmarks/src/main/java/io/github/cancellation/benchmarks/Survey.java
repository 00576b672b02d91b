package io.github.cancellation.benchmarks;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import io.github.cancellation.benchmarks.peers.Peers;
import io.github.cancellation.benchmarks.peers.TokenAdapter;

/**
 * The shapes JMH cannot time: whether cancelling deep chains works at all (stack overflow, lost
 * callbacks), and how much heap a long-lived root retains for children that were forgotten (never
 * closed). Prints a Markdown table. Run by {@code benchmarks/run.sh}; arguments: peer names.
 */
public final class Survey {

    private static final int FORGOTTEN = 1_000_000;
    private static final long CHAIN_LIMIT_MILLIS = 30_000;

    private Survey() {
    }

    public static void main(String[] args) throws Exception {
        List<String> peers = (args.length > 0) ? List.of(args) : List.of("ours", "grpc", "kotlin", "naive", "future");
        System.out.println("| peer | chain 10,000 (callback on each) | chain 1,000,000 (callback on each) | heap retained by 1,000,000 forgotten children |");
        System.out.println("| --- | --- | --- | --- |");
        for (String peer : peers) {
            TokenAdapter<Object> adapter = Peers.byName(peer);
            String chain10k = chain(adapter, 10_000);
            String chain1m = chain(adapter, 1_000_000);
            String retained = forgotten(adapter);
            System.out.printf("| %s | %s | %s | %s |%n", peer, chain10k, chain1m, retained);
        }
    }

    /** Builds a chain with a callback on every token, cancels the root on a 1 MB stack, counts. */
    private static String chain(TokenAdapter<Object> adapter, int depth) throws InterruptedException {
        AtomicLong ran = new AtomicLong();
        String[] outcome = new String[1];
        Thread thread = new Thread(null, () -> {
            try {
                Object root = adapter.newRoot();
                Object t = root;
                adapter.register(t, ran::incrementAndGet);
                for (int i = 1; i < depth; i++) {
                    t = adapter.newChild(t);
                    adapter.register(t, ran::incrementAndGet);
                }
                long start = System.nanoTime();
                adapter.cancel(root);
                long micros = (System.nanoTime() - start) / 1_000;
                boolean leafCancelled = adapter.isCancelled(t);
                outcome[0] = (ran.get() == depth && leafCancelled)
                        ? String.format("ok, %,d µs", micros)
                        : String.format("lost callbacks: %,d of %,d ran", ran.get(), depth);
            } catch (StackOverflowError e) {
                outcome[0] = String.format("StackOverflowError (%,d of %,d callbacks ran)", ran.get(), depth);
            } catch (RuntimeException e) {
                Throwable root = e;
                while (root.getCause() != null) {
                    root = root.getCause();
                }
                // Kotlin wraps a StackOverflowError of a handler in CompletionHandlerException.
                outcome[0] = String.format("%s (%,d of %,d callbacks ran)", root.getClass().getSimpleName(),
                        ran.get(), depth);
            }
        }, "survey-chain", 1024 * 1024);
        thread.setDaemon(true);
        thread.start();
        thread.join(CHAIN_LIMIT_MILLIS);
        if (thread.isAlive()) {
            return String.format("no result after %d s (%,d of %,d callbacks ran)", CHAIN_LIMIT_MILLIS / 1000,
                    ran.get(), depth);
        }
        return outcome[0];
    }

    private static String forgotten(TokenAdapter<Object> adapter) {
        Object root = adapter.newRoot();
        long before = usedHeapAfterGc();
        for (int i = 0; i < FORGOTTEN; i++) {
            adapter.newChild(root);
        }
        long after = usedHeapAfterGc();
        String text = String.format("%.1f MB", Math.max(0, after - before) / 1e6);
        // Keep the root reachable until after the measurement.
        return adapter.isCancelled(root) ? text + " (root cancelled?)" : text;
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 4; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }
}
