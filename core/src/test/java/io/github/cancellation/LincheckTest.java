package io.github.cancellation;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.jetbrains.lincheck.Lincheck;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import io.github.cancellation.CancellationReason.Kind;

/**
 * Model-checking scenarios (SPEC "The token", quality anchors B.3 C2): each test starts two or three
 * plain threads inside {@link Lincheck#runConcurrentTest(int, Runnable)}, which runs the block
 * {@code cancellation.lincheck.invocations} times (default 1,000), each time under a different
 * interleaving chosen by Lincheck's model checker, switching threads at every shared-memory access of
 * the token code (VarHandle CASes, volatile reads, the spin lock). The checks after {@code join()}
 * must hold in every interleaving; a failure prints the interleaving that broke it.
 *
 * <p>Model checking assumes sequential consistency: it finds logic races (lost wake-ups, double
 * runs, wrong reasons), not missing {@code volatile}s; the race harness ({@link RaceHarnessTest})
 * covers the real memory model.
 *
 * <p>Actors record their observations in plain fields; {@link #parallel} joins every thread (which
 * publishes them) and rethrows any actor's failure, so nothing is asserted from a spawned thread
 * without reaching the test.
 */
class LincheckTest {

    private static final int INVOCATIONS = Integer.getInteger("cancellation.lincheck.invocations", 1000);
    private static final List<String> SCENARIOS = new CopyOnWriteArrayList<>();

    @AfterAll
    static void report() {
        System.out.printf("LincheckTest: %d scenarios x %d invocations = %d interleavings explored %s%n",
                SCENARIOS.size(), INVOCATIONS, (long) SCENARIOS.size() * INVOCATIONS, SCENARIOS);
    }

    /** A callback registered concurrently with {@code cancel()} runs exactly once, with the token's reason. */
    @Test
    void onCancelVersusCancel() {
        scenario("onCancel vs cancel", () -> {
            CancellationToken token = CancellationToken.create("t");
            Recorder callback = new Recorder();
            parallel(() -> token.onCancel(callback), token::cancel);
            check(callback.runs.get() == 1, () -> "callback ran " + callback.runs.get() + " times");
            check(callback.reason.get().equals(token.reason().orElseThrow()), () -> "callback got another reason");
        });
    }

    /**
     * A callback registered on an unlinked grandchild (nothing registered on its parent) while the root
     * is cancelled runs exactly once: the grandchild links its whole ancestor stretch or sees the
     * cancellation.
     */
    @Test
    void onCancelOnUnlinkedGrandchildVersusRootCancel() {
        scenario("onCancel on unlinked grandchild vs root cancel", () -> {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken grandchild = root.child("child").child("grandchild");
            Recorder callback = new Recorder();
            parallel(() -> grandchild.onCancel(callback), root::cancel);
            check(callback.runs.get() == 1, () -> "callback ran " + callback.runs.get() + " times");
            check(grandchild.reason().equals(root.reason()), () -> "grandchild has " + grandchild.reason()
                    + ", root has " + root.reason());
            check(callback.reason.get().equals(root.reason().orElseThrow()), () -> "callback got " + callback.reason.get());
            check(root.children().isEmpty(), () -> "cancelled root still holds " + root.children());
        });
    }

    /**
     * {@code unregister()} racing with an ancestor's {@code cancel()}: exactly one of "unregister
     * returned true" and "callback ran" (the .NET XOR), and the callback never runs twice.
     */
    @Test
    void unregisterVersusCancel() {
        scenario("unregister vs cancel", () -> {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken child = root.child("child");
            Recorder callback = new Recorder();
            Registration registration = child.onCancel(callback);
            boolean[] prevented = new boolean[1];
            parallel(() -> prevented[0] = registration.unregister(), root::cancel);
            int runs = callback.runs.get();
            check(runs <= 1, () -> "callback ran " + runs + " times");
            check(prevented[0] ^ (runs == 1), () -> "unregister returned " + prevented[0] + " and callback ran " + runs);
            check(!registration.unregister(), () -> "a second unregister returned true");
            check(root.children().isEmpty(), () -> "cancelled root still holds " + root.children());
        });
    }

