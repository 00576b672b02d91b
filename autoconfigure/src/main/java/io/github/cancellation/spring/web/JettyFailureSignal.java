package io.github.cancellation.spring.web;

import io.github.cancellation.CancellationReason.Kind;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletRequestWrapper;
import jakarta.servlet.http.HttpServletRequest;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.eclipse.jetty.ee11.servlet.ServletApiRequest;
import org.eclipse.jetty.ee11.servlet.ServletContextRequest;
import org.eclipse.jetty.server.Request;
import org.jspecify.annotations.Nullable;

/**
 * Jetty 12's failure listener on the core request behind a Servlet request: when Jetty reports an
 * asynchronous fatal failure of the request ({@code Request.addFailureListener}: the connection
 * closed or reset, an HTTP/2 stream reset by the client, an idle timeout Jetty decided to treat as
 * fatal, the request body cut short), the request token is cancelled with {@code DISCONNECTED}: the
 * response can no longer reach the client (Jetty fails every pending and later write). The reason's
 * message names Jetty's exception.
 *
 * <p>The only class of the starter that names Jetty types; it is created only when Jetty's
 * ee11 Servlet and core server classes are present (see
 * {@link CancellationWebMvcAutoConfiguration}), and it does nothing for a request that another
 * container serves. Both Jetty methods it uses are public API: the static
 * {@code ServletContextRequest.getServletContextRequest} and {@code Request.addFailureListener}.
 *
 * <p>Jetty drops its failure listeners when the request's exchange completes (before the
 * connection serves its next request), so the listener retains the request only while it is in
 * flight; a failure reported after the token was closed changes nothing.
 *
 * <p>Thread-safety: thread-safe and stateless. The listener runs on one of Jetty's threads.
 */
final class JettyFailureSignal implements ContainerDisconnectSignal {

    private static final Log logger = LogFactory.getLog(JettyFailureSignal.class);

    @Override
    public void listen(HttpServletRequest request, InFlightRequest inFlight) {
        Request core = coreRequest(request);
        if (core == null) {
            return;
        }
        core.addFailureListener((failure) -> {
            if (logger.isDebugEnabled()) {
                logger.debug("Jetty reported a failure of request " + inFlight + ": " + failure);
            }
            inFlight.cancel(Kind.DISCONNECTED, "client went away (Jetty reported "
                    + failure.getClass().getSimpleName() + ")");
        });
    }

    /**
     * The core request behind {@code request}, or {@code null} if Jetty does not serve it (another
     * container with Jetty's classes on the class path).
     */
    static @Nullable Request coreRequest(ServletRequest request) {
        ServletRequest unwrapped = request;
        while (unwrapped instanceof ServletRequestWrapper wrapper) {
            unwrapped = wrapper.getRequest();
        }
        if (!(unwrapped instanceof ServletApiRequest)) {
            return null;
        }
        return ServletContextRequest.getServletContextRequest(unwrapped);
    }
}
