package io.github.cancellation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.github.cancellation.CancellationReason.Kind;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The product contract of SPEC.md, section "The token", one test (or more) per table row, per
 * "Smaller points" bullet, per sentence about {@link CancellationReason} and per "Rules that hold
 * everywhere" bullet. Each test opens with the property it checks; read top to bottom, the class is
 * the specification.
 */
class CancellationTokenConformanceTest {

    private static final Duration LONG = Duration.ofSeconds(10);

    // ====================================================================== create()

    @Nested
    class Create {

        /** {@code create()} gives a new root that is not cancelled and has a generated, non-null name. */
        @Test
        void create_withoutName_givesUncancelledRootWithGeneratedName() {
            CancellationToken token = CancellationToken.create();

            assertThat(token.isCancelled()).isFalse();
            assertThat(token.reason()).isEmpty();
            assertThat(token.parent()).isEmpty();
            assertThat(token.name()).isNotBlank();
        }

        /** {@code create(name)} gives a new root that carries the given name. */
        @Test
        void create_withName_givesRootWithThatName() {
            CancellationToken token = CancellationToken.create("jobs");

            assertThat(token.name()).isEqualTo("jobs");
            assertThat(token.parent()).isEmpty();
            assertThat(token.isCancelled()).isFalse();
        }

        /** Two roots are independent: cancelling one never cancels the other. */
        @Test
        void create_twice_givesIndependentRoots() {
            CancellationToken a = CancellationToken.create("a");
            CancellationToken b = CancellationToken.create("b");

            a.cancel();

            assertThat(b.isCancelled()).isFalse();
        }

        /** A null name is rejected rather than turned into a token without a name. */
        @Test
        void create_nullName_throwsNullPointerException() {
            assertThatThrownBy(() -> CancellationToken.create(null)).isInstanceOf(NullPointerException.class);
        }

        /** Every token has a non-null name; unnamed ones get a short generated name that stays the same. */
        @Test
        void name_ofUnnamedTokens_isShortNonNullAndStable() {
            CancellationToken root = CancellationToken.create();
            List<CancellationToken> unnamed = List.of(root, root.child(), root.child(Duration.ofHours(1)),
                    CancellationToken.anyOf(root), CancellationToken.none(), CancellationToken.none().child());

            for (CancellationToken token : unnamed) {
                assertThat(token.name()).as("name of %s", token).isNotBlank().hasSizeLessThanOrEqualTo(32);
                assertThat(token.name()).isEqualTo(token.name());
            }
            root.close();
        }
    }

    // ====================================================================== none()

    @Nested
    class None {

        /** {@code none()} is one shared instance. */
        @Test
        void none_calledTwice_returnsSameInstance() {
            assertThat(CancellationToken.none()).isSameAs(CancellationToken.none());
        }

        /** {@code cancel()} on {@code none()} returns false and changes nothing. */
        @Test
        void none_cancel_returnsFalseAndChangesNothing() {
            CancellationToken none = CancellationToken.none();

            assertThat(none.cancel()).isFalse();
            assertThat(none.cancel(CancellationReason.of(Kind.SHUTDOWN, "bye"))).isFalse();

            assertThat(none.isCancelled()).isFalse();
            assertThat(none.reason()).isEmpty();
            none.throwIfCancelled();
        }

        /** {@code onCancel} on {@code none()} stores nothing, and its {@code unregister()} returns true. */
        @Test
        void none_onCancel_storesNothingAndUnregisterReturnsTrue() {
            CancellationToken none = CancellationToken.none();
            AtomicInteger ran = new AtomicInteger();

            Registration registration = none.onCancel(r -> ran.incrementAndGet());
            none.cancel();

            assertThat(ran).hasValue(0);
            assertThat(registration.unregister()).isTrue();
            WeakReference<Object> captured = registerCapturingCallbackOnNone();
            await().atMost(LONG).until(() -> {
                System.gc();
                return captured.get() == null;
            });
        }

        private WeakReference<Object> registerCapturingCallbackOnNone() {
            Object payload = new byte[1024];
            CancellationToken.none().onCancel(r -> payload.hashCode());
            return new WeakReference<>(payload);
        }

