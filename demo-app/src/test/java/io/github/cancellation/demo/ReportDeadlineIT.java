package io.github.cancellation.demo;

import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * End-to-end, on the packaged demo: one {@code Request-Timeout} header bounds the report's query
 * (H2) and its call to the pricing service (RestClient). A deadline the query cannot meet answers
 * {@code 504} as a {@code ProblemDetail}, the query having been cancelled; a deadline it meets is
 * passed on to the pricing service, smaller.
 */
class ReportDeadlineIT {

    private DemoProcess demo;

    @RegisterExtension
    final TestWatcher dumpOnFailure = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            if (demo != null) {
                demo.dump();
            }
        }
    };

    @AfterEach
    void stop() {
        if (demo != null) {
            demo.close();
        }
    }

    @Test
    void oneDeadlineBoundsTheQueryAndTheOutgoingCall() throws Exception {
        demo = DemoProcess.start("report", "--demo.report.initial-delay=1h");

        // A query over a trillion rows cannot finish in 500 ms: it is cancelled, and the answer is 504.
        HttpResponse<String> late = demo.get("/report?rows=1000000000000", "Request-Timeout", "500");
        assertThat(late.statusCode()).isEqualTo(504);
        assertThat(late.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).contains("application/problem+json"));
        demo.awaitLine("report of 1000000000000 rows stopped: TIMEOUT .*request deadline of 500ms \\(header "
                + "Request-Timeout\\) passed");

        // A small report meets its deadline, and the pricing service is told how long is left.
        HttpResponse<String> done = demo.get("/report?rows=1000&pricingMillis=10", "Request-Timeout", "5000");
        assertThat(done.statusCode()).isEqualTo(200);
        Matcher received = Pattern.compile("Request-Timeout received: (\\d+) ms").matcher(done.body());
        assertThat(received.find()).as("the pricing service's answer: %s", done.body()).isTrue();
        long passedOn = Long.parseLong(received.group(1));
        System.out.printf("report: Request-Timeout 5000 ms at the edge, %d ms passed on to pricing%n", passedOn);
        assertThat(passedOn).isPositive().isLessThan(5000);
    }
}
