package io.github.cancellation.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.Registration;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;
import static org.awaitility.Awaitility.await;

/**
 * The tracker counts work in flight; {@code awaitEmpty} waits for "closed and empty", with a bound.
 */
class CancellationTaskTrackerTests {

    private final CancellationTaskTracker tracker = new CancellationTaskTracker();

    private final CancellationToken token = CancellationToken.create("test");

    @Test
    void track_records_nameTokenThreadAndCount() {
        try (TrackedTask task = tracker.track("job", token)) {
            assertThat(task.name()).isEqualTo("job");
            assertThat(task.token()).isSameAs(token);
            assertThat(task.thread()).isSameAs(Thread.currentThread());
            assertThat(task.age().isNegative()).isFalse();
            assertThat(task.isRunning()).isTrue();
            assertThat(tracker.activeCount()).isOne();
            assertThat(tracker.tasks()).containsExactly(task);
        }
        assertThat(tracker.activeCount()).isZero();
        assertThat(tracker.tasks()).isEmpty();
    }

    @Test
    void close_ofATaskTwice_countsOnce() {
        TrackedTask first = tracker.track("first", token);
        TrackedTask second = tracker.track("second", token);
        first.close();
        first.close();
        assertThat(tracker.activeCount()).isOne();
        assertThat(first.isRunning()).isFalse();
        second.close();
        assertThat(tracker.activeCount()).isZero();
    }

    @Test
    void tasks_isASnapshotOldestFirst() {
        TrackedTask older = tracker.track("older", token);
        TrackedTask newer = tracker.track("newer", token);
        List<TrackedTask> snapshot = tracker.tasks();
        older.close();
        assertThat(snapshot).containsExactly(older, newer);
        assertThat(tracker.tasks()).containsExactly(newer);
        newer.close();
    }

    @Test
    void awaitEmpty_whenOpen_waitsForClose() throws InterruptedException {
        assertThat(tracker.awaitEmpty(Duration.ZERO)).as("empty but not closed").isFalse();
        assertThat(tracker.close()).isTrue();
        assertThat(tracker.close()).as("second close").isFalse();
        assertThat(tracker.isClosed()).isTrue();
        assertThat(tracker.awaitEmpty(Duration.ZERO)).isTrue();
    }

    @Test
    void awaitEmpty_whenTaskRunning_timesOut() throws InterruptedException {
        try (TrackedTask task = tracker.track("stuck", token)) {
            tracker.close();
            assertThat(tracker.awaitEmpty(Duration.ofMillis(20))).isFalse();
            assertThat(task.isRunning()).isTrue();
        }
        assertThat(tracker.awaitEmpty(Duration.ZERO)).isTrue();
    }

    @Test
    void awaitEmpty_returnsWhenTheLastTaskEnds() throws Exception {
        CountDownLatch tracked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread worker = new Thread(() -> {
            try (TrackedTask task = tracker.track("worker", token)) {
                tracked.countDown();
                release.await();
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        });
        worker.start();
        assertThat(tracked.await(5, TimeUnit.SECONDS)).isTrue();
        tracker.close();
        release.countDown();
        assertThat(tracker.awaitEmpty(Duration.ofSeconds(5))).isTrue();
        worker.join(5000);
    }

    @Test
    void track_afterClose_isStillWaitedFor() throws InterruptedException {
        tracker.close();
        TrackedTask late = tracker.track("late", token);
        assertThat(tracker.awaitEmpty(Duration.ZERO)).isFalse();
        late.close();
        assertThat(tracker.awaitEmpty(Duration.ZERO)).isTrue();
    }

    @Test
    void awaitEmpty_whenInterrupted_throws() {
        Thread.currentThread().interrupt();
        assertThatExceptionOfType(InterruptedException.class)
            .isThrownBy(() -> tracker.awaitEmpty(Duration.ofSeconds(5)));
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
    }

    @Test
    void listeners_seeStartsAndEnds_untilRemoved() {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        Registration registration = tracker.addListener(new CancellationTaskTracker.Listener() {
            @Override
            public void taskStarted(TrackedTask task) {
                events.add("start " + task.name() + " " + tracker.activeCount());
            }

            @Override
            public void taskFinished(TrackedTask task) {
                events.add("end " + task.name() + " " + tracker.activeCount());
            }
        });
        tracker.track("a", token).close();
        assertThat(registration.unregister()).isTrue();
        tracker.track("b", token).close();
        assertThat(events).containsExactly("start a 1", "end a 0");
    }

    @Test
    void listener_thatThrows_doesNotAffectTheTask() {
        tracker.addListener(new CancellationTaskTracker.Listener() {
            @Override
            public void taskStarted(TrackedTask task) {
                throw new IllegalStateException("listener failure on purpose");
            }
        });
        TrackedTask task = tracker.track("a", token);
        assertThat(tracker.activeCount()).isOne();
        task.close();
        assertThat(tracker.activeCount()).isZero();
    }

    @Test
    void interruptIfRunning_interruptsOnce_andCloseOnTheTaskThreadClearsIt() {
        TrackedTask task = tracker.track("a", token);
        assertThat(task.interruptIfRunning()).isTrue();
        assertThat(task.interruptIfRunning()).isFalse();
        assertThat(Thread.currentThread().isInterrupted()).isTrue();
        task.close();
        assertThat(Thread.currentThread().isInterrupted()).as("interrupt does not leak past the task").isFalse();
        assertThat(task.interruptIfRunning()).as("ended").isFalse();
    }

    @Test
    void interruptIfRunning_afterTheTaskEnded_doesNothing() throws InterruptedException {
        AtomicReference<TrackedTask> ended = new AtomicReference<>();
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean interruptedLater = new AtomicBoolean();
        Thread worker = new Thread(() -> {
            TrackedTask task = tracker.track("a", token);
            task.close();
            ended.set(task);
            try {
                release.await();
            }
            catch (InterruptedException ex) {
                interruptedLater.set(true);
            }
        });
        worker.start();
        await().until(() -> ended.get() != null);
        assertThat(ended.get().interruptIfRunning()).isFalse();
        release.countDown();
        worker.join(5000);
        assertThat(interruptedLater).as("the thread's next work is not interrupted").isFalse();
    }

    @Test
    void track_rejectsNull() {
        assertThatNullPointerException().isThrownBy(() -> tracker.track(null, token));
        assertThatNullPointerException().isThrownBy(() -> tracker.track("a", null));
    }
}
