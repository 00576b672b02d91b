package io.github.cancellation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.github.cancellation.CancellationReason.Kind;

/**
 * The invariants I1 to I8 of {@link TokenNode}, each observed one step at a time, plus the tree
 * bookkeeping, values and messages that the conformance tests leave implicit. Many of these tests
 * were first written for mutants that survived the unit suite under PIT ({@code -Pmutation}, see
 * RELIABILITY.md); each pins one property of the engine.
 *
 * <p>Three groups are white-box, on purpose, through {@link TokenNode}'s package-private test hooks
 * ({@code testHook...}), never through its private fields:
 * <ul>
 *   <li>{@link LockDiscipline}: I5 says every list and link change happens under the node's spin
 *       lock. Single-threaded tests cannot see a missing {@code lock()}, and the Lincheck and race
 *       tests that can are too slow to run per mutant. So the test takes a node's lock itself and
 *       checks that the operation on another thread waits for it, then completes once it is
 *       released. In the real code these waits are always taken; only a broken lock discipline makes
 *       an operation finish while the lock is held, so the checks never flake.
 *   <li>{@link RaceWindows}: the same held lock stops a canceller in the middle of its walk, or a
 *       registrant in the middle of linking, so that the windows named by I4a, I7 and I8 can be
 *       observed one step at a time from the test thread.
 *   <li>{@link GenerationRetirements}: I4a and I4b, seen as the tree's current generation (which
 *       changes exactly when a canceller retires it).
 * </ul>
 *
 * <p>While it holds a lock, the test thread never calls the token API on that node or its
 * descendants (a reader may adopt a reason under that very lock), and each test has a timeout, so
 * that a mutant that breaks the lock fails the test instead of hanging it.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a broken lock must fail, not hang
class TokenNodeInvariantsTest {

    /** How long an operation must stay blocked on a held lock (it never ends while held in the real code). */
    private static final long HOLD_MILLIS = 150;
    private static final Duration LONG = Duration.ofSeconds(30);

    // ====================================================================== lock discipline (I5)

    @Nested
    class LockDiscipline {

        /** Registering a callback waits for the token's lock (I3: lists change only under it). */
        @Test
        void onCancel_whileTokenLocked_waitsForTheLock() throws Exception {
            CancellationToken token = CancellationToken.create("t");
            AtomicInteger runs = new AtomicInteger();

            assertWaitsForLockOf(token, () -> token.onCancel(r -> runs.incrementAndGet()));

            token.cancel();
            assertThat(runs).hasValue(1);
        }

        /** Unregistering waits for the token's lock, then prevents the callback. */
        @Test
        void unregister_whileTokenLocked_waitsForTheLock() throws Exception {
            CancellationToken token = CancellationToken.create("t");
            AtomicInteger runs = new AtomicInteger();
            Registration registration = token.onCancel(r -> runs.incrementAndGet());
            AtomicReference<Boolean> prevented = new AtomicReference<>();

            assertWaitsForLockOf(token, () -> prevented.set(registration.unregister()));

            token.cancel();
            assertThat(prevented.get()).isTrue();
            assertThat(runs).hasValue(0);
        }

        /** {@code children()} reads the child list under the lock. */
        @Test
        void children_whileTokenLocked_waitsForTheLock() throws Exception {
            CancellationToken parent = CancellationToken.create("p");
            CancellationToken child = parent.child("c");
            child.onCancel(r -> { });
            AtomicReference<Object> listed = new AtomicReference<>();

            assertWaitsForLockOf(parent, () -> listed.set(parent.children()));

            assertThat(listed.get()).isEqualTo(List.of(child));
        }

        /** The canceller detaches the callback list under the lock, so it waits for a registrant in progress. */
        @Test
        void cancel_withCallbackWhileTokenLocked_waitsForTheLock() throws Exception {
            CancellationToken token = CancellationToken.create("t");
            AtomicInteger runs = new AtomicInteger();
            token.onCancel(r -> runs.incrementAndGet());

            assertWaitsForLockOf(token, token::cancel);

            assertThat(runs).hasValue(1);
        }

        /**
         * A canceller that finds the lock taken cannot prove the lists empty (I3, {@code quiet()}): it
         * waits for the lock even when nothing is registered yet.
         */
        @Test
        void cancel_withNothingRegisteredWhileTokenLocked_waitsForTheLock() throws Exception {
            CancellationToken token = CancellationToken.create("t");

            assertWaitsForLockOf(token, token::cancel);

            assertThat(token.isCancelled()).isTrue();
        }

        /** The parent's canceller takes each linked child's lock before taking its callbacks. */
        @Test
        void cancel_ofParentWhileLinkedChildLocked_waitsForTheChildsLock() throws Exception {
            CancellationToken parent = CancellationToken.create("p");
            CancellationToken child = parent.child("c");
            AtomicInteger runs = new AtomicInteger();
            child.onCancel(r -> runs.incrementAndGet());

            assertWaitsForLockOf(child, parent::cancel);

            assertThat(runs).hasValue(1);
            assertThat(child.reason()).isEqualTo(parent.reason());
        }

        /** Unlinking a child that became empty takes the parent's lock (I2). */
        @Test
        void unregister_ofLastCallbackOfChildWhileParentLocked_waitsForTheParentsLock() throws Exception {
            CancellationToken parent = CancellationToken.create("p");
            CancellationToken child = parent.child("c");
            Registration registration = child.onCancel(r -> { });
            assertThat(parent.children()).containsExactly(child);

            assertWaitsForLockOf(parent, registration::unregister);

            assertThat(parent.children()).isEmpty();
        }

        /** Linking a child into a parent that is not a root takes the parent's lock (I2). */
        @Test
        void onCancel_onUnlinkedChildWhileParentLocked_waitsForTheParentsLock() throws Exception {
            CancellationToken parent = CancellationToken.create("root").child("p");
            CancellationToken child = parent.child("c");

            assertWaitsForLockOf(parent, () -> child.onCancel(r -> { }));

            assertThat(parent.children()).containsExactly(child);
        }

        /**
         * I2s: a linker that finds a root's lock taken does not wait for it: it inflates the root into
         * stripes and links the child into one of them. The root's {@code children()} lists it, and
         * the root's cancel seals and drains the stripes, so the child's callback runs once.
         */
        @Test
        void onCancel_onUnlinkedChildWhileRootLocked_linksIntoAStripeWithoutWaiting() throws Exception {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken child = root.child("c");
            AtomicInteger runs = new AtomicInteger();

            hold(root);
            try {
                Worker registrant = Worker.start("registrant", () -> child.onCancel(r -> runs.incrementAndGet()));
                registrant.finish();
            } finally {
                release(root);
            }
            CancellationToken second = root.child("second");
            second.onCancel(r -> runs.incrementAndGet());
            assertThat(root.children()).containsExactlyInAnyOrder(child, second);

            root.cancel();

            assertThat(runs).hasValue(2);
            assertThat(child.reason()).isEqualTo(root.reason());
            assertThat(root.children()).isEmpty();
        }

        /** I2s: a child in a stripe that is closed leaves its stripe, so the root holds nothing. */
        @Test
        void close_ofChildInAStripe_leavesTheStripe() throws Exception {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken child = root.child("c");
            hold(root);
            try {
                Worker.start("registrant", () -> child.onCancel(r -> { })).finish();
            } finally {
                release(root);
            }
            CancellationToken kept = root.child("kept");
            Registration registration = kept.onCancel(r -> { });
            assertThat(root.children()).containsExactlyInAnyOrder(child, kept);

            child.close();
            registration.unregister();

            assertThat(root.children()).isEmpty();
            assertThat(root.isCancelled()).isFalse();
        }

        /** Linking an ancestor stretch takes each linked node's own lock as well as its parent's (I2). */
        @Test
        void onCancel_onGrandchildWhileMiddleChildLocked_waitsForItsLock() throws Exception {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken middle = root.child("middle");
            CancellationToken grandchild = middle.child("grandchild");

            assertWaitsForLockOf(middle, () -> grandchild.onCancel(r -> { }));

            assertThat(root.children()).containsExactly(middle);
            assertThat(middle.children()).containsExactly(grandchild);
        }

        /** A reader that adopts an ancestor's reason into an unlinked node does so under that node's lock (I7). */
        @Test
        void isCancelled_adoptingIntoLockedUnlinkedNode_waitsForItsLock() throws Exception {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken grandchild = root.child("middle").child("grandchild");
            root.cancel();
            AtomicReference<Boolean> cancelled = new AtomicReference<>();

            assertWaitsForLockOf(grandchild, () -> cancelled.set(grandchild.isCancelled()));

            assertThat(cancelled.get()).isTrue();
            assertThat(grandchild.reason()).isEqualTo(root.reason());
        }
    }

    // ====================================================================== race windows (I4a, I7, I8)

    @Nested
    class RaceWindows {

        /**
         * I7: a linked grandchild whose parent was cancelled by a canceller that has not reached it yet
         * reads as cancelled, reports the ancestor's reason (never an empty one), and its callback runs
         * once, when the canceller gets there.
         */
        @Test
        void reason_ofLinkedNodeBeforeCancellerReachesIt_isTheAncestorsReason() throws Exception {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken middle = root.child("middle");
            CancellationToken grandchild = middle.child("grandchild");
            AtomicInteger runs = new AtomicInteger();
            AtomicReference<CancellationReason> seen = new AtomicReference<>();
            grandchild.onCancel(r -> {
                seen.set(r);
                runs.incrementAndGet();
            });
            CancellationReason reason = CancellationReason.of(Kind.SHUTDOWN, "drain");

            hold(middle);
            Worker canceller;
            try {
                canceller = Worker.start("canceller", () -> root.cancel(reason));
                // Wait until the canceller has set middle's reason and waits for middle's lock. Read the field:
                // middle.isCancelled() could find root cancelled first and try to adopt under middle's lock.
                awaitTrue(() -> ((TokenNode) middle).testHookStoredReason() != null);

                assertThat(grandchild.isCancelled()).isTrue();
                assertThat(grandchild.reason()).isEqualTo(root.reason()).isPresent();
                assertThat(grandchild.reason().orElseThrow().origin()).isEqualTo("root");
                assertThat(runs).as("callbacks run only when the canceller reaches the node").hasValue(0);
            } finally {
                release(middle);
            }
            canceller.finish();

            assertThat(runs).hasValue(1);
            assertThat(seen.get()).isEqualTo(root.reason().orElseThrow());
        }

        /**
         * A registrant that found the token uncancelled, then found its parent cancelled while linking,
         * adopts the parent's reason and runs the callback itself, once; the parent's lock is released.
         */
        @Test
        void onCancel_parentCancelledWhileLinking_runsCallbackOnceWithParentsReason() throws Exception {
            CancellationToken parent = CancellationToken.create("p");
            Registration parentRegistration = parent.onCancel(r -> { });
            CancellationToken child = parent.child("c");
            AtomicInteger runs = new AtomicInteger();
            AtomicReference<CancellationReason> seen = new AtomicReference<>();

            hold(child);
            Worker registrant;
            Worker canceller;
            try {
                registrant = Worker.start("registrant", () -> child.onCancel(r -> {
                    seen.set(r);
                    runs.incrementAndGet();
                }));
                registrant.join(HOLD_MILLIS);
                assertThat(registrant.isAlive()).as("registrant waits for the child's lock").isTrue();
                // The registrant holds the parent's lock while it waits for the child's (I5: parent
                // first), so the parent's canceller, after its CAS, waits for the registrant.
                canceller = Worker.start("canceller", () -> parent.cancel(CancellationReason.of(Kind.SHUTDOWN, "drain")));
                awaitTrue(() -> ((TokenNode) parent).testHookStoredReason() != null);
            } finally {
                release(child);
            }
            registrant.finish();
            canceller.finish();

            assertThat(runs).hasValue(1);
            assertThat(seen.get()).isEqualTo(parent.reason().orElseThrow());
            assertThat(child.reason()).isEqualTo(parent.reason());
            assertTimeoutPreemptively(LONG, () -> {
                assertThat(parentRegistration.unregister()).as("the parent's lock was released").isFalse();
                assertThat(parent.children()).isEmpty();
            });
        }

        /**
         * A cancelled linked node leaves its parent's list before {@code cancel()} returns, even when it
         * holds nothing at that moment ({@code quiet()} must not skip a linked node).
         */
        @Test
        void cancel_ofLinkedEmptyNode_leavesItsParentBeforeReturning() throws Exception {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken middle = root.child("middle");
            CancellationToken leaf = middle.child("leaf");
            AtomicInteger runs = new AtomicInteger();
            leaf.onCancel(r -> runs.incrementAndGet());

            hold(root);
            Worker leafCanceller;
            Worker middleCanceller;
            try {
                // The leaf leaves middle, then waits for root's lock to unlink middle, now empty but linked.
                leafCanceller = Worker.start("leaf-canceller", leaf::cancel);
                awaitTrue(() -> middle.children().isEmpty());
                middleCanceller = Worker.start("middle-canceller", middle::cancel);
                middleCanceller.join(HOLD_MILLIS);
                assertThat(middleCanceller.isAlive()).as("middle's cancel() waits to leave root").isTrue();
            } finally {
                release(root);
            }
            middleCanceller.finish();
            leafCanceller.finish();

            assertThat(root.children()).isEmpty();
            assertThat(runs).hasValue(1);
        }

        /**
         * I8: a {@code cancel()} that loses to a winner still between its CAS and its retirement of the
         * generation retires it itself, so that every descendant reads cancelled when it returns. The
         * winner is simulated by setting the verdict only.
         */
        @Test
        void cancel_losingToAWinnerBeforeItsEpochMove_descendantReadsCancelled() {
            TokenNode parent = (TokenNode) CancellationToken.create("p");
            CancellationToken child = parent.child("c");
            assertThat(child.isCancelled()).isFalse();
            CancellationReason won = CancellationReason.of(Kind.MANUAL, "winner").stampedBy(parent);
            parent.testHookSetVerdictOnly(won);
            assertThat(child.isCancelled()).as("the window: the winner has not retired the generation").isFalse();

            assertThat(parent.cancel()).isFalse();

            assertThat(child.isCancelled()).isTrue();
            assertThat(child.reason()).contains(won);
        }

        /** I8 for {@code close()}: the same window, closed by a losing close. */
        @Test
        void close_losingToAWinnerBeforeItsEpochMove_descendantReadsCancelled() {
            TokenNode parent = (TokenNode) CancellationToken.create("p");
            CancellationToken child = parent.child("c");
            assertThat(child.isCancelled()).isFalse();
            CancellationReason won = CancellationReason.of(Kind.MANUAL, "winner").stampedBy(parent);
            parent.testHookSetVerdictOnly(won);

            parent.close();

            assertThat(child.isCancelled()).isTrue();
            assertThat(child.reason()).contains(won);
        }

        /** I7: a reader that finds a cancelled ancestor stores its reason in the unlinked nodes on its path. */
        @Test
        void isCancelled_throughAncestor_unlinkedNodesOnThePathAdoptTheReason() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken middle = root.child("middle");
            CancellationToken leaf = middle.child("leaf");
            root.cancel();

            assertThat(leaf.isCancelled()).isTrue();

            assertThat(((TokenNode) leaf).testHookStoredReason()).isEqualTo(root.reason().orElseThrow());
            assertThat(((TokenNode) middle).testHookStoredReason()).isEqualTo(root.reason().orElseThrow());
        }

        /**
         * A check that finds its own parent cancelled takes nothing (no lock, no CAS, no reason
         * object for a closed parent): the next check finds the parent in one step again. Asking
         * for the reason takes it, with the parent as origin.
         */
        @Test
        void isCancelled_throughItsParent_takesNothing_reasonTakesTheParentsReason() {
            CancellationToken parent = CancellationToken.create("root").child("parent");
            CancellationToken child = parent.child("child");
            assertThat(child.isCancelled()).isFalse();
            parent.close();

            assertThat(child.isCancelled()).isTrue();
            assertThat(child.isCancelled()).isTrue();
            assertThat(((TokenNode) child).testHookStoredReason()).isNull();

            CancellationReason reason = child.reason().orElseThrow();
            assertThat(reason.kind()).isEqualTo(Kind.CLOSED);
            assertThat(reason.origin()).isEqualTo("parent");
            assertThat(((TokenNode) child).testHookStoredReason()).isSameAs(reason);
        }
    }

    /**
     * I4a and I4b: a generation is retired only when a cancelled token may still have a descendant
     * that has not been told; every other cancel or close (an only child closed before its parent)
     * leaves the readers elsewhere in the tree their two-load check.
     */
    @Nested
    class GenerationRetirements {

        /** The tree's current generation: a new one exactly when a generation was retired (I4a). */
        private Object generationOf(CancellationToken token) {
            return ((TokenNode) token).testHookCurrentGeneration();
        }

        @Test
        void closingBottomUp_anOnlyChildThenItsParent_leavesTheEpoch() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken reader = root.child("a").child("b").child("c");
            CancellationToken branch = root.child("branch");
            assertThat(reader.isCancelled()).isFalse();
            Object before = generationOf(root);

            for (int i = 0; i < 3; i++) {
                CancellationToken invocation = branch.child("invocation");
                CancellationToken task = invocation.child("task");
                task.close();
                invocation.close();
                assertThat(task.isCancelled()).isTrue();
                assertThat(invocation.isCancelled()).isTrue();
            }

            assertThat(generationOf(root)).isSameAs(before);
            assertThat(reader.isCancelled()).isFalse();
        }

        @Test
        void closingAParentWhoseOnlyChildIsLive_movesTheEpochAndCancelsTheChild() {
            CancellationToken parent = CancellationToken.create("root").child("parent");
            CancellationToken only = parent.child("only");
            assertThat(only.isCancelled()).isFalse();
            Object before = generationOf(parent);

            parent.close();

            assertThat(generationOf(parent)).isNotSameAs(before);
            assertThat(only.isCancelled()).isTrue();
            assertThat(only.reason()).hasValueSatisfying(reason -> assertThat(reason.kind()).isEqualTo(Kind.CLOSED));
        }

        @Test
        void aSecondChildAfterTheOnlyOneEnded_makesTheParentsCloseMoveTheEpochAgain() {
            CancellationToken parent = CancellationToken.create("root").child("parent");
            parent.child("first").close();
            CancellationToken second = parent.child("second");
            CancellationToken grandchild = second.child("grandchild");
            assertThat(grandchild.isCancelled()).isFalse();
            Object before = generationOf(parent);

            parent.close();

            assertThat(generationOf(parent)).isNotSameAs(before);
            assertThat(second.isCancelled()).isTrue();
            assertThat(grandchild.isCancelled()).isTrue();
        }

        @Test
        void anOnlyChildWithChildren_movesTheEpochItselfBeforeReleasingItsParent() {
            CancellationToken parent = CancellationToken.create("root").child("parent");
            CancellationToken only = parent.child("only");
            CancellationToken grandchild = only.child("grandchild");
            assertThat(grandchild.isCancelled()).isFalse();
            Object before = generationOf(parent);

            only.cancel();
            Object afterOnly = generationOf(parent);
            parent.close();

            assertThat(afterOnly).isNotSameAs(before);
            assertThat(generationOf(parent)).as("nothing left to tell below the parent").isSameAs(afterOnly);
            assertThat(grandchild.isCancelled()).isTrue();
            assertThat(grandchild.reason()).hasValueSatisfying(reason -> assertThat(reason.kind()).isEqualTo(Kind.MANUAL));
        }

        @Test
        void anOnlyChildCancelledThroughAnAncestor_doesNotReleaseItsParent() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken parent = root.child("parent");
            CancellationToken only = parent.child("only");
            CancellationToken other = root.child("other");
            CancellationToken otherChild = other.child("otherChild");
            assertThat(otherChild.isCancelled()).isFalse();
            // the only child adopts its cancelled ancestor's reason: its own cancel never ran
            parent.cancel();
            assertThat(only.isCancelled()).isTrue();
            Object before = generationOf(root);

            parent.close();

            assertThat(generationOf(root)).as("a losing close with a child that may be live settles (I8)").isNotSameAs(before);
        }
    }

    // ====================================================================== tree bookkeeping

    @Nested
    class Bookkeeping {

        /** A linked node that cancels itself leaves its parent, and an ancestor left empty leaves too. */
        @Test
        void cancel_ofLinkedLeaf_unlinksLeafAndEmptiedAncestors() {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken middle = root.child("middle");
            CancellationToken leaf = middle.child("leaf");
            leaf.onCancel(r -> { });
            assertThat(root.children()).containsExactly(middle);

            leaf.cancel();

            assertThat(middle.children()).isEmpty();
            assertThat(root.children()).isEmpty();
            assertThat(middle.isCancelled()).isFalse();
        }

        /** Replacing a timer removes only the timer: callbacks registered before it still run, once. */
        @Test
        void cancelAfter_calledTwice_keepsEarlierCallbacksAndReleasesTheFirstTimer() {
            CancellationToken token = CancellationToken.create("t");
            AtomicInteger runs = new AtomicInteger();
            token.onCancel(r -> runs.incrementAndGet());
            int baseline = Timers.pending();

            token.cancelAfter(Duration.ofHours(1));
            token.cancelAfter(Duration.ofHours(2));
            assertThat(Timers.pending()).isLessThanOrEqualTo(baseline + 1);
            token.cancel();

            assertThat(runs).hasValue(1);
            assertThat(Timers.pending()).isLessThanOrEqualTo(baseline);
        }

        /** A zero delay cancels at once, on the calling thread (SPEC: zero or negative cancels at once). */
        @Test
        void cancelAfter_zero_cancelsBeforeReturning() {
            CancellationToken token = CancellationToken.create("t");

            token.cancelAfter(Duration.ZERO);

            assertThat(token.isCancelled()).isTrue();
            assertThat(token.reason().orElseThrow().kind()).isEqualTo(Kind.TIMEOUT);
        }

        /** A negative delay too large for nanoseconds still cancels at once. */
        @Test
        void cancelAfter_hugeNegative_cancelsBeforeReturning() {
            CancellationToken token = CancellationToken.create("t");

            token.cancelAfter(Duration.ofSeconds(Long.MIN_VALUE));

            assertThat(token.isCancelled()).isTrue();
            assertThat(token.reason().orElseThrow().kind()).isEqualTo(Kind.TIMEOUT);
        }

        /** A positive delay too large for nanoseconds saturates: the token stays uncancelled. */
        @Test
        void cancelAfter_hugePositive_doesNotCancel() {
            CancellationToken token = CancellationToken.create("t");

            token.cancelAfter(Duration.ofSeconds(Long.MAX_VALUE));

            assertThat(token.isCancelled()).isFalse();
            token.close();
        }
    }

    // ====================================================================== failures and values

    @Nested
    class FailuresAndValues {

        /**
         * When the uncaught-exception handler itself throws, both failures go to stderr: the handler's,
         * with the callback's attached as suppressed.
         */
        @Test
        void cancel_handlerThrows_bothFailuresPrintedToStderr() throws Exception {
            CancellationToken token = CancellationToken.create("t");
            token.onCancel(r -> {
                throw new IllegalStateException("callback failed");
            });
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            PrintStream original = System.err;
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            try {
                Thread canceller = new Thread(token::cancel, "canceller");
                canceller.setUncaughtExceptionHandler((t, e) -> {
                    throw new IllegalArgumentException("handler failed");
                });
                canceller.start();
                canceller.join(LONG.toMillis());
            } finally {
                System.setErr(original);
            }

            String printed = err.toString(StandardCharsets.UTF_8);
            assertThat(printed).contains("IllegalArgumentException: handler failed");
            assertThat(printed).contains("Suppressed: java.lang.IllegalStateException: callback failed");
        }

        /** A null source is rejected by {@code anyOf} with a message naming the problem, before anything is registered. */
        @Test
        void anyOf_nullSource_throwsWithMessage() {
            CancellationToken source = CancellationToken.create("s");
            source.cancel();
            CancellationToken[] sources = {source, null};

            assertThatThrownBy(() -> CancellationToken.anyOf(sources))
                    .isInstanceOf(NullPointerException.class)
                    .hasMessage("sources must not contain null");
        }

        /** {@code runUntilCancelled} passes a failure through as it is, even one that has a cause. */
        @Test
        void runUntilCancelled_failureWithCause_isNotUnwrapped() {
            CancellationToken token = CancellationToken.create("t");
            IllegalStateException failure = new IllegalStateException("outer", new IOException("inner"));

            CompletableFuture<Object> result = token.runUntilCancelled(CompletableFuture.failedFuture(failure));

            assertThatThrownBy(result::get).isInstanceOf(ExecutionException.class).cause().isSameAs(failure);
        }

        /** A {@code CompletionException} without cause is passed through, not replaced by its (null) cause. */
        @Test
        void runUntilCancelled_completionExceptionWithoutCause_isPassedThrough() throws Exception {
            CancellationToken token = CancellationToken.create("t");
            CompletionException failure = new CompletionException("no cause", null);
            CompletableFuture<Object> work = new CompletableFuture<>();

            CompletableFuture<Object> result = token.runUntilCancelled(work);
            work.completeExceptionally(failure);

            assertThatThrownBy(() -> result.get(LONG.toMillis(), TimeUnit.MILLISECONDS))
                    .isInstanceOf(ExecutionException.class).cause().isSameAs(failure);
        }

        /** {@code toString()} of a token names it, and adds the reason once it is cancelled. */
        @Test
        void toString_ofToken_namesItAndItsReason() {
            CancellationToken token = CancellationToken.create("jobs");
            assertThat(token).hasToString("CancellationToken[jobs]");

            token.cancel(CancellationReason.of(Kind.SHUTDOWN, "bye"));

            assertThat(token).hasToString("CancellationToken[jobs, cancelled: SHUTDOWN at jobs: bye]");
        }

        /** {@code toString()} of a reason shows kind, then origin, message and cause when present. */
        @Test
        void toString_ofReason_showsKindOriginMessageAndCause() {
            assertThat(CancellationReason.of(Kind.MANUAL)).hasToString("MANUAL");
            assertThat(CancellationReason.of(Kind.TIMEOUT, "late", new IOException("disk")))
                    .hasToString("TIMEOUT: late (cause: java.io.IOException: disk)");
            CancellationToken token = CancellationToken.create("app");
            token.cancel(CancellationReason.of(Kind.SHUTDOWN, "closing"));
            assertThat(token.reason().orElseThrow()).hasToString("SHUTDOWN at app: closing");
        }

        /** A reason equals no other type, and distinct kinds do not all share one hash code. */
        @Test
        void equalsAndHashCode_ofReason_areNotTrivial() {
            CancellationReason manual = CancellationReason.of(Kind.MANUAL);

            assertThat(manual.equals("MANUAL")).isFalse();
            assertThat(manual.equals(null)).isFalse();
            assertThat(Arrays.stream(Kind.values()).map(CancellationReason::of).mapToInt(Object::hashCode).distinct().count())
                    .isGreaterThan(1);
        }

        /** A registration describes its token, and says when it was unregistered. */
        @Test
        void toString_ofRegistration_namesTokenAndState() {
            CancellationToken token = CancellationToken.create("jobs");
            Registration registration = token.onCancel(r -> { });
            assertThat(registration).hasToString("Registration[jobs]");

            registration.unregister();

            assertThat(registration).hasToString("Registration[jobs, unregistered]");
        }
    }

    // ====================================================================== helpers

    /** Takes the spin lock of {@code token} as the engine does (white-box: I5). */
    private static void hold(CancellationToken token) {
        assertThat(((TokenNode) token).testHookTryLock()).as("lock of %s was free", token.name()).isTrue();
    }

    private static void release(CancellationToken token) {
        ((TokenNode) token).testHookUnlock();
    }

    /**
     * Runs {@code op} on another thread while this test holds the lock of {@code locked}: it must still
     * be running after {@link #HOLD_MILLIS}, and must complete once the lock is released.
     */
    private static void assertWaitsForLockOf(CancellationToken locked, ThrowingRunnable op) throws Exception {
        hold(locked);
        Worker worker;
        try {
            worker = Worker.start("op", op);
            worker.join(HOLD_MILLIS);
            assertThat(worker.isAlive()).as("the operation finished while the lock of %s was held", locked.name())
                    .isTrue();
        } finally {
            release(locked);
        }
        worker.finish();
    }

    private static void awaitTrue(BooleanSupplier condition) {
        Awaitility.await("condition").atMost(LONG).pollInterval(Duration.ofMillis(1)).until(condition::getAsBoolean);
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** A daemon thread whose failure reaches the test through {@link #finish()}. */
    private static final class Worker {
        private final Thread thread;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        private Worker(String name, ThrowingRunnable op) {
            thread = new Thread(() -> {
                try {
                    op.run();
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, name);
            thread.setDaemon(true);
        }

        static Worker start(String name, ThrowingRunnable op) {
            Worker worker = new Worker(name, op);
            worker.thread.start();
            return worker;
        }

        void join(long millis) throws InterruptedException {
            thread.join(millis);
        }

        boolean isAlive() {
            return thread.isAlive();
        }

        /** Waits for the thread to end and rethrows its failure. */
        void finish() throws Exception {
            thread.join(LONG.toMillis());
            assertThat(thread.isAlive()).as("%s still running after %s", thread.getName(), LONG).isFalse();
            Throwable t = failure.get();
            if (t instanceof Exception e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
        }
    }
}
