package io.github.cancellation.spring;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.context.SmartLifecycle;

/**
 * Configuration properties of the cancellation starter, under {@code cancellation}.
 *
 * <p>{@code cancellation.enabled} (default {@code true}) is read by the auto-configuration's
 * condition, not bound here; it is documented in the additional metadata. Invalid values fail
 * start-up with a message that names the key.
 *
 * <p>Thread-safety: bound once at start-up on one thread and only read afterwards.
 */
@ConfigurationProperties("cancellation")
public class CancellationProperties {

    private final Shutdown shutdown = new Shutdown();

    private final Async async = new Async();

    private final Scheduling scheduling = new Scheduling();

    private final Metrics metrics = new Metrics();

    /**
     * Returns the shutdown settings ({@code cancellation.shutdown.*}).
     *
     * @return the shutdown settings, never null
     */
    public Shutdown getShutdown() {
        return shutdown;
    }

    /**
     * Returns the {@code @Async} settings ({@code cancellation.async.*}).
     *
     * @return the {@code @Async} settings, never null
     */
    public Async getAsync() {
        return async;
    }

    /**
     * Returns the {@code @Scheduled} settings ({@code cancellation.scheduling.*}).
     *
     * @return the {@code @Scheduled} settings, never null
     */
    public Scheduling getScheduling() {
        return scheduling;
    }

    /**
     * Returns the metrics settings ({@code cancellation.metrics.*}).
     *
     * @return the metrics settings, never null
     */
    public Metrics getMetrics() {
        return metrics;
    }

    /**
     * Settings of the cancellation meters. Read by the condition of
     * {@link CancellationMetricsAutoConfiguration}; bound here so that they are documented.
     */
    public static class Metrics {

        /**
         * Whether to register the cancellation meters (cancellation.tokens.*, cancellation.tasks.*
         * and cancellation.shutdown.*) when Micrometer and a MeterRegistry are present.
         */
        private boolean enabled = true;

        /**
         * Returns whether the cancellation meters are registered.
         *
         * @return {@code true} if they are
         */
        public boolean isEnabled() {
            return enabled;
        }

