package io.github.cancellation.spring;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.Scope;
import io.micrometer.context.ContextRegistry;
import io.micrometer.context.ContextSnapshot;
import io.micrometer.context.ContextSnapshotFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.core.task.support.ContextPropagatingTaskDecorator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With context-propagation on the class path, the current token travels with context snapshots
 * and is restored afterwards.
 */
class CancellationTokenThreadLocalAccessorTests {

    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @AfterEach
    void shutDownExecutor() throws InterruptedException {
        executor.shutdown();
        assertThat(executor.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void accessorShouldBeRegisteredThroughTheServiceLoader() {
        assertThat(ContextRegistry.getInstance().getThreadLocalAccessors())
            .anySatisfy(accessor -> assertThat(accessor).isInstanceOf(CancellationTokenThreadLocalAccessor.class));
    }

    @Test
    void snapshotShouldCarryTheCurrentTokenToAnotherThread() throws Exception {
        CancellationToken token = CancellationToken.create("request");
        Runnable wrapped;
        CompletableFuture<CancellationToken> seen = new CompletableFuture<>();
        try (Scope scope = token.bind()) {
            Runnable task = () -> seen.complete(CancellationToken.current());
            wrapped = ContextSnapshotFactory.builder().build().captureAll().wrap(task);
        }
        executor.execute(wrapped);
        assertThat(seen.get(5, TimeUnit.SECONDS)).isSameAs(token);
        assertThat(executor.submit(CancellationToken::current).get(5, TimeUnit.SECONDS))
            .as("restored after the task").isSameAs(CancellationToken.none());
    }

    @Test
    void contextPropagatingTaskDecoratorShouldCarryTheCurrentToken() throws Exception {
        CancellationToken token = CancellationToken.create("request");
        Runnable decorated;
        CompletableFuture<CancellationToken> seen = new CompletableFuture<>();
        try (Scope scope = token.bind()) {
            decorated = new ContextPropagatingTaskDecorator().decorate(() -> seen.complete(CancellationToken.current()));
        }
        executor.execute(decorated);
        assertThat(seen.get(5, TimeUnit.SECONDS)).isSameAs(token);
    }

    @Test
    void snapshotWithoutATokenThatClearsMissingValuesShouldClearTheTokenAndRestoreIt() {
        CancellationToken outer = CancellationToken.create("outer");
        ContextSnapshot empty = ContextSnapshotFactory.builder().clearMissing(true).build().captureAll();
        try (Scope scope = outer.bind()) {
            try (ContextSnapshot.Scope restored = empty.setThreadLocals()) {
                assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
            }
            assertThat(CancellationToken.current()).isSameAs(outer);
        }
        assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
    }

    @Test
    void nestedSnapshotsShouldRestoreInOrder() {
        CancellationToken first = CancellationToken.create("first");
        CancellationToken second = CancellationToken.create("second");
        ContextSnapshotFactory factory = ContextSnapshotFactory.builder().build();
        ContextSnapshot ofFirst;
        ContextSnapshot ofSecond;
        try (Scope scope = first.bind()) {
            ofFirst = factory.captureAll();
        }
        try (Scope scope = second.bind()) {
            ofSecond = factory.captureAll();
        }
        try (ContextSnapshot.Scope outer = ofFirst.setThreadLocals()) {
            assertThat(CancellationToken.current()).isSameAs(first);
            try (ContextSnapshot.Scope inner = ofSecond.setThreadLocals()) {
                assertThat(CancellationToken.current()).isSameAs(second);
            }
            assertThat(CancellationToken.current()).isSameAs(first);
        }
        assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
    }

    @Test
    void getValueShouldBeNullOutsideAnyScope() {
        CancellationTokenThreadLocalAccessor accessor = new CancellationTokenThreadLocalAccessor();
        assertThat(accessor.getValue()).isNull();
        assertThat(accessor.key()).isEqualTo(CancellationTokenThreadLocalAccessor.KEY);
    }
}
