package io.github.cancellation.spring.web.client;

import java.io.IOException;

import io.github.cancellation.CancellationToken;

import org.springframework.http.HttpRequest;
import org.springframework.http.client.ClientHttpRequestExecution;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.http.client.ClientHttpResponse;

/**
 * A {@code RestClient} call under {@link CancellationToken#current()}: under {@code none()} nothing
 * changes; under a cancelled token it fails with {@link io.github.cancellation.CancelledException}
 * and sends nothing; under a token with a deadline it sends the time left; while the exchange runs,
 * the token's cancellation interrupts the calling thread ({@link CancellationToken#call}), which
 * aborts the JDK, Reactor Netty and Jetty request factories; while the body is read, see
 * {@link CancellableClientHttpResponse}.
 * Stateless, so thread-safe.
 */
final class CancellationClientHttpRequestInterceptor implements ClientHttpRequestInterceptor {

    private final DeadlineHeader deadlineHeader;

    CancellationClientHttpRequestInterceptor(DeadlineHeader deadlineHeader) {
        this.deadlineHeader = deadlineHeader;
    }

    @Override
    public ClientHttpResponse intercept(HttpRequest request, byte[] body, ClientHttpRequestExecution execution)
            throws IOException {
        CancellationToken token = CancellationToken.current();
        if (token == CancellationToken.none()) {
            return execution.execute(request, body);
        }
        token.throwIfCancelled();
        deadlineHeader.apply(token, request.getURI(), request.getHeaders());
        ClientHttpResponse response;
        try {
            response = token.call(() -> execution.execute(request, body));
        }
        catch (IOException | RuntimeException | Error ex) {
            throw ex;
        }
        catch (Exception ex) { // execute declares IOException only
            throw new IllegalStateException("unexpected checked exception from the request execution", ex);
        }
        return CancellableClientHttpResponse.watch(response, token);
    }
}
