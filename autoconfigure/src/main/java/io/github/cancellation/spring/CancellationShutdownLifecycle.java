package io.github.cancellation.spring;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.Registration;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationListener;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.scheduling.concurrent.ExecutorConfigurationSupport;

/**
 * Cancels the application token when the application context closes, then drains tracked work.
 *
 * <p>Goals, in order:
 * <ol>
 *   <li><b>Only a real close cancels.</b> {@code context.stop()} stops lifecycles too, but a
 *       stopped context can be started again, and a cancelled token cannot. A close is recognised
 *       by the {@link ContextClosedEvent} of this bean's own context (an event of a child context
 *       also reaches the parent's listeners, so the source is compared), which
 *       {@code AbstractApplicationContext.doClose()} publishes before it stops any lifecycle.
 *   <li><b>Cancel at the configured phase.</b> When the lifecycle processor stops this bean during
 *       a close, the token is cancelled with kind {@code SHUTDOWN} before {@code stop} returns,
 *       after the web server phases and before the executors' phase. If the bean is not running
 *       when the close begins (the context was stopped first), the lifecycle processor will not
 *       stop it, so the close event cancels at once. If neither happens (a refresh that failed
 *       after this bean was created), bean destruction does.
 *   <li><b>Once.</b> Whatever path comes first cancels and drains; the others do nothing more.
 *   <li><b>Never hold shutdown past the drain timeout.</b> The drain runs on its own daemon thread
 *       and calls the lifecycle callback when the tracker is empty or the drain timeout has
 *       elapsed, whichever comes first; the lifecycle processor's own phase timeout still bounds
 *       it. Stragglers are logged, counted and, only if configured, interrupted; never waited
 *       for beyond the timeout.
 *   <li><b>Never pause.</b> {@link #isPauseable()} is {@code false}: a paused context keeps its
 *       token, since a cancelled token cannot be resumed.
 * </ol>
 *
 * <p>When the drain ends, the {@linkplain #addDrainListener(DrainListener) drain listeners} are
 * told the result first (the metrics record {@code cancellation.shutdown.*} from it), so that a
 * straggler is one before it is interrupted. Then the drain logs one WARN line per straggler and
 * one summary line (tasks that ended, stragglers, time), at INFO when every task ended and at WARN
 * otherwise: a scrape of the meters may well miss a process's last seconds, a log line is not
 * missed.
 *
 * <p>This bean is separate from the token bean on purpose: the lifecycle processor stops a bean's
 * dependents before the bean itself, so no {@code Lifecycle} bean should depend on this one.
 */
