package io.github.cancellation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.cancellation.CancellationReason.Kind;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Scale and memory: the "Rules that hold everywhere" about depth (no recursion), breadth, and memory
 * ("no memory is retained for closed or cancelled children, for unregistered callbacks, or for
 * finished timers"; "forgetting {@code close()} is safe too"). Heap deltas are measured after full
 * collections and printed, so that they can be quoted; each bound is far below what retaining the
 * objects would cost.
 */
class ScaleAndMemoryTest {

    private static final int DEEP = 1_000_000;
    private static final long MB = 1024 * 1024;
    /** The most a loop that retains nothing may leave on the heap (noise: class loading, JIT, buffers). */
    private static final long FLAT = 16 * MB;
    /** A conservative size of one token node, to tell what retaining would cost. */
    private static final long NODE_BYTES = 56;

    // ------------------------------------------------------------------ depth

    /** A chain one million deep: cancelling the root makes the leaf read cancelled with the root's reason. */
    @Test
    void cancel_chainOneMillionDeep_leafReadsRootReason() {
        CancellationToken root = CancellationToken.create("root");
        CancellationToken leaf = chain(root, DEEP, 0, null);
        assertThat(leaf.isCancelled()).isFalse();

        assertThat(root.cancel(CancellationReason.of(Kind.SHUTDOWN, "deep"))).isTrue();

        assertThat(leaf.isCancelled()).isTrue();
        assertThat(leaf.reason()).isEqualTo(root.reason());
        assertThat(leaf.reason().orElseThrow().origin()).isEqualTo("root");
        assertThat(leaf.cancel()).isFalse();
    }

    /** A chain one million deep with callbacks along it: every callback runs exactly once when the root is cancelled. */
    @Test
    void cancel_chainOneMillionDeepWithCallbacks_eachRunsExactlyOnce() {
        CancellationToken root = CancellationToken.create("root");
        AtomicIntegerArray runs = new AtomicIntegerArray(DEEP / 1000);
        CancellationToken leaf = chain(root, DEEP, 1000, runs);
        assertThat(root.children()).hasSize(1);

        root.cancel();
        root.cancel();
        leaf.cancel();

        for (int i = 0; i < runs.length(); i++) {
            assertThat(runs.get(i)).as("callback %d", i).isEqualTo(1);
        }
        assertThat(leaf.reason().orElseThrow().origin()).isEqualTo("root");
        assertThat(root.children()).isEmpty();
    }

    /** Cancelling and reading a million-deep chain needs no recursion: it works on a thread with a 256 KB stack. */
    @Test
    void cancel_chainOneMillionDeepOnSmallStack_noStackOverflow() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger callbacksRun = new AtomicInteger();
        AtomicReference<Boolean> leavesCancelled = new AtomicReference<>();
        Thread thread = new Thread(null, () -> {
            try {
                // linked chain (callbacks every 1000th node): cancelled by walking down
                CancellationToken linkedRoot = CancellationToken.create("linked");
                AtomicIntegerArray runs = new AtomicIntegerArray(DEEP / 1000);
                CancellationToken linkedLeaf = chain(linkedRoot, DEEP, 1000, runs);
                linkedRoot.cancel();
                for (int i = 0; i < runs.length(); i++) {
                    callbacksRun.addAndGet(runs.get(i));
                }
                // plain chain: the leaf learns of it by walking up
                CancellationToken plainRoot = CancellationToken.create("plain");
                CancellationToken plainLeaf = chain(plainRoot, DEEP, 0, null);
                plainRoot.close();
                // a chain closed from its middle
                CancellationToken midRoot = CancellationToken.create("mid");
                CancellationToken middle = chain(midRoot, DEEP / 2, 0, null);
                CancellationToken midLeaf = chain(middle, DEEP / 2, 500, new AtomicIntegerArray(DEEP / 1000));
                middle.cancel();
                leavesCancelled.set(linkedLeaf.isCancelled() && plainLeaf.isCancelled()
                        && plainLeaf.reason().orElseThrow().kind() == Kind.CLOSED
                        && midLeaf.isCancelled() && !midRoot.isCancelled());
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "small-stack", 256 * 1024);

        thread.start();
        thread.join(TimeUnit.SECONDS.toMillis(60));

        assertThat(thread.isAlive()).isFalse();
        assertThat(failure.get()).isNull();
        assertThat(callbacksRun).hasValue(DEEP / 1000);
        assertThat(leavesCancelled.get()).isTrue();
    }

    // ------------------------------------------------------------------ breadth

    /** A flat tree of 100,000 children: cancelling the root cancels them all and runs all their callbacks. */
    @Test
    void cancel_flatTreeOf100000Children_allReadCancelled() {
        CancellationToken root = CancellationToken.create("root");
        List<CancellationToken> plain = new ArrayList<>();
        List<CancellationToken> linked = new ArrayList<>();
        AtomicInteger callbacks = new AtomicInteger();
        for (int i = 0; i < 100_000; i++) {
            plain.add(root.child());
            CancellationToken child = root.child();
            child.onCancel(r -> callbacks.incrementAndGet());
            linked.add(child);
        }
        assertThat(root.children()).hasSize(100_000);

        root.cancel();

        assertThat(callbacks).hasValue(100_000);
        assertThat(plain).allMatch(CancellationToken::isCancelled);
        assertThat(linked).allMatch(CancellationToken::isCancelled);
        assertThat(plain.get(12_345).reason().orElseThrow().origin()).isEqualTo("root");
        assertThat(root.children()).isEmpty();
    }

    // ------------------------------------------------------------------ memory

    /** A million child-and-close cycles on one root leave the heap flat and the root with no children. */
    @Test
    void close_oneMillionChildren_heapStaysFlat() {
        CancellationToken root = CancellationToken.create("root");
        long before = usedHeapAfterGc();

        for (int i = 0; i < 1_000_000; i++) {
            root.child().close();
        }
        long plainDelta = usedHeapAfterGc() - before;

        AtomicInteger callbacks = new AtomicInteger();
        for (int i = 0; i < 1_000_000; i++) {
            CancellationToken child = root.child();
            child.onCancel(r -> callbacks.incrementAndGet());
            child.close();
        }
        long linkedDelta = usedHeapAfterGc() - before;

        report("1,000,000 child()+close()", plainDelta, 1_000_000 * NODE_BYTES);
        report("1,000,000 child()+onCancel+close()", linkedDelta, 1_000_000 * (NODE_BYTES + 32));
        assertThat(callbacks).hasValue(1_000_000);
        assertThat(root.children()).isEmpty();
        assertThat(root.isCancelled()).isFalse();
        assertThat(plainDelta).isLessThan(FLAT);
        assertThat(linkedDelta).isLessThan(FLAT);
        Reference.reachabilityFence(root);
    }

    /** Three million children created and forgotten without close cost their root nothing. */
    @Test
    void child_threeMillionForgotten_heapStaysFlat() {
        CancellationToken root = CancellationToken.create("root");
        long before = usedHeapAfterGc();

        for (int i = 0; i < 3_000_000; i++) {
            root.child();
        }
        long delta = usedHeapAfterGc() - before;

        report("3,000,000 forgotten children", delta, 3_000_000 * NODE_BYTES);
        assertThat(delta).isLessThan(FLAT);
        assertThat(root.children()).isEmpty();
        Reference.reachabilityFence(root);
    }

    /** A forgotten child with a callback is kept by its parent and its callback still runs when the root is cancelled. */
    @Test
    void child_forgottenWithCallback_stillFiresOnRootCancel() {
        CancellationToken root = CancellationToken.create("root");
        AtomicInteger fired = new AtomicInteger();
        WeakReference<CancellationToken> forgotten = forgetChildWithCallback(root, fired);
        for (int i = 0; i < 3; i++) {
            System.gc();
        }

        assertThat(forgotten.get()).as("held by its parent").isNotNull();
        root.cancel();

        assertThat(fired).hasValue(1);
    }

    /** A million register+unregister pairs on one root retain nothing. */
    @Test
    void onCancel_oneMillionRegisterUnregisterOnRoot_heapStaysFlat() {
        CancellationToken root = CancellationToken.create("root");
        long before = usedHeapAfterGc();

        for (int i = 0; i < 1_000_000; i++) {
            Registration registration = root.onCancel(r -> { });
            assertThatUnregistered(registration);
        }
        long delta = usedHeapAfterGc() - before;

        report("1,000,000 onCancel+unregister on a root", delta, 1_000_000 * 32L);
        assertThat(delta).isLessThan(FLAT);
        Reference.reachabilityFence(root);
    }

    /** A million register+unregister pairs on a child retain nothing: the root holds no child afterwards. */
    @Test
    void onCancel_oneMillionRegisterUnregisterOnChild_rootHoldsNothing() {
        CancellationToken root = CancellationToken.create("root");
        CancellationToken child = root.child();
        CancellationToken grandChild = child.child();
        long before = usedHeapAfterGc();

        for (int i = 0; i < 1_000_000; i++) {
            CancellationToken target = (i % 2 == 0) ? child : grandChild;
            Object payload = new Object();
            Registration registration = target.onCancel(r -> payload.hashCode());
            assertThatUnregistered(registration);
        }
        long delta = usedHeapAfterGc() - before;

        report("1,000,000 onCancel+unregister on a child", delta, 1_000_000 * 48L);
        assertThat(root.children()).isEmpty();
        assertThat(child.children()).isEmpty();
        assertThat(delta).isLessThan(FLAT);
        Reference.reachabilityFence(grandChild);
    }

    /** 100,000 {@code child(Duration.ofHours(1))} closed early leave no timer pending and the heap flat. */
    @Test
    void childWithTimeout_100000ClosedEarly_timersReleased() {
        CancellationToken root = CancellationToken.create("root");
        int baseline = Timers.pending();
        long before = usedHeapAfterGc();

        List<CancellationToken> timed = new ArrayList<>(100_000);
        for (int i = 0; i < 100_000; i++) {
            timed.add(root.child(Duration.ofHours(1)));
        }
        assertThat(Timers.pending()).isGreaterThanOrEqualTo(baseline + 100_000 - 100);
        timed.forEach(CancellationToken::close);
        timed.clear();
        await().atMost(Duration.ofSeconds(10)).until(() -> Timers.pending() <= baseline);

        for (int i = 0; i < 100_000; i++) {
            root.child(Duration.ofHours(1)).close();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> Timers.pending() <= baseline);
        long delta = usedHeapAfterGc() - before;

        report("200,000 child(1h) closed early", delta, 200_000 * (NODE_BYTES + 150));
        assertThat(root.children()).isEmpty();
        assertThat(delta).isLessThan(FLAT);
    }

    /** 100,000 timed children released at once by cancelling their parent leave no timer pending. */
    @Test
    void childWithTimeout_100000ParentCancelled_timersReleased() {
        CancellationToken root = CancellationToken.create("root");
        CancellationToken parent = root.child();
        int baseline = Timers.pending();
        for (int i = 0; i < 100_000; i++) {
            parent.child(Duration.ofHours(1));
        }
        assertThat(Timers.pending()).isGreaterThanOrEqualTo(baseline + 100_000 - 100);

        parent.cancel();

        await().atMost(Duration.ofSeconds(10)).until(() -> Timers.pending() <= baseline);
        assertThat(root.children()).isEmpty();
    }

    /** The heap probe itself can fail: a loop that does retain a million children shows well above the bound. */
    @Test
    void heapProbe_childrenKeptAlive_areSeenAboveTheBound() {
        CancellationToken root = CancellationToken.create("root");
        long before = usedHeapAfterGc();

        List<CancellationToken> kept = new ArrayList<>(1_000_000);
        for (int i = 0; i < 1_000_000; i++) {
            kept.add(root.child());
        }
        long delta = usedHeapAfterGc() - before;

        report("control: 1,000,000 children kept alive", delta, 1_000_000 * NODE_BYTES);
        assertThat(delta).isGreaterThan(FLAT);
        Reference.reachabilityFence(kept);
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Builds a chain of {@code depth} children below {@code top}; if {@code every > 0}, registers a
     * callback on every {@code every}-th node (so on the leaf when {@code every} divides {@code depth}),
     * counting the runs of the k-th callback in {@code runs[k]}.
     */
    private static CancellationToken chain(CancellationToken top, int depth, int every, AtomicIntegerArray runs) {
        CancellationToken node = top;
        int slot = 0;
        for (int i = 1; i <= depth; i++) {
            node = node.child();
            if (every > 0 && i % every == 0) {
                int mine = slot++;
                node.onCancel(r -> runs.incrementAndGet(mine));
            }
        }
        return node;
    }

    private static WeakReference<CancellationToken> forgetChildWithCallback(CancellationToken root, AtomicInteger fired) {
        CancellationToken child = root.child().child();
        child.onCancel(r -> fired.incrementAndGet());
        return new WeakReference<>(child);
    }

    private static void assertThatUnregistered(Registration registration) {
        if (!registration.unregister()) {
            throw new AssertionError("unregister() returned false for a live token");
        }
    }

    /** Used heap after full collections; the least of a few readings, to drop noise. */
    private static long usedHeapAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            least = Math.min(least, memory.getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    private static void report(String what, long delta, long retainingWouldCost) {
        System.out.printf("[ScaleAndMemoryTest] %s: heap delta %+.2f MB (bound %d MB; retaining would cost ~%d MB)%n",
                what, delta / (double) MB, FLAT / MB, retainingWouldCost / MB);
    }
}
