package io.github.cancellation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Faulty and re-entrant callbacks (SPEC, "Rules that hold everywhere"): a callback that throws does
 * not stop the others nor {@code cancel()}; its exception goes to the cancelling thread's
 * uncaught-exception handler, once, and never out of {@code cancel()}; callbacks run outside every
 * lock, so they may use any token API, from the cancelling thread or from threads they start and
 * join, without deadlock.
 */
class CallbackFaultTest {

    private static final Duration DEADLOCK_TIMEOUT = Duration.ofSeconds(10);
    private static final int CALLBACKS = 100;

    /** A custom {@link Error}, to show that errors are contained like exceptions. */
    static final class CallbackError extends Error {
        private static final long serialVersionUID = 1L;

        CallbackError(String message) {
            super(message);
        }
    }

    /** Among 100 callbacks some throw RuntimeExceptions and Errors: all run, each failure is reported once, cancel returns true. */
    @Test
    void cancel_throwingCallbacksAmongHundred_allRunAndEachFailureReportedOnce() throws Exception {
        CancellationToken token = CancellationToken.create();
        AtomicIntegerArray runs = new AtomicIntegerArray(CALLBACKS);
        List<Throwable> thrown = registerMixed(token, runs);

        Outcome outcome = cancelOnThreadWithHandler(token::cancel);

        assertThat(outcome.cancelReturned).isTrue();
        assertEveryCallbackRanOnce(runs);
        assertReportedExactlyOnce(outcome, thrown);
    }

    /** The same holds across a tree: throwing callbacks on linked descendants do not stop the cancellation of the rest. */
    @Test
    void cancel_throwingCallbacksAcrossTree_allRunAndEachFailureReportedOnce() throws Exception {
        CancellationToken root = CancellationToken.create("root");
        AtomicIntegerArray runs = new AtomicIntegerArray(CALLBACKS);
        List<Throwable> thrown = new ArrayList<>();
        List<CancellationToken> descendants = new ArrayList<>();
        for (int i = 0; i < CALLBACKS; i++) {
            CancellationToken target = (i % 3 == 0) ? root : root.child().child();
            descendants.add(target);
            thrown.addAll(registerOne(target, i, runs));
        }

        Outcome outcome = cancelOnThreadWithHandler(root::cancel);

        assertThat(outcome.cancelReturned).isTrue();
        assertEveryCallbackRanOnce(runs);
        assertReportedExactlyOnce(outcome, thrown);
        assertThat(descendants).allMatch(CancellationToken::isCancelled);
        assertThat(root.children()).isEmpty();
    }

    /** {@code close()} contains throwing callbacks the same way. */
    @Test
    void close_throwingCallbacks_allRunAndReportedOnce() throws Exception {
        CancellationToken root = CancellationToken.create();
        CancellationToken token = root.child();
        AtomicIntegerArray runs = new AtomicIntegerArray(CALLBACKS);
        List<Throwable> thrown = registerMixed(token, runs);

        Outcome outcome = cancelOnThreadWithHandler(() -> {
            token.close();
            return token.reason().orElseThrow().kind() == CancellationReason.Kind.CLOSED;
        });

        assertThat(outcome.cancelReturned).isTrue();
        assertEveryCallbackRanOnce(runs);
        assertReportedExactlyOnce(outcome, thrown);
        assertThat(root.children()).isEmpty();
    }

    /** A throwing callback registered on a cancelled token runs at once; its failure goes to the calling thread's handler, not to the caller. */
    @Test
    void onCancel_throwingOnCancelledToken_reportedToCallingThreadOnce() throws Exception {
        CancellationToken token = CancellationToken.create();
        token.cancel();
        CallbackError error = new CallbackError("late");

        Outcome outcome = cancelOnThreadWithHandler(() -> !token.onCancel(r -> {
            throw error;
        }).unregister());

        assertThat(outcome.cancelReturned).isTrue();
        assertThat(outcome.reported).containsExactly(error);
    }

    /** Even a failing uncaught-exception handler neither stops the other callbacks nor escapes {@code cancel()}. */
    @Test
    void cancel_handlerItselfThrows_otherCallbacksRunAndCancelReturns() throws Exception {
        CancellationToken token = CancellationToken.create();
        AtomicIntegerArray runs = new AtomicIntegerArray(CALLBACKS);
        registerMixed(token, runs);
        AtomicInteger handled = new AtomicInteger();
        AtomicReference<Throwable> escaped = new AtomicReference<>();
        AtomicBoolean returned = new AtomicBoolean();
        Thread canceller = new Thread(() -> {
            try {
                returned.set(token.cancel());
            } catch (Throwable t) {
                escaped.set(t);
            }
        }, "canceller");
        canceller.setUncaughtExceptionHandler((t, e) -> {
            handled.incrementAndGet();
            throw new IllegalStateException("handler failed");
        });

        canceller.start();
        canceller.join(TimeUnit.SECONDS.toMillis(30));

        assertThat(escaped.get()).isNull();
        assertThat(returned).isTrue();
        assertEveryCallbackRanOnce(runs);
        assertThat(handled).hasValue(30);
    }

