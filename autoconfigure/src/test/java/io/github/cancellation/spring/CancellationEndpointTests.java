package io.github.cancellation.spring;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.CancellationEndpoint.CancelDescriptor;
import io.github.cancellation.spring.CancellationEndpoint.Outcome;
import io.github.cancellation.spring.CancellationEndpoint.TokenDescriptor;
import io.github.cancellation.spring.CancellationEndpoint.TokensDescriptor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The endpoint's auto-configuration and its operations called directly: the tree it reads, the
 * subtree a cancel reaches, and the inputs it refuses without changing anything.
 */
@SuppressWarnings("try") // tracked tasks are resources only for their close()
class CancellationEndpointTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        // as in a SpringApplication, so that the access levels are read as users write them
        .withInitializer((context) -> context.getEnvironment().setConversionService(new ApplicationConversionService()))
        .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                CancellationEndpointAutoConfiguration.class))
        .withPropertyValues("management.endpoints.web.exposure.include=cancellation");

    private final CancellationToken application = CancellationToken.create("application");

    private final CancellationToken reports = application.child("reports");

    private final CancellationToken exports = application.child("exports");

    private final CancellationTaskTracker tracker = new CancellationTaskTracker();

    private final CancellationEndpoint endpoint = endpoint(CancellationEndpoint.DEFAULT_MAX_TOKENS);

    @AfterEach
    void closeApplicationToken() {
        application.close();
    }

    // ---------------------------------------------------------------- auto-configuration

    @Test
    void endpointAndWebExtensionShouldBeCreatedWhenExposed() {
        contextRunner.run((context) -> assertThat(context).hasSingleBean(CancellationEndpoint.class)
            .hasSingleBean(CancellationEndpointWebExtension.class));
    }

    @Test
    void endpointShouldBackOffWhenNotExposed() {
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                    CancellationEndpointAutoConfiguration.class))
            .run((context) -> assertThat(context).doesNotHaveBean(CancellationEndpoint.class)
                .doesNotHaveBean(CancellationEndpointWebExtension.class));
    }

    @Test
    void endpointShouldBackOffWhenAccessIsNone() {
        contextRunner.withPropertyValues("management.endpoint.cancellation.access=none")
            .run((context) -> assertThat(context).doesNotHaveBean(CancellationEndpoint.class));
    }

    @Test
    void endpointShouldBackOffWithoutActuator() {
        contextRunner.withClassLoader(new FilteredClassLoader("org.springframework.boot.actuate"))
            .run((context) -> assertThat(context).hasNotFailed()
                .hasSingleBean(CancellationToken.class)
                .doesNotHaveBean(CancellationEndpoint.class));
    }

    @Test
    void endpointShouldBackOffWhenTheStarterIsDisabled() {
        contextRunner.withPropertyValues("cancellation.enabled=false")
            .run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(CancellationEndpoint.class));
    }

    @Test
    void webExtensionShouldBackOffWhenExposedOverJmxOnly() {
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                    CancellationEndpointAutoConfiguration.class))
            .withPropertyValues("spring.jmx.enabled=true", "management.endpoints.jmx.exposure.include=cancellation")
            .run((context) -> assertThat(context).hasSingleBean(CancellationEndpoint.class)
                .doesNotHaveBean(CancellationEndpointWebExtension.class));
    }

    @Test
    void treeShouldShowTheBeanTokensOfTheContext() {
        contextRunner.withBean("worker", TokenHolder.class).run((context) -> {
            CancellationEndpoint endpoint = context.getBean(CancellationEndpoint.class);
            TokenDescriptor root = endpoint.tokens().tokens().get(0);
            assertThat(root.name()).isEqualTo("application");
            assertThat(root.type()).isEqualTo("application");
            assertThat(root.path()).isEmpty();
            assertThat(root.children()).extracting(TokenDescriptor::path).containsExactly("worker");
            assertThat(root.children().get(0).type()).isEqualTo("bean");
        });
    }

    // ---------------------------------------------------------------- read

    @Test
    void treeShouldListBeansThenTasksWithNameAgeAndThread() {
        CancellationToken invocation = reports.child("reports.generate");
        CancellationToken loose = application.child("ApplicationRunner");
        try (TrackedTask generate = tracker.track("reports.generate", invocation);
                TrackedTask task = tracker.track("task", loose)) {
            TokensDescriptor read = endpoint.tokens();

            assertThat(read.truncated()).isFalse();
            assertThat(read.size()).isEqualTo(5);
            TokenDescriptor root = read.tokens().get(0);
            assertThat(root.state()).isEqualTo("active");
            assertThat(root.reason()).isNull();
            assertThat(root.children()).extracting(TokenDescriptor::name, TokenDescriptor::type)
                .containsExactly(tuple("exports", "bean"), tuple("reports", "bean"),
                        tuple("ApplicationRunner", "task"));
            TokenDescriptor generateNode = root.children().get(1).children().get(0);
            assertThat(generateNode.path()).isEqualTo("reports/reports.generate");
            assertThat(generateNode.type()).isEqualTo("task");
            assertThat(generateNode.tasks()).singleElement().satisfies((described) -> {
                assertThat(described.name()).isEqualTo("reports.generate");
                assertThat(described.ageMillis()).isNotNegative();
                assertThat(described.thread()).isEqualTo(Thread.currentThread().getName());
            });
        }
    }

    @Test
    void treeShouldShowStateAndReason() {
        CancellationToken invocation = exports.child("exports.run");
        try (TrackedTask task = tracker.track("exports.run", invocation)) {
            exports.cancel(CancellationReason.of(CancellationReason.Kind.MANUAL, "enough"));

            TokenDescriptor exportsNode = endpoint.subtree(new String[] { "exports" }).tokens().get(0);

            assertThat(exportsNode.state()).isEqualTo("cancelled");
            assertThat(exportsNode.reason().kind()).isEqualTo(CancellationReason.Kind.MANUAL);
            assertThat(exportsNode.reason().message()).isEqualTo("enough");
            assertThat(exportsNode.reason().origin()).isEqualTo("exports");
            assertThat(exportsNode.children().get(0).state()).isEqualTo("cancelled");
            assertThat(exportsNode.children().get(0).reason().origin()).isEqualTo("exports");
        }
    }

    @Test
    void tokensBetweenTheApplicationAndATaskShouldBeShownAsPlainTokens() {
        CancellationToken batch = reports.child("batch-7");
        try (TrackedTask task = tracker.track("part", batch.child("part"))) {
            TokenDescriptor batchNode = endpoint.subtree(new String[] { "reports", "batch-7" }).tokens().get(0);

            assertThat(batchNode.type()).isEqualTo("token");
            assertThat(batchNode.children()).extracting(TokenDescriptor::path).containsExactly("reports/batch-7/part");
        }
    }

    @Test
    void tasksOutsideTheApplicationTreeShouldBeLeftOut() {
        try (CancellationToken elsewhere = CancellationToken.create("elsewhere");
                TrackedTask task = tracker.track("elsewhere", elsewhere)) {
            assertThat(endpoint.tokens().size()).isEqualTo(3);
            assertThat(endpoint.subtree(new String[] { "elsewhere" })).isNull();
        }
    }

    @Test
    void readShouldBeCappedWithATruncatedFlag() {
        CancellationEndpoint small = endpoint(4);
        CancellationToken[] tasks = new CancellationToken[10];
        TrackedTask[] tracked = new TrackedTask[10];
        for (int i = 0; i < tasks.length; i++) {
            tasks[i] = reports.child("reports.generate");
            tracked[i] = tracker.track("reports.generate", tasks[i]);
        }
        try {
            TokensDescriptor read = small.tokens();
            assertThat(read.truncated()).isTrue();
            assertThat(read.size()).isEqualTo(4);
            assertThat(count(read.tokens())).isEqualTo(4);
            assertThat(read.tokens().get(0).children()).extracting(TokenDescriptor::name)
                .containsExactly("exports", "reports");

            assertThat(endpoint.tokens().truncated()).isFalse();
            assertThat(endpoint.tokens().size()).isEqualTo(13);
        }
        finally {
            for (TrackedTask task : tracked) {
                task.close();
            }
        }
    }

    @Test
    void tasksOfOneTokenShouldBeCappedWithATruncatedFlag() {
        List<TrackedTask> tracked = new ArrayList<>();
        for (int i = 0; i <= CancellationEndpoint.MAX_TASKS_PER_TOKEN; i++) {
            tracked.add(tracker.track("reports-worker-" + i, reports)); // many workers share their bean's token
        }
        try {
            TokensDescriptor read = endpoint.tokens();
            assertThat(read.truncated()).isTrue();
            TokenDescriptor reportsNode = read.tokens().get(0).children().get(1);
            assertThat(reportsNode.tasks()).hasSize(CancellationEndpoint.MAX_TASKS_PER_TOKEN);
        }
        finally {
            tracked.forEach(TrackedTask::close);
        }
        assertThat(endpoint.tokens().truncated()).isFalse();
    }

    @Test
    void deepTreesShouldBeCutAtTheMaximumDepth() {
        CancellationToken deep = reports;
        for (int i = 0; i < 40; i++) {
            deep = deep.child("level" + i);
        }
        try (TrackedTask task = tracker.track("deep", deep)) {
            TokensDescriptor read = endpoint.tokens();
            assertThat(read.truncated()).isTrue();
            assertThat(read.size()).isEqualTo(3 + 30); // application, exports, reports and 30 of the 40 levels
        }
    }

    @Test
    void subtreeOfAnUnknownPathShouldBeNullAndOfAMalformedPathAnError() {
        assertThat(endpoint.subtree(new String[] { "nosuchbean" })).isNull();
        assertThat(endpoint.subtree(new String[] { "reports", "nosuchtask" })).isNull();
        assertThatExceptionOfType(InvalidEndpointRequestException.class)
            .isThrownBy(() -> endpoint.subtree(new String[] { "re ports" }));
    }

    // ---------------------------------------------------------------- cancel

    @Test
    void cancelShouldReachOnlyTheSubtreeAtThePath() {
        CancellationToken generate = reports.child("reports.generate");
        CancellationToken other = reports.child("reports.other");
        CancellationToken export = exports.child("exports.run");
        AtomicInteger callbacks = new AtomicInteger();
        generate.onCancel((reason) -> callbacks.incrementAndGet());
        try (TrackedTask a = tracker.track("reports.generate", generate);
                TrackedTask b = tracker.track("reports.other", other);
                TrackedTask c = tracker.track("exports.run", export)) {

            CancelDescriptor result = endpoint.cancel(new String[] { "reports", "reports.generate" }, "why");

            assertThat(result.outcome()).isEqualTo(Outcome.CANCELLED);
            assertThat(result.path()).isEqualTo("reports/reports.generate");
            assertThat(result.matched()).isOne();
            assertThat(result.cancelled()).isOne();
            assertThat(generate.reason()).hasValueSatisfying((reason) -> {
                assertThat(reason.kind()).isEqualTo(CancellationReason.Kind.ACTUATOR);
                assertThat(reason.message()).contains("why");
                assertThat(reason.origin()).isEqualTo("reports.generate");
            });
            assertThat(callbacks).hasValue(1);
            assertThat(List.of(application, reports, exports, other, export))
                .noneMatch(CancellationToken::isCancelled);

            CancelDescriptor again = endpoint.cancel(new String[] { "reports", "reports.generate" }, "again");

            assertThat(again.outcome()).isEqualTo(Outcome.ALREADY_CANCELLED);
            assertThat(again.cancelled()).isZero();
            assertThat(generate.reason().orElseThrow().message()).contains("why");
            assertThat(callbacks).hasValue(1);
        }
    }

    @Test
    void cancelShouldReachEveryTokenAtThePath() {
        CancellationToken first = reports.child("reports.generate");
        CancellationToken second = reports.child("reports.generate");
        try (TrackedTask a = tracker.track("reports.generate", first);
                TrackedTask b = tracker.track("reports.generate", second)) {
            CancelDescriptor result = endpoint.cancel(new String[] { "reports", "reports.generate" }, null);

            assertThat(result.matched()).isEqualTo(2);
            assertThat(result.cancelled()).isEqualTo(2);
            assertThat(first.isCancelled()).isTrue();
            assertThat(second.isCancelled()).isTrue();
            assertThat(reports.isCancelled()).isFalse();
            assertThat(first.reason().orElseThrow().message()).contains(CancellationEndpoint.DEFAULT_MESSAGE);
        }
    }

    @Test
    void cancelOfABeanShouldCancelItsTasksToo() {
        CancellationToken generate = reports.child("reports.generate");
        try (TrackedTask task = tracker.track("reports.generate", generate)) {
            assertThat(endpoint.cancel(new String[] { "reports" }, null).outcome()).isEqualTo(Outcome.CANCELLED);

            assertThat(generate.reason().orElseThrow().origin()).isEqualTo("reports");
            assertThat(exports.isCancelled()).isFalse();
            assertThat(application.isCancelled()).isFalse();
        }
    }

    @Test
    void unknownPathShouldCancelNothing() {
        assertThat(endpoint.cancel(new String[] { "nosuchbean" }, null).outcome()).isEqualTo(Outcome.NOT_FOUND);
        assertThat(endpoint.cancel(new String[] { "reports", "nosuchtask" }, null).outcome())
            .isEqualTo(Outcome.NOT_FOUND);
        assertThat(endpoint.cancel(new String[] { "application" }, null).outcome()).isEqualTo(Outcome.NOT_FOUND);
        assertThat(List.of(application, reports, exports)).noneMatch(CancellationToken::isCancelled);
        assertThat(endpoint.tokens().size()).as("nothing created").isEqualTo(3);
    }

    @ParameterizedTest
    @ValueSource(strings = { "", ".", "..", "re ports", "reports\n", "rep/orts", "rép", "a%2Fb", "x?y", "x#y", "x;y" })
    void malformedSegmentShouldCancelNothing(String segment) {
        CancelDescriptor result = endpoint.cancel(new String[] { segment }, null);

        assertThat(result.outcome()).isEqualTo(Outcome.INVALID);
        assertThat(result.path()).isNull();
        assertThat(result.detail()).startsWith("malformed path");
        assertThat(List.of(application, reports, exports)).noneMatch(CancellationToken::isCancelled);
    }

    @Test
    void overlongPathsShouldCancelNothing() {
        assertThat(endpoint.cancel(new String[] { "r".repeat(256) }, null).outcome()).isEqualTo(Outcome.INVALID);
        assertThat(endpoint.cancel(new String[] { "r".repeat(255) }, null).outcome()).isEqualTo(Outcome.NOT_FOUND);
        String[] deep = new String[33];
        Arrays.fill(deep, "reports");
        assertThat(endpoint.cancel(deep, null).outcome()).isEqualTo(Outcome.INVALID);
        assertThat(reports.isCancelled()).isFalse();
    }

    @Test
    void applicationTokenShouldNotBeCancellable() {
        CancelDescriptor result = endpoint.cancel(new String[0], null);

        assertThat(result.outcome()).isEqualTo(Outcome.INVALID);
        assertThat(result.detail()).contains("not cancellable").contains("shutdown endpoint");
        assertThat(application.isCancelled()).isFalse();
    }

    @Test
    void messageShouldBeStrippedOfControlCharactersAndCapped() {
        endpoint.cancel(new String[] { "reports" }, " line\r\nbreak\u0000\u001b[31m\u202e ");
        endpoint.cancel(new String[] { "exports" }, "x".repeat(1000));

        assertThat(reports.reason().orElseThrow().message()).contains("linebreak[31m");
        assertThat(exports.reason().orElseThrow().message().orElseThrow())
            .hasSize(CancellationEndpoint.MAX_MESSAGE_LENGTH);
    }

    @Test
    void blankMessageShouldBeReplacedByTheDefault() {
        endpoint.cancel(new String[] { "reports" }, "\n\t ");

        assertThat(reports.reason().orElseThrow().message()).contains(CancellationEndpoint.DEFAULT_MESSAGE);
    }

    private CancellationEndpoint endpoint(int maxTokens) {
        return new CancellationEndpoint(application, tracker, () -> Map.of("reports", reports, "exports", exports),
                maxTokens);
    }

    private static int count(List<TokenDescriptor> tokens) {
        int count = 0;
        for (TokenDescriptor token : tokens) {
            count += 1 + count(token.children());
        }
        return count;
    }

    private static org.assertj.core.groups.Tuple tuple(Object... values) {
        return org.assertj.core.groups.Tuple.tuple(values);
    }

    static class TokenHolder {

        final CancellationToken token;

        TokenHolder(CancellationToken token) {
            this.token = token;
        }
    }
}
