package io.github.cancellation.spring.web;

import java.net.http.HttpResponse;
import java.util.List;

import io.github.cancellation.CancelledException;
import io.github.cancellation.spring.web.MvcTestApplication.Http;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * The answers to a {@code CancelledException}: logged in one line without a stack trace, and
 * left to the application when it handles the exception itself.
 */
@ExtendWith(OutputCaptureExtension.class)
class MvcRequestTokenAnswersTests {

    @Test
    void answersShouldBeLoggedWithoutStackTrace(CapturedOutput output) {
        try (ConfigurableApplicationContext context = MvcTestApplication.run()) {
            Http http = new Http(context);

            assertThat(http.get("/fail?kind=SHUTDOWN").statusCode()).isEqualTo(503);
            assertThat(http.get("/fail?kind=DISCONNECTED").statusCode()).as("nothing written: the default 200")
                .isEqualTo(200);
        }
        assertThat(output).contains("cancelled: SHUTDOWN: test; answered 503")
            .doesNotContain("at io.github.cancellation.spring.web.MvcTestApplication$Handlers.fail")
            .doesNotContain("DISCONNECTED: test");
    }

    @Test
    void applicationExceptionHandlerShouldWin() {
        try (ConfigurableApplicationContext context = MvcTestApplication.run(List.of(OwnAdvice.class))) {
            Http http = new Http(context);

            HttpResponse<String> timeout = http.get("/wait", "Request-Timeout", "10");
            HttpResponse<String> shutdown = http.get("/fail?kind=SHUTDOWN");

            assertThat(timeout.statusCode()).isEqualTo(418);
            assertThat(timeout.body()).isEqualTo("own TIMEOUT");
            assertThat(shutdown.statusCode()).isEqualTo(418);
        }
    }

    @Test
    void unreadableRequestTimeoutShouldFailStartupNamingHandlerAndValue() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> MvcTestApplication.run(List.of(BrokenTimeout.class)).close())
            .withMessageContaining("@RequestTimeout(\"2 minutes\")")
            .withMessageContaining("BrokenTimeout.report()");
    }

    @RestController
    static class BrokenTimeout {

        @GetMapping("/broken")
        @RequestTimeout("2 minutes")
        String report() {
            return "never";
        }
    }

    @ControllerAdvice
    static class OwnAdvice {

        @ExceptionHandler(CancelledException.class)
        ResponseEntity<String> cancelled(CancelledException ex) {
            return ResponseEntity.status(HttpStatus.I_AM_A_TEAPOT).body("own " + ex.reason().kind());
        }
    }
}
