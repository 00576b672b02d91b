package io.github.cancellation.benchmarks;

import java.util.concurrent.TimeUnit;

import io.github.cancellation.benchmarks.peers.Peers;
import io.github.cancellation.benchmarks.peers.TokenAdapter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Short-lived children of one shared long-lived root (a request or task token under the application
 * token): create and close, with and without a callback, on one and two threads; and a callback
 * registered and unregistered on the root. Run with {@code -prof gc} for bytes per operation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ChildBenchmark {

    private static final Runnable NOOP = () -> { };

    @Param({"ours", "grpc", "kotlin", "naive", "future"})
    public String peer;

    private TokenAdapter<Object> adapter;
    private Object root;

    @Setup
    public void setUp() {
        adapter = Peers.byName(peer);
        root = adapter.newRoot();
    }

    @Benchmark
    public void childClose() {
        adapter.close(adapter.newChild(root));
    }

    @Benchmark
    @Threads(2)
    public void childClose2Threads() {
        adapter.close(adapter.newChild(root));
    }

    @Benchmark
    public void childListenerClose() {
        Object child = adapter.newChild(root);
        adapter.register(child, NOOP);
        adapter.close(child);
    }

    @Benchmark
    @Threads(2)
    public void childListenerClose2Threads() {
        Object child = adapter.newChild(root);
        adapter.register(child, NOOP);
        adapter.close(child);
    }

    @Benchmark
    public void registerUnregister() {
        adapter.unregister(root, adapter.register(root, NOOP));
    }
}