    /**
     * {@code child()} racing with the parent's {@code cancel()}: the child ends cancelled with the
     * parent's reason, never left active; and once the parent's {@code cancel()} has returned, a child
     * created afterwards reads cancelled at once. The grandparent is untouched.
     */
    @Test
    void childVersusParentCancel() {
        scenario("child() vs parent cancel", () -> {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken parent = root.child("parent");
            AtomicBoolean cancelReturned = new AtomicBoolean();
            AtomicReference<CancellationToken> child = new AtomicReference<>();
            boolean[] activeAfterCancelReturned = new boolean[1];
            parallel(() -> {
                CancellationToken c = parent.child("child");
                child.set(c);
                boolean returned = cancelReturned.get();
                activeAfterCancelReturned[0] = returned && !c.isCancelled();
            }, () -> {
                parent.cancel();
                cancelReturned.set(true);
            });
            check(!activeAfterCancelReturned[0], () -> "child read active after the parent's cancel() returned");
            check(child.get().isCancelled(), () -> "child left active");
            check(child.get().reason().equals(parent.reason()), () -> "child has " + child.get().reason()
                    + ", parent has " + parent.reason());
            check(!root.isCancelled(), () -> "cancelling a child cancelled its parent");
        });
    }

    /**
     * {@code close()} of a linked child racing with the parent's {@code cancel()}: the child ends with
     * exactly one reason (its own CLOSED or the parent's MANUAL), its callback ran once with that
     * reason, and the parent holds no children afterwards.
     */
    @Test
    void closeOfChildVersusParentCancel() {
        scenario("close() of child vs parent cancel", () -> {
            CancellationToken parent = CancellationToken.create("parent");
            CancellationToken child = parent.child("child");
            Recorder callback = new Recorder();
            child.onCancel(callback); // links the child into the parent
            parallel(child::close, parent::cancel);
            check(callback.runs.get() == 1, () -> "callback ran " + callback.runs.get() + " times");
            CancellationReason reason = child.reason().orElseThrow(() -> new AssertionError("child not cancelled"));
            check(reason.equals(child.reason().orElseThrow()), () -> "child's reason changed");
            check(reason.equals(callback.reason.get()), () -> "callback got " + callback.reason.get() + ", child has " + reason);
            boolean closed = reason.kind() == Kind.CLOSED && reason.origin().equals("child");
            boolean fromParent = reason.equals(parent.reason().orElseThrow());
            check(closed ^ fromParent, () -> "child's reason " + reason + " is neither its close nor the parent's cancel");
            check(parent.children().isEmpty(), () -> "parent still holds " + parent.children());
        });
    }

    /**
     * {@code close()} of a linked child racing with a sibling's registration: the closed child leaves the
     * parent's list while the sibling links itself (both lists edited under the parent's lock).
     */
    @Test
    void closeOfChildVersusSiblingRegistration() {
        scenario("close() of child vs sibling onCancel", () -> {
            CancellationToken parent = CancellationToken.create("parent");
            CancellationToken closing = parent.child("closing");
            CancellationToken sibling = parent.child("sibling");
            closing.onCancel(reason -> { });
            Recorder callback = new Recorder();
            parallel(closing::close, () -> sibling.onCancel(callback));
            check(closing.reason().orElseThrow().kind() == Kind.CLOSED, () -> "closed child has " + closing.reason());
            check(parent.children().equals(List.of(sibling)), () -> "parent holds " + parent.children());
            check(callback.runs.get() == 0, () -> "sibling's callback ran");
            parent.cancel();
            check(callback.runs.get() == 1, () -> "sibling's callback ran " + callback.runs.get() + " times on parent cancel");
        });
    }

