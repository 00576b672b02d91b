package io.github.cancellation.benchmarks.web.mvc;

import java.util.Arrays;

import io.github.cancellation.CancellationToken;
import jakarta.servlet.Filter;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The Spring MVC (Tomcat) app of the request token overhead benchmark: {@code GET /hello} answers
 * {@code hello}, nothing else happens per request. Started by
 * {@code io.github.cancellation.benchmarks.WebOverheadBench} as is (starter on) and with
 * {@code --cancellation.enabled=false} (starter off). Two lines let the driver check which one
 * runs: {@code BENCH READY stack=mvc filters=...} (the names of every {@link Filter} bean) once the
 * app is ready, and {@code GET /probe}, which answers the name of {@link CancellationToken#current()}
 * on the request thread ({@code request} under a request token).
 */
@SpringBootApplication
@RestController
public class WebMvcBenchApplication {

    public static void main(String[] args) {
        SpringApplication.run(WebMvcBenchApplication.class, args);
    }

    @GetMapping("/hello")
    String hello() {
        return "hello";
    }

    @GetMapping("/probe")
    String probe() {
        return CancellationToken.current().name();
    }

    @EventListener
    void onReady(ApplicationReadyEvent event) {
        String[] filters = event.getApplicationContext().getBeanNamesForType(Filter.class);
        Arrays.sort(filters);
        System.out.println("BENCH READY stack=mvc filters=" + String.join(",", filters));
        System.out.flush();
    }
}
