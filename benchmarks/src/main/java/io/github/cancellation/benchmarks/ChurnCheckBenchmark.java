package io.github.cancellation.benchmarks;

import java.util.concurrent.TimeUnit;

import io.github.cancellation.benchmarks.peers.Peers;
import io.github.cancellation.benchmarks.peers.TokenAdapter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Spring case: one tree per application. One thread checks a token at depth 4 while another keeps
 * creating and closing children that have children of their own, elsewhere in the same tree.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ChurnCheckBenchmark {

    @Param({"ours", "grpc", "kotlin", "naive", "volatile"})
    public String peer;

    private TokenAdapter<Object> adapter;
    private Object checked;
    private Object branch;

    @Setup
    public void setUp() {
        adapter = Peers.byName(peer);
        Object root = adapter.newRoot();
        Object t = root;
        for (int i = 0; i < 4; i++) {
            t = adapter.newChild(t);
        }
        checked = t;
        branch = adapter.newChild(root);
    }

    @Benchmark
    @Group("churn")
    @GroupThreads(1)
    public boolean check() {
        return adapter.isCancelled(checked);
    }

    @Benchmark
    @Group("churn")
    @GroupThreads(1)
    public void closeSubtrees() {
        Object invocation = adapter.newChild(branch);
        Object task = adapter.newChild(invocation);
        adapter.close(task);
        adapter.close(invocation);
    }
}
