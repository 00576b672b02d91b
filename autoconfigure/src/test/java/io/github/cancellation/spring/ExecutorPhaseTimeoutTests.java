package io.github.cancellation.spring;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.context.LifecycleAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The executors' phase timeout changes Spring's own shutdown behaviour: it says so at INFO at
 * start-up when it applies, naming the property, and stays silent when it does not.
 */
@ExtendWith(OutputCaptureExtension.class)
class ExecutorPhaseTimeoutTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner().withConfiguration(
            AutoConfigurations.of(LifecycleAutoConfiguration.class, CancellationAutoConfiguration.class));

    @Test
    void executorPhaseTimeoutShouldBeLoggedAtInfoWhenItApplies(CapturedOutput output) {
        contextRunner.withPropertyValues("cancellation.shutdown.executor-phase-timeout=3s").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(output).contains("INFO").contains("waits at most PT3S")
                .contains("cancellation.shutdown.executor-phase-timeout");
        });
    }

    @Test
    void executorPhaseTimeoutShouldNotBeLoggedWhenTheTokenIsCancelledAfterTheExecutorsPhase(CapturedOutput output) {
        contextRunner.withPropertyValues("cancellation.shutdown.phase=100").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(output).doesNotContain("cancellation.shutdown.executor-phase-timeout");
        });
    }
}