    /** A nested cancellation (a callback cancelling another token whose callback throws) reports that failure once, and the outer cancel is unaffected. */
    @Test
    void cancel_nestedCancelWithThrowingCallback_reportedOnceOuterUnaffected() throws Exception {
        CancellationToken outer = CancellationToken.create();
        CancellationToken inner = CancellationToken.create().child();
        IllegalArgumentException boom = new IllegalArgumentException("inner");
        AtomicInteger ran = new AtomicInteger();
        inner.onCancel(r -> {
            throw boom;
        });
        inner.onCancel(r -> ran.incrementAndGet());
        outer.onCancel(r -> assertThat(inner.cancel()).isTrue());
        outer.onCancel(r -> ran.incrementAndGet());

        Outcome outcome = cancelOnThreadWithHandler(outer::cancel);

        assertThat(outcome.cancelReturned).isTrue();
        assertThat(outcome.reported).containsExactly(boom);
        assertThat(ran).hasValue(2);
    }

    /** After throwing callbacks, the token still behaves: waiters, stages and new registrations see the cancellation. */
    @Test
    void cancel_afterThrowingCallbacks_tokenStillWorks() throws Exception {
        CancellationToken token = CancellationToken.create();
        token.onCancel(r -> {
            throw new RuntimeException("first");
        });
        var stage = token.whenCancelled().toCompletableFuture();

        cancelOnThreadWithHandler(token::cancel);

        assertThat(stage).isCompleted();
        assertThat(token.await(Duration.ZERO)).isTrue();
        AtomicInteger late = new AtomicInteger();
        token.onCancel(r -> late.incrementAndGet());
        assertThat(late).hasValue(1);
    }

    // ------------------------------------------------------------------ re-entrancy

    /** 100 callbacks re-enter the token API on the cancelling thread (cancel, close, register, children, anyOf): no deadlock, all run. */
    @Test
    void cancel_callbacksReenterApiOnSameThread_noDeadlockAllRun() throws Exception {
        CancellationToken root = CancellationToken.create("root");
        CancellationToken token = root.child("token");
        CancellationToken sibling = root.child("sibling");
        sibling.onCancel(r -> { });
        AtomicIntegerArray runs = new AtomicIntegerArray(CALLBACKS);
        AtomicInteger nested = new AtomicInteger();
        for (int i = 0; i < CALLBACKS; i++) {
            int mine = i;
            token.onCancel(r -> {
                runs.incrementAndGet(mine);
                assertThat(token.cancel()).isFalse();
                token.close();
                token.onCancel(x -> nested.incrementAndGet());
                token.child().onCancel(x -> nested.incrementAndGet());
                CancellationToken other = root.child();
                other.onCancel(x -> nested.incrementAndGet());
                other.cancel();
                root.children();
                token.children();
                CancellationToken.anyOf(token, sibling).onCancel(x -> nested.incrementAndGet());
                assertThat(token.isCancelled()).isTrue();
            });
        }

        Outcome outcome = assertTimeoutPreemptively(DEADLOCK_TIMEOUT, () -> cancelOnThreadWithHandler(token::cancel));

        assertThat(outcome.reported).isEmpty();
        assertThat(outcome.cancelReturned).isTrue();
        assertEveryCallbackRanOnce(runs);
        assertThat(nested).hasValue(4 * CALLBACKS);
        assertThat(root.isCancelled()).isFalse();
        assertThat(root.children()).containsExactly(sibling);
    }