final class CancellationShutdownLifecycle
        implements SmartLifecycle, ApplicationListener<ContextClosedEvent>, DisposableBean {

    private static final Log logger = LogFactory.getLog(CancellationShutdownLifecycle.class);

    static final String DRAIN_THREAD_NAME = "cancellation-drain";

    private final ApplicationContext context;
    private final CancellationToken applicationToken;
    private final CancellationTaskTracker tracker;
    private final IssuedTokens issuedTokens;
    private final List<DrainListener> drainListeners = new CopyOnWriteArrayList<>();
    private final int phase;
    private final Duration drainTimeout;
    private final boolean interruptStragglers;

    private volatile boolean running;
    private volatile boolean closing;
    private final AtomicBoolean shutdownStarted = new AtomicBoolean();

    /**
     * The application token is found while this bean is created, so its bean, if it is one of the
     * starter's or a user's, is registered for destruction first and destroyed after this bean:
     * {@link #destroy()} cancels it with {@code SHUTDOWN} before the token's own {@code close()}.
     */
    CancellationShutdownLifecycle(ApplicationContext context, CancellationToken applicationToken,
            CancellationTaskTracker tracker, IssuedTokens issuedTokens, CancellationProperties.Shutdown settings,
            Duration phaseTimeout) {
        this.context = context;
        this.applicationToken = applicationToken;
        this.tracker = tracker;
        this.issuedTokens = issuedTokens;
        this.phase = settings.getPhase();
        this.drainTimeout = settings.getDrainTimeout();
        this.interruptStragglers = settings.isInterruptStragglers();
        warnIfMisconfigured(phaseTimeout);
    }

    private void warnIfMisconfigured(Duration phaseTimeout) {
        if (drainTimeout.compareTo(phaseTimeout) >= 0) {
            logger.warn("cancellation.shutdown.drain-timeout (" + drainTimeout + ") does not fit in "
                    + "spring.lifecycle.timeout-per-shutdown-phase (" + phaseTimeout + "): the lifecycle processor "
                    + "stops waiting for the drain after " + phaseTimeout + " and goes on with the next phases "
                    + "while tracked tasks may still run; lower the drain timeout or raise the phase timeout");
        }
        if (phase <= ExecutorConfigurationSupport.DEFAULT_PHASE) {
            logger.warn("cancellation.shutdown.phase (" + phase + ") is not above the executors' and schedulers' "
                    + "phase (" + ExecutorConfigurationSupport.DEFAULT_PHASE + "): they will wait for their tasks "
                    + "before the application token is cancelled");
        }
    }

    /**
     * Adds a listener that is told the result of the shutdown drain, once, on the thread that
     * drains. A listener that throws is logged and does not affect the shutdown.
     *
     * @param listener the listener; keep it fast, shutdown waits for it
     * @return a registration that removes the listener
     */
    Registration addDrainListener(DrainListener listener) {
        drainListeners.add(listener);
        return () -> drainListeners.remove(listener);
    }

    @Override
    public void start() {
        running = true;
    }

    /**
     * Stops without a callback: cancels and drains on the calling thread if the context is
     * closing.
     */
    @Override
    public void stop() {
        running = false;
        if (closing) {
            shutdown(null);
        }
    }

    @Override
    public void stop(Runnable callback) {
        running = false;
        if (closing) {
            shutdown(callback);
        }
        else {
            callback.run();
        }
    }

    @Override
    public void onApplicationEvent(ContextClosedEvent event) {
        if (event.getApplicationContext() != context) {
            return;
        }
        closing = true;
        if (!running) {
            // The context was stopped before it was closed: the lifecycle processor will not stop us again.
            shutdown(null);
        }
    }

    @Override
    public void destroy() {
        shutdown(null);
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return phase;
    }

    @Override
    public boolean isAutoStartup() {
        return true;
    }

    @Override
    public boolean isPauseable() {
        return false;
    }

    /**
     * Cancels the application token and drains, once. With a callback, the drain runs on a new
     * daemon thread that calls it at the end; without one, on the calling thread.
     */
    private void shutdown(@Nullable Runnable callback) {
        if (!shutdownStarted.compareAndSet(false, true)) {
            if (callback != null) {
                callback.run();
            }
            return;
        }
        int inFlight = tracker.activeCount();
        long start = System.nanoTime();
        if (applicationToken.cancel(
                CancellationReason.of(CancellationReason.Kind.SHUTDOWN, "application context is closing"))) {
            issuedTokens.countStarted(CancellationReason.Kind.SHUTDOWN);
        }
        tracker.noteCancelled();
        tracker.close();
        if (callback == null) {
            drain(start, inFlight);
            return;
        }
        Thread drainer = new Thread(() -> {
            try {
                drain(start, inFlight);
            }
            finally {
                callback.run();
            }
        }, DRAIN_THREAD_NAME);
        drainer.setDaemon(true);
        drainer.start();
    }

    private void drain(long start, int inFlight) {
        boolean emptied;
        try {
            emptied = tracker.awaitEmpty(drainTimeout);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            logger.warn("Shutdown drain interrupted; not waiting for tracked tasks any longer");
            emptied = tracker.activeCount() == 0;
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
        List<TrackedTask> stragglers = emptied ? List.of() : tracker.tasks();
        // Before any interrupt: a straggler that then ends must already count as one.
        notifyDrainListeners(elapsed, stragglers);
        long elapsedMillis = elapsed.toMillis();
        if (stragglers.isEmpty()) {
            logger.info("Shutdown drain: cancelled '" + applicationToken.name() + "'; the " + inFlight
                    + " tracked task(s) in flight ended in " + elapsedMillis + " ms, none left running");
            return;
        }
        long stragglersInFlight = 0;
        for (TrackedTask task : stragglers) {
            boolean interrupted = interruptStragglers && task.interruptIfRunning();
            logger.warn("Shutdown drain: task '" + task.name() + "' still running after the drain timeout ("
                    + drainTimeout + "), age " + task.age().toMillis() + " ms, thread '" + task.thread().getName()
                    + "'" + (interrupted ? ", interrupted" : ", not interrupted"));
            if (task.startNanos() - start <= 0) {
                stragglersInFlight++;
            }
        }
        logger.warn("Shutdown drain: cancelled '" + applicationToken.name() + "'; " + stragglers.size()
                + " straggler(s) still running after " + elapsedMillis + " ms; "
                + Math.max(0, inFlight - stragglersInFlight) + " of the " + inFlight
                + " tracked task(s) in flight ended");
    }

    private void notifyDrainListeners(Duration elapsed, List<TrackedTask> stragglers) {
        for (DrainListener listener : drainListeners) {
            try {
                listener.drained(elapsed, stragglers);
            }
            catch (RuntimeException ex) {
                logger.warn("Shutdown drain listener " + listener + " failed", ex);
            }
        }
    }

    @Override
    public String toString() {
        return "CancellationShutdownLifecycle[phase " + phase + ", token " + applicationToken.name() + "]";
    }

    /**
     * Told the result of the shutdown drain: how long it took and which tasks were still running
     * when it ended. Internal: the metrics use it.
     */
    @FunctionalInterface
    interface DrainListener {

        /**
         * Called once, on the thread that drains, when the drain has ended, before stragglers are
         * logged and (if configured) interrupted.
         *
         * @param elapsed the time from the cancellation of the application token to the end of
         *     the drain
         * @param stragglers the tasks still running, oldest first; empty when every task ended
         */
        void drained(Duration elapsed, List<TrackedTask> stragglers);
    }
}
