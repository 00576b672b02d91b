package io.github.cancellation.benchmarks;

import java.util.Collection;

import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The one benchmark run that {@code mvn -B verify} does: a single short iteration of one shape,
 * in this JVM, to show that the generated harness, the adapters and the options still work.
 * Asserts that a measurement came out, never what it is: the numbers come from
 * {@code benchmarks/run.sh} on an idle machine.
 */
class JmhSmokeTest {

    @Test
    void oneIterationOfTheCheckBenchmarkShouldProduceAMeasurement() throws Exception {
        Options options = new OptionsBuilder()
            .include(CheckBenchmark.class.getName() + ".isCancelled")
            .param("peer", "ours")
            .param("depth", "1")
            .forks(0)
            .warmupIterations(0)
            .measurementIterations(1)
            .measurementTime(TimeValue.milliseconds(100))
            .shouldFailOnError(true)
            .build();

        Collection<RunResult> results = new Runner(options).run();

        assertThat(results).singleElement().satisfies(result -> {
            assertThat(result.getParams().getParam("peer")).isEqualTo("ours");
            assertThat(result.getPrimaryResult().getSampleCount()).isEqualTo(1);
            assertThat(result.getPrimaryResult().getScore()).isPositive().isFinite();
        });
    }
}