    /** 100 callbacks each start a thread that registers on the same token, its parent and a sibling, and join it: no deadlock, all run. */
    @Test
    void cancel_callbacksJoinThreadsThatReenterApi_noDeadlockAllRun() throws Exception {
        CancellationToken root = CancellationToken.create("root");
        CancellationToken token = root.child("token");
        CancellationToken sibling = root.child("sibling");
        AtomicIntegerArray runs = new AtomicIntegerArray(CALLBACKS);
        AtomicInteger nested = new AtomicInteger();
        List<Registration> siblingRegistrations = new CopyOnWriteArrayList<>();
        for (int i = 0; i < CALLBACKS; i++) {
            int mine = i;
            token.onCancel(r -> {
                Thread helper = new Thread(() -> {
                    token.onCancel(x -> nested.incrementAndGet());
                    token.child().onCancel(x -> nested.incrementAndGet());
                    siblingRegistrations.add(sibling.onCancel(x -> nested.incrementAndGet()));
                    root.onCancel(x -> { }).unregister();
                    root.children();
                    token.close();
                    runs.incrementAndGet(mine);
                }, "helper-" + mine);
                helper.start();
                try {
                    helper.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }

        Outcome outcome = assertTimeoutPreemptively(DEADLOCK_TIMEOUT, () -> cancelOnThreadWithHandler(token::cancel));

        assertThat(outcome.reported).isEmpty();
        assertThat(outcome.cancelReturned).isTrue();
        assertEveryCallbackRanOnce(runs);
        assertThat(nested).hasValue(2 * CALLBACKS);
        assertThat(root.children()).containsExactly(sibling);
        siblingRegistrations.forEach(Registration::unregister);
        assertThat(root.children()).isEmpty();
    }

    /** Callbacks of a cancelled subtree may, from other threads, cancel and close other parts of the tree and wait for them: no deadlock. */
    @Test
    void cancel_callbacksCancelOtherSubtreesFromOtherThreads_noDeadlock() throws Exception {
        CancellationToken root = CancellationToken.create("root");
        CancellationToken left = root.child("left");
        CancellationToken right = root.child("right");
        AtomicInteger rightCallbacks = new AtomicInteger();
        for (int i = 0; i < CALLBACKS; i++) {
            right.child().onCancel(r -> rightCallbacks.incrementAndGet());
        }
        AtomicIntegerArray runs = new AtomicIntegerArray(CALLBACKS);
        for (int i = 0; i < CALLBACKS; i++) {
            int mine = i;
            CancellationToken leaf = left.child();
            leaf.onCancel(r -> {
                Thread helper = new Thread(() -> {
                    right.close();
                    try {
                        right.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    leaf.parent().orElseThrow().cancel();
                    runs.incrementAndGet(mine);
                }, "helper-" + mine);
                helper.start();
                try {
                    helper.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }

        Outcome outcome = assertTimeoutPreemptively(DEADLOCK_TIMEOUT, () -> cancelOnThreadWithHandler(left::cancel));

        assertThat(outcome.reported).isEmpty();
        assertEveryCallbackRanOnce(runs);
        assertThat(rightCallbacks).hasValue(CALLBACKS);
        assertThat(root.isCancelled()).isFalse();
        assertThat(root.children()).isEmpty();
    }

    // ------------------------------------------------------------------ helpers

    /** Registers 100 callbacks; every 10th throws a RuntimeException, an AssertionError or a custom Error. Returns what they throw. */
    private static List<Throwable> registerMixed(CancellationToken token, AtomicIntegerArray runs) {
        List<Throwable> thrown = new ArrayList<>();
        for (int i = 0; i < CALLBACKS; i++) {
            thrown.addAll(registerOne(token, i, runs));
        }
        return thrown;
    }

    /** Registers callback {@code i}: i % 10 == 3 throws a RuntimeException, 6 an AssertionError, 9 a CallbackError. */
    private static List<Throwable> registerOne(CancellationToken token, int i, AtomicIntegerArray runs) {
        Throwable failure = switch (i % 10) {
            case 3 -> new IllegalStateException("callback " + i);
            case 6 -> new AssertionError("callback " + i);
            case 9 -> new CallbackError("callback " + i);
            default -> null;
        };
        token.onCancel(r -> {
            runs.incrementAndGet(i);
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (failure instanceof Error e) {
                throw e;
            }
        });
        return (failure == null) ? List.of() : List.of(failure);
    }

    private static void assertEveryCallbackRanOnce(AtomicIntegerArray runs) {
        for (int i = 0; i < runs.length(); i++) {
            assertThat(runs.get(i)).as("runs of callback %d", i).isEqualTo(1);
        }
    }

    private static void assertReportedExactlyOnce(Outcome outcome, List<Throwable> thrown) {
        assertThat(thrown).hasSize(30);
        Map<Throwable, Integer> counts = new IdentityHashMap<>();
        for (Throwable t : outcome.reported) {
            counts.merge(t, 1, Integer::sum);
        }
        assertThat(outcome.reported).hasSameSizeAs(thrown);
        for (Throwable t : thrown) {
            assertThat(counts.get(t)).as("reports of %s", t).isEqualTo(1);
        }
        assertThat(outcome.reportingThreads).containsOnly(outcome.canceller);
    }

    interface Action {
        boolean run() throws Exception;
    }

    /** What happened on the cancelling thread. */
    static final class Outcome {
        final List<Throwable> reported = new CopyOnWriteArrayList<>();
        final List<Thread> reportingThreads = new CopyOnWriteArrayList<>();
        volatile Thread canceller;
        volatile boolean cancelReturned;
    }

    /**
     * Runs {@code action} on a dedicated thread whose uncaught-exception handler records; fails if
     * anything escapes the action.
     */
    private static Outcome cancelOnThreadWithHandler(Action action) throws Exception {
        Outcome outcome = new Outcome();
        AtomicReference<Throwable> escaped = new AtomicReference<>();
        Thread canceller = new Thread(() -> {
            try {
                outcome.cancelReturned = action.run();
            } catch (Throwable t) {
                escaped.set(t);
            }
        }, "canceller");
        outcome.canceller = canceller;
        canceller.setUncaughtExceptionHandler((t, e) -> {
            outcome.reportingThreads.add(t);
            outcome.reported.add(e);
        });
        canceller.start();
        canceller.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(canceller.isAlive()).as("canceller finished").isFalse();
        assertThat(escaped.get()).as("thrown out of cancel()").isNull();
        return outcome;
    }
}
