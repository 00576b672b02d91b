package io.github.cancellation.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.github.cancellation.benchmarks.peers.Peers;
import io.github.cancellation.benchmarks.peers.TokenAdapter;

/**
 * The shapes JMH cannot time: whether cancelling deep chains works at all (stack overflow, lost
 * callbacks), and how much heap a long-lived root retains for children that were forgotten (never
 * closed). Prints a Markdown table. Run by {@code benchmarks/run.sh}; arguments: peer names.
 *
 * <p>Each cell runs in a JVM of its own ({@code --cell peer shape}), killed after
 * {@link #CELL_LIMIT_SECONDS}: a peer that never finishes (a quadratic chain, a copy-on-write list
 * of a million children) cannot slow down or stall the cells after it.
 */
public final class Survey {

    private static final int FORGOTTEN = 1_000_000;
    private static final long CELL_LIMIT_SECONDS = 60;
    private static final List<String> SHAPES = List.of("chain10k", "chain1m", "forgotten");

    private Survey() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("--cell")) {
            System.out.println(cell(Peers.byName(args[1]), args[2]));
            System.exit(0); // a peer's thread may still be running: the answer is in
        }
        List<String> peers = (args.length > 0) ? List.of(args) : List.of("ours", "grpc", "kotlin", "naive", "future");
        System.out.println("| peer | chain 10,000 (callback on each) | chain 1,000,000 (callback on each) | heap retained by 1,000,000 forgotten children |");
        System.out.println("| --- | --- | --- | --- |");
        for (String peer : peers) {
            StringBuilder row = new StringBuilder("| " + peer + " |");
            for (String shape : SHAPES) {
                row.append(' ').append(inItsOwnJvm(peer, shape)).append(" |");
            }
            System.out.println(row);
        }
    }

    private static String cell(TokenAdapter<Object> adapter, String shape) throws InterruptedException {
        return switch (shape) {
            case "chain10k" -> chain(adapter, 10_000);
            case "chain1m" -> chain(adapter, 1_000_000);
            case "forgotten" -> forgotten(adapter);
            default -> throw new IllegalArgumentException("unknown shape '" + shape + "': expected one of " + SHAPES);
        };
    }

    private static String inItsOwnJvm(String peer, String shape) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(java, "-Xmx4g", "-cp", System.getProperty("java.class.path"),
                Survey.class.getName(), "--cell", peer, shape)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
        if (!process.waitFor(CELL_LIMIT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            return "no result after " + CELL_LIMIT_SECONDS + " s";
        }
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        return (process.exitValue() == 0 && !out.isEmpty()) ? out : "failed (exit " + process.exitValue() + ")";
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
        thread.join(TimeUnit.SECONDS.toMillis(CELL_LIMIT_SECONDS - 10));
        if (thread.isAlive()) {
            return String.format("no result after %d s (%,d of %,d callbacks ran)", CELL_LIMIT_SECONDS - 10,
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
