package io.github.cancellation.spring.web;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.spring.CancellationTokenThreadLocalAccessor;
import io.github.cancellation.spring.web.MvcTestApplication.Probe;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A WebFlux application on Reactor Netty for the request token tests. Uses the probe and client
 * of {@link MvcTestApplication}.
 */
@SpringBootConfiguration
@EnableAutoConfiguration(excludeName = {
        "org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.ReactiveUserDetailsServiceAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.web.reactive.ReactiveWebSecurityAutoConfiguration",
        "org.springframework.boot.security.autoconfigure.actuate.web.reactive.ReactiveManagementWebSecurityAutoConfiguration" })
@Import(WebFluxTestApplication.Handlers.class)
class WebFluxTestApplication {

    @Bean
    Probe probe() {
        return new Probe();
    }

    static ConfigurableApplicationContext run(String... properties) {
        return run(java.util.List.of(), properties);
    }

    static ConfigurableApplicationContext run(java.util.List<Class<?>> more, String... properties) {
        SpringApplication application = new SpringApplication(WebFluxTestApplication.class);
        application.addPrimarySources(more);
        application.setWebApplicationType(WebApplicationType.REACTIVE);
        String[] args = new String[properties.length + 2];
        args[0] = "--server.port=0";
        args[1] = "--spring.main.banner-mode=off";
        for (int i = 0; i < properties.length; i++) {
            args[i + 2] = "--" + properties[i];
        }
        return application.run(args);
    }

    /** Ends when the token is cancelled, with its {@code CancelledException}. */
    static Mono<String> untilCancelled(CancellationToken token) {
        return Mono.fromFuture(token.whenCancelled().toCompletableFuture(), true)
            .timeout(MvcTestApplication.MAX_WAIT)
            .flatMap((reason) -> Mono.error(new CancelledException(reason)));
    }

    @RestController
    static class Handlers {

        private final Probe probe;

        Handlers(Probe probe) {
            this.probe = probe;
        }

        @GetMapping("/token")
        Mono<String> token(CancellationToken token) {
            probe.record(token, "mono");
            return Mono.deferContextual((context) -> Mono.just(token.name() + " context="
                    + (context.getOrDefault(CancellationTokenThreadLocalAccessor.KEY, null) == token) + " parent="
                    + token.parent().map(CancellationToken::name).orElse("-")));
        }

        @GetMapping("/current")
        Mono<String> current(CancellationToken token) {
            return Mono.fromCallable(() -> "current=" + (CancellationToken.current() == token))
                .subscribeOn(Schedulers.boundedElastic());
        }

        @GetMapping("/wait")
        Mono<String> await(CancellationToken token) {
            probe.record(token, "mono");
            return untilCancelled(token);
        }

        @GetMapping("/annotated")
        @RequestTimeout("150ms")
        Mono<String> annotated(CancellationToken token) {
            probe.record(token, "annotated");
            return untilCancelled(token);
        }

        @GetMapping("/latch")
        Mono<String> latch(CancellationToken token) {
            probe.record(token, "latch");
            probe.started.countDown();
            return Mono.fromCallable(() -> {
                assertThat(probe.release.await(30, TimeUnit.SECONDS)).isTrue();
                return "released";
            }).subscribeOn(Schedulers.boundedElastic());
        }

        @GetMapping("/flux")
        Flux<String> flux(CancellationToken token) {
            probe.record(token, "flux");
            return Flux.interval(Duration.ofMillis(20)).map((tick) -> tick + "\n").take(Duration.ofSeconds(30));
        }

        @GetMapping("/fail")
        Mono<String> fail(@RequestParam String kind) {
            return Mono.error(new CancelledException(CancellationReason.of(CancellationReason.Kind.valueOf(kind), "test")));
        }
    }
}
