package io.github.cancellation.spring.web;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.jayway.jsonpath.JsonPath;
import io.github.cancellation.spring.web.MvcTestApplication.Http;
import io.github.cancellation.spring.web.MvcTestApplication.Probe;
import org.junit.jupiter.api.Test;

import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The actuator tree lists requests in flight under the {@code requests} token, by method and
 * pattern (never the raw URI or query), with age and thread.
 */
class MvcRequestTreeTests {

    @Test
    void treeShouldListARequestInFlightByMethodAndPattern() throws Exception {
        try (ConfigurableApplicationContext context = MvcTestApplication
            .run("management.endpoints.web.exposure.include=cancellation")) {
            Http http = new Http(context);
            Probe probe = context.getBean(Probe.class);
            CompletableFuture<HttpResponse<String>> inFlight = http.getAsync("/latch?secret=hunter2");
            assertThat(probe.started.await(10, TimeUnit.SECONDS)).isTrue();

            HttpResponse<String> tree = http.get("/actuator/cancellation");
            probe.release.countDown();

            assertThat(tree.statusCode()).isEqualTo(200);
            assertThat(tree.body()).doesNotContain("hunter2");
            List<Map<String, Object>> requests = JsonPath.read(tree.body(),
                    "$..children[?(@.name == 'requests')].children[*]");
            assertThat(requests).hasSize(1);
            assertThat(requests.get(0)).containsEntry("name", "request").containsEntry("path", "requests/request");
            List<Map<String, Object>> tasks = JsonPath.read(tree.body(),
                    "$..children[?(@.name == 'requests')].children[*].tasks[*]");
            assertThat(tasks).singleElement().satisfies((task) -> {
                assertThat(task).containsEntry("name", "GET /latch");
                assertThat((String) task.get("thread")).startsWith("http-nio");
                assertThat(((Number) task.get("ageMillis")).longValue()).isGreaterThanOrEqualTo(0);
            });
            assertThat(inFlight.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
    }
}
