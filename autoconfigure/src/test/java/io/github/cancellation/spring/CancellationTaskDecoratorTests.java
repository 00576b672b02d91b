package io.github.cancellation.spring;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.Scope;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.task.TaskExecutionAutoConfiguration;
import org.springframework.boot.autoconfigure.task.TaskSchedulingAutoConfiguration;
import org.springframework.boot.task.ThreadPoolTaskSchedulerBuilder;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.task.TaskDecorator;
import org.springframework.core.task.support.ContextPropagatingTaskDecorator;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;
import org.springframework.scheduling.support.PeriodicTrigger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.awaitility.Awaitility.await;

/**
 * Tasks on the executors and schedulers that Spring Boot builds run under a child of the
 * submitter's current token (else of the application token), bound as current, tracked, and
 * closed at the end.
 */
class CancellationTaskDecoratorTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(CancellationAutoConfiguration.class,
                TaskExecutionAutoConfiguration.class, TaskSchedulingAutoConfiguration.class));

    @Test
    void taskOnTheApplicationTaskExecutorShouldRunUnderAChildOfTheApplicationToken() {
        contextRunner.run(context -> {
            ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            CancellationToken token = executor.submit(CancellationToken::current).get(5, TimeUnit.SECONDS);
            assertThat(token.name()).isEqualTo(CancellationTaskDecorator.DEFAULT_TASK_NAME);
            assertThat(token.parent()).containsSame(context.getBean(CancellationToken.class));
            await().untilAsserted(() -> assertThat(tracker.activeCount()).isZero());
            assertThat(token.reason()).as("closed when the task ended")
                .map(CancellationReason::kind).contains(CancellationReason.Kind.CLOSED);
        });
    }

    @Test
    void taskShouldBeTrackedWhileItRuns() {
        contextRunner.run(context -> {
            ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            CountDownLatch release = new CountDownLatch(1);
            executor.execute(new BlockingTask(release));
            await().untilAsserted(() -> assertThat(tracker.tasks()).singleElement().satisfies(task -> {
                assertThat(task.name()).isEqualTo("CancellationTaskDecoratorTests$BlockingTask");
                assertThat(task.thread().getName()).startsWith("task-");
                assertThat(task.token()).isNotSameAs(context.getBean(CancellationToken.class));
            }));
            release.countDown();
            await().untilAsserted(() -> assertThat(tracker.activeCount()).isZero());
        });
    }

    @Test
    void submittersCurrentTokenShouldBeTheParent() {
        contextRunner.run(context -> {
            ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
            CancellationToken request = CancellationToken.create("request");
            CountDownLatch started = new CountDownLatch(1);
            CompletableFuture<CancellationReason> seen;
            try (Scope scope = request.bind()) {
                seen = executor.submitCompletable(() -> {
                    started.countDown();
                    CancellationToken current = CancellationToken.current();
                    current.await();
                    return current.reason().orElseThrow();
                });
            }
            assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
            request.cancel(CancellationReason.of(CancellationReason.Kind.CALLER));
            CancellationReason reason = seen.get(5, TimeUnit.SECONDS);
            assertThat(reason.kind()).isEqualTo(CancellationReason.Kind.CALLER);
            assertThat(reason.origin()).isEqualTo("request");
            assertThat(context.getBean(CancellationToken.class).isCancelled()).isFalse();
        });
    }

    @Test
    void taskStartingAfterTheApplicationTokenIsCancelledShouldStartCancelled() {
        contextRunner.run(context -> {
            ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
            context.getBean(CancellationToken.class)
                .cancel(CancellationReason.of(CancellationReason.Kind.SHUTDOWN, "test"));
            CancellationReason reason = executor
                .submit(() -> CancellationToken.current().reason().orElseThrow())
                .get(5, TimeUnit.SECONDS);
            assertThat(reason.kind()).isEqualTo(CancellationReason.Kind.SHUTDOWN);
        });
    }

    @Test
    void decoratedTaskShouldRestoreTheThreadsCurrentToken() {
        contextRunner.run(context -> {
            CancellationTaskDecorator decorator = context.getBean(CancellationTaskDecorator.class);
            CancellationToken outer = CancellationToken.create("outer");
            CancellationToken[] inside = new CancellationToken[1];
            Runnable task = decorator.decorate(() -> inside[0] = CancellationToken.current());
            try (Scope scope = outer.bind()) {
                task.run();
                assertThat(CancellationToken.current()).isSameAs(outer);
            }
            assertThat(inside[0].parent()).as("captured at decoration, outside the scope")
                .containsSame(context.getBean(CancellationToken.class));
            assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
        });
    }

    @Test
    void taskThatThrowsShouldStillEndItsTrackingAndToken() {
        contextRunner.run(context -> {
            CancellationTaskDecorator decorator = context.getBean(CancellationTaskDecorator.class);
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            CancellationToken[] inside = new CancellationToken[1];
            Runnable task = decorator.decorate(() -> {
                inside[0] = CancellationToken.current();
                throw new IllegalStateException("task failure on purpose");
            });
            assertThatIllegalStateException().isThrownBy(task::run).withMessage("task failure on purpose");
            assertThat(tracker.activeCount()).isZero();
            assertThat(inside[0].isCancelled()).isTrue();
            assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
        });
    }

    @Test
    void ourTokenShouldWinOverContextPropagationOfTheSubmittersToken() {
        contextRunner.withBean(ContextPropagatingTaskDecorator.class).run(context -> {
            assertThat(context.getBeansOfType(TaskDecorator.class)).hasSize(2);
            ThreadPoolTaskExecutor executor = context.getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class);
            CancellationToken request = CancellationToken.create("request");
            CancellationToken seen;
            try (Scope scope = request.bind()) {
                seen = executor.submit(CancellationToken::current).get(5, TimeUnit.SECONDS);
            }
            assertThat(seen).isNotSameAs(request);
            assertThat(seen.parent()).containsSame(request);
        });
    }

    @Test
    void taskOnABootBuiltSchedulerShouldRunUnderAChildOfTheApplicationToken() {
        contextRunner.run(context -> {
            ThreadPoolTaskScheduler scheduler = context.getBean(ThreadPoolTaskSchedulerBuilder.class).build();
            scheduler.initialize();
            try {
                CompletableFuture<CancellationToken> seen = new CompletableFuture<>();
                scheduler.schedule(() -> seen.complete(CancellationToken.current()), Instant.now());
                CancellationToken token = seen.get(5, TimeUnit.SECONDS);
                assertThat(token.parent()).containsSame(context.getBean(CancellationToken.class));
            }
            finally {
                scheduler.shutdown();
            }
        });
    }

    @Test
    void everyRunOfATriggerTaskOnABootBuiltSchedulerShouldStartUncancelled() {
        contextRunner.run(context -> {
            ThreadPoolTaskScheduler scheduler = context.getBean(ThreadPoolTaskSchedulerBuilder.class).build();
            scheduler.initialize();
            try {
                List<CancellationToken> seen = new CopyOnWriteArrayList<>();
                // ThreadPoolTaskScheduler decorates each run of a trigger task while the previous run is ending
                scheduler.schedule(() -> seen.add(CancellationToken.current()),
                        new PeriodicTrigger(Duration.ofMillis(10)));
                await().until(() -> seen.size() >= 3);
                List<CancellationToken> firstRuns = List.copyOf(seen).subList(0, 3);
                assertThat(firstRuns).allSatisfy(token -> {
                    assertThat(token.name()).isEqualTo(CancellationTaskDecorator.DEFAULT_TASK_NAME);
                    assertThat(token.parent()).containsSame(context.getBean(CancellationToken.class));
                });
                assertThat(firstRuns).extracting(token -> token.reason().map(CancellationReason::kind))
                    .as("each run ended and closed its own token only")
                    .containsOnly(Optional.of(CancellationReason.Kind.CLOSED));
            }
            finally {
                scheduler.shutdown();
            }
        });
    }

    @Test
    void submissionSkipShouldLeaveOnlyTheNextTaskUndecorated() {
        contextRunner.run(context -> {
            CancellationTaskDecorator decorator = context.getBean(CancellationTaskDecorator.class);
            Runnable first = () -> {
            };
            Runnable second = () -> {
            };
            try (SubmissionSkip skip = SubmissionSkip.open()) {
                assertThat(decorator.decorate(first)).isSameAs(first);
                assertThat(decorator.decorate(second)).isNotSameAs(second);
            }
            try (SubmissionSkip skip = SubmissionSkip.open()) {
                // nothing decorated meanwhile: the skip ends with its handle
            }
            assertThat(decorator.decorate(first)).isNotSameAs(first);
            try (SubmissionSkip outer = SubmissionSkip.open()) {
                try (SubmissionSkip inner = SubmissionSkip.open()) {
                    // a nested skip, ended unconsumed, leaves the outer one in place
                }
                assertThat(decorator.decorate(first)).isSameAs(first);
                assertThat(decorator.decorate(second)).isNotSameAs(second);
            }
        });
    }

    @Test
    void claimShouldLeaveARunThatBeganBeforeTheClaimingWorkWasSubmitted() {
        contextRunner.run(context -> {
            CancellationTaskDecorator decorator = context.getBean(CancellationTaskDecorator.class);
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            List<Object> seen = new ArrayList<>();
            decorator.decorate(() -> {
                CancellationToken token = CancellationToken.current();
                // work submitted now and run right here (a synchronous executor): not this run's own
                DecoratedRun.claim(System.nanoTime());
                seen.add(tracker.activeCount());
                seen.add(token.isCancelled());
            }).run();
            long submitted = System.nanoTime();
            decorator.decorate(() -> {
                // work submitted before this run began: the run that runs it
                DecoratedRun.claim(submitted);
                seen.add(tracker.activeCount());
            }).run();
            assertThat(seen).containsExactly(1, false, 0);
            assertThat(tracker.activeCount()).isZero();
        });
    }

    @Test
    void handOverShouldEndTheTrackingAndTheTokenOfTheRunningTaskOnly() {
        contextRunner.run(context -> {
            CancellationTaskDecorator decorator = context.getBean(CancellationTaskDecorator.class);
            CancellationTaskTracker tracker = context.getBean(CancellationTaskTracker.class);
            DecoratedRun.claim(DecoratedRun.ANY_RUN); // outside any decorated task: nothing to do
            List<Object> seen = new ArrayList<>();
            decorator.decorate(() -> {
                CancellationToken token = CancellationToken.current();
                seen.add(tracker.activeCount());
                DecoratedRun.claim(DecoratedRun.ANY_RUN);
                seen.add(tracker.activeCount());
                seen.add(token.reason().map(CancellationReason::kind));
                DecoratedRun.claim(DecoratedRun.ANY_RUN); // the second time: nothing to do
                seen.add(tracker.activeCount());
            }).run();
            assertThat(seen).containsExactly(1, 0, Optional.of(CancellationReason.Kind.CLOSED), 0);
            assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
        });
    }

    @Test
    void taskNameShouldBeBounded() {
        Runnable lambda = () -> {
        };
        Runnable anonymous = new Runnable() {
            @Override
            public void run() {
            }
        };
        assertThat(CancellationTaskDecorator.taskName(lambda)).isEqualTo("CancellationTaskDecoratorTests");
        assertThat(CancellationTaskDecorator.taskName(anonymous)).isEqualTo("CancellationTaskDecoratorTests$1");
        assertThat(CancellationTaskDecorator.taskName(new BlockingTask(new CountDownLatch(0))))
            .isEqualTo("CancellationTaskDecoratorTests$BlockingTask");
        assertThat(CancellationTaskDecorator.taskName(new FutureTask<>(lambda, null))).isEqualTo("task");
    }

    @Test
    void decoratorShouldTakePrecedenceOverOtherDecorators() {
        contextRunner.run(context -> assertThat(context.getBean(CancellationTaskDecorator.class).getOrder())
            .isEqualTo(CancellationTaskDecorator.ORDER));
    }

    /** A named task that waits for its latch. */
    static final class BlockingTask implements Runnable {

        private final CountDownLatch release;

        BlockingTask(CountDownLatch release) {
            this.release = release;
        }

        @Override
        public void run() {
            try {
                release.await(10, TimeUnit.SECONDS);
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