    /**
     * The loom models {@code cancel_token} and {@code cancel_with_child}: a thread blocked in
     * {@code await()} on the root and one on a child both return after the root's {@code cancel()},
     * without deadlock on the token's spin lock and without exception.
     *
     * <p>Limit of the model checker, checked by a probe while writing this test: when every thread is
     * blocked, Lincheck lets {@code LockSupport.park} return spuriously (as its contract allows), so a
     * lost {@code unpark} is masked here because {@code await()} re-reads {@code isCancelled()} after
     * every wake-up; only a waiter whose condition never becomes true is reported (as a hang). The
     * wake-up signal itself is therefore checked by {@link #whenCancelledVersusCancel()}, whose
     * {@code join()} returns only if the token's callback completes the stage (a probe with a stage
     * nobody completes is reported as hung), and real parking by {@link RaceHarnessTest}.
     */
    @Test
    void awaitVersusCancel() {
        scenario("await() on root and child vs root cancel", () -> {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken child = root.child("child");
            parallel(() -> awaitUninterruptibly(root), () -> awaitUninterruptibly(child), root::cancel);
            check(child.reason().equals(root.reason()), () -> "child has " + child.reason());
        });
    }

    /**
     * A {@code whenCancelled()} stage requested concurrently with an ancestor's cancellation completes
     * with the token's reason, and a thread joining it returns (no lost wake-up through the stage).
     */
    @Test
    void whenCancelledVersusCancel() {
        scenario("whenCancelled() vs cancel", () -> {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken child = root.child("child");
            AtomicReference<CancellationReason> joined = new AtomicReference<>();
            AtomicReference<CompletableFuture<CancellationReason>> stage = new AtomicReference<>();
            parallel(() -> {
                CompletableFuture<CancellationReason> future = child.whenCancelled().toCompletableFuture();
                stage.set(future);
                joined.set(future.join());
            }, root::cancel);
            check(stage.get().isDone(), () -> "stage not completed");
            check(joined.get().equals(child.reason().orElseThrow()), () -> "stage completed with " + joined.get());
            check(joined.get().equals(root.reason().orElseThrow()), () -> "child's reason is not the root's");
        });
    }

    /**
     * A timeout firing while the token is cancelled by hand: exactly one reason, and it is the one
     * whose {@code cancel} won. The timer thread itself (a {@code ScheduledThreadPoolExecutor} shared by
     * the JVM and living across invocations) cannot run under the model checker, so the firing timer
     * is modelled by what it does, {@code token.cancel(TIMEOUT reason)} (see {@code Timers.Timer.run}),
     * on its own thread; the real timer thread is raced in {@link RaceHarnessTest}.
     */
    @Test
    void timeoutVersusManualCancel() {
        scenario("timeout vs manual cancel", () -> {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken token = root.child("token");
            Recorder callback = new Recorder();
            token.onCancel(callback);
            CancellationReason timeout = CancellationReason.of(Kind.TIMEOUT, "timed out after PT1S");
            boolean[] won = new boolean[2];
            parallel(() -> won[0] = token.cancel(timeout), () -> won[1] = token.cancel());
            check(won[0] ^ won[1], () -> "cancel returned true " + ((won[0] ? 1 : 0) + (won[1] ? 1 : 0)) + " times");
            CancellationReason reason = token.reason().orElseThrow();
            check(reason.kind() == (won[0] ? Kind.TIMEOUT : Kind.MANUAL), () -> "winner " + (won[0] ? "timeout" : "manual")
                    + " but reason " + reason);
            check(reason.origin().equals("token"), () -> "origin " + reason.origin());
            check(callback.runs.get() == 1, () -> "callback ran " + callback.runs.get() + " times");
            check(callback.reason.get().equals(reason), () -> "callback got " + callback.reason.get());
            check(!root.isCancelled(), () -> "parent cancelled by its child");
            check(root.children().isEmpty(), () -> "cancelled child still held by its parent");
        });
    }

