package io.github.cancellation.spring;

import java.security.Principal;

import io.github.cancellation.spring.CancellationEndpoint.CancelDescriptor;
import io.github.cancellation.spring.CancellationEndpoint.TokensDescriptor;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.Selector.Match;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.boot.actuate.endpoint.web.annotation.EndpointWebExtension;

/**
 * The HTTP face of the {@link CancellationEndpoint}'s operations on a path: the same read and
 * cancel, with a status code for each outcome (a write operation that returned nothing would
 * answer 204 whatever happened), and the caller's principal in the log of a cancel:
 * <ul>
 *   <li>{@code CANCELLED}, {@code ALREADY_CANCELLED}: 200;
 *   <li>{@code NOT_FOUND}: 404;
 *   <li>{@code INVALID} (a malformed path, or the empty path of the application token): 400.
 * </ul>
 * The body of a cancel is the {@link CancelDescriptor} in every case.
 *
 * <h2>The path comes from the URL only</h2>
 * Boot merges an operation's arguments from the URL, then the JSON body, then the query string,
 * so {@code POST /actuator/cancellation/reports?path=exports} would otherwise cancel
 * {@code exports}, past any security rule written for {@code /actuator/cancellation/reports/**}.
 * The path is therefore taken as it arrives: the URL gives an array of segments, a body member
 * or query parameter gives a string or a list, which is refused with 400 and cancels nothing.
 *
 * <p>Thread-safety: thread-safe.
 */
@EndpointWebExtension(endpoint = CancellationEndpoint.class)
public class CancellationEndpointWebExtension {

    private static final String PATH_FROM_URL_ONLY = "the path is read from the URL only, "
            + "not from a 'path' query parameter or body member";

    private final CancellationEndpoint endpoint;

    CancellationEndpointWebExtension(CancellationEndpoint endpoint) {
        this.endpoint = endpoint;
    }

    /**
     * Returns the subtree at a path; see {@link CancellationEndpoint#subtree(String[])}.
     *
     * @param path the path: the segments of the URL after the endpoint's
     * @return the subtree (200), 404 if there is no token at the path, 400 if it is malformed
     */
    @ReadOperation
    public WebEndpointResponse<TokensDescriptor> subtree(@Selector(match = Match.ALL_REMAINING) Object path) {
        if (!(path instanceof String[] segments) || CancellationTree.validate(segments) != null) {
            return new WebEndpointResponse<>(WebEndpointResponse.STATUS_BAD_REQUEST);
        }
        TokensDescriptor subtree = endpoint.subtree(segments);
        return (subtree != null) ? new WebEndpointResponse<>(subtree)
                : new WebEndpointResponse<>(WebEndpointResponse.STATUS_NOT_FOUND);
    }

    /**
     * Cancels the tokens at a path, with kind {@code ACTUATOR}; see {@link CancellationEndpoint}.
     *
     * @param path the path: the segments of the URL after the endpoint's
     * @param message why, or {@code null}
     * @param securityContext the caller's security context
     * @return the outcome, with its status code
     */
    @WriteOperation
    public WebEndpointResponse<CancelDescriptor> cancel(@Selector(match = Match.ALL_REMAINING) Object path,
            @Nullable String message, SecurityContext securityContext) {
        if (!(path instanceof String[] segments)) {
            return new WebEndpointResponse<>(CancelDescriptor.invalid(null, PATH_FROM_URL_ONLY),
                    WebEndpointResponse.STATUS_BAD_REQUEST);
        }
        Principal principal = securityContext.getPrincipal();
        CancelDescriptor result = endpoint.cancel(segments, message, (principal != null) ? principal.getName() : null);
        return new WebEndpointResponse<>(result, status(result.outcome()));
    }

    private static int status(CancellationEndpoint.Outcome outcome) {
        return switch (outcome) {
            case CANCELLED, ALREADY_CANCELLED -> WebEndpointResponse.STATUS_OK;
            case NOT_FOUND -> WebEndpointResponse.STATUS_NOT_FOUND;
            case INVALID -> WebEndpointResponse.STATUS_BAD_REQUEST;
        };
    }
}