        /** {@code await()} on {@code none()} blocks until the thread is interrupted. */
        @Test
        void none_await_blocksUntilInterrupted() throws Exception {
            CompletableFuture<String> outcome = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    CancellationToken.none().await();
                    outcome.complete("returned");
                } catch (InterruptedException expected) {
                    outcome.complete("interrupted");
                }
            }, "none-waiter");
            waiter.start();
            awaitBlocked(waiter);

            assertThat(outcome).isNotDone();
            waiter.interrupt();

            assertThat(outcome.get(10, TimeUnit.SECONDS)).isEqualTo("interrupted");
        }

        /** The timed {@code await} on {@code none()} returns false when the time runs out. */
        @Test
        void none_awaitWithTimeout_returnsFalse() throws Exception {
            assertThat(CancellationToken.none().await(Duration.ofMillis(20))).isFalse();
        }

        /** {@code whenCancelled()} on {@code none()} never completes. */
        @Test
        void none_whenCancelled_neverCompletes() {
            CompletableFuture<CancellationReason> stage =
                    CancellationToken.none().whenCancelled().toCompletableFuture();

            CancellationToken.none().cancel();
            CancellationToken.none().close();

            await().during(Duration.ofMillis(200)).atMost(LONG).until(() -> !stage.isDone());
        }

        /** {@code close()} on {@code none()} does nothing. */
        @Test
        void none_close_doesNothing() {
            CancellationToken.none().close();

            assertThat(CancellationToken.none().isCancelled()).isFalse();
            assertThat(CancellationToken.none().reason()).isEmpty();
        }

        /** {@code child()} of {@code none()} gives a new root, which can be cancelled on its own. */
        @Test
        void none_child_givesNewRoot() {
            CancellationToken child = CancellationToken.none().child();
            CancellationToken named = CancellationToken.none().child("named");

            assertThat(child).isNotSameAs(CancellationToken.none());
            assertThat(child.parent()).isEmpty();
            assertThat(named.parent()).isEmpty();
            assertThat(named.name()).isEqualTo("named");
            assertThat(child.cancel()).isTrue();
            assertThat(CancellationToken.none().isCancelled()).isFalse();
        }

        /** {@code none()} has no parent and no children, and its timers never cancel it. */
        @Test
        void none_introspectionAndCancelAfter_showNothing() {
            CancellationToken none = CancellationToken.none();

            none.cancelAfter(Duration.ZERO);

            assertThat(none.isCancelled()).isFalse();
            assertThat(none.parent()).isEmpty();
            assertThat(none.children()).isEmpty();
            assertThat(none.name()).isNotNull();
        }
    }

    // ====================================================================== child()

    @Nested
    class Child {

        /** A child is cancelled when its parent is, with the parent's reason. */
        @Test
        void child_parentCancelled_childCancelledWithParentReason() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken child = root.child("child");

            root.cancel(CancellationReason.of(Kind.SHUTDOWN, "stop"));

            assertThat(child.isCancelled()).isTrue();
            assertThat(child.reason()).isEqualTo(root.reason());
            assertThat(child.reason().orElseThrow().origin()).isEqualTo("root");
            assertThat(child.reason().orElseThrow().kind()).isEqualTo(Kind.SHUTDOWN);
        }

        /** A token is cancelled when any ancestor is, with that ancestor's reason and origin. */
        @Test
        void child_anyAncestorCancelled_descendantsReportAncestorReason() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken middle = root.child("middle");
            CancellationToken leaf = middle.child("leaf");
            CancellationToken linkedLeaf = middle.child("linked-leaf");
            linkedLeaf.onCancel(r -> { });

            middle.cancel();

            assertThat(root.isCancelled()).isFalse();
            for (CancellationToken token : List.of(leaf, linkedLeaf)) {
                assertThat(token.isCancelled()).isTrue();
                assertThat(token.reason().orElseThrow().origin()).isEqualTo("middle");
                assertThat(token.reason().orElseThrow().kind()).isEqualTo(Kind.MANUAL);
            }
        }

        /** Cancelling a child never affects its parent or its siblings. */
        @Test
        void child_cancelled_parentAndSiblingsUnaffected() {
            CancellationToken root = CancellationToken.create();
            CancellationToken child = root.child();
            CancellationToken sibling = root.child();
            CancellationToken linkedSibling = root.child();
            AtomicInteger siblingCallbacks = new AtomicInteger();
            linkedSibling.onCancel(r -> siblingCallbacks.incrementAndGet());
            child.onCancel(r -> { });

            assertThat(child.cancel()).isTrue();

            assertThat(root.isCancelled()).isFalse();
            assertThat(sibling.isCancelled()).isFalse();
            assertThat(linkedSibling.isCancelled()).isFalse();
            assertThat(siblingCallbacks).hasValue(0);
        }

        /** A child of a cancelled token is born cancelled, with the ancestor's reason and origin. */
        @Test
        void child_ofCancelledToken_isBornCancelledWithAncestorReasonAndOrigin() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken middle = root.child("middle");
            root.cancel(CancellationReason.of(Kind.ACTUATOR, "operator"));

            CancellationToken child = middle.child("late");
            CancellationToken grandChild = child.child();

            assertThat(child.isCancelled()).isTrue();
            assertThat(grandChild.isCancelled()).isTrue();
            CancellationReason reason = child.reason().orElseThrow();
            assertThat(reason.kind()).isEqualTo(Kind.ACTUATOR);
            assertThat(reason.message()).contains("operator");
            assertThat(reason.origin()).isEqualTo("root");
            assertThat(grandChild.reason()).contains(reason);
        }

        /** A child of a closed token is born cancelled with kind CLOSED and the closed token as origin. */
        @Test
        void child_ofClosedToken_isBornCancelledWithClosedReason() {
            CancellationToken closed = CancellationToken.create("done");
            closed.close();

            CancellationToken child = closed.child();

            assertThat(child.reason()).hasValueSatisfying(r -> {
                assertThat(r.kind()).isEqualTo(Kind.CLOSED);
                assertThat(r.origin()).isEqualTo("done");
            });
        }

        /** A named child keeps its name and reports its parent. */
        @Test
        void child_named_keepsNameAndParent() {
            CancellationToken root = CancellationToken.create("root");

            CancellationToken child = root.child("worker");

            assertThat(child.name()).isEqualTo("worker");
            assertThat(child.parent()).containsSame(root);
            assertThatThrownBy(() -> root.child((String) null)).isInstanceOf(NullPointerException.class);
        }
    }

    // ====================================================================== child(Duration), cancelAfter

    @Nested
    class Timeouts {

        /** A {@code child(Duration)} is cancelled with kind TIMEOUT, origin itself, when the time runs out. */
        @Test
        void childWithTimeout_timeRunsOut_cancelledWithTimeoutKind() throws Exception {
            CancellationToken root = CancellationToken.create();
            CancellationToken child = root.child("timed", Duration.ofMillis(20));

            assertThat(child.await(LONG)).isTrue();

            assertThat(child.reason()).hasValueSatisfying(r -> {
                assertThat(r.kind()).isEqualTo(Kind.TIMEOUT);
                assertThat(r.origin()).isEqualTo("timed");
            });
            assertThat(root.isCancelled()).isFalse();
        }

        /** The unnamed {@code child(Duration)} behaves the same. */
        @Test
        void childWithTimeoutUnnamed_timeRunsOut_cancelledWithTimeoutKind() throws Exception {
            CancellationToken root = CancellationToken.create();
            CancellationToken child = root.child(Duration.ofMillis(10));

            assertThat(child.parent()).containsSame(root);
            assertThat(child.await(LONG)).isTrue();
            assertThat(child.reason().orElseThrow().kind()).isEqualTo(Kind.TIMEOUT);
        }

        /** {@code cancelAfter} cancels the token with kind TIMEOUT when the delay runs out. */
        @Test
        void cancelAfter_delayRunsOut_cancelledWithTimeoutKind() throws Exception {
            CancellationToken token = CancellationToken.create("t");

            token.cancelAfter(Duration.ofMillis(10));

            assertThat(token.await(LONG)).isTrue();
            assertThat(token.reason().orElseThrow().kind()).isEqualTo(Kind.TIMEOUT);
            assertThat(token.reason().orElseThrow().origin()).isEqualTo("t");
        }

        /** A zero or negative delay cancels at once, with kind TIMEOUT. */
        @Test
        void cancelAfter_zeroOrNegative_cancelsAtOnce() {
            CancellationToken zero = CancellationToken.create();
            CancellationToken negative = CancellationToken.create();

            zero.cancelAfter(Duration.ZERO);
            negative.cancelAfter(Duration.ofSeconds(-1));

            assertThat(zero.reason().orElseThrow().kind()).isEqualTo(Kind.TIMEOUT);
            assertThat(negative.reason().orElseThrow().kind()).isEqualTo(Kind.TIMEOUT);
        }

        /** A later {@code cancelAfter} replaces an earlier pending timer (a longer one postpones). */
        @Test
        void cancelAfter_laterLonger_replacesEarlierTimer() throws Exception {
            int baseline = Timers.pending();
            CancellationToken token = CancellationToken.create();

            token.cancelAfter(Duration.ofMillis(30));
            token.cancelAfter(Duration.ofHours(1));

            assertThat(Timers.pending()).isLessThanOrEqualTo(baseline + 1);
            assertThat(token.await(Duration.ofMillis(300))).isFalse();
            token.close();
            awaitTimersBackTo(baseline);
        }

        /** A later {@code cancelAfter} replaces an earlier pending timer (a shorter one hastens). */
        @Test
        void cancelAfter_laterShorter_replacesEarlierTimerAndReleasesIt() throws Exception {
            int baseline = Timers.pending();
            CancellationToken token = CancellationToken.create();

            token.cancelAfter(Duration.ofHours(1));
            token.cancelAfter(Duration.ofMillis(10));

            assertThat(token.await(LONG)).isTrue();
            assertThat(token.reason().orElseThrow().kind()).isEqualTo(Kind.TIMEOUT);
            awaitTimersBackTo(baseline);
        }

        /** The timer is released when the token is cancelled earlier: no timer leak. */
        @Test
        void childWithTimeout_cancelledEarly_releasesTimer() {
            int baseline = Timers.pending();
            CancellationToken child = CancellationToken.create().child(Duration.ofHours(1));
            assertThat(Timers.pending()).isGreaterThan(baseline);

            child.cancel();

            awaitTimersBackTo(baseline);
            assertThat(child.reason().orElseThrow().kind()).isEqualTo(Kind.MANUAL);
        }

        /** The timer is released when the token is closed earlier: no timer leak. */
        @Test
        void childWithTimeout_closedEarly_releasesTimer() {
            int baseline = Timers.pending();
            CancellationToken root = CancellationToken.create();
            CancellationToken child = root.child(Duration.ofHours(1));
            assertThat(Timers.pending()).isGreaterThan(baseline);

            child.close();

            awaitTimersBackTo(baseline);
            assertThat(root.children()).isEmpty();
        }

        /** The timer is released when an ancestor cancels the timed token earlier. */
        @Test
        void childWithTimeout_parentCancelledEarly_releasesTimer() {
            int baseline = Timers.pending();
            CancellationToken root = CancellationToken.create();
            CancellationToken child = root.child().child(Duration.ofHours(1));

            root.cancel();

            assertThat(child.isCancelled()).isTrue();
            awaitTimersBackTo(baseline);
        }

        /** A fired timer is released too (no memory for finished timers). */
        @Test
        void cancelAfter_timerFired_isReleased() throws Exception {
            int baseline = Timers.pending();
            CancellationToken root = CancellationToken.create();
            CancellationToken child = root.child(Duration.ofMillis(5));

            assertThat(child.await(LONG)).isTrue();

            awaitTimersBackTo(baseline);
            assertThat(root.children()).isEmpty();
        }

        /** {@code cancelAfter} on a cancelled token does nothing: no timer, the first reason stays. */
        @Test
        void cancelAfter_onCancelledToken_doesNothing() {
            int baseline = Timers.pending();
            CancellationToken token = CancellationToken.create();
            token.cancel();

            token.cancelAfter(Duration.ofHours(1));
            token.cancelAfter(Duration.ZERO);

            assertThat(Timers.pending()).isLessThanOrEqualTo(baseline);
            assertThat(token.reason().orElseThrow().kind()).isEqualTo(Kind.MANUAL);
        }

        /** A {@code child(Duration)} is held by its timer: forgotten, it still fires and runs its callbacks. */
        @Test
        void childWithTimeout_forgotten_isHeldByItsTimerAndFires() {
            CompletableFuture<CancellationReason> fired = new CompletableFuture<>();
            forgetTimedChild(CancellationToken.create(), fired);
            System.gc();

            assertThat(fired).succeedsWithin(LONG).extracting(CancellationReason::kind).isEqualTo(Kind.TIMEOUT);
        }

        private void forgetTimedChild(CancellationToken root, CompletableFuture<CancellationReason> fired) {
            root.child(Duration.ofMillis(100)).onCancel(fired::complete);
        }
    }

    // ====================================================================== remaining()

    /**
     * SPEC second wave, "Token": {@code remaining()} is the time left until the earliest deadline of
     * the token and its ancestors; empty without one; never negative.
     */
    @Nested
    class Remaining {

        private static final Duration HOUR = Duration.ofHours(1);

        /** A token without a deadline, anywhere on its path to the root, has no time limit. */
        @Test
        void remaining_withoutAnyDeadline_isEmpty() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken grandchild = root.child().child("grandchild");

            assertThat(root.remaining()).isEmpty();
            assertThat(grandchild.remaining()).isEmpty();
        }

        /** {@code none()} never has a deadline. */
        @Test
        void remaining_ofNone_isEmpty() {
            assertThat(CancellationToken.none().remaining()).isEmpty();
        }

        /** A {@code child(Duration)} reports at most its timeout, and more than nothing while it runs. */
        @Test
        void remaining_ofTimedChild_isAtMostItsTimeout() {
            CancellationToken child = CancellationToken.create().child("timed", HOUR);
            try {
                assertThat(child.remaining()).hasValueSatisfying(left ->
                        assertThat(left).isLessThanOrEqualTo(HOUR).isGreaterThan(HOUR.minusMinutes(1)));
            } finally {
                child.close();
            }
        }

        /**
         * A descendant sees the earliest deadline of its ancestors, whichever level set it; a child
         * with a later deadline of its own does not extend its parent's.
         */
        @Test
        void remaining_ofDescendant_isTheEarliestDeadlineOfItsAncestors() {
            CancellationToken root = CancellationToken.create("root");
            root.cancelAfter(HOUR.multipliedBy(3));
            CancellationToken middle = root.child("middle", Duration.ofMinutes(10));
            CancellationToken leaf = middle.child().child("leaf", HOUR);
            try {
                assertThat(leaf.remaining()).hasValueSatisfying(left ->
                        assertThat(left).isLessThanOrEqualTo(Duration.ofMinutes(10)).isGreaterThan(Duration.ofMinutes(9)));
                assertThat(root.remaining()).hasValueSatisfying(left ->
                        assertThat(left).isGreaterThan(HOUR.multipliedBy(2)));
            } finally {
                root.close();
            }
        }

        /** A parent's deadline reaches a child created before the deadline was set. */
        @Test
        void remaining_ofChild_seesADeadlineSetOnItsParentLater() {
            CancellationToken parent = CancellationToken.create("parent");
            CancellationToken child = parent.child("child");
            assertThat(child.remaining()).isEmpty();

            parent.cancelAfter(HOUR);
            try {
                assertThat(child.remaining()).hasValueSatisfying(left -> assertThat(left).isLessThanOrEqualTo(HOUR));
            } finally {
                parent.close();
            }
        }

        /** A later {@code cancelAfter} replaces the deadline: a shorter one, and a longer one too. */
        @Test
        void remaining_afterALaterCancelAfter_isTheNewDeadline() {
            CancellationToken token = CancellationToken.create("t");
            try {
                token.cancelAfter(HOUR);
                token.cancelAfter(Duration.ofMinutes(1));
                assertThat(token.remaining()).hasValueSatisfying(left ->
                        assertThat(left).isLessThanOrEqualTo(Duration.ofMinutes(1)));

                token.cancelAfter(HOUR.multipliedBy(2));
                assertThat(token.remaining()).hasValueSatisfying(left -> assertThat(left).isGreaterThan(HOUR));
            } finally {
                token.close();
            }
        }

        /** Once the deadline has passed (the timer fired), the time left is zero, never negative. */
        @Test
        void remaining_onceTheDeadlinePassed_isZero() throws Exception {
            CancellationToken parent = CancellationToken.create("parent");
            CancellationToken timed = parent.child("timed", Duration.ofMillis(5));
            CancellationToken below = timed.child("below");

            assertThat(timed.await(LONG)).isTrue();

            assertThat(timed.remaining()).contains(Duration.ZERO);
            assertThat(below.remaining()).contains(Duration.ZERO);
            assertThat(parent.remaining()).isEmpty();
        }

        /** A zero or negative delay is a deadline already passed: zero, never negative. */
        @Test
        void remaining_afterZeroOrNegativeDelay_isZero() {
            CancellationToken zero = CancellationToken.create();
            CancellationToken negative = CancellationToken.create();
            CancellationToken hugeNegative = CancellationToken.create();

            zero.cancelAfter(Duration.ZERO);
            negative.cancelAfter(Duration.ofSeconds(-1));
            hugeNegative.cancelAfter(Duration.ofSeconds(Long.MIN_VALUE));

            assertThat(zero.remaining()).contains(Duration.ZERO);
            assertThat(negative.remaining()).contains(Duration.ZERO);
            assertThat(hugeNegative.remaining()).contains(Duration.ZERO);
        }

        /** A delay too large for nanoseconds saturates: a deadline centuries away, still positive. */
        @Test
        void remaining_afterHugeDelay_isLargeAndPositive() {
            CancellationToken token = CancellationToken.create();
            try {
                token.cancelAfter(Duration.ofSeconds(Long.MAX_VALUE));
                assertThat(token.remaining()).hasValueSatisfying(left ->
                        assertThat(left).isGreaterThan(Duration.ofDays(365 * 200)));
            } finally {
                token.close();
            }
        }

        /**
         * Cancellation does not change the answer: a token cancelled early keeps its deadline, and one
         * cancelled without a deadline still has none. {@code cancelAfter} on a cancelled token sets none.
         */
        @Test
        void remaining_afterCancellation_isUnchanged() {
            CancellationToken timed = CancellationToken.create().child("timed", HOUR);
            CancellationToken plain = CancellationToken.create("plain");

            timed.cancel();
            plain.cancel();
            plain.cancelAfter(HOUR);

            assertThat(timed.remaining()).hasValueSatisfying(left -> assertThat(left).isGreaterThan(HOUR.minusMinutes(1)));
            assertThat(plain.remaining()).isEmpty();
        }

        /** An {@code anyOf} result is a root: it does not take its sources' deadlines. */
        @Test
        void remaining_ofAnyOf_ignoresTheSourcesDeadlines() {
            CancellationToken source = CancellationToken.create().child("source", HOUR);
            CancellationToken any = CancellationToken.anyOf(source);
            try {
                assertThat(any.remaining()).isEmpty();
            } finally {
                any.close();
                source.close();
            }
        }
    }

    // ====================================================================== anyOf

    @Nested
    class AnyOf {

        /** {@code anyOf()} with no sources is an {@code IllegalArgumentException}. */
        @Test
        void anyOf_noSources_throwsIllegalArgumentException() {
            assertThatThrownBy(() -> CancellationToken.anyOf()).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> CancellationToken.anyOf(new CancellationToken[0]))
                    .isInstanceOf(IllegalArgumentException.class);
        }

        /** The result is cancelled as soon as any source is, with that source's reason and its origin. */
        @Test
        void anyOf_sourceCancelled_forwardsSourceReasonWithItsOrigin() {
            CancellationToken a = CancellationToken.create("a");
            CancellationToken b = CancellationToken.create("b");
            CancellationToken any = CancellationToken.anyOf(a, b);

            assertThat(any.isCancelled()).isFalse();
            b.cancel(CancellationReason.of(Kind.CALLER, "caller left"));

            assertThat(any.isCancelled()).isTrue();
            assertThat(any.reason()).isEqualTo(b.reason());
            assertThat(any.reason().orElseThrow().origin()).isEqualTo("b");
            assertThat(any.reason().orElseThrow().message()).contains("caller left");
            assertThat(a.isCancelled()).isFalse();
        }

        /** A source cancelled through its own ancestor forwards that ancestor's reason and origin. */
        @Test
        void anyOf_sourceCancelledThroughAncestor_forwardsAncestorOrigin() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken source = root.child("source");
            CancellationToken any = CancellationToken.anyOf(source, CancellationToken.create());

            root.cancel(CancellationReason.of(Kind.SHUTDOWN, null));

            assertThat(any.reason()).hasValueSatisfying(r -> {
                assertThat(r.kind()).isEqualTo(Kind.SHUTDOWN);
                assertThat(r.origin()).isEqualTo("root");
            });
        }

        /** {@code none()} sources are ignored: they neither cancel the result nor store anything. */
        @Test
        void anyOf_noneSources_areIgnored() {
            CancellationToken a = CancellationToken.create("a");
            CancellationToken any = CancellationToken.anyOf(CancellationToken.none(), a, CancellationToken.none());
            CancellationToken onlyNone = CancellationToken.anyOf(CancellationToken.none());

            assertThat(any.isCancelled()).isFalse();
            assertThat(onlyNone.isCancelled()).isFalse();
            a.cancel();

            assertThat(any.reason().orElseThrow().origin()).isEqualTo("a");
            assertThat(onlyNone.isCancelled()).isFalse();
        }

        /** The result has no parent. */
        @Test
        void anyOf_result_hasNoParent() {
            CancellationToken root = CancellationToken.create();

            CancellationToken any = CancellationToken.anyOf(root.child(), root.child());

            assertThat(any.parent()).isEmpty();
            assertThat(root.children()).doesNotContain(any);
        }

        /** If a source is already cancelled, the result is born cancelled with that source's reason. */
        @Test
        void anyOf_sourceAlreadyCancelled_isBornCancelled() {
            CancellationToken live = CancellationToken.create().child();
            CancellationToken done = CancellationToken.create("done");
            done.cancel(CancellationReason.of(Kind.TIMEOUT, "late"));

            CancellationToken any = CancellationToken.anyOf(live, done);

            assertThat(any.reason()).isEqualTo(done.reason());
            assertThat(live.parent().orElseThrow().children()).isEmpty();
        }

        /** Until cancelled, the result holds a callback on each source (shown by the sources being linked). */
        @Test
        void anyOf_live_holdsOnItsSources() {
            CancellationToken root = CancellationToken.create();
            CancellationToken s1 = root.child();
            CancellationToken s2 = root.child();

            CancellationToken any = CancellationToken.anyOf(s1, s2);

            assertThat(root.children()).containsExactlyInAnyOrder(s1, s2);
            any.close();
        }

        /** Once cancelled by a source, the result detaches from all sources. */
        @Test
        void anyOf_cancelledBySource_detachesFromAllSources() {
            CancellationToken root = CancellationToken.create();
            CancellationToken s1 = root.child();
            CancellationToken s2 = root.child();
            CancellationToken s3 = root.child();
            CancellationToken any = CancellationToken.anyOf(s1, s2, s3);

            s2.cancel();

            assertThat(any.isCancelled()).isTrue();
            assertThat(root.children()).isEmpty();
            assertThat(s1.isCancelled()).isFalse();
            assertThat(s3.isCancelled()).isFalse();
        }

        /** Once cancelled directly, the result detaches from all sources and never affects them. */
        @Test
        void anyOf_cancelledDirectly_detachesAndLeavesSourcesAlone() {
            CancellationToken root = CancellationToken.create();
            CancellationToken s1 = root.child();
            CancellationToken s2 = root.child();
            CancellationToken any = CancellationToken.anyOf(s1, s2);

            assertThat(any.cancel()).isTrue();

            assertThat(root.children()).isEmpty();
            assertThat(s1.isCancelled()).isFalse();
            assertThat(s2.isCancelled()).isFalse();
        }

        /** Once closed, the result detaches from all sources, which stay uncancelled. */
        @Test
        void anyOf_closed_detachesFromAllSources() {
            CancellationToken root = CancellationToken.create();
            CancellationToken s1 = root.child();
            CancellationToken s2 = root.child();
            CancellationToken any = CancellationToken.anyOf(s1, s2);

            any.close();

            assertThat(any.reason().orElseThrow().kind()).isEqualTo(Kind.CLOSED);
            assertThat(root.children()).isEmpty();
            assertThat(s1.isCancelled()).isFalse();
            assertThat(s2.isCancelled()).isFalse();
        }

        /** A null source is rejected. */
        @Test
        void anyOf_nullSource_throwsNullPointerException() {
            assertThatThrownBy(() -> CancellationToken.anyOf(CancellationToken.create(), null))
                    .isInstanceOf(NullPointerException.class);
        }
    }

    // ====================================================================== cancel

    @Nested
    class Cancel {

        /** The first {@code cancel()} returns true and cancels with kind MANUAL, origin this token. */
        @Test
        void cancel_first_returnsTrueWithManualReasonStampedByToken() {
            CancellationToken token = CancellationToken.create("job");

            assertThat(token.cancel()).isTrue();

            assertThat(token.reason()).hasValueSatisfying(r -> {
                assertThat(r.kind()).isEqualTo(Kind.MANUAL);
                assertThat(r.origin()).isEqualTo("job");
                assertThat(r.message()).isEmpty();
                assertThat(r.cause()).isEmpty();
            });
        }

        /** {@code cancel} is idempotent: the second call returns false and the first reason is kept. */
        @Test
        void cancel_twice_secondReturnsFalseAndKeepsFirstReason() {
            CancellationToken token = CancellationToken.create();

            assertThat(token.cancel(CancellationReason.of(Kind.SHUTDOWN, "first"))).isTrue();
            assertThat(token.cancel(CancellationReason.of(Kind.TIMEOUT, "second"))).isFalse();
            assertThat(token.cancel()).isFalse();
            token.close();

            assertThat(token.reason().orElseThrow().kind()).isEqualTo(Kind.SHUTDOWN);
            assertThat(token.reason().orElseThrow().message()).contains("first");
        }

        /** Of many concurrent {@code cancel} calls exactly one returns true, and its reason is kept. */
        @Test
        void cancel_concurrently_exactlyOneReturnsTrueAndItsReasonWins() throws Exception {
            int threads = 4;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                for (int round = 0; round < 500; round++) {
                    CancellationToken token = CancellationToken.create();
                    CyclicBarrier start = new CyclicBarrier(threads);
                    List<Future<Boolean>> results = new ArrayList<>();
                    for (int t = 0; t < threads; t++) {
                        String message = "t" + t;
                        results.add(pool.submit(() -> {
                            start.await();
                            return token.cancel(CancellationReason.of(Kind.MANUAL, message));
                        }));
                    }
                    int winners = 0;
                    String winner = null;
                    for (int t = 0; t < threads; t++) {
                        if (results.get(t).get(10, TimeUnit.SECONDS)) {
                            winners++;
                            winner = "t" + t;
                        }
                    }
                    assertThat(winners).isEqualTo(1);
                    assertThat(token.reason().orElseThrow().message()).contains(winner);
                }
            } finally {
                pool.shutdownNow();
            }
        }

        /** {@code cancel()} on a token already cancelled through an ancestor returns false and keeps that reason. */
        @Test
        void cancel_onTokenCancelledThroughAncestor_returnsFalseAndKeepsAncestorReason() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken unlinked = root.child("unlinked").child();
            CancellationToken linked = root.child("linked");
            linked.onCancel(r -> { });
            root.cancel(CancellationReason.of(Kind.SHUTDOWN, "down"));

            assertThat(unlinked.cancel()).isFalse();
            assertThat(linked.cancel(CancellationReason.of(Kind.MANUAL, "mine"))).isFalse();

            for (CancellationToken token : List.of(unlinked, linked)) {
                assertThat(token.reason().orElseThrow().kind()).isEqualTo(Kind.SHUTDOWN);
                assertThat(token.reason().orElseThrow().origin()).isEqualTo("root");
            }
        }

        /** A reason without origin is stamped with the name of the token on which {@code cancel} was called. */
        @Test
        void cancel_reasonWithoutOrigin_isStampedByThatToken() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken child = root.child("child");
            CancellationToken grandChild = child.child("grand");

            child.cancel(CancellationReason.of(Kind.ACTUATOR, "ops", new IllegalStateException("x")));

            assertThat(grandChild.reason().orElseThrow().origin()).isEqualTo("child");
            assertThat(child.reason().orElseThrow().origin()).isEqualTo("child");
            assertThat(root.reason()).isEmpty();
        }

        /** A reason that already carries an origin keeps it when passed to another token. */
        @Test
        void cancel_reasonWithOrigin_keepsItsOrigin() {
            CancellationToken first = CancellationToken.create("first");
            first.cancel(CancellationReason.of(Kind.SHUTDOWN, "down"));
            CancellationToken second = CancellationToken.create("second");

            second.cancel(first.reason().orElseThrow());

            assertThat(second.reason().orElseThrow().origin()).isEqualTo("first");
            assertThat(second.reason()).isEqualTo(first.reason());
        }

        /** Cancellation propagates to every descendant, linked or not, before {@code cancel()} returns. */
        @Test
        void cancel_returns_everyDescendantReadsCancelled() {
            CancellationToken root = CancellationToken.create("root");
            List<CancellationToken> descendants = new ArrayList<>();
            AtomicInteger callbacks = new AtomicInteger();
            for (int i = 0; i < 20; i++) {
                CancellationToken child = root.child();
                descendants.add(child);
                for (int j = 0; j < 5; j++) {
                    CancellationToken grandChild = child.child();
                    descendants.add(grandChild);
                    if (j % 2 == 0) {
                        grandChild.onCancel(r -> callbacks.incrementAndGet());
                    }
                }
            }

            root.cancel();

            assertThat(callbacks).hasValue(60);
            assertThat(descendants).allSatisfy(t -> {
                assertThat(t.isCancelled()).isTrue();
                assertThat(t.reason().orElseThrow().origin()).isEqualTo("root");
            });
        }

        /** Cancelling a deep chain does not recurse: it works on a thread with a small stack. */
        @Test
        void cancel_deepChainOnSmallStack_doesNotOverflow() throws Exception {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicBoolean leafCancelled = new AtomicBoolean();
            Thread thread = new Thread(null, () -> {
                try {
                    CancellationToken root = CancellationToken.create("root");
                    CancellationToken node = root;
                    for (int i = 0; i < 200_000; i++) {
                        node = node.child();
                        if (i % 1000 == 0) {
                            node.onCancel(r -> { });
                        }
                    }
                    node.onCancel(r -> { });
                    root.cancel();
                    leafCancelled.set(node.isCancelled());
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "small-stack", 256 * 1024);
            thread.start();
            thread.join(TimeUnit.SECONDS.toMillis(30));

            assertThat(failure.get()).isNull();
            assertThat(leafCancelled).isTrue();
        }

        /** A null reason is rejected and nothing is cancelled. */
        @Test
        void cancel_nullReason_throwsNullPointerException() {
            CancellationToken token = CancellationToken.create();

            assertThatThrownBy(() -> token.cancel(null)).isInstanceOf(NullPointerException.class);
            assertThat(token.isCancelled()).isFalse();
        }
    }

    // ====================================================================== isCancelled, reason, CancellationReason

    @Nested
    class StateAndReason {

        /** {@code isCancelled()} is false until cancellation and never goes back to false. */
        @Test
        void isCancelled_falseUntilCancelled_thenStaysTrue() {
            CancellationToken token = CancellationToken.create();
            assertThat(token.isCancelled()).isFalse();

            token.cancel();
            token.close();

            assertThat(token.isCancelled()).isTrue();
            assertThat(token.isCancelled()).isTrue();
        }

        /** {@code isCancelled()} is cheap: on the hot path it allocates nothing, whatever the token's state. */
        @Test
        void isCancelled_inLoop_allocatesNothing() {
            com.sun.management.ThreadMXBean threads =
                    (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            CancellationToken root = CancellationToken.create();
            CancellationToken live = root.child().child();
            CancellationToken cancelled = root.child();
            cancelled.cancel();
            CancellationToken cancelledLeaf = cancelled.child();
            boolean sink = false;
            for (int i = 0; i < 20_000; i++) {
                sink ^= live.isCancelled() ^ cancelledLeaf.isCancelled() ^ root.isCancelled();
            }

            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 1_000_000; i++) {
                sink ^= live.isCancelled() ^ cancelledLeaf.isCancelled() ^ root.isCancelled();
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;

            assertThat(sink).isIn(true, false);
            assertThat(allocated).as("bytes allocated by 3,000,000 isCancelled() calls").isLessThan(256 * 1024);
        }

        /** {@code isCancelled()} never blocks: it answers while a callback of the cancellation is still running. */
        @Test
        void isCancelled_whileCallbackRuns_answersWithoutBlocking() throws Exception {
            CancellationToken root = CancellationToken.create();
            CancellationToken child = root.child();
            CountDownLatch inCallback = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            child.onCancel(r -> {
                inCallback.countDown();
                awaitQuietly(release);
            });
            Thread canceller = new Thread(root::cancel, "canceller");
            canceller.start();
            try {
                assertThat(inCallback.await(10, TimeUnit.SECONDS)).isTrue();

                assertTimeoutPreemptively(LONG, () -> {
                    assertThat(root.isCancelled()).isTrue();
                    assertThat(child.isCancelled()).isTrue();
                    assertThat(child.reason()).isPresent();
                    assertThat(root.child().isCancelled()).isTrue();
                });
            } finally {
                release.countDown();
                canceller.join();
            }
        }

        /**
         * {@code isCancelled()} never runs callbacks (so a slow callback can never block it), even when it is
         * called on a descendant while an ancestor's {@code cancel()} is still propagating.
         */
        @Test
        void isCancelled_duringAncestorCancel_neverRunsCallbacksOfTheCheckingThread() throws Exception {
            for (int round = 0; round < 20; round++) {
                PolledCancel race = cancelWhileAnotherThreadPolls();
                assertThat(race.ranOn()).as("round %d: threads that ran the callback", round).doesNotContain(race.poller());
            }
        }

        /** {@code reason()} is empty until cancelled, then holds the reason. */
        @Test
        void reason_emptyUntilCancelled_thenPresent() {
            CancellationToken token = CancellationToken.create("r");
            assertThat(token.reason()).isEqualTo(Optional.empty());

            token.cancel(CancellationReason.of(Kind.SHUTDOWN, "bye"));

            assertThat(token.reason()).hasValueSatisfying(r -> {
                assertThat(r.kind()).isEqualTo(Kind.SHUTDOWN);
                assertThat(r.message()).contains("bye");
                assertThat(r.origin()).isEqualTo("r");
            });
        }

        /**
         * The kinds are exactly the seven bounded values of the SPEC, so a kind can be a metric tag;
         * {@code DISCONNECTED} (second wave) comes last, so the first wave's ordinals are unchanged.
         */
        @Test
        void kind_values_areTheSevenBoundedKindsInOrder() {
            assertThat(Kind.values()).containsExactly(
                    Kind.MANUAL, Kind.CLOSED, Kind.TIMEOUT, Kind.SHUTDOWN, Kind.CALLER, Kind.ACTUATOR,
                    Kind.DISCONNECTED);
        }

        /** A token cancelled because its client went away reports kind DISCONNECTED to every descendant. */
        @Test
        void cancel_withDisconnected_descendantsReportIt() {
            CancellationToken request = CancellationToken.create("request");
            CancellationToken work = request.child("work");

            request.cancel(CancellationReason.of(Kind.DISCONNECTED, "client closed the connection"));

            assertThat(work.reason()).hasValueSatisfying(r -> {
                assertThat(r.kind()).isEqualTo(Kind.DISCONNECTED);
                assertThat(r.origin()).isEqualTo("request");
            });
        }

        /** {@code of(kind, message)} gives a reason with that kind and message and no cause. */
        @Test
        void reasonOf_kindAndMessage_hasMessageAndNoCause() {
            CancellationReason reason = CancellationReason.of(Kind.CALLER, "gone");

            assertThat(reason.kind()).isEqualTo(Kind.CALLER);
            assertThat(reason.message()).contains("gone");
            assertThat(reason.cause()).isEmpty();
            assertThat(reason.origin()).isNotNull();
        }

        /** {@code of(kind, message, cause)} carries the cause; a null message gives an empty {@code message()}. */
        @Test
        void reasonOf_withCause_carriesCause() {
            IOException cause = new IOException("disk");

            CancellationReason reason = CancellationReason.of(Kind.SHUTDOWN, null, cause);

            assertThat(reason.message()).isEmpty();
            assertThat(reason.cause()).containsSame(cause);
        }

        /** A reason is a value: equal when kind, message, cause and origin are. */
        @Test
        void reason_isValue_equalWhenComponentsAreEqual() {
            IOException cause = new IOException();

            assertThat(CancellationReason.of(Kind.MANUAL, "m", cause))
                    .isEqualTo(CancellationReason.of(Kind.MANUAL, "m", cause))
                    .hasSameHashCodeAs(CancellationReason.of(Kind.MANUAL, "m", cause))
                    .isNotEqualTo(CancellationReason.of(Kind.MANUAL, "other", cause))
                    .isNotEqualTo(CancellationReason.of(Kind.TIMEOUT, "m", cause));
            CancellationToken closed = CancellationToken.create("c");
            closed.close();
            assertThat(closed.reason()).isEqualTo(closed.reason());
        }

        /** The message and cause given to {@code cancel} are reported by the token and its descendants. */
        @Test
        void reason_messageAndCause_travelWithCancellation() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken leaf = root.child().child();
            IllegalStateException cause = new IllegalStateException("boom");

            root.cancel(CancellationReason.of(Kind.SHUTDOWN, "m", cause));

            assertThat(leaf.reason().orElseThrow().message()).contains("m");
            assertThat(leaf.reason().orElseThrow().cause()).containsSame(cause);
        }

        /** {@code throwIfCancelled()} does nothing on a token that is not cancelled. */
        @Test
        void throwIfCancelled_notCancelled_doesNothing() {
            CancellationToken.create().throwIfCancelled();
        }

        /** {@code throwIfCancelled()} throws a {@code CancelledException}, a {@code CancellationException}, carrying the reason. */
        @Test
        void throwIfCancelled_cancelled_throwsCancelledExceptionCarryingReason() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken leaf = root.child();
            root.cancel(CancellationReason.of(Kind.TIMEOUT, "slow"));

            assertThatThrownBy(leaf::throwIfCancelled)
                    .isInstanceOf(CancelledException.class)
                    .isInstanceOf(CancellationException.class)
                    .satisfies(e -> assertThat(((CancelledException) e).reason()).isEqualTo(root.reason().orElseThrow()));
        }
    }

    // ====================================================================== whenCancelled

    @Nested
    class WhenCancelled {

        /** The stage completes with the reason when the token is cancelled. */
        @Test
        void whenCancelled_tokenCancelled_completesWithReason() {
            CancellationToken token = CancellationToken.create();
            CompletableFuture<CancellationReason> stage = token.whenCancelled().toCompletableFuture();
            assertThat(stage).isNotDone();

            token.cancel(CancellationReason.of(Kind.SHUTDOWN, "x"));

            assertThat(stage).isCompletedWithValue(token.reason().orElseThrow());
        }

        /** On a cancelled token the stage is already completed. */
        @Test
        void whenCancelled_onCancelledToken_isAlreadyCompleted() {
            CancellationToken token = CancellationToken.create();
            token.cancel();

            assertThat(token.whenCancelled().toCompletableFuture()).isCompletedWithValue(token.reason().orElseThrow());
        }

        /** Completing the stage from outside does not affect the token, and other stages still complete. */
        @Test
        void whenCancelled_completedFromOutside_doesNotAffectToken() {
            CancellationToken token = CancellationToken.create();
            CompletableFuture<CancellationReason> hijacked = token.whenCancelled().toCompletableFuture();
            CompletableFuture<CancellationReason> other = token.whenCancelled().toCompletableFuture();

            hijacked.complete(CancellationReason.of(Kind.MANUAL, "fake"));
            hijacked.obtrudeException(new IllegalStateException());

            assertThat(token.isCancelled()).isFalse();
            assertThat(other).isNotDone();
            token.cancel();
            assertThat(other).isCompletedWithValue(token.reason().orElseThrow());
        }

        /** Cancelling the stage from outside does not affect the token. */
        @Test
        void whenCancelled_cancelledFromOutside_doesNotAffectToken() {
            CancellationToken root = CancellationToken.create();
            CancellationToken token = root.child();
            CompletableFuture<CancellationReason> stage = token.whenCancelled().toCompletableFuture();

            stage.cancel(true);

            assertThat(token.isCancelled()).isFalse();
            assertThat(root.isCancelled()).isFalse();
        }

        /** A stage completed from outside releases the callback behind it (the token is no longer held). */
        @Test
        void whenCancelled_completedFromOutside_releasesItsCallback() {
            CancellationToken root = CancellationToken.create();
            CancellationToken token = root.child();
            CompletableFuture<CancellationReason> stage = token.whenCancelled().toCompletableFuture();
            assertThat(root.children()).containsExactly(token);

            stage.cancel(false);

            assertThat(root.children()).isEmpty();
        }

        /** A dependent stage runs on cancellation (a {@code CompletionStage}, usable with thenApply etc.). */
        @Test
        void whenCancelled_dependentStage_runsOnCancellation() {
            CancellationToken token = CancellationToken.create();
            CompletionStage<Kind> kind = token.whenCancelled().thenApply(CancellationReason::kind);

            token.close();

            assertThat(kind.toCompletableFuture()).isCompletedWithValue(Kind.CLOSED);
        }
    }

    // ====================================================================== await

    @Nested
    class Await {

        /** {@code await()} blocks until another thread cancels the token. */
        @Test
        void await_cancelledFromAnotherThread_returns() throws Exception {
            CancellationToken token = CancellationToken.create().child();
            CompletableFuture<Boolean> interruptedAfter = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    token.await();
                    interruptedAfter.complete(Thread.currentThread().isInterrupted());
                } catch (Throwable t) {
                    interruptedAfter.completeExceptionally(t);
                }
            }, "waiter");
            waiter.start();
            awaitBlocked(waiter);
            assertThat(interruptedAfter).isNotDone();

            token.parent().orElseThrow().cancel();

            assertThat(interruptedAfter.get(10, TimeUnit.SECONDS)).isFalse();
        }

        /** {@code await()} on a cancelled token returns at once. */
        @Test
        void await_onCancelledToken_returnsAtOnce() throws Exception {
            CancellationToken token = CancellationToken.create();
            token.cancel();

            assertTimeoutPreemptively(LONG, () -> token.await());
        }

        /** {@code await()} is interruptible; the token is unaffected and its waiter released. */
        @Test
        void await_interrupted_throwsInterruptedExceptionAndTokenUnaffected() throws Exception {
            CancellationToken root = CancellationToken.create();
            CancellationToken token = root.child();
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    token.await();
                    outcome.complete(null);
                } catch (Throwable t) {
                    outcome.complete(t);
                }
            }, "waiter");
            waiter.start();
            awaitBlocked(waiter);

            waiter.interrupt();

            assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
            assertThat(token.isCancelled()).isFalse();
            waiter.join();
            assertThat(root.children()).isEmpty();
        }

        /** An interrupt set before {@code await()} makes it throw at once. */
        @Test
        void await_interruptSetBefore_throwsInterruptedException() {
            CancellationToken token = CancellationToken.create();
            Thread.currentThread().interrupt();
            try {
                assertThatThrownBy(token::await).isInstanceOf(InterruptedException.class);
                assertThat(token.isCancelled()).isFalse();
            } finally {
                Thread.interrupted();
            }
        }

        /** The timed form returns false when the time runs out first. */
        @Test
        void awaitTimeout_timeRunsOut_returnsFalse() throws Exception {
            CancellationToken token = CancellationToken.create();

            assertThat(token.await(Duration.ofMillis(30))).isFalse();
            assertThat(token.await(Duration.ZERO)).isFalse();
            assertThat(token.await(Duration.ofMillis(-5))).isFalse();
        }

        /** The timed form returns true when the token is cancelled, before or while waiting. */
        @Test
        void awaitTimeout_cancelled_returnsTrue() throws Exception {
            CancellationToken token = CancellationToken.create();
            CompletableFuture<Boolean> result = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    result.complete(token.await(Duration.ofMinutes(5)));
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                }
            }, "timed-waiter");
            waiter.start();
            awaitBlocked(waiter);

            token.cancel();

            assertThat(result.get(10, TimeUnit.SECONDS)).isTrue();
            assertThat(token.await(Duration.ZERO)).isTrue();
        }

        /** The timed form is interruptible. */
        @Test
        void awaitTimeout_interrupted_throwsInterruptedException() throws Exception {
            CancellationToken token = CancellationToken.create();
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    token.await(Duration.ofMinutes(5));
                    outcome.complete(null);
                } catch (Throwable t) {
                    outcome.complete(t);
                }
            }, "timed-waiter");
            waiter.start();
            awaitBlocked(waiter);

            waiter.interrupt();

            assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
            assertThat(token.isCancelled()).isFalse();
        }
    }

    // ====================================================================== onCancel

    @Nested
    class OnCancel {

        /** The callback runs exactly once, with the reason, however often the token is cancelled or closed. */
        @Test
        void onCancel_cancelledRepeatedly_runsExactlyOnceWithReason() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken token = root.child();
            List<CancellationReason> seen = new CopyOnWriteArrayList<>();
            token.onCancel(seen::add);

            root.cancel();
            token.cancel();
            token.close();
            root.close();

            assertThat(seen).containsExactly(root.reason().orElseThrow());
        }

        /** On a cancelled token the callback runs at once, on the calling thread, and unregister returns false. */
        @Test
        void onCancel_onCancelledToken_runsAtOnceOnCallingThread() {
            CancellationToken token = CancellationToken.create();
            token.cancel();
            AtomicReference<Thread> ranOn = new AtomicReference<>();

            Registration registration = token.onCancel(r -> ranOn.set(Thread.currentThread()));

            assertThat(ranOn.get()).isSameAs(Thread.currentThread());
            assertThat(registration.unregister()).isFalse();
        }

        /** Unregistering before cancellation returns true and the callback never runs. */
        @Test
        void onCancel_unregisteredBeforeCancel_returnsTrueAndNeverRuns() {
            CancellationToken token = CancellationToken.create();
            AtomicInteger ran = new AtomicInteger();
            Registration registration = token.onCancel(r -> ran.incrementAndGet());

            assertThat(registration.unregister()).isTrue();
            assertThat(registration.unregister()).isFalse();
            token.cancel();

            assertThat(ran).hasValue(0);
        }

        /** Unregistering after the callback ran returns false. */
        @Test
        void onCancel_unregisteredAfterRun_returnsFalse() {
            CancellationToken token = CancellationToken.create();
            AtomicInteger ran = new AtomicInteger();
            Registration registration = token.onCancel(r -> ran.incrementAndGet());

            token.cancel();

            assertThat(ran).hasValue(1);
            assertThat(registration.unregister()).isFalse();
        }

        /** {@code Registration.close()} unregisters, for try-with-resources. */
        @Test
        void registration_close_unregisters() {
            CancellationToken token = CancellationToken.create();
            AtomicInteger ran = new AtomicInteger();
            try (Registration registration = token.onCancel(r -> ran.incrementAndGet())) {
                assertThat(registration).isNotNull();
            }

            token.cancel();

            assertThat(ran).hasValue(0);
        }

        /** Under a race of unregister and cancel, exactly one happens: unregister returns true XOR the callback ran (once). */
        @Test
        void onCancel_unregisterRacingCancel_unregisterTrueXorCallbackRan() throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 5_000; round++) {
                    CancellationToken root = CancellationToken.create();
                    CancellationToken token = (round % 2 == 0) ? root : root.child();
                    AtomicInteger ran = new AtomicInteger();
                    Registration registration = token.onCancel(r -> ran.incrementAndGet());
                    CyclicBarrier start = new CyclicBarrier(2);
                    Future<Boolean> unregistered = pool.submit(() -> {
                        start.await();
                        return registration.unregister();
                    });
                    Future<?> cancelled = pool.submit(() -> {
                        start.await();
                        return root.cancel();
                    });
                    boolean prevented = unregistered.get(10, TimeUnit.SECONDS);
                    cancelled.get(10, TimeUnit.SECONDS);

                    assertThat(ran.get()).as("round %d", round).isEqualTo(prevented ? 0 : 1);
                }
            } finally {
                pool.shutdownNow();
            }
        }

        /** Callbacks run on the cancelling thread, and all have run when {@code cancel()} returns. */
        @Test
        void onCancel_callbacks_runOnCancellingThreadBeforeCancelReturns() throws Exception {
            CancellationToken root = CancellationToken.create();
            List<Thread> ranOn = new CopyOnWriteArrayList<>();
            root.onCancel(r -> ranOn.add(Thread.currentThread()));
            for (int i = 0; i < 10; i++) {
                root.child().child().onCancel(r -> ranOn.add(Thread.currentThread()));
            }
            AtomicInteger countWhenReturned = new AtomicInteger(-1);
            Thread canceller = new Thread(() -> {
                root.cancel();
                countWhenReturned.set(ranOn.size());
            }, "canceller");

            canceller.start();
            canceller.join();

            assertThat(countWhenReturned).hasValue(11);
            assertThat(ranOn).hasSize(11).allSatisfy(t -> assertThat(t).isSameAs(canceller));
        }

        /** {@code Registration}, {@code Scope} and {@code DropGuard} declare {@code close()} without checked exceptions. */
        @Test
        void closeMethods_declareNoCheckedExceptions() throws Exception {
            for (Class<?> type : List.of(Registration.class, Scope.class, DropGuard.class)) {
                Method close = type.getMethod("close");
                assertThat(close.getExceptionTypes()).as(type.getSimpleName()).isEmpty();
            }
        }
    }

    // ====================================================================== call / run

    @Nested
    class CallAndRun {

        /** {@code call} on a cancelled token throws at once without running the work. */
        @Test
        void call_onCancelledToken_throwsWithoutRunningWork() {
            CancellationToken token = CancellationToken.create();
            token.cancel(CancellationReason.of(Kind.SHUTDOWN, null));
            AtomicBoolean ran = new AtomicBoolean();

            assertThatThrownBy(() -> token.call(() -> ran.getAndSet(true)))
                    .isInstanceOfSatisfying(CancelledException.class,
                            e -> assertThat(e.reason().kind()).isEqualTo(Kind.SHUTDOWN));
            assertThat(ran).isFalse();
        }

        /** {@code run} on a cancelled token throws at once without running the work. */
        @Test
        void run_onCancelledToken_throwsWithoutRunningWork() {
            CancellationToken root = CancellationToken.create();
            CancellationToken token = root.child();
            root.cancel();
            AtomicBoolean ran = new AtomicBoolean();

            assertThatThrownBy(() -> token.run(() -> ran.set(true))).isInstanceOf(CancelledException.class);
            assertThat(ran).isFalse();
        }

        /** Work that is not cancelled returns its value and the thread is not interrupted afterwards. */
        @Test
        void call_notCancelled_returnsValue() throws Exception {
            CancellationToken token = CancellationToken.create();

            assertThat(token.call(() -> 42)).isEqualTo(42);
            assertThat(Thread.currentThread().isInterrupted()).isFalse();
        }

        /** Cancellation interrupts work blocked in {@code queue.take()}; the call ends with CancelledException (cause kept) and the interrupt does not leak. */
        @Test
        void call_cancelledWhileBlocked_interruptsAndThrowsCancelledExceptionWithCause() throws Exception {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken token = root.child();
            BlockingQueue<String> queue = new ArrayBlockingQueue<>(1);
            CompletableFuture<Throwable> thrown = new CompletableFuture<>();
            AtomicBoolean interruptedAfter = new AtomicBoolean(true);
            Thread worker = new Thread(() -> {
                try {
                    token.call(queue::take);
                    thrown.complete(null);
                } catch (Throwable t) {
                    interruptedAfter.set(Thread.currentThread().isInterrupted());
                    thrown.complete(t);
                }
            }, "worker");
            worker.start();
            awaitBlocked(worker);

            root.cancel(CancellationReason.of(Kind.SHUTDOWN, "now"));

            Throwable t = thrown.get(10, TimeUnit.SECONDS);
            worker.join();
            assertThat(t).isInstanceOfSatisfying(CancelledException.class, e -> {
                assertThat(e.reason().kind()).isEqualTo(Kind.SHUTDOWN);
                assertThat(e.reason().origin()).isEqualTo("root");
                assertThat(e).hasCauseInstanceOf(InterruptedException.class);
            });
            assertThat(interruptedAfter).isFalse();
        }

        /** {@code run} interrupts blocked work the same way and the interrupt does not leak. */
        @Test
        void run_cancelledWhileBlocked_interruptsAndThrowsCancelledException() throws Exception {
            CancellationToken token = CancellationToken.create();
            CountDownLatch never = new CountDownLatch(1);
            CompletableFuture<Throwable> thrown = new CompletableFuture<>();
            AtomicBoolean interruptedAfter = new AtomicBoolean(true);
            Thread worker = new Thread(() -> {
                try {
                    token.run(() -> {
                        try {
                            never.await();
                        } catch (InterruptedException e) {
                            throw new IllegalStateException("woken", e);
                        }
                    });
                    thrown.complete(null);
                } catch (Throwable t) {
                    interruptedAfter.set(Thread.currentThread().isInterrupted());
                    thrown.complete(t);
                }
            }, "worker");
            worker.start();
            awaitBlocked(worker);

            token.cancel();

            assertThat(thrown.get(10, TimeUnit.SECONDS)).isInstanceOf(CancelledException.class)
                    .hasCauseInstanceOf(IllegalStateException.class);
            assertThat(interruptedAfter).isFalse();
        }

        /** Work that returns normally returns its value even if cancellation came meanwhile; no interrupt leaks. */
        @Test
        void call_cancelledMeanwhileButReturnsNormally_returnsValueWithoutInterrupt() throws Exception {
            CancellationToken token = CancellationToken.create();

            String value = token.call(() -> {
                token.cancel();
                return "done";
            });

            assertThat(value).isEqualTo("done");
            assertThat(Thread.currentThread().isInterrupted()).isFalse();
        }

        /** {@code run}: work that returns normally completes even if cancellation came meanwhile; no interrupt leaks. */
        @Test
        void run_cancelledMeanwhileButReturnsNormally_returnsWithoutInterrupt() {
            CancellationToken token = CancellationToken.create();
            AtomicBoolean finished = new AtomicBoolean();

            token.run(() -> {
                token.cancel();
                finished.set(true);
            });

            assertThat(finished).isTrue();
            assertThat(Thread.currentThread().isInterrupted()).isFalse();
        }

        /** Work that throws while the token is cancelled ends with CancelledException, the original as cause. */
        @Test
        void call_throwsWhileCancelled_endsWithCancelledExceptionWithOriginalCause() {
            CancellationToken token = CancellationToken.create();
            IOException original = new IOException("io");

            assertThatThrownBy(() -> token.call(() -> {
                token.cancel();
                throw original;
            })).isInstanceOf(CancelledException.class).hasCause(original);
            assertThat(Thread.currentThread().isInterrupted()).isFalse();
        }

        /** {@code run}: work that throws while the token is cancelled ends with CancelledException, the original as cause. */
        @Test
        void run_throwsWhileCancelled_endsWithCancelledExceptionWithOriginalCause() {
            CancellationToken token = CancellationToken.create();
            IllegalStateException original = new IllegalStateException("state");

            assertThatThrownBy(() -> token.run(() -> {
                token.cancel();
                throw original;
            })).isInstanceOf(CancelledException.class).hasCause(original);
        }

        /** Work that throws while the token is not cancelled rethrows the original. */
        @Test
        void call_throwsWhileNotCancelled_rethrowsOriginal() {
            CancellationToken token = CancellationToken.create();
            IOException original = new IOException("io");

            assertThatThrownBy(() -> token.call(() -> {
                throw original;
            })).isSameAs(original);
            assertThatThrownBy(() -> token.run(() -> {
                throw new UnsupportedOperationException("x");
            })).isInstanceOf(UnsupportedOperationException.class);
        }

        /** An interrupt already set on entry is kept, whether or not cancellation came meanwhile. */
        @Test
        void call_interruptSetOnEntry_isKept() throws Exception {
            CancellationToken plain = CancellationToken.create();
            CancellationToken cancelledMeanwhile = CancellationToken.create();
            try {
                Thread.currentThread().interrupt();
                assertThat(plain.call(() -> 1)).isEqualTo(1);
                assertThat(Thread.currentThread().isInterrupted()).isTrue();

                assertThat(cancelledMeanwhile.call(() -> cancelledMeanwhile.cancel())).isTrue();
                assertThat(Thread.currentThread().isInterrupted()).isTrue();

                plain.run(() -> { });
                assertThat(Thread.currentThread().isInterrupted()).isTrue();
            } finally {
                Thread.interrupted();
            }
        }

        /** The interrupt never leaks past the call, even when cancellation races with the end of the work. */
        @Test
        void call_cancellationRacingEndOfWork_interruptNeverLeaks() throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 5_000; round++) {
                    CancellationToken token = CancellationToken.create();
                    CyclicBarrier start = new CyclicBarrier(2);
                    Future<Boolean> leaked = pool.submit(() -> {
                        start.await();
                        try {
                            token.call(() -> {
                                Thread.onSpinWait();
                                return null;
                            });
                        } catch (CancelledException expected) {
                            // cancelled before the work started: fine
                        }
                        return Thread.interrupted();
                    });
                    Future<?> cancelled = pool.submit(() -> {
                        start.await();
                        return token.cancel();
                    });
                    cancelled.get(10, TimeUnit.SECONDS);

                    assertThat(leaked.get(10, TimeUnit.SECONDS)).as("interrupt leaked in round %d", round).isFalse();
                }
            } finally {
                pool.shutdownNow();
            }
        }

        /** A thread is never interrupted by a cancellation that comes after its call has returned. */
        @Test
        void call_cancelledAfterReturn_threadNotInterrupted() throws Exception {
            CancellationToken token = CancellationToken.create();
            CountDownLatch callReturned = new CountDownLatch(1);
            CountDownLatch cancelled = new CountDownLatch(1);
            CompletableFuture<Boolean> interrupted = new CompletableFuture<>();
            Thread worker = new Thread(() -> {
                try {
                    token.call(() -> "x");
                    callReturned.countDown();
                    cancelled.await();
                    interrupted.complete(Thread.currentThread().isInterrupted());
                } catch (Throwable t) {
                    interrupted.completeExceptionally(t);
                }
            }, "worker");
            worker.start();
            assertThat(callReturned.await(10, TimeUnit.SECONDS)).isTrue();

            token.cancel();
            cancelled.countDown();

            assertThat(interrupted.get(10, TimeUnit.SECONDS)).isFalse();
        }
    }

    // ====================================================================== runUntilCancelled

    @Nested
    class RunUntilCancelled {

        /** The result completes like the work when the work finishes first. */
        @Test
        void runUntilCancelled_workCompletesFirst_completesWithItsValue() {
            CancellationToken root = CancellationToken.create();
            CancellationToken token = root.child();
            CompletableFuture<String> work = new CompletableFuture<>();

            CompletableFuture<String> result = token.runUntilCancelled(work);
            work.complete("value");

            assertThat(result).isCompletedWithValue("value");
            assertThat(token.isCancelled()).isFalse();
            assertThat(root.children()).as("callback released").isEmpty();
        }

        /** The result fails like the work when the work fails first. */
        @Test
        void runUntilCancelled_workFailsFirst_failsWithSameException() {
            CancellationToken token = CancellationToken.create();
            CompletableFuture<String> work = new CompletableFuture<>();
            IOException failure = new IOException("io");

            CompletableFuture<String> result = token.runUntilCancelled(work);
            work.completeExceptionally(failure);

            assertThat(result.handle((v, e) -> e).join()).isSameAs(failure);
        }

        /** Already completed work gives an already completed result. */
        @Test
        void runUntilCancelled_workAlreadyDone_completesWithItsValue() {
            CancellationToken token = CancellationToken.create();

            assertThat(token.runUntilCancelled(CompletableFuture.completedFuture(7))).isCompletedWithValue(7);
        }

        /** When the token is cancelled first the result fails with CancelledException and the work is cancelled with {@code cancel(false)}. */
        @Test
        void runUntilCancelled_tokenCancelledFirst_failsAndCancelsWorkWithoutInterrupt() {
            CancellationToken token = CancellationToken.create("t");
            RecordingFuture<String> work = new RecordingFuture<>();

            CompletableFuture<String> result = token.runUntilCancelled(work);
            token.cancel(CancellationReason.of(Kind.SHUTDOWN, null));

            assertThat(result.handle((v, e) -> e).join()).isInstanceOfSatisfying(CancelledException.class,
                    e -> assertThat(e.reason()).isEqualTo(token.reason().orElseThrow()));
            assertThat(work.isCancelled()).isTrue();
            assertThat(work.mayInterrupt.get()).isFalse();
        }

        /** A minimal {@code CompletionStage} (one that refuses to be cancelled) still loses the race cleanly. */
        @Test
        void runUntilCancelled_minimalStage_failsWithCancelledException() throws Exception {
            CancellationToken token = CancellationToken.create();
            CompletableFuture<String> source = new CompletableFuture<>();

            CompletableFuture<String> result = token.runUntilCancelled(source.minimalCompletionStage());
            onThreadWithHandler(() -> assertThat(token.cancel()).isTrue());

            assertThat(result.handle((v, e) -> e).join()).isInstanceOf(CancelledException.class);
        }

        /** Cancelling the returned future cancels the work, not the token, and releases the callback. */
        @Test
        void runUntilCancelled_resultCancelled_cancelsWorkNotToken() {
            CancellationToken root = CancellationToken.create();
            CancellationToken token = root.child();
            RecordingFuture<String> work = new RecordingFuture<>();
            CompletableFuture<String> result = token.runUntilCancelled(work);
            assertThat(root.children()).containsExactly(token);

            result.cancel(true);

            assertThat(work.isCancelled()).isTrue();
            assertThat(token.isCancelled()).isFalse();
            assertThat(root.children()).isEmpty();
        }

        /** On a token that is already cancelled the result fails at once (and the work is cancelled). */
        @Test
        void runUntilCancelled_onCancelledToken_failsAtOnce() {
            CancellationToken token = CancellationToken.create();
            token.cancel();
            RecordingFuture<String> work = new RecordingFuture<>();

            CompletableFuture<String> result = token.runUntilCancelled(work);

            assertThat(result).isCompletedExceptionally();
            assertThat(result.handle((v, e) -> e).join()).isInstanceOf(CancelledException.class);
            assertThat(work.isCancelled()).isTrue();
        }
    }

    // ====================================================================== bind / current

    @Nested
    class BindAndCurrent {

        /** Outside any scope {@code current()} is {@code none()}. */
        @Test
        void current_outsideAnyScope_isNone() {
            assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
        }

        /** {@code bind()} makes the token current until the scope is closed. */
        @Test
        void bind_scopeOpen_tokenIsCurrentUntilClosed() {
            CancellationToken token = CancellationToken.create();

            try (Scope scope = token.bind()) {
                assertThat(CancellationToken.current()).isSameAs(token);
                assertThat(scope.token()).isSameAs(token);
            }

            assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
        }

        /** Scopes nest: closing the inner one restores the outer token. */
        @Test
        void bind_nested_closingInnerRestoresOuter() {
            CancellationToken outer = CancellationToken.create();
            CancellationToken inner = outer.child();

            try (Scope outerScope = outer.bind()) {
                try (Scope innerScope = inner.bind()) {
                    assertThat(CancellationToken.current()).isSameAs(inner);
                }
                assertThat(CancellationToken.current()).isSameAs(outer);
            }
            assertThat(CancellationToken.current()).isSameAs(CancellationToken.none());
        }

        /** A binding is per thread: another thread does not see it. */
        @Test
        void bind_onOneThread_otherThreadsStillSeeTheirOwn() throws Exception {
            CancellationToken mine = CancellationToken.create();
            CancellationToken theirs = CancellationToken.create();
            try (Scope scope = mine.bind()) {
                CompletableFuture<CancellationToken> outside = CompletableFuture.supplyAsync(CancellationToken::current,
                        r -> new Thread(r, "other").start());
                CompletableFuture<CancellationToken> inside = CompletableFuture.supplyAsync(() -> {
                    try (Scope theirScope = theirs.bind()) {
                        return CancellationToken.current();
                    }
                }, r -> new Thread(r, "other-bound").start());

                assertThat(outside.get(10, TimeUnit.SECONDS)).isSameAs(CancellationToken.none());
                assertThat(inside.get(10, TimeUnit.SECONDS)).isSameAs(theirs);
                assertThat(CancellationToken.current()).isSameAs(mine);
            }
        }

        /** A scope must be closed on its own thread; closing it elsewhere fails and changes nothing. */
        @Test
        void scope_closedOnAnotherThread_throwsIllegalStateException() throws Exception {
            CancellationToken token = CancellationToken.create();
            Scope scope = token.bind();
            try {
                CompletableFuture<Throwable> failure = new CompletableFuture<>();
                new Thread(() -> {
                    try {
                        scope.close();
                        failure.complete(null);
                    } catch (Throwable t) {
                        failure.complete(t);
                    }
                }, "stranger").start();

                assertThat(failure.get(10, TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class);
                assertThat(CancellationToken.current()).isSameAs(token);
            } finally {
                scope.close();
            }
        }
    }

    // ====================================================================== dropGuard

    @Nested
    class DropGuards {

        /** Closing the guard cancels the token with kind MANUAL. */
        @Test
        void dropGuard_closed_cancelsTokenWithManual() {
            CancellationToken token = CancellationToken.create("guarded");

            try (DropGuard guard = token.dropGuard()) {
                assertThat(guard.token()).isSameAs(token);
                assertThat(token.isCancelled()).isFalse();
            }

            assertThat(token.reason().orElseThrow().kind()).isEqualTo(Kind.MANUAL);
            assertThat(token.reason().orElseThrow().origin()).isEqualTo("guarded");
        }

        /** {@code disarm()} returns the token without cancelling, and a later close does nothing. */
        @Test
        void dropGuard_disarmed_returnsTokenAndCloseDoesNotCancel() {
            CancellationToken token = CancellationToken.create();
            DropGuard guard = token.dropGuard();

            assertThat(guard.disarm()).isSameAs(token);
            guard.close();

            assertThat(token.isCancelled()).isFalse();
        }

        /** A guard cancels even when the block ends with an exception. */
        @Test
        void dropGuard_blockThrows_tokenStillCancelled() {
            CancellationToken token = CancellationToken.create();

            assertThatThrownBy(() -> {
                try (DropGuard guard = token.dropGuard()) {
                    throw new IllegalStateException("fail");
                }
            }).isInstanceOf(IllegalStateException.class);

            assertThat(token.isCancelled()).isTrue();
        }
    }

    // ====================================================================== close

    @Nested
    class Close {

        /** {@code close()} cancels a live token with kind CLOSED, origin itself. */
        @Test
        void close_liveToken_cancelsWithClosedKind() {
            CancellationToken token = CancellationToken.create("work");
            AtomicReference<CancellationReason> seen = new AtomicReference<>();
            token.onCancel(seen::set);

            token.close();

            assertThat(token.reason()).hasValueSatisfying(r -> {
                assertThat(r.kind()).isEqualTo(Kind.CLOSED);
                assertThat(r.origin()).isEqualTo("work");
            });
            assertThat(seen.get()).isEqualTo(token.reason().orElseThrow());
        }

        /** {@code close()} on a cancelled token keeps the first reason. */
        @Test
        void close_cancelledToken_keepsFirstReason() {
            CancellationToken token = CancellationToken.create();
            token.cancel(CancellationReason.of(Kind.TIMEOUT, null));

            token.close();
            token.close();

            assertThat(token.reason().orElseThrow().kind()).isEqualTo(Kind.TIMEOUT);
        }

        /** {@code close()} detaches the token from its parent: the parent no longer lists it. */
        @Test
        void close_linkedChild_parentNoLongerListsIt() {
            CancellationToken root = CancellationToken.create();
            CancellationToken child = root.child();
            CancellationToken other = root.child();
            child.onCancel(r -> { });
            other.onCancel(r -> { });
            assertThat(root.children()).containsExactlyInAnyOrder(child, other);

            child.close();

            assertThat(root.children()).containsExactly(other);
            assertThat(root.isCancelled()).isFalse();
        }

        /** {@code close()} cancels the descendants with kind CLOSED and the closed token as origin. */
        @Test
        void close_cancelsDescendantsWithClosed() {
            CancellationToken root = CancellationToken.create();
            CancellationToken closing = root.child("closing");
            CancellationToken unlinked = closing.child().child();
            CancellationToken linked = closing.child();
            List<CancellationReason> seen = new CopyOnWriteArrayList<>();
            linked.onCancel(seen::add);

            closing.close();

            for (CancellationToken token : List.of(unlinked, linked)) {
                assertThat(token.reason()).hasValueSatisfying(r -> {
                    assertThat(r.kind()).isEqualTo(Kind.CLOSED);
                    assertThat(r.origin()).isEqualTo("closing");
                });
            }
            assertThat(seen).singleElement().extracting(CancellationReason::kind).isEqualTo(Kind.CLOSED);
            assertThat(root.isCancelled()).isFalse();
        }

        /** A long-lived root does not grow with children that were closed. */
        @Test
        void close_manyChildren_rootHoldsNone() {
            CancellationToken root = CancellationToken.create();

            for (int i = 0; i < 1000; i++) {
                CancellationToken child = root.child();
                child.onCancel(r -> { });
                child.child().onCancel(r -> { });
                child.close();
            }

            assertThat(root.children()).isEmpty();
        }
    }

    // ====================================================================== name, parent, children

    @Nested
    class Introspection {

        /** {@code parent()} is empty for a root and the creating token for a child. */
        @Test
        void parent_ofRootAndChild() {
            CancellationToken root = CancellationToken.create();
            CancellationToken child = root.child();

            assertThat(root.parent()).isEmpty();
            assertThat(child.parent()).containsSame(root);
            assertThat(child.child().parent()).containsSame(child);
        }

        /** {@code children()} lists exactly the children holding something: callback, waiter, stage, timer or such a child. */
        @Test
        void children_listsOnlyChildrenWithSomethingRegistered() throws Exception {
            CancellationToken root = CancellationToken.create();
            CancellationToken plain = root.child("plain");
            CancellationToken withCallback = root.child("callback");
            withCallback.onCancel(r -> { });
            CancellationToken withGrandChild = root.child("grand");
            withGrandChild.child().onCancel(r -> { });
            CancellationToken withStage = root.child("stage");
            withStage.whenCancelled();
            CancellationToken withTimer = root.child("timer", Duration.ofHours(1));
            CancellationToken withWaiter = root.child("waiter");
            Thread waiter = new Thread(() -> {
                try {
                    withWaiter.await();
                } catch (InterruptedException ignored) {
                    // ends the test thread
                }
            }, "waiter");
            waiter.start();
            try {
                awaitBlocked(waiter);

                assertThat(root.children())
                        .containsExactlyInAnyOrder(withCallback, withGrandChild, withStage, withTimer, withWaiter)
                        .doesNotContain(plain);
            } finally {
                root.close();
                waiter.join();
            }
        }

        /** {@code children()} never lists a child that was cancelled or closed. */
        @Test
        void children_neverListsCancelledOrClosedChildren() {
            CancellationToken root = CancellationToken.create();
            CancellationToken cancelled = root.child();
            CancellationToken closed = root.child();
            CancellationToken live = root.child();
            for (CancellationToken t : List.of(cancelled, closed, live)) {
                t.onCancel(r -> { });
            }

            cancelled.cancel();
            closed.close();

            assertThat(root.children()).containsExactly(live);
        }

        /** {@code children()} is a snapshot, not a live view. */
        @Test
        void children_isSnapshotNotLiveView() {
            CancellationToken root = CancellationToken.create();
            CancellationToken first = root.child();
            first.onCancel(r -> { });

            List<CancellationToken> snapshot = root.children();
            CancellationToken second = root.child();
            second.onCancel(r -> { });
            first.close();

            assertThat(snapshot).containsExactly(first);
            assertThat(root.children()).containsExactly(second);
        }

        /** A forgotten child with nothing registered costs its parent nothing: it is garbage-collected. */
        @Test
        void children_forgottenChildWithNothingRegistered_isCollected() {
            CancellationToken root = CancellationToken.create();
            WeakReference<CancellationToken> forgotten = new WeakReference<>(root.child().child());

            await().atMost(LONG).until(() -> {
                System.gc();
                return forgotten.get() == null;
            });
            assertThat(root.children()).isEmpty();
        }

        /** A forgotten child with a callback stays reachable from its parent, so its callback is never lost. */
        @Test
        void children_forgottenChildWithCallback_staysReachableAndCallbackRuns() {
            CancellationToken root = CancellationToken.create();
            AtomicInteger ran = new AtomicInteger();
            WeakReference<CancellationToken> leaf = forgetGrandChildWithCallback(root, ran);
            for (int i = 0; i < 3; i++) {
                System.gc();
            }

            assertThat(leaf.get()).isNotNull();
            root.cancel();

            assertThat(ran).hasValue(1);
        }

        private WeakReference<CancellationToken> forgetGrandChildWithCallback(CancellationToken root, AtomicInteger ran) {
            CancellationToken leaf = root.child().child();
            leaf.onCancel(r -> ran.incrementAndGet());
            return new WeakReference<>(leaf);
        }
    }

    // ====================================================================== callbacks and faults

    @Nested
    class CallbackFaults {

        /** A callback's exception goes to the cancelling thread's uncaught-exception handler, once, and never out of {@code cancel()}. */
        @Test
        void cancel_callbackThrows_reportedOnceToCancellingThreadAndNotThrown() throws Exception {
            CancellationToken token = CancellationToken.create();
            IllegalStateException boom = new IllegalStateException("boom");
            AtomicInteger others = new AtomicInteger();
            token.onCancel(r -> others.incrementAndGet());
            token.onCancel(r -> {
                throw boom;
            });
            token.onCancel(r -> others.incrementAndGet());

            Reported reported = onThreadWithHandler(() -> assertThat(token.cancel()).isTrue());

            assertThat(reported.failures).containsExactly(boom);
            assertThat(reported.threads).containsOnly(reported.thread);
            assertThat(others).hasValue(2);
        }

        /** An Error thrown by a callback is reported the same way and does not stop the others. */
        @Test
        void cancel_callbackThrowsError_reportedOnceAndOthersRun() throws Exception {
            CancellationToken root = CancellationToken.create();
            AssertionError error = new AssertionError("bad");
            AtomicInteger others = new AtomicInteger();
            root.child().onCancel(r -> {
                throw error;
            });
            root.child().onCancel(r -> others.incrementAndGet());

            Reported reported = onThreadWithHandler(() -> root.close());

            assertThat(reported.failures).containsExactly(error);
            assertThat(others).hasValue(1);
        }

        /** A throwing callback registered on a cancelled token is reported to the calling thread's handler, not thrown. */
        @Test
        void onCancel_throwingOnCancelledToken_reportedToCallingThread() throws Exception {
            CancellationToken token = CancellationToken.create();
            token.cancel();
            RuntimeException boom = new RuntimeException("late");

            Reported reported = onThreadWithHandler(() -> assertThat(token.onCancel(r -> {
                throw boom;
            }).unregister()).isFalse());

            assertThat(reported.failures).containsExactly(boom);
        }
    }

    // ====================================================================== reentrancy

    @Nested
    class Reentrancy {

        /** A callback may use any token API on the cancelling thread without deadlock. */
        @Test
        void callback_usesTokenApiOnSameThread_noDeadlock() {
            CancellationToken root = CancellationToken.create();
            CancellationToken token = root.child();
            CancellationToken other = root.child();
            CancellationToken sibling = root.child();
            sibling.onCancel(r -> { });
            AtomicInteger nested = new AtomicInteger();
            AtomicReference<List<CancellationToken>> siblingsSeen = new AtomicReference<>();
            token.onCancel(r -> {
                assertThat(token.cancel()).isFalse();
                token.close();
                token.onCancel(x -> nested.incrementAndGet());
                token.child().onCancel(x -> nested.incrementAndGet());
                other.onCancel(x -> nested.incrementAndGet());
                other.cancel();
                root.child().onCancel(x -> { });
                siblingsSeen.set(root.children());
                token.whenCancelled().thenRun(nested::incrementAndGet);
            });

            assertTimeoutPreemptively(LONG, () -> assertThat(token.cancel()).isTrue());

            assertThat(nested).hasValue(4);
            assertThat(siblingsSeen.get()).contains(sibling).doesNotContain(token);
        }

        /** A callback may start a thread that registers on the same token and join it: no lock is held while callbacks run. */
        @Test
        void callback_joinsThreadThatUsesSameTokenAndParent_noDeadlock() {
            CancellationToken root = CancellationToken.create();
            CancellationToken token = root.child();
            token.onCancel(r -> { });
            AtomicInteger nested = new AtomicInteger();
            token.onCancel(r -> {
                Thread helper = new Thread(() -> {
                    token.onCancel(x -> nested.incrementAndGet());
                    token.child().onCancel(x -> nested.incrementAndGet());
                    root.child().onCancel(x -> { });
                    root.children();
                    token.children();
                    token.close();
                    nested.incrementAndGet();
                }, "helper");
                helper.start();
                joinQuietly(helper);
            });

            assertTimeoutPreemptively(LONG, () -> assertThat(token.cancel()).isTrue());

            assertThat(nested).hasValue(3);
        }

        /** Callbacks of a cancelled root may start threads that use the whole tree without deadlock. */
        @Test
        void callback_duringRootCancel_otherThreadUsesDescendantsAndRoot_noDeadlock() {
            CancellationToken root = CancellationToken.create();
            AtomicInteger ran = new AtomicInteger();
            for (int i = 0; i < 10; i++) {
                CancellationToken child = root.child();
                child.onCancel(r -> {
                    Thread helper = new Thread(() -> {
                        child.onCancel(x -> ran.incrementAndGet());
                        root.onCancel(x -> ran.incrementAndGet());
                        root.child().child().onCancel(x -> ran.incrementAndGet());
                        root.children();
                        child.parent().orElseThrow().cancel();
                    }, "helper");
                    helper.start();
                    joinQuietly(helper);
                });
            }

            assertTimeoutPreemptively(LONG, () -> assertThat(root.cancel()).isTrue());

            assertThat(ran).hasValue(30);
        }
    }

    // ====================================================================== rules that hold everywhere

    @Nested
    class Rules {

        /** No lost wake-up: a callback registered concurrently with {@code cancel()} runs exactly once. */
        @Test
        void noLostWakeUp_registerConcurrentWithAncestorCancel_callbackRunsExactlyOnce() throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 5_000; round++) {
                    CancellationToken root = CancellationToken.create();
                    CancellationToken leaf = root.child().child();
                    AtomicInteger ran = new AtomicInteger();
                    CyclicBarrier start = new CyclicBarrier(2);
                    Future<?> registered = pool.submit(() -> {
                        start.await();
                        return leaf.onCancel(r -> ran.incrementAndGet());
                    });
                    Future<?> cancelled = pool.submit(() -> {
                        start.await();
                        return root.cancel();
                    });
                    registered.get(10, TimeUnit.SECONDS);
                    cancelled.get(10, TimeUnit.SECONDS);

                    assertThat(ran.get()).as("round %d", round).isEqualTo(1);
                    assertThat(leaf.isCancelled()).isTrue();
                }
            } finally {
                pool.shutdownNow();
            }
        }

        /** No lost wake-up: a thread that starts waiting concurrently with {@code cancel()} wakes up. */
        @Test
        void noLostWakeUp_awaitConcurrentWithCancel_waiterWakes() throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 2_000; round++) {
                    CancellationToken root = CancellationToken.create();
                    CancellationToken token = root.child();
                    CyclicBarrier start = new CyclicBarrier(2);
                    Future<Boolean> woke = pool.submit(() -> {
                        start.await();
                        return token.await(LONG);
                    });
                    Future<?> cancelled = pool.submit(() -> {
                        start.await();
                        return root.cancel();
                    });
                    cancelled.get(10, TimeUnit.SECONDS);

                    assertThat(woke.get(20, TimeUnit.SECONDS)).as("round %d", round).isTrue();
                }
            } finally {
                pool.shutdownNow();
            }
        }

        /** No lost wake-up: a child created concurrently with the parent's {@code cancel()} reads cancelled once cancel returned. */
        @Test
        void noLostWakeUp_childCreatedConcurrentlyWithCancel_readsCancelledAfterReturn() throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (int round = 0; round < 5_000; round++) {
                    CancellationToken root = CancellationToken.create();
                    CancellationToken parent = root.child();
                    CyclicBarrier start = new CyclicBarrier(2);
                    Future<CancellationToken> created = pool.submit(() -> {
                        start.await();
                        return parent.child();
                    });
                    Future<?> cancelled = pool.submit(() -> {
                        start.await();
                        return root.cancel();
                    });
                    cancelled.get(10, TimeUnit.SECONDS);

                    assertThat(created.get(10, TimeUnit.SECONDS).isCancelled()).as("round %d", round).isTrue();
                }
            } finally {
                pool.shutdownNow();
            }
        }

        /** Threads are never interrupted except by call/run: not the canceller, not a waiter, not a registrant. */
        @Test
        void threads_neverInterruptedOutsideCallOrRun() throws Exception {
            CancellationToken root = CancellationToken.create();
            CancellationToken token = root.child();
            AtomicBoolean callbackSawInterrupt = new AtomicBoolean();
            token.onCancel(r -> callbackSawInterrupt.set(Thread.currentThread().isInterrupted()));
            CompletableFuture<Boolean> waiterInterrupted = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    token.await();
                    waiterInterrupted.complete(Thread.currentThread().isInterrupted());
                } catch (Throwable t) {
                    waiterInterrupted.completeExceptionally(t);
                }
            }, "waiter");
            waiter.start();
            awaitBlocked(waiter);

            root.cancel();

            assertThat(Thread.currentThread().isInterrupted()).isFalse();
            assertThat(callbackSawInterrupt).isFalse();
            assertThat(waiterInterrupted.get(10, TimeUnit.SECONDS)).isFalse();
            token.onCancel(r -> { });
            token.whenCancelled();
            assertThat(Thread.currentThread().isInterrupted()).isFalse();
        }

        /**
         * Callbacks run on the cancelling thread and have all run when {@code cancel()} returns, even while
         * another thread polls a descendant ({@code isCancelled()} must not take over the cancellation).
         */
        @Test
        void callbacks_ofDescendant_runOnCancellingThreadEvenWhileAnotherThreadPolls() throws Exception {
            for (int round = 0; round < 20; round++) {
                PolledCancel race = cancelWhileAnotherThreadPolls();
                assertThat(race.ranOnWhenCancelReturned())
                        .as("round %d: callback ran on the cancelling thread before cancel returned", round)
                        .containsExactly(Thread.currentThread());
            }
        }

        /** No blocking while holding a lock: while one thread waits (await, call), others use the same token freely. */
        @Test
        void blockingCalls_holdNoLock_otherThreadsUseTokenMeanwhile() throws Exception {
            CancellationToken root = CancellationToken.create();
            CancellationToken token = root.child();
            Thread awaiting = new Thread(() -> {
                try {
                    token.await();
                } catch (InterruptedException ignored) {
                    // end
                }
            }, "awaiting");
            Thread calling = new Thread(() -> {
                try {
                    token.call(() -> {
                        new CountDownLatch(1).await();
                        return null;
                    });
                } catch (Exception ignored) {
                    // cancelled: end
                }
            }, "calling");
            awaiting.start();
            calling.start();
            awaitBlocked(awaiting);
            awaitBlocked(calling);

            assertTimeoutPreemptively(LONG, () -> {
                Registration r = token.onCancel(x -> { });
                assertThat(r.unregister()).isTrue();
                token.child().onCancel(x -> { });
                assertThat(root.children()).containsExactly(token);
                assertThat(token.children()).hasSize(1);
                assertThat(token.isCancelled()).isFalse();
                root.cancel();
            });

            awaiting.join(10_000);
            calling.join(10_000);
            assertThat(awaiting.isAlive()).isFalse();
            assertThat(calling.isAlive()).isFalse();
        }

        /** No memory is retained for unregistered callbacks: the token is released by its parent. */
        @Test
        void memory_unregisteredCallbacks_releaseTheToken() {
            CancellationToken root = CancellationToken.create();
            CancellationToken leaf = root.child().child();
            List<Registration> registrations = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                registrations.add(leaf.onCancel(r -> { }));
            }
            assertThat(root.children()).hasSize(1);

            registrations.forEach(Registration::unregister);

            assertThat(root.children()).isEmpty();
            assertThat(leaf.parent().orElseThrow().children()).isEmpty();
        }
    }

    // ====================================================================== helpers

    /** What a thread's uncaught-exception handler received. */
    static final class Reported {
        final List<Throwable> failures = new CopyOnWriteArrayList<>();
        final List<Thread> threads = new CopyOnWriteArrayList<>();
        Thread thread;
    }

    interface ThrowingRunnable {
        void run() throws Throwable;
    }

    /** Runs {@code body} on a fresh thread whose uncaught-exception handler records; rethrows what the body threw. */
    static Reported onThreadWithHandler(ThrowingRunnable body) throws Exception {
        Reported reported = new Reported();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "with-handler");
        reported.thread = thread;
        thread.setUncaughtExceptionHandler((t, e) -> {
            reported.threads.add(t);
            reported.failures.add(e);
        });
        thread.start();
        thread.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(thread.isAlive()).as("body finished").isFalse();
        assertThat(failure.get()).as("thrown out of the body").isNull();
        return reported;
    }

    static void awaitBlocked(Thread thread) {
        await().atMost(LONG).pollInterval(Duration.ofMillis(5)).until(() -> {
            Thread.State state = thread.getState();
            return state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING;
        });
    }

    static void awaitTimersBackTo(int baseline) {
        await().atMost(LONG).until(() -> Timers.pending() <= baseline);
    }

    static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void joinQuietly(Thread thread) {
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A future that records the argument of {@code cancel}. */
    static final class RecordingFuture<T> extends CompletableFuture<T> {
        final AtomicReference<Boolean> mayInterrupt = new AtomicReference<>();

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            mayInterrupt.compareAndSet(null, mayInterruptIfRunning);
            return super.cancel(mayInterruptIfRunning);
        }
    }

    /** What one {@link #cancelWhileAnotherThreadPolls()} round observed. */
    private record PolledCancel(Thread poller, List<Thread> ranOn, List<Thread> ranOnWhenCancelReturned) {
    }

    /**
     * Cancels a root with 100,000 linked children while another thread spins on
     * {@code isCancelled()} of one watched child (registered first, so the canceller reaches it
     * last): the window in which a reader could take over the watched child's cancellation.
     */
    private static PolledCancel cancelWhileAnotherThreadPolls() throws InterruptedException {
        CancellationToken root = CancellationToken.create("root");
        CancellationToken watched = root.child("watched");
        List<Thread> ranOn = new CopyOnWriteArrayList<>();
        watched.onCancel(r -> ranOn.add(Thread.currentThread()));
        for (int i = 0; i < 100_000; i++) {
            root.child().onCancel(r -> { });
        }
        CountDownLatch polling = new CountDownLatch(1);
        Thread poller = new Thread(() -> {
            polling.countDown();
            while (!watched.isCancelled()) {
                Thread.onSpinWait();
            }
        }, "poller");
        poller.start();
        assertThat(polling.await(10, TimeUnit.SECONDS)).isTrue();

        root.cancel();
        List<Thread> ranOnWhenCancelReturned = List.copyOf(ranOn);
        poller.join();
        return new PolledCancel(poller, List.copyOf(ranOn), ranOnWhenCancelReturned);
    }
}