    /**
     * Concurrent {@code cancel} of a parent and its child: the child's reason is its own if and only if
     * its {@code cancel} returned true, else the parent's; never mixed. The grandchild reports the
     * reason of one of those two cancels, and its callback got exactly that reason.
     */
    @Test
    void parentAndChildCancel() {
        scenario("cancel parent vs cancel child", () -> {
            CancellationToken parent = CancellationToken.create("parent");
            CancellationToken child = parent.child("child");
            CancellationToken grandchild = child.child("grandchild");
            Recorder callback = new Recorder();
            grandchild.onCancel(callback);
            boolean[] won = new boolean[2];
            parallel(() -> won[0] = parent.cancel(CancellationReason.of(Kind.SHUTDOWN, "parent")),
                    () -> won[1] = child.cancel(CancellationReason.of(Kind.MANUAL, "child")));
            check(won[0], () -> "the parent's cancel returned false");
            CancellationReason parentReason = parent.reason().orElseThrow();
            CancellationReason childReason = child.reason().orElseThrow();
            boolean ownReason = childReason.kind() == Kind.MANUAL && childReason.message().equals(Optional.of("child"))
                    && childReason.origin().equals("child");
            check(won[1] ? ownReason : childReason.equals(parentReason), () ->
                    "child's cancel returned " + won[1] + " but child has " + childReason);
            CancellationReason grandchildReason = grandchild.reason().orElseThrow();
            check(grandchildReason.equals(childReason) || grandchildReason.equals(parentReason), () ->
                    "grandchild has " + grandchildReason);
            check(callback.runs.get() == 1, () -> "callback ran " + callback.runs.get() + " times");
            check(callback.reason.get().equals(grandchildReason), () -> "callback got " + callback.reason.get()
                    + ", grandchild has " + grandchildReason);
        });
    }

    /**
     * {@code anyOf} built while one of its sources is being cancelled: the result ends cancelled with
     * that source's reason, and the other source is untouched.
     */
    @Test
    void anyOfVersusSourceCancel() {
        scenario("anyOf vs source cancel", () -> {
            CancellationToken a = CancellationToken.create("a");
            CancellationToken b = CancellationToken.create("b");
            AtomicReference<CancellationToken> any = new AtomicReference<>();
            parallel(() -> any.set(CancellationToken.anyOf(b, a)), a::cancel);
            check(any.get().isCancelled(), () -> "anyOf left active after its source was cancelled");
            check(any.get().reason().equals(a.reason()), () -> "anyOf has " + any.get().reason() + ", source has " + a.reason());
            check(!b.isCancelled(), () -> "the other source was cancelled");
        });
    }

    /**
     * {@code call()} ending while the token is cancelled: whichever way the call ends (its value, or
     * {@code CancelledException}), the worker's interrupt flag is clear afterwards: the interrupt that
     * cancellation sends to the work never leaks past the call.
     */
    @Test
    void callEndVersusCancel() {
        scenario("call() end vs cancel", () -> {
            CancellationToken token = CancellationToken.create("t");
            boolean[] leaked = new boolean[1];
            Object[] outcome = new Object[1];
            parallel(() -> {
                outcome[0] = callQuietly(token);
                leaked[0] = Thread.currentThread().isInterrupted();
            }, token::cancel);
            check(!leaked[0], () -> "interrupt leaked past call(), which ended with " + outcome[0]);
            check(Integer.valueOf(42).equals(outcome[0]) || outcome[0] instanceof CancelledException, () ->
                    "call() ended with " + outcome[0]);
        });
    }

    /**
     * The same race with the worker interrupted on entry: that interrupt is kept whatever the race does.
     */
    @Test
    void callWithEntryInterruptVersusCancel() {
        scenario("call() with entry interrupt vs cancel", () -> {
            CancellationToken token = CancellationToken.create("t");
            boolean[] kept = new boolean[1];
            Object[] outcome = new Object[1];
            parallel(() -> {
                Thread.currentThread().interrupt();
                outcome[0] = callQuietly(token);
                kept[0] = Thread.interrupted();
            }, token::cancel);
            check(kept[0], () -> "entry interrupt lost, call() ended with " + outcome[0]);
        });
    }

    /**
     * Monotonic reads (SPEC: "When {@code cancel()} returns, every descendant reads as cancelled"): a
     * thread whose own {@code cancel()} on the parent returned (false, because another thread is
     * cancelling it) must then read the parent's existing child as cancelled. The child was checked
     * once before, so it has recorded the tree's generation.
     */
    @Test
    void descendantReadsCancelledOnceAncestorCancelReturned() {
        scenario("descendant read after a losing cancel", () -> {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken child = root.child("child");
            check(!child.isCancelled(), () -> "child born cancelled");
            boolean[] childActive = new boolean[1];
            boolean[] won = new boolean[2];
            parallel(() -> won[0] = root.cancel(), () -> {
                won[1] = root.cancel();
                childActive[0] = !child.isCancelled();
            });
            check(!childActive[0], () -> "root.cancel() returned " + won[1] + " (the other cancel returned " + won[0]
                    + ") but the child then read as not cancelled");
        });
    }

