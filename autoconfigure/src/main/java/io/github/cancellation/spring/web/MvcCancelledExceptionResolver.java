package io.github.cancellation.spring.web;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancelledException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpStatus;
import org.springframework.web.servlet.HandlerExceptionResolver;
import org.springframework.web.servlet.ModelAndView;

/**
 * Answers a {@code CancelledException} that escaped a handler (see {@link CancelledAnswers}),
 * logging one line without a stack trace: {@code SHUTDOWN} at INFO, {@code TIMEOUT} and
 * {@code DISCONNECTED} at DEBUG. Registered after Spring MVC's own resolvers, so an
 * {@code @ExceptionHandler} of the application for the exception wins.
 *
 * <p>Thread-safety: thread-safe (stateless).
 */
final class MvcCancelledExceptionResolver implements HandlerExceptionResolver {

    private static final Log logger = LogFactory.getLog(MvcCancelledExceptionResolver.class);

    @Override
    public @Nullable ModelAndView resolveException(HttpServletRequest request, HttpServletResponse response,
            @Nullable Object handler, Exception ex) {
        CancelledException cancelled = CancelledAnswers.find(ex);
        if (cancelled == null) {
            return null;
        }
        CancellationReason reason = cancelled.reason();
        String where = request.getMethod() + " " + handler;
        if (reason.kind() == CancellationReason.Kind.DISCONNECTED) {
            if (logger.isDebugEnabled()) {
                logger.debug("Request " + where + " cancelled: " + reason + "; writing nothing");
            }
            return new ModelAndView();
        }
        HttpStatus status = CancelledAnswers.status(reason.kind());
        if (status == null) {
            return null;
        }
        String line = "Request " + where + " cancelled: " + reason + "; answered " + status.value();
        if (status == HttpStatus.SERVICE_UNAVAILABLE ? logger.isInfoEnabled() : logger.isDebugEnabled()) {
            if (status == HttpStatus.SERVICE_UNAVAILABLE) {
                logger.info(line);
            }
            else {
                logger.debug(line);
            }
        }
        if (response.isCommitted()) {
            logger.debug("The response of " + where + " was committed already: no " + status.value() + " written");
            return new ModelAndView();
        }
        try {
            response.resetBuffer();
            response.setStatus(status.value());
            response.setContentType(CancelledAnswers.PROBLEM_JSON);
            response.setCharacterEncoding(StandardCharsets.UTF_8.name());
            response.getWriter().write(CancelledAnswers.body(status));
        }
        catch (IOException | IllegalStateException writeFailure) {
            logger.debug("Could not write the " + status.value() + " answer of " + where, writeFailure);
        }
        return new ModelAndView();
    }
}
