package io.github.cancellation.spring;

import java.net.http.HttpResponse;
import java.util.List;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.spring.EndpointTestApplication.Http;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.security.autoconfigure.actuate.web.servlet.EndpointRequest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With Spring Security on the class path the endpoint stays behind it, even with the write
 * access opened: with Boot's default security, anonymous callers get 401, authenticated ones can
 * read, and a POST without a CSRF token is refused; nothing is cancelled. With a filter chain of
 * the application's own that lets one role cancel, the cancel is logged with the principal.
 */
@ExtendWith(OutputCaptureExtension.class)
class CancellationEndpointSecurityTests {

    private static final String[] OPEN = { "management.endpoints.web.exposure.include=health,cancellation",
            "management.endpoint.cancellation.access=unrestricted" };

    @Test
    void defaultSecurityShouldGuardTheEndpointEvenWithUnrestrictedAccess() throws InterruptedException {
        try (ConfigurableApplicationContext context = EndpointTestApplication.run(true, OPEN[0], OPEN[1],
                "spring.security.user.name=operator", "spring.security.user.password=secret")) {
            CancellationEndpointWebTests.Fixture fixture = new CancellationEndpointWebTests.Fixture(context);
            Http anonymous = new Http(context);
            Http operator = new Http(context).withBasicAuth("operator", "secret");

            HttpResponse<String> anonymousRead = anonymous.get("/actuator/cancellation");
            HttpResponse<String> anonymousCancel = anonymous.post("/actuator/cancellation/reports", null);
            HttpResponse<String> operatorRead = operator.get("/actuator/cancellation");
            HttpResponse<String> operatorCancel = operator.post("/actuator/cancellation/reports", null);
            HttpResponse<String> health = anonymous.get("/actuator/health");

            System.out.println("Access matrix: Spring Security, defaults: anonymous GET " + anonymousRead.statusCode()
                    + ", anonymous POST cancel " + anonymousCancel.statusCode() + "; authenticated GET "
                    + operatorRead.statusCode() + ", authenticated POST cancel without CSRF token "
                    + operatorCancel.statusCode());
            assertThat(anonymousRead.statusCode()).isEqualTo(401);
            assertThat(anonymousCancel.statusCode()).isEqualTo(401);
            assertThat(operatorRead.statusCode()).isEqualTo(200);
            // the CSRF filter refuses it with 403, and the error dispatch, itself secured and unauthenticated,
            // turns that into 401 (seen in Spring Security's DEBUG log); either way nothing is cancelled
            assertThat(operatorCancel.statusCode()).isIn(401, 403);
            assertThat(health.statusCode()).isEqualTo(200);
            fixture.assertNothingCancelled();
        }
    }

    @Test
    void cancelAllowedToOneRoleShouldBeLoggedWithThePrincipal(CapturedOutput output) throws InterruptedException {
        try (ConfigurableApplicationContext context = EndpointTestApplication.run(List.of(OperatorSecurity.class),
                true, OPEN)) {
            CancellationEndpointWebTests.Fixture fixture = new CancellationEndpointWebTests.Fixture(context);
            Http viewer = new Http(context).withBasicAuth("viewer", "secret");
            Http operator = new Http(context).withBasicAuth("operator", "secret");

            HttpResponse<String> viewerRead = viewer.get("/actuator/cancellation");
            HttpResponse<String> viewerCancel = viewer.post("/actuator/cancellation/reports", null);
            fixture.assertNothingCancelled();
            HttpResponse<String> operatorCancel = operator.post("/actuator/cancellation/reports",
                    "{\"message\":\"maintenance\"}");

            System.out.println("Access matrix: Spring Security, POST allowed to role OPERATOR: viewer GET "
                    + viewerRead.statusCode() + ", viewer POST cancel " + viewerCancel.statusCode()
                    + ", operator POST cancel " + operatorCancel.statusCode());
            assertThat(viewerRead.statusCode()).isEqualTo(200);
            assertThat(viewerCancel.statusCode()).isEqualTo(403);
            assertThat(operatorCancel.statusCode()).isEqualTo(200);
            assertThat(fixture.reports.token.reason()).map(CancellationReason::kind)
                .contains(CancellationReason.Kind.ACTUATOR);
            fixture.assertUntouched(fixture.exports);
            assertThat(output).contains("Actuator cancel of 'reports' by 'operator': 1 of 1 token(s)")
                .contains("message 'maintenance'");
        }
    }

    /**
     * How an application may open the cancel operation: every actuator request authenticated, the
     * cancel for one role only, and no CSRF token asked of API clients on this endpoint.
     */
    @Configuration(proxyBeanMethods = false)
    static class OperatorSecurity {

        @Bean
        SecurityFilterChain actuatorSecurity(HttpSecurity http) throws Exception {
            http.securityMatcher(EndpointRequest.toAnyEndpoint())
                .authorizeHttpRequests((requests) -> requests.requestMatchers(EndpointRequest.to(HealthEndpoint.class))
                    .permitAll()
                    .requestMatchers(HttpMethod.POST, "/actuator/cancellation/**")
                    .hasRole("OPERATOR")
                    .anyRequest()
                    .authenticated())
                .httpBasic(Customizer.withDefaults())
                .csrf((csrf) -> csrf.ignoringRequestMatchers(EndpointRequest.to(CancellationEndpoint.class)));
            return http.build();
        }

        @Bean
        InMemoryUserDetailsManager users() {
            return new InMemoryUserDetailsManager(
                    User.withUsername("operator").password("{noop}secret").roles("OPERATOR").build(),
                    User.withUsername("viewer").password("{noop}secret").roles("VIEWER").build());
        }
    }
}
