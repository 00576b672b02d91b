package io.github.cancellation.spring.web.client;

import jakarta.servlet.http.HttpServletRequest;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Import;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

/**
 * A real Spring MVC application (Tomcat on a free port) with the starter, for the outgoing-call
 * tests: {@code GET /echo} answers the deadline header it received, or {@code none}.
 */
@SpringBootConfiguration
@EnableAutoConfiguration(excludeName = { "org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.actuate.web.servlet.ManagementWebSecurityAutoConfiguration" })
@Import({ HttpClientTestApplication.Echo.class, HttpClientTestApplication.Chain.class })
class HttpClientTestApplication {

    /**
     * Three services in one application, called over real HTTP through Boot's {@code RestClient}:
     * {@code /chain/a} calls {@code /chain/b}, which calls {@code /chain/c}; each does 20 ms of work
     * first and answers the deadline header it received, followed by its callee's answer.
     */
    @RestController
    static class Chain {

        private final RestClient client;

        private final Environment environment;

        Chain(RestClient.Builder builder, Environment environment) {
            this.client = builder.build();
            this.environment = environment;
        }

        @GetMapping("/chain/{hop}")
        String hop(@PathVariable String hop, HttpServletRequest request) throws InterruptedException {
            String received = String.valueOf(request.getHeader("Request-Timeout"));
            Thread.sleep(20); // the hop's own work, so that each callee has less time left
            String next = switch (hop) {
                case "a" -> "b";
                case "b" -> "c";
                default -> null;
            };
            if (next == null) {
                return received;
            }
            String port = environment.getProperty("local.server.port");
            return received + "," + client.get().uri("http://127.0.0.1:" + port + "/chain/" + next).retrieve()
                .body(String.class);
        }
    }

    @RestController
    static class Echo {

        @GetMapping("/echo")
        String echo(HttpServletRequest request) {
            String value = request.getHeader("Request-Timeout");
            return value == null ? "none" : value;
        }
    }
}
