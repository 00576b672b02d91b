package io.github.cancellation.spring.web.client;

import jakarta.servlet.http.HttpServletRequest;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Import;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * A real Spring MVC application (Tomcat on a free port) with the starter, for the outgoing-call
 * tests: {@code GET /echo} answers the deadline header it received, or {@code none}.
 */
@SpringBootConfiguration
@EnableAutoConfiguration(excludeName = { "org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.actuate.web.servlet.ManagementWebSecurityAutoConfiguration" })
@Import(HttpClientTestApplication.Echo.class)
class HttpClientTestApplication {

    @RestController
    static class Echo {

        @GetMapping("/echo")
        String echo(HttpServletRequest request) {
            String value = request.getHeader("Request-Timeout");
            return value == null ? "none" : value;
        }
    }
}
