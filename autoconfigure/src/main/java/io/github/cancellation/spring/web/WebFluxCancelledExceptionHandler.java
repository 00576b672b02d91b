package io.github.cancellation.spring.web;

import java.nio.charset.StandardCharsets;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancelledException;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Mono;

import org.springframework.core.Ordered;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;

/**
 * Answers a {@code CancelledException} that escaped a WebFlux handler (see
 * {@link CancelledAnswers}), logging one line without a stack trace. Ordered before Spring Boot's
 * error handler ({@code -1}); an application's {@code @ExceptionHandler} runs inside the handler
 * adapter, before any {@code WebExceptionHandler}, so it wins.
 *
 * <p>Thread-safety: thread-safe (stateless).
 */
final class WebFluxCancelledExceptionHandler implements WebExceptionHandler, Ordered {

    /** Just before Spring Boot's {@code ErrorWebExceptionHandler}. */
    static final int ORDER = -2;

    private static final Log logger = LogFactory.getLog(WebFluxCancelledExceptionHandler.class);

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
        CancelledException cancelled = CancelledAnswers.find(ex);
        if (cancelled == null) {
            return Mono.error(ex);
        }
        CancellationReason reason = cancelled.reason();
        String where = exchange.getRequest().getMethod() + " " + exchange.getLogPrefix();
        if (reason.kind() == CancellationReason.Kind.DISCONNECTED) {
            logger.debug("Request " + where + "cancelled: " + reason + "; writing nothing");
            return Mono.empty();
        }
        HttpStatus status = CancelledAnswers.status(reason.kind());
        if (status == null) {
            return Mono.error(ex);
        }
        String line = "Request " + where + "cancelled: " + reason + "; answered " + status.value();
        if (status == HttpStatus.SERVICE_UNAVAILABLE) {
            logger.info(line);
        }
        else {
            logger.debug(line);
        }
        ServerHttpResponse response = exchange.getResponse();
        if (response.isCommitted()) {
            return Mono.empty();
        }
        response.setStatusCode(status);
        response.getHeaders().setContentType(MediaType.APPLICATION_PROBLEM_JSON);
        DataBuffer body = response.bufferFactory().wrap(CancelledAnswers.body(status).getBytes(StandardCharsets.UTF_8));
        return response.writeWith(Mono.just(body));
    }
}
