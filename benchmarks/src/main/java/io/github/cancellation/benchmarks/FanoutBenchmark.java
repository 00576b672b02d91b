package io.github.cancellation.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.benchmarks.peers.Peers;
import io.github.cancellation.benchmarks.peers.TokenAdapter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cancel a freshly built tree, single shot: a flat tree of 100,000 children (then poll all), the same
 * with a callback on each child, a chain 10,000 deep (then poll the leaf), and a chain 1,000 deep
 * with a callback on every token (then poll the leaf; every callback must have run). Peers that
 * overflow the stack fail the run for that shape; the survey reports them.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 10)
@Measurement(iterations = 20)
public class FanoutBenchmark {

    private static final Runnable NOOP = () -> { };

    @Param({"ours", "grpc", "kotlin", "naive", "future"})
    public String peer;

    @Param({"flat100k", "flat100kCallbacks", "chain10k", "chain1kCallbacks"})
    public String shape;

    private TokenAdapter<Object> adapter;
    private Object root;
    private List<Object> nodes;
    /** Callbacks run in this shot: they run on the cancelling thread, so a plain counter will do. */
    private int ran;
    private int expectedRuns;

    @Setup(Level.Invocation)
    public void build() {
        adapter = Peers.byName(peer);
        root = adapter.newRoot();
        nodes = new ArrayList<>();
        ran = 0;
        expectedRuns = 0;
        if (shape.equals("chain1kCallbacks")) {
            Runnable count = () -> ran++;
            Object t = root;
            adapter.register(t, count);
            for (int i = 1; i < 1_000; i++) {
                t = adapter.newChild(t);
                adapter.register(t, count);
            }
            nodes.add(t);
            expectedRuns = 1_000;
        } else if (shape.startsWith("flat")) {
            boolean callbacks = shape.endsWith("Callbacks");
            for (int i = 0; i < 100_000; i++) {
                Object child = adapter.newChild(root);
                if (callbacks) {
                    adapter.register(child, NOOP);
                }
                nodes.add(child);
            }
        } else {
            Object t = root;
            for (int i = 0; i < 10_000; i++) {
                t = adapter.newChild(t);
            }
            nodes.add(t);
        }
    }

    @Benchmark
    public int cancelThenPoll() {
        adapter.cancel(root);
        int cancelled = 0;
        for (Object node : nodes) {
            if (adapter.isCancelled(node)) {
                cancelled++;
            }
        }
        if (cancelled != nodes.size()) {
            throw new IllegalStateException(peer + ": only " + cancelled + " of " + nodes.size() + " cancelled");
        }
        if (ran < expectedRuns) {
            throw new IllegalStateException(peer + ": only " + ran + " of " + expectedRuns + " callbacks ran");
        }
        return cancelled;
    }
}
