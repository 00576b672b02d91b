package io.github.cancellation.spring.web;

import jakarta.servlet.http.HttpServletRequest;

/**
 * A Servlet container's own way, beyond the Servlet API, to tell that a request can no longer be
 * answered. {@link MvcRequestTokenFilter} gives every request it opens a token for to each of these
 * (one per container the application may run on), before the handler runs.
 *
 * <p>An implementation that names a container's types must be loaded only when that container is
 * on the class path (a bean behind a class-presence condition), so that no such type is reachable
 * from a class loaded on another container.
 *
 * <p>Thread-safety: implementations are thread-safe; {@link #listen} is called on the request's
 * thread, and what it installs may fire on any of the container's threads.
 */
interface ContainerDisconnectSignal {

    /**
     * Arranges for {@code inFlight} to be cancelled with {@code DISCONNECTED} when the container
     * reports that the request failed; does nothing if {@code request} is not one of this
     * container's. Whatever it installs must not retain {@code inFlight} after the request ended, and
     * a report after the request's token was closed must change nothing (a closed token ignores
     * {@code cancel}).
     *
     * @param request the request as the filter received it (possibly wrapped)
     * @param inFlight the request's token and tracking
     */
    void listen(HttpServletRequest request, InFlightRequest inFlight);
}
