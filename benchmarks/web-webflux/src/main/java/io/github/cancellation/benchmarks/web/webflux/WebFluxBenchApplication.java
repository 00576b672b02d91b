package io.github.cancellation.benchmarks.web.webflux;

import java.util.Arrays;

import io.github.cancellation.CancellationToken;
import reactor.core.publisher.Mono;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.WebFilter;

/**
 * The WebFlux (Reactor Netty) app of the request token overhead benchmark: {@code GET /hello}
 * answers {@code hello} from a {@code Mono}, nothing else happens per request. Started by
 * {@code io.github.cancellation.benchmarks.WebOverheadBench} as is (starter on) and with
 * {@code --cancellation.enabled=false} (starter off). Two lines let the driver check which one
 * runs: {@code BENCH READY stack=webflux filters=...} (the names of every {@link WebFilter} bean)
 * once the app is ready, and {@code GET /probe}, which answers the names of the tokens in the
 * request's Reactor context ({@code request} under a request token, empty without one).
 */
@SpringBootApplication
@RestController
public class WebFluxBenchApplication {

    public static void main(String[] args) {
        SpringApplication.run(WebFluxBenchApplication.class, args);
    }

    @GetMapping("/hello")
    Mono<String> hello() {
        return Mono.just("hello");
    }

    @GetMapping("/probe")
    Mono<String> probe() {
        return Mono.deferContextual((context) -> Mono.just(context.stream()
                .filter((entry) -> entry.getValue() instanceof CancellationToken)
                .map((entry) -> ((CancellationToken) entry.getValue()).name())
                .sorted()
                .reduce("", (a, b) -> a.isEmpty() ? b : a + "," + b)));
    }

    @EventListener
    void onReady(ApplicationReadyEvent event) {
        String[] filters = event.getApplicationContext().getBeanNamesForType(WebFilter.class);
        Arrays.sort(filters);
        System.out.println("BENCH READY stack=webflux filters=" + String.join(",", filters));
        System.out.flush();
    }
}