        /**
         * Sets whether the cancellation meters are registered.
         *
         * @param enabled {@code true} if they are
         */
        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }
    }

    /**
     * Settings of {@code @Async} methods. Read by the condition of
     * {@link CancellationAsyncAutoConfiguration}; bound here so that they are documented.
     */
    public static class Async {

        /**
         * Whether to run every @Async invocation under a token of its own (a child of its bean's
         * token, else of the application token), tracked for the shutdown drain, linked to a
         * CancellationToken argument and to the returned future.
         */
        private boolean enabled = true;

        /**
         * Returns whether {@code @Async} invocations get tokens of their own.
         *
         * @return {@code true} if they do
         */
        public boolean isEnabled() {
            return enabled;
        }

        /**
         * Sets whether {@code @Async} invocations get tokens of their own.
         *
         * @param enabled {@code true} if they do
         */
        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }
    }

    /**
     * Settings of {@code @Scheduled} methods. Read by the condition of
     * {@link CancellationSchedulingAutoConfiguration}; bound here so that they are documented.
     */
    public static class Scheduling {

        /**
         * Whether to run every @Scheduled execution under a token of its own, tracked for the
         * shutdown drain, and to start no execution once the application token is cancelled.
         */
        private boolean enabled = true;

        /**
         * Returns whether {@code @Scheduled} executions get tokens of their own.
         *
         * @return {@code true} if they do
         */
        public boolean isEnabled() {
            return enabled;
        }

        /**
         * Sets whether {@code @Scheduled} executions get tokens of their own.
         *
         * @param enabled {@code true} if they do
         */
        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }
    }

    /**
     * Settings of the shutdown sequence: when the application token is cancelled and how long
     * tracked work may take to finish afterwards.
     */
    public static class Shutdown {

        /**
         * Default {@linkplain #getPhase() phase}: {@code Integer.MAX_VALUE - 3072}, 1024 below the
         * web server's start/stop phase ({@code Integer.MAX_VALUE - 2048}, itself below graceful
         * shutdown at {@code Integer.MAX_VALUE - 1024}), and far above the executors' and
         * schedulers' phase ({@code Integer.MAX_VALUE / 2}).
         */
        public static final int DEFAULT_PHASE = SmartLifecycle.DEFAULT_PHASE - 3072;

        /**
         * Default {@linkplain #getDrainTimeout() drain timeout}: 20 seconds. It stays below
         * {@code spring.lifecycle.timeout-per-shutdown-phase} (30 s by default), so the lifecycle
         * processor never abandons the drain half-way, and leaves 10 s of a 30 s grace period
         * (Kubernetes' default {@code terminationGracePeriodSeconds}) for the web server's drain
         * before it, the executor phase after it (which ends at once when tasks honoured their
         * tokens) and bean destruction.
         */
        public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(20);

        /**
         * Default {@linkplain #getExecutorPhaseTimeout() executor phase timeout}: 1 second, enough
         * for tasks that start during shutdown (born cancelled) to end.
         */
        public static final Duration DEFAULT_EXECUTOR_PHASE_TIMEOUT = Duration.ofSeconds(1);

        /**
         * Lifecycle phase at which the application token is cancelled when the context closes.
         * The default runs after the web server has drained and stopped (phases MAX - 1024 and
         * MAX - 2048) and before executors and schedulers wait for their tasks (MAX / 2).
         */
        private int phase = DEFAULT_PHASE;

        /**
         * Maximum time to wait, once the application token is cancelled, for tracked tasks to
         * finish. Tasks still running then are logged as stragglers and shutdown goes on. Should
         * be below spring.lifecycle.timeout-per-shutdown-phase. Zero does not wait.
         */
        private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;

        /**
         * Whether to interrupt the threads of tracked tasks that are still running when the drain
         * timeout has elapsed.
         */
        private boolean interruptStragglers;

        /**
         * Maximum time the executors' and schedulers' own shutdown phase (MAX / 2), which comes
         * after the drain, waits for tasks still running. Replaces
         * spring.lifecycle.timeout-per-shutdown-phase for that phase only, so that a task that
         * ignores its token holds shutdown for at most the drain timeout plus this. Logged at INFO
         * at start-up when it applies (when the application token is cancelled before that phase).
         */
        private Duration executorPhaseTimeout = DEFAULT_EXECUTOR_PHASE_TIMEOUT;

        /**
         * Returns the lifecycle phase at which the application token is cancelled.
         *
         * @return the phase
         */
        public int getPhase() {
            return phase;
        }

        /**
         * Sets the lifecycle phase at which the application token is cancelled. Any value is
         * accepted; one at or below {@code Integer.MAX_VALUE / 2} makes executors wait for tasks
         * that have not been told to stop, which is reported at start-up.
         *
         * @param phase the phase
         */
        public void setPhase(int phase) {
            this.phase = phase;
        }

        /**
         * Returns the maximum time the shutdown drain waits for tracked tasks.
         *
         * @return the drain timeout, never null or negative
         */
        public Duration getDrainTimeout() {
            return drainTimeout;
        }

        /**
         * Sets the maximum time the shutdown drain waits for tracked tasks.
         *
         * @param drainTimeout the drain timeout; zero means "do not wait"
         * @throws IllegalArgumentException if the timeout is null or negative
         */
        public void setDrainTimeout(Duration drainTimeout) {
            if (drainTimeout == null) {
                throw new IllegalArgumentException("cancellation.shutdown.drain-timeout must not be empty");
            }
            if (drainTimeout.isNegative()) {
                throw new IllegalArgumentException(
                        "cancellation.shutdown.drain-timeout must not be negative, but was " + drainTimeout);
            }
            this.drainTimeout = drainTimeout;
        }

        /**
         * Returns whether straggling tasks are interrupted when the drain timeout has elapsed.
         *
         * @return {@code true} to interrupt stragglers
         */
        public boolean isInterruptStragglers() {
            return interruptStragglers;
        }

        /**
         * Returns how long the executors' and schedulers' shutdown phase waits for tasks still
         * running after the drain.
         *
         * @return the executor phase timeout, never null or negative
         */
        public Duration getExecutorPhaseTimeout() {
            return executorPhaseTimeout;
        }

        /**
         * Sets how long the executors' and schedulers' shutdown phase waits for tasks still
         * running after the drain.
         *
         * @param executorPhaseTimeout the timeout; zero means "do not wait"
         * @throws IllegalArgumentException if the timeout is null or negative
         */
        public void setExecutorPhaseTimeout(Duration executorPhaseTimeout) {
            if (executorPhaseTimeout == null) {
                throw new IllegalArgumentException("cancellation.shutdown.executor-phase-timeout must not be empty");
            }
            if (executorPhaseTimeout.isNegative()) {
                throw new IllegalArgumentException("cancellation.shutdown.executor-phase-timeout must not be negative, but was "
                        + executorPhaseTimeout);
            }
            this.executorPhaseTimeout = executorPhaseTimeout;
        }

        /**
         * Sets whether straggling tasks are interrupted when the drain timeout has elapsed.
         *
         * @param interruptStragglers {@code true} to interrupt stragglers
         */
        public void setInterruptStragglers(boolean interruptStragglers) {
            this.interruptStragglers = interruptStragglers;
        }
    }
}
