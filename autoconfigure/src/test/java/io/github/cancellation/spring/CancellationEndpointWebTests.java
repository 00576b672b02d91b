package io.github.cancellation.spring;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.jayway.jsonpath.JsonPath;
import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.EndpointTestApplication.Http;
import io.github.cancellation.spring.EndpointTestApplication.Job;
import io.github.cancellation.spring.EndpointTestApplication.Worker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.annotation.Async;
import org.springframework.scheduling.annotation.EnableAsync;

import static io.github.cancellation.spring.EndpointTestApplication.JOB;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The endpoint over HTTP, on a real server: the access matrix (not exposed, exposed read-only,
 * unrestricted, capped by {@code max-permitted}) and the cancel operation's answers. Where a
 * cancel is refused, nothing is cancelled.
 */
@ExtendWith(OutputCaptureExtension.class)
class CancellationEndpointWebTests {

    private static final String EXPOSED = "management.endpoints.web.exposure.include=health,cancellation";

    private static final String UNRESTRICTED = "management.endpoint.cancellation.access=unrestricted";

    // ---------------------------------------------------------------- access matrix

    @Test
    void notExposedShouldAnswer404ToReadAndCancel() throws InterruptedException {
        try (ConfigurableApplicationContext context = EndpointTestApplication.run(false, UNRESTRICTED)) {
            Fixture fixture = new Fixture(context);
            Http http = new Http(context);

            HttpResponse<String> read = http.get("/actuator/cancellation");
            HttpResponse<String> cancel = http.post("/actuator/cancellation/reports", null);

            report("not exposed", read, cancel);
            assertThat(read.statusCode()).isEqualTo(404);
            assertThat(cancel.statusCode()).isEqualTo(404);
            fixture.assertNothingCancelled();
        }
    }

    @Test
    void exposedWithDefaultAccessShouldReadButRefuseToCancel() throws InterruptedException {
        try (ConfigurableApplicationContext context = EndpointTestApplication.run(false, EXPOSED)) {
            Fixture fixture = new Fixture(context);
            Http http = new Http(context);

            HttpResponse<String> read = http.get("/actuator/cancellation");
            HttpResponse<String> subtree = http.get("/actuator/cancellation/reports");
            HttpResponse<String> cancel = http.post("/actuator/cancellation/reports", "{\"message\":\"no\"}");

            report("exposed, default access (read-only)", read, cancel);
            assertThat(read.statusCode()).isEqualTo(200);
            assertThat(subtree.statusCode()).isEqualTo(200);
            assertThat(cancel.statusCode()).as("not 2xx").isNotIn(200, 201, 202, 204);
            fixture.assertNothingCancelled();
        }
    }

    @Test
    void maxPermittedReadOnlyShouldWinOverUnrestrictedAccess() throws InterruptedException {
        try (ConfigurableApplicationContext context = EndpointTestApplication.run(false, EXPOSED, UNRESTRICTED,
                "management.endpoints.access.max-permitted=read-only")) {
            Fixture fixture = new Fixture(context);
            Http http = new Http(context);

            HttpResponse<String> read = http.get("/actuator/cancellation");
            HttpResponse<String> cancel = http.post("/actuator/cancellation/reports", null);

            report("max-permitted=read-only with access=unrestricted", read, cancel);
            assertThat(read.statusCode()).isEqualTo(200);
            assertThat(cancel.statusCode()).as("not 2xx").isNotIn(200, 201, 202, 204);
            fixture.assertNothingCancelled();
        }
    }

