package io.github.cancellation.spring.web;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.Scope;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.core.Ordered;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.util.DisconnectedClientHelper;

/**
 * Opens a request token when a request arrives, binds it as {@code CancellationToken.current()}
 * while the request thread (and every async dispatch of the request) runs, and closes it when the
 * response is complete: at the end of the filter chain, or, when the request went async, at the
 * Servlet {@code AsyncListener.onComplete}.
 *
 * <p>Signals used: an exception that Spring classifies as a client disconnect escaping the chain,
 * {@code AsyncListener.onError} with one, and an {@code AsyncListener.onTimeout} that comes before
 * the async timeout is due (Tomcat's way of ending an async request whose connection closed)
 * cancel with {@code DISCONNECTED}; an {@code onTimeout} that is due cancels with {@code TIMEOUT}.
 * Beyond the Servlet API, each {@link ContainerDisconnectSignal} (Jetty's failure listener, when
 * Jetty is present) is given the request before the handler runs. A request blocked in a plain
 * handler gets no signal from Tomcat or Jetty over HTTP/1.1 before it writes.
 *
 * <p>Thread-safety: thread-safe; state lives in the request.
 */
final class MvcRequestTokenFilter extends OncePerRequestFilter implements Ordered {

    /** The request attribute holding the {@link InFlightRequest}. */
    static final String ATTRIBUTE = MvcRequestTokenFilter.class.getName() + ".request";

    private static final Log logger = LogFactory.getLog(MvcRequestTokenFilter.class);

    private final RequestTokens tokens;

    private final List<ContainerDisconnectSignal> signals;

    MvcRequestTokenFilter(RequestTokens tokens, List<ContainerDisconnectSignal> signals) {
        this.tokens = tokens;
        this.signals = List.copyOf(signals);
    }

    @Override
    public int getOrder() {
        return CancellationWebMvcAutoConfiguration.FILTER_ORDER;
    }

    @Override
    protected boolean shouldNotFilterAsyncDispatch() {
        return false;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        InFlightRequest inFlight = (InFlightRequest) request.getAttribute(ATTRIBUTE);
        boolean initial = (inFlight == null);
        if (inFlight == null) {
            inFlight = tokens.open(headerDeadline(request));
            request.setAttribute(ATTRIBUTE, inFlight);
            for (ContainerDisconnectSignal signal : signals) {
                signal.listen(request, inFlight);
            }
        }
        try (Scope scope = inFlight.token().bind()) {
            chain.doFilter(request, response);
        }
        catch (IOException | ServletException | RuntimeException ex) {
            if (DisconnectedClientHelper.isClientDisconnectedException(ex)) {
                inFlight.cancel(Kind.DISCONNECTED, "client went away (" + ex.getClass().getSimpleName() + ")");
            }
            throw ex;
        }
        finally {
            if (!request.isAsyncStarted()) {
                inFlight.close();
            }
            else if (initial) {
                listen(request, inFlight);
            }
        }
    }

    private Optional<Duration> headerDeadline(HttpServletRequest request) {
        String header = tokens.deadlineHeader();
        return header.isEmpty() ? Optional.empty() : RequestDeadlines.fromHeader(request.getHeaders(header));
    }

    private static void listen(HttpServletRequest request, InFlightRequest inFlight) {
        AsyncContext context;
        try {
            context = request.getAsyncContext();
        }
        catch (IllegalStateException ex) {
            // Async processing already ended: so is the request.
            logger.debug("Async processing ended before its listener was added; closing the request token", ex);
            inFlight.close();
            return;
        }
        context.addListener(new Listener(inFlight, context.getTimeout(), System.nanoTime()));
    }

    /** Follows an async request to its end. */
    private static final class Listener implements AsyncListener {

        private final InFlightRequest inFlight;

        /** The async timeout when async processing started, in milliseconds; zero or less for none. */
        private final long timeoutMillis;

        private final long startNanos;

        Listener(InFlightRequest inFlight, long timeoutMillis, long startNanos) {
            this.inFlight = inFlight;
            this.timeoutMillis = timeoutMillis;
            this.startNanos = startNanos;
        }

        @Override
        public void onComplete(AsyncEvent event) {
            inFlight.close();
        }

        /**
         * A timeout before the async timeout is due is how Tomcat reports that the connection of
         * an async request closed (it times the request out at once); only a timeout that is due
         * is a {@code TIMEOUT}.
         */
        @Override
        public void onTimeout(AsyncEvent event) {
            long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
            if (timeoutMillis > 0 && elapsedMillis >= timeoutMillis) {
                inFlight.cancel(Kind.TIMEOUT, "async request timeout (spring.mvc.async.request-timeout) passed");
            }
            else {
                inFlight.cancel(Kind.DISCONNECTED, "client went away (the container ended async processing after "
                        + elapsedMillis + " ms, before its timeout)");
            }
        }

        @Override
        public void onError(AsyncEvent event) {
            @Nullable Throwable failure = event.getThrowable();
            if (failure == null || failure instanceof IOException
                    || DisconnectedClientHelper.isClientDisconnectedException(failure)) {
                inFlight.cancel(Kind.DISCONNECTED, "client went away ("
                        + ((failure != null) ? failure.getClass().getSimpleName() : "async error") + ")");
            }
        }

        @Override
        public void onStartAsync(AsyncEvent event) {
            // Async started again from an async dispatch: keep following the request.
            event.getAsyncContext().addListener(this);
        }
    }
}