    /**
     * The same for {@code close()}, which is a cancel with kind CLOSED: a {@code close()} that does
     * nothing because another thread is cancelling the token must not return before the token's
     * existing child reads as cancelled.
     */
    @Test
    void descendantReadsCancelledOnceAncestorCloseReturned() {
        scenario("descendant read after a losing close", () -> {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken child = root.child("child");
            check(!child.isCancelled(), () -> "child born cancelled");
            boolean[] childActive = new boolean[1];
            parallel(root::cancel, () -> {
                root.close();
                childActive[0] = !child.isCancelled();
            });
            check(!childActive[0], () -> "root.close() returned (root: " + root.reason().orElse(null)
                    + ") but the child then read as not cancelled");
        });
    }

    /**
     * I4b, the only-child rule: a parent whose only child ended by its own {@code close()} closes without
     * retiring the generation (I4b). Racing that child's close, the parent's close and the creation of a second
     * child (with a child of its own, checked once so that it recorded the generation): when the parent's
     * {@code close()} returns, the first child's grandchild reads as cancelled; after all three,
     * so do the second child and its child, whichever interleaving decided the parent's state.
     */
    @Test
    void parentCloseVersusItsOnlyChildsCloseVersusASecondChild() {
        scenario("only child's close vs parent close vs second child", () -> {
            CancellationToken parent = CancellationToken.create("root").child("parent");
            CancellationToken only = parent.child("only");
            CancellationToken grandchild = only.child("grandchild");
            check(!grandchild.isCancelled(), () -> "grandchild born cancelled");
            boolean[] grandchildActive = new boolean[1];
            CancellationToken[] second = new CancellationToken[2];
            parallel(only::close, () -> {
                parent.close();
                grandchildActive[0] = !grandchild.isCancelled();
            }, () -> {
                second[0] = parent.child("second");
                second[1] = second[0].child("secondChild");
                second[1].isCancelled();
            });
            check(!grandchildActive[0], () -> "parent.close() returned but the only child's child read as not cancelled");
            check(second[0].isCancelled(), () -> "the second child of a closed parent reads as not cancelled");
            check(second[1].isCancelled(), () -> "the second child's child reads as not cancelled");
            check(grandchild.isCancelled() && only.isCancelled(), () -> "the first branch reads as not cancelled");
        });
    }

    /**
     * SPEC: {@code children()} is a snapshot of the children a token holds on to, "never one that was
     * closed, cancelled or collected". A thread that sees a linked child cancelled (here: its own
     * {@code close()} returned, doing nothing because another thread's {@code cancel()} got there first)
     * must not find it in the parent's {@code children()} taken afterwards.
     */
    @Test
    void childrenNeverListsACancelledChild() {
        scenario("children() vs cancel of a linked child", () -> {
            CancellationToken parent = CancellationToken.create("parent");
            CancellationToken child = parent.child("child");
            child.onCancel(reason -> { }); // links the child into the parent
            boolean[] listedAfterClose = new boolean[1];
            parallel(child::cancel, () -> {
                child.close();
                listedAfterClose[0] = parent.children().contains(child);
            });
            check(!listedAfterClose[0], () -> "close() returned, the child is cancelled (" + child.reason().orElse(null)
                    + "), but the parent's children() taken afterwards still listed it");
            check(parent.children().isEmpty(), () -> "parent still holds " + parent.children());
        });
    }

    // ------------------------------------------------------------------ helpers

    private static void scenario(String name, Runnable block) {
        long began = System.nanoTime();
        Lincheck.runConcurrentTest(INVOCATIONS, block);
        SCENARIOS.add(name);
        // One line per scenario, so that a deep run cut short still says which scenarios passed.
        System.out.printf("LincheckTest: scenario \"%s\": %,d invocations passed in %.1f s%n",
                name, INVOCATIONS, (System.nanoTime() - began) / 1e9);
    }