    @Test
    void unrestrictedShouldCancelAKnownPathAndRefuseUnknownAndMalformedOnes(CapturedOutput output)
            throws InterruptedException {
        try (ConfigurableApplicationContext context = EndpointTestApplication.run(false, EXPOSED, UNRESTRICTED)) {
            Fixture fixture = new Fixture(context);
            Http http = new Http(context);

            HttpResponse<String> read = http.get("/actuator/cancellation");
            HttpResponse<String> unknown = http.post("/actuator/cancellation/nosuchbean", null);
            HttpResponse<String> unknownChild = http.post("/actuator/cancellation/reports/nosuchtask", null);
            HttpResponse<String> malformed = http.post("/actuator/cancellation/report%20s", null);
            HttpResponse<String> application = http.post("/actuator/cancellation", null);
            HttpResponse<String> badBody = http.post("/actuator/cancellation/reports", "{\"message\":");
            HttpResponse<String> pathInQuery = http.post("/actuator/cancellation/nosuchbean?path=reports", null);
            HttpResponse<String> pathInBody = http.post("/actuator/cancellation/nosuchbean", "{\"path\":\"reports\"}");
            HttpResponse<String> readPathInQuery = http.get("/actuator/cancellation/nosuchbean?path=reports");
            HttpResponse<String> unknownRead = http.get("/actuator/cancellation/nosuchbean");
            HttpResponse<String> malformedRead = http.get("/actuator/cancellation/report%20s");

            assertThat(read.statusCode()).isEqualTo(200);
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertThat(JsonPath.<String>read(unknown.body(), "$.outcome")).isEqualTo("NOT_FOUND");
            assertThat(unknownChild.statusCode()).isEqualTo(404);
            assertThat(malformed.statusCode()).isEqualTo(400);
            assertThat(JsonPath.<String>read(malformed.body(), "$.outcome")).isEqualTo("INVALID");
            assertThat(application.statusCode()).isEqualTo(400);
            assertThat(JsonPath.<String>read(application.body(), "$.detail")).contains("shutdown endpoint");
            assertThat(badBody.statusCode()).isEqualTo(400);
            assertThat(pathInQuery.statusCode()).as("the path comes from the URL only").isEqualTo(400);
            assertThat(pathInBody.statusCode()).as("the path comes from the URL only").isEqualTo(400);
            assertThat(readPathInQuery.statusCode()).isEqualTo(400);
            assertThat(unknownRead.statusCode()).isEqualTo(404);
            assertThat(malformedRead.statusCode()).isEqualTo(400);
            fixture.assertNothingCancelled();

            HttpResponse<String> cancel = http.post("/actuator/cancellation/reports", "{\"message\":\"stop reports\"}");

            report("exposed, access=unrestricted", read, cancel);
            System.out.println("  unknown path " + unknown.statusCode() + ", malformed path " + malformed.statusCode()
                    + ", application token " + application.statusCode() + ", malformed body " + badBody.statusCode());
            assertThat(cancel.statusCode()).isEqualTo(200);
            assertThat(JsonPath.<String>read(cancel.body(), "$.outcome")).isEqualTo("CANCELLED");
            assertThat(fixture.reports.token.reason()).hasValueSatisfying((reason) -> {
                assertThat(reason.kind()).isEqualTo(CancellationReason.Kind.ACTUATOR);
                assertThat(reason.message()).contains("stop reports");
            });
            assertThat(output).contains("Actuator cancel of 'reports': 1 of 1 token(s) at this path cancelled now");
        }
    }

    // ---------------------------------------------------------------- cancel

    @Test
    void cancellingATaskPathShouldEndOnlyThoseTasks() throws InterruptedException {
        try (ConfigurableApplicationContext context = EndpointTestApplication.run(false, EXPOSED, UNRESTRICTED)) {
            Fixture fixture = new Fixture(context);
            Http http = new Http(context);
            String tree = http.get("/actuator/cancellation").body();
            assertThat(JsonPath.<List<String>>read(tree, "$.tokens[0].children[*].path"))
                .containsExactly("exports", "reports");
            assertThat(JsonPath.<List<String>>read(tree, "$.tokens[0].children[1].children[*].path"))
                .containsExactly("reports/" + JOB, "reports/" + JOB);

            HttpResponse<String> cancel = http.post("/actuator/cancellation/reports/" + JOB, null);

            assertThat(cancel.statusCode()).isEqualTo(200);
            assertThat(JsonPath.<Integer>read(cancel.body(), "$.cancelled")).isEqualTo(2);
            for (Job job : fixture.reports.jobs) {
                assertThat(job.awaitEnd(Duration.ofSeconds(5))).as("a job of reports ends").isTrue();
                assertThat(job.reason.kind()).isEqualTo(CancellationReason.Kind.ACTUATOR);
                assertThat(job.reason.origin()).isEqualTo(JOB);
                assertThat(job.callbacks).hasValue(1);
            }
            assertThat(fixture.reports.token.isCancelled()).as("the parent bean token").isFalse();
            assertThat(fixture.reports.callbacks).hasValue(0);
            fixture.assertUntouched(fixture.exports);
            assertThat(fixture.application.isCancelled()).isFalse();
        }
    }

    @Test
    void cancellingABeanPathShouldEndItsTasksOnceAndLeaveItsSiblingRunning() throws InterruptedException {
        try (ConfigurableApplicationContext context = EndpointTestApplication.run(false, EXPOSED, UNRESTRICTED)) {
            Fixture fixture = new Fixture(context);
            Http http = new Http(context);

            HttpResponse<String> first = http.post("/actuator/cancellation/reports", "{\"message\":\"one\"}");
            HttpResponse<String> second = http.post("/actuator/cancellation/reports", "{\"message\":\"two\"}");
            HttpResponse<String> child = http.post("/actuator/cancellation/reports/" + JOB, null);

            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(JsonPath.<String>read(first.body(), "$.outcome")).isEqualTo("CANCELLED");
            assertThat(second.statusCode()).as("a repeated cancel is idempotent").isEqualTo(200);
            assertThat(JsonPath.<String>read(second.body(), "$.outcome")).isEqualTo("ALREADY_CANCELLED");
            assertThat(child.statusCode()).isIn(200, 404); // 404 once the tasks have ended and left the tree
            for (Job job : fixture.reports.jobs) {
                assertThat(job.awaitEnd(Duration.ofSeconds(5))).isTrue();
                assertThat(job.reason.kind()).isEqualTo(CancellationReason.Kind.ACTUATOR);
                assertThat(job.reason.origin()).isEqualTo("reports");
                assertThat(job.reason.message()).contains("one");
                assertThat(job.callbacks).hasValue(1);
            }
            assertThat(fixture.reports.callbacks).as("callbacks run once").hasValue(1);
            fixture.assertUntouched(fixture.exports);
            assertThat(fixture.application.isCancelled()).isFalse();
            String tree = http.get("/actuator/cancellation/reports").body();
            assertThat(JsonPath.<String>read(tree, "$.tokens[0].state")).isEqualTo("cancelled");
            assertThat(JsonPath.<String>read(tree, "$.tokens[0].reason.kind")).isEqualTo("ACTUATOR");
        }
    }

