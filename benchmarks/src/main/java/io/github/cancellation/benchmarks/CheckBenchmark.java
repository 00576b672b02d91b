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
import org.openjdk.jmh.annotations.Warmup;

/** {@code isCancelled()} on an uncancelled token at depth 1 and 8 below a root. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CheckBenchmark {

    @Param({"ours", "grpc", "kotlin", "naive", "future", "volatile"})
    public String peer;

    @Param({"1", "8"})
    public int depth;

    private TokenAdapter<Object> adapter;
    private Object token;

    @Setup
    public void setUp() {
        adapter = Peers.byName(peer);
        Object t = adapter.newRoot();
        for (int i = 0; i < depth; i++) {
            t = adapter.newChild(t);
        }
        token = t;
    }

    @Benchmark
    public boolean isCancelled() {
        return adapter.isCancelled(token);
    }
}
