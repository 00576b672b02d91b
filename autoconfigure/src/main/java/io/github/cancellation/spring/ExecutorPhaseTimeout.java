package io.github.cancellation.spring;

import java.time.Duration;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.context.support.DefaultLifecycleProcessor;
import org.springframework.scheduling.concurrent.ExecutorConfigurationSupport;

/**
 * Bounds the executors' and schedulers' own shutdown phase ({@code Integer.MAX_VALUE / 2}), so
 * that a task which ignores its token holds shutdown for at most
 * {@code cancellation.shutdown.drain-timeout} plus {@code cancellation.shutdown.executor-phase-timeout},
 * not the drain timeout plus a whole {@code spring.lifecycle.timeout-per-shutdown-phase}.
 *
 * <p>Why it is needed: when the drain ends, every tracked task that honoured its token has ended,
 * and the ones still running are stragglers that ignored it. Spring's executors then stop in their
 * own phase by waiting for the tasks they run, up to the lifecycle processor's per-phase timeout (30
 * s by default), for exactly those stragglers. Setting a timeout for that one phase on the lifecycle
 * processor (Spring Framework's {@link DefaultLifecycleProcessor#setTimeoutForShutdownPhase}) lets
 * shutdown go on; the executors' destruction then interrupts what still runs, as Spring does after
 * any phase timeout.
 *
 * <p>Only applied when the application token is cancelled before the executors' phase (the
 * default); otherwise the drain would not have run yet when the executors stop. When applied, it
 * says so at {@code INFO} at start-up, naming the property that sets it
 * ({@code cancellation.shutdown.executor-phase-timeout}, documented in the README and the
 * configuration metadata).
 */
final class ExecutorPhaseTimeout implements BeanPostProcessor {

    private static final Log logger = LogFactory.getLog(ExecutorPhaseTimeout.class);

    private final int cancellationPhase;
    private final Duration timeout;

    ExecutorPhaseTimeout(int cancellationPhase, Duration timeout) {
        this.cancellationPhase = cancellationPhase;
        this.timeout = timeout;
    }

    @Override
    public Object postProcessBeforeInitialization(Object bean, String beanName) {
        if (bean instanceof DefaultLifecycleProcessor processor
                && cancellationPhase > ExecutorConfigurationSupport.DEFAULT_PHASE) {
            processor.setTimeoutForShutdownPhase(ExecutorConfigurationSupport.DEFAULT_PHASE, timeout.toMillis());
            // Spring's own behaviour changes here: say so where operators look, once, at start-up.
            logger.info("Shutdown phase " + ExecutorConfigurationSupport.DEFAULT_PHASE + " (executors and schedulers) "
                    + "waits at most " + timeout + " for tasks still running after the cancellation drain, in place of "
                    + "spring.lifecycle.timeout-per-shutdown-phase (set cancellation.shutdown.executor-phase-timeout "
                    + "to change it)");
        }
        return bean;
    }
}