    @Test
    void cancellingAnAsyncInvocationShouldEndItAndLeaveItsBeanRunning() throws Exception {
        try (ConfigurableApplicationContext context = EndpointTestApplication.run(List.of(AsyncConfiguration.class),
                false, EXPOSED, UNRESTRICTED)) {
            Mailer mailer = context.getBean(Mailer.class);
            CompletableFuture<CancellationReason> first = mailer.sendAll();
            CompletableFuture<CancellationReason> second = mailer.sendAll();
            assertThat(mailer.awaitRunning()).isTrue();
            Http http = new Http(context);
            String tree = http.get("/actuator/cancellation/mailer").body();
            assertThat(JsonPath.<List<String>>read(tree, "$.tokens[0].children[*].path"))
                .containsExactly("mailer/mailer.sendAll", "mailer/mailer.sendAll");
            assertThat(JsonPath.<List<String>>read(tree, "$.tokens[0].children[*].tasks[0].name"))
                .containsOnly("mailer.sendAll");

            HttpResponse<String> cancel = http.post("/actuator/cancellation/mailer/mailer.sendAll", null);

            assertThat(cancel.statusCode()).isEqualTo(200);
            assertThat(JsonPath.<Integer>read(cancel.body(), "$.cancelled")).isEqualTo(2);
            for (CompletableFuture<CancellationReason> invocation : List.of(first, second)) {
                assertThat(invocation.get(10, TimeUnit.SECONDS).kind()).isEqualTo(CancellationReason.Kind.ACTUATOR);
            }
            assertThat(mailer.token().isCancelled()).as("the bean's token").isFalse();
            assertThat(context.getBean(CancellationToken.class).isCancelled()).isFalse();
        }
    }

    private static void report(String setup, HttpResponse<String> read, HttpResponse<String> cancel) {
        System.out.println("Access matrix: " + setup + ": GET " + read.statusCode() + ", POST cancel "
                + cancel.statusCode());
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAsync
    static class AsyncConfiguration {

        @Bean
        Mailer mailer(CancellationToken token) {
            return new Mailer(token);
        }
    }

    /**
     * A bean whose {@code @Async} method loops until its invocation token is cancelled. The bean
     * is a class-based proxy: read its state through methods.
     */
    static class Mailer {

        private final CancellationToken token;

        private final CountDownLatch running = new CountDownLatch(2);

        Mailer(CancellationToken token) {
            this.token = token;
        }

        public CancellationToken token() {
            return token;
        }

        public boolean awaitRunning() throws InterruptedException {
            return running.await(10, TimeUnit.SECONDS);
        }

        @Async
        public CompletableFuture<CancellationReason> sendAll() throws InterruptedException {
            CancellationToken invocation = CancellationToken.current();
            running.countDown();
            while (!invocation.isCancelled()) {
                invocation.await(Duration.ofMillis(100)); // a slice of work
            }
            return CompletableFuture.completedFuture(invocation.reason().orElseThrow());
        }
    }

    /**
     * The two beans of the application with two running jobs each.
     */
    static final class Fixture {

        final CancellationToken application;

        final Worker reports;

        final Worker exports;

        Fixture(ConfigurableApplicationContext context) throws InterruptedException {
            this.application = context.getBean(CancellationToken.class);
            this.reports = context.getBean("reports", Worker.class);
            this.exports = context.getBean("exports", Worker.class);
            reports.start(2);
            exports.start(2);
        }

        void assertNothingCancelled() {
            assertThat(application.isCancelled()).isFalse();
            assertUntouched(reports);
            assertUntouched(exports);
        }

        void assertUntouched(Worker worker) {
            assertThat(worker.token.isCancelled()).as("bean token").isFalse();
            assertThat(worker.callbacks).hasValue(0);
            for (Job job : worker.jobs) {
                assertThat(job.token().isCancelled()).as("job token").isFalse();
                assertThat(job.ended.getCount()).as("job still running").isOne();
            }
        }
    }
}
