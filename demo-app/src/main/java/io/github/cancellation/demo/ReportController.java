package io.github.cancellation.demo;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

/**
 * The report: a real query (H2, embedded) and then a call to a second service over
 * {@code RestClient}, both under the request's token. One {@code Request-Timeout} header bounds
 * both: the query runs with a query timeout of at most the time left and is cancelled when the
 * deadline passes; the call sends the time left on, and is aborted if the deadline passes while it
 * waits. A deadline that passes answers {@code 504} as a {@code ProblemDetail}.
 */
@RestController
class ReportController {

    private static final Logger logger = LoggerFactory.getLogger(ReportController.class);

    private final JdbcTemplate jdbc;

    private final RestClient client;

    private final Environment environment;

    ReportController(JdbcTemplate jdbc, RestClient.Builder builder, Environment environment) {
        this.jdbc = jdbc;
        this.client = builder.build();
        this.environment = environment;
    }

    /**
     * Sums {@code rows} numbers in the database (about 50 million a second on a laptop), then asks
     * the pricing service, which takes {@code pricingMillis}.
     */
    @GetMapping("/report")
    Map<String, Object> report(@RequestParam(defaultValue = "1000000") long rows,
            @RequestParam(defaultValue = "200") long pricingMillis, CancellationToken token) {
        logger.info("report of {} rows started under token '{}', {} left", rows, token.name(),
                token.remaining().map(Duration::toMillis).map(ms -> ms + " ms").orElse("no deadline"));
        try {
            Long total = jdbc.queryForObject("SELECT SUM(X) FROM SYSTEM_RANGE(1, ?)", Long.class, rows);
            String pricing = client.get()
                .uri("http://127.0.0.1:{port}/pricing?millis={millis}", environment.getProperty("local.server.port"),
                        pricingMillis)
                .retrieve()
                .body(String.class);
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("rows", rows);
            report.put("total", total);
            report.put("pricing", pricing);
            return report;
        }
        catch (CancelledException ex) {
            logger.info("report of {} rows stopped: {}", rows, Reasons.describe(ex.reason()));
            throw ex; // the starter answers 504 for TIMEOUT, 503 for SHUTDOWN
        }
    }

    /** The second service: says which deadline it was given, and works {@code millis} under its own request token. */
    @GetMapping("/pricing")
    String pricing(@RequestParam(defaultValue = "200") long millis,
            @RequestHeader(name = "Request-Timeout", required = false) String deadline, CancellationToken token)
            throws Exception {
        logger.info("pricing started with Request-Timeout {}", deadline == null ? "absent" : deadline + " ms");
        token.call(() -> {
            Thread.sleep(millis); // stands for the work; wakes up when the request token is cancelled
            return null;
        });
        return "priced; Request-Timeout received: " + (deadline == null ? "none" : deadline + " ms");
    }
}
