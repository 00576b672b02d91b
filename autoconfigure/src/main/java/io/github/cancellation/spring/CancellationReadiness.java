package io.github.cancellation.spring;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.Registration;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationEventPublisher;

/**
 * Publishes {@link ReadinessState#REFUSING_TRAFFIC} once the application token is cancelled, so
 * that readiness probes report the application as going away: at shutdown (Boot's web contexts
 * already do so when they start closing, plain contexts never do), through the actuator
 * endpoint's shutdown, or when code cancels the application token itself.
 *
 * <p>The event is published on the thread that cancels, from a callback on the application
 * token; nothing is published when readiness already refuses traffic. A failure to publish (the
 * context is already torn down) is logged at DEBUG and otherwise ignored.
 *
 * <p>Thread-safety: thread-safe.
 */
final class CancellationReadiness implements SmartInitializingSingleton, DisposableBean {

    private static final Log logger = LogFactory.getLog(CancellationReadiness.class);

    private final CancellationToken applicationToken;

    private final ApplicationEventPublisher publisher;

    private final ObjectProvider<ApplicationAvailability> availability;

    private volatile @Nullable Registration registration;

    CancellationReadiness(CancellationToken applicationToken, ApplicationEventPublisher publisher,
            ObjectProvider<ApplicationAvailability> availability) {
        this.applicationToken = applicationToken;
        this.publisher = publisher;
        this.availability = availability;
    }

    /**
     * Registers the callback once all singletons exist, so that the event reaches every listener.
     */
    @Override
    public void afterSingletonsInstantiated() {
        registration = applicationToken.onCancel(this::refuseTraffic);
    }

    private void refuseTraffic(CancellationReason reason) {
        try {
            ApplicationAvailability current = availability.getIfAvailable();
            if (current != null && current.getReadinessState() == ReadinessState.REFUSING_TRAFFIC) {
                return;
            }
            AvailabilityChangeEvent.publish(publisher, this, ReadinessState.REFUSING_TRAFFIC);
        }
        catch (RuntimeException ex) {
            logger.debug("Could not publish readiness REFUSING_TRAFFIC after the application token was cancelled ("
                    + reason + ")", ex);
        }
    }

    @Override
    public void destroy() {
        Registration current = registration;
        if (current != null) {
            current.close();
        }
    }

    @Override
    public String toString() {
        return "CancellationReadiness[token " + applicationToken.name() + "]";
    }
}