    /**
     * I2s: two threads link children into one root at once (a linker that finds the root's lock
     * taken inflates it into stripes) while a third cancels the root: each callback runs exactly
     * once, with the root's reason, and the cancelled root holds nothing.
     */
    @Test
    void twoLinkersOnOneRootVersusRootCancel() {
        scenario("two linkers on one root vs root cancel", () -> {
            CancellationToken root = CancellationToken.create("root");
            CancellationToken a = root.child("a");
            CancellationToken b = root.child("b");
            Recorder ra = new Recorder();
            Recorder rb = new Recorder();
            parallel(() -> a.onCancel(ra), () -> b.onCancel(rb), root::cancel);
            check(ra.runs.get() == 1 && rb.runs.get() == 1, () -> "callbacks ran " + ra.runs.get() + " and " + rb.runs.get() + " times");
            check(ra.reason.get().equals(root.reason().orElseThrow()) && rb.reason.get().equals(root.reason().orElseThrow()),
                    () -> "a callback got another reason");
            check(root.children().isEmpty(), () -> "cancelled root still holds " + root.children());
        });
    }

    /**
     * I2s: two threads each link a child into one root and close it (linking may inflate the root,
     * and a close then leaves its stripe): afterwards the root holds nothing, each callback ran once
     * (by its close), and the root's later cancel runs nothing again.
     */
    @Test
    void twoLinkAndCloseCyclesOnOneRoot() {
        scenario("two link-and-close cycles on one root", () -> {
            CancellationToken root = CancellationToken.create("root");
            Recorder ra = new Recorder();
            Recorder rb = new Recorder();
            parallel(() -> {
                CancellationToken a = root.child("a");
                a.onCancel(ra);
                a.close();
            }, () -> {
                CancellationToken b = root.child("b");
                b.onCancel(rb);
                b.close();
            });
            check(root.children().isEmpty(), () -> "root still holds " + root.children());
            root.cancel();
            check(ra.runs.get() == 1 && rb.runs.get() == 1, () -> "callbacks ran " + ra.runs.get() + " and " + rb.runs.get() + " times");
            check(ra.reason.get().kind() == Kind.CLOSED && rb.reason.get().kind() == Kind.CLOSED, () -> "a callback did not see its close");
        });
    }

    /** Starts one plain thread per actor, joins them all, then rethrows the first actor failure. */
    private static void parallel(Runnable... actors) {
        Throwable[] failures = new Throwable[actors.length];
        Thread[] threads = new Thread[actors.length];
        for (int i = 0; i < actors.length; i++) {
            int k = i;
            threads[i] = new Thread(() -> {
                try {
                    actors[k].run();
                } catch (Throwable failure) {
                    failures[k] = failure;
                }
            });
        }
        for (Thread thread : threads) {
            thread.start();
        }
        for (Thread thread : threads) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                throw new AssertionError("interrupted while joining an actor", e);
            }
        }
        for (int i = 0; i < failures.length; i++) {
            if (failures[i] != null) {
                throw new AssertionError("actor " + i + " failed: " + failures[i], failures[i]);
            }
        }
    }

    /** The message is built only on failure: everything the block does is traced by the model checker. */
    private static void check(boolean condition, Supplier<String> message) {
        if (!condition) {
            throw new AssertionError(message.get());
        }
    }

    private static void awaitUninterruptibly(CancellationToken token) {
        try {
            token.await();
        } catch (InterruptedException e) {
            throw new AssertionError("await() interrupted although nobody interrupts", e);
        }
    }

    private static Object callQuietly(CancellationToken token) {
        try {
            return token.call(() -> 42);
        } catch (CancelledException expected) {
            return expected;
        } catch (Exception unexpected) {
            throw new AssertionError("call() threw " + unexpected, unexpected);
        }
    }

    /** A callback that counts its runs and keeps the last reason it got. */
    private static final class Recorder implements Consumer<CancellationReason> {
        final AtomicInteger runs = new AtomicInteger();
        final AtomicReference<CancellationReason> reason = new AtomicReference<>();

        @Override
        public void accept(CancellationReason r) {
            reason.set(r);
            runs.incrementAndGet();
        }
    }
}
