package io.github.cancellation;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;

import io.github.cancellation.CancellationReason.Kind;

/**
 * Seeded randomized race harness (quality anchors B.3 C4): three threads perform random operations
 * on one fresh token tree per round, then the round's invariants are checked.
 *
 * <p>Operations: {@code child}, {@code child(Duration)} (short timers of 0 to 2 ms that really fire
 * on the timer thread, and long ones that must be released), {@code cancelAfter}, {@code onCancel},
 * {@code unregister}, {@code cancel} with a unique reason, {@code close}, {@code await(timeout)},
 * {@code whenCancelled} (sometimes cancelled from outside), {@code anyOf}, {@code run} and plain
 * reads, on trees up to {@value #MAX_DEPTH} deep.
 *
 * <p>Checked while running: a reader that sees {@code isCancelled()} also sees a reason; once a
 * {@code cancel()} or {@code close()} has returned, the token and every descendant read cancelled;
 * a closed token is no longer held by a live parent; a callback gets the reason its token reports;
 * {@code await} on a token whose short timer is running returns true (no lost wake-up); {@code run}
 * leaves no interrupt behind.
 *
 * <p>Checked after each round, once the root is cancelled and the timer thread has drained: every
 * registration either ran exactly once or was prevented by an {@code unregister()} that returned
 * true, never both, never twice (fired + prevented = registered); every token reads cancelled with a
 * reason explained by an ancestor-or-self: a {@code cancel} that returned true (exactly its reason),
 * a {@code close} (kind CLOSED, that origin), a timer (kind TIMEOUT, that origin) or, for an
 * {@code anyOf}, one of its sources' reasons; at most one {@code cancel} per token returned true;
 * nobody holds children any more; every {@code whenCancelled} stage completed with the token's
 * reason; no timer of the round is left pending.
 *
 * <p>Knobs: {@code -Dcancellation.race.operations} (default 1,000,000) and
 * {@code -Dcancellation.race.seed} (default random; printed, and part of every failure message). The
 * seed fixes each thread's sequence of choices; which thread wins each race still depends on the
 * scheduler, so a replay retries the same operation mix rather than the same interleaving.
 */
class RaceHarnessTest {

    private static final int THREADS = 3;
    private static final int MAX_DEPTH = 8;
    /**
     * Operations per thread in one round, drawn log-uniformly from this range for each round: small
     * rounds keep the three threads on the same few young tokens, large ones grow deep, live trees.
     * (Measured on 2 busy cores: fixed sizes from 300 to 20,000 all run 1,000,000 operations in 3 to
     * 4 s; the share of live targets grows from 65% to 83% with the size.)
     */
    private static final int MIN_ROUND_OPS = 100;
    private static final int MAX_ROUND_OPS = 5_000;
    private static final long BARRIER_TIMEOUT_SECONDS = 60;
    private static final Duration LONG_TIMER = Duration.ofHours(1);
    private static final Duration WAKE_UP_LIMIT = Duration.ofSeconds(30);
    private static final int MAX_REPORTED_FAILURES = 20;

    @Test
    void randomOperationsOnSharedTreesKeepEveryInvariant() throws Exception {
        long operations = Integer.getInteger("cancellation.race.operations", 1_000_000);
        Long fixedSeed = Long.getLong("cancellation.race.seed");
        long seed = (fixedSeed != null) ? fixedSeed : ThreadLocalRandom.current().nextLong();
        SplittableRandom roundSizes = new SplittableRandom(seed);
        int pendingTimersBefore = Timers.pending();

        Stats stats = new Stats();
        CyclicBarrier start = new CyclicBarrier(THREADS + 1);
        CyclicBarrier end = new CyclicBarrier(THREADS + 1);
        Round[] current = new Round[1];
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int id = t;
            Thread worker = new Thread(() -> workLoop(id, seed, start, end, current, stats), "race-" + t);
            worker.setDaemon(true);
            workers.add(worker);
            worker.start();
        }

        long began = System.nanoTime();
        boolean finished = false;
        long done = 0;
        int rounds = 0;
        try {
            for (int r = 0; done < operations; r++) {
                int perThread = (int) Math.round(Math.exp(roundSizes.nextDouble(Math.log(MIN_ROUND_OPS), Math.log(MAX_ROUND_OPS))));
                perThread = (int) Math.max(1, Math.min(perThread, (operations - done + THREADS - 1) / THREADS));
                Round round = new Round(r, seed, perThread);
                done += (long) THREADS * perThread;
                rounds = r + 1;
                current[0] = round; // published to the workers by the barrier
                awaitBarrier(start, seed, r, "start");
                awaitBarrier(end, seed, r, "end");
                finishRound(round, stats);
                List<String> failures = round.failures();
                assertThat(failures)
                        .as("seed %d (replay with -Dcancellation.race.seed=%d), round %d (%d ops per thread, %,d "
                                + "operations done): %d invariant violations, first ones", seed, seed, r, perThread, done,
                                round.failureCount.get())
                        .isEmpty();
                assertThat(Timers.pending())
                        .as("seed %d, round %d: timers left pending after every token of the round was cancelled",
                                seed, r)
                        .isLessThanOrEqualTo(pendingTimersBefore);
            }
            finished = true;
        } finally {
            stopWorkers(start, current, workers, finished);
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);

        System.out.printf("RaceHarnessTest: %,d operations in %,d rounds (%d threads x %,d to %,d ops, trees up to depth %d), "
                        + "seed %d, %,d ms. Tokens %,d (anyOf %,d, timed %,d). Callbacks registered %,d = fired %,d "
                        + "+ prevented %,d; lost 0, double 0. Cancels won %,d of %,d, closes %,d, timeouts fired %,d, "
                        + "waits %,d (woken by timer %,d), stages %,d, runs %,d (interrupted %,d). Targets live when "
                        + "picked: %d%%.%n",
                done, rounds, THREADS, MIN_ROUND_OPS, MAX_ROUND_OPS, MAX_DEPTH, seed, millis,
                stats.tokens.get(), stats.anyOfs.get(), stats.timed.get(), stats.registered.get(), stats.fired.get(),
                stats.prevented.get(), stats.cancelsWon.get(), stats.cancels.get(), stats.closes.get(),
                stats.timeouts.get(), stats.waits.get(), stats.timerWakeUps.get(), stats.stages.get(), stats.runs.get(),
                stats.runsInterrupted.get(), 100 * stats.liveTargets.get() / Math.max(1, stats.targets.get()));
        assertThat(stats.fired.get() + stats.prevented.get()).isEqualTo(stats.registered.get());
    }

    /**
     * The workers are at (or on their way to) the start barrier: meeting them there with no round
     * tells them to leave. After a failure the barrier may be broken, or a worker wedged: then the
     * (daemon) workers are only given a moment.
     */
    private static void stopWorkers(CyclicBarrier start, Round[] current, List<Thread> workers, boolean finished)
            throws InterruptedException {
        current[0] = null;
        try {
            start.await(finished ? BARRIER_TIMEOUT_SECONDS : 1, TimeUnit.SECONDS);
        } catch (BrokenBarrierException | TimeoutException ignored) {
            // a failed run: the workers leave on the broken barrier, or are wedged
        }
        for (Thread worker : workers) {
            worker.join(TimeUnit.SECONDS.toMillis(finished ? BARRIER_TIMEOUT_SECONDS : 1));
        }
    }

    // ------------------------------------------------------------------ workers

    private static void workLoop(int id, long seed, CyclicBarrier start, CyclicBarrier end, Round[] current, Stats stats) {
        try {
            for (;;) {
                start.await();
                Round round = current[0];
                if (round == null) {
                    return;
                }
                SplittableRandom random = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (round.index * THREADS + id + 1)));
                Worker worker = new Worker(id, round, random, stats);
                int ops = round.opsPerThread;
                int rootCancelAt = (id == 0) ? ops * 9 / 10 + random.nextInt(Math.max(1, ops / 10)) : -1;
                for (int i = 0; i < ops; i++) {
                    try {
                        if (i == rootCancelAt) {
                            worker.cancelRoot();
                        }
                        worker.step();
                    } catch (Throwable unexpected) {
                        round.fail("thread " + id + " op " + i + ": unexpected " + stackTrace(unexpected));
                    }
                }
                end.await();
            }
        } catch (InterruptedException | BrokenBarrierException stopped) {
            // the test is over (or failed): leave
        }
    }

    /** One thread's view of a round: picks and performs random operations. */
    private static final class Worker {
        private final int id;
        private final Round round;
        private final SplittableRandom random;
        private final Stats stats;
        private int messages;

        Worker(int id, Round round, SplittableRandom random, Stats stats) {
            this.id = id;
            this.round = round;
            this.random = random;
            this.stats = stats;
        }

        void step() throws InterruptedException {
            int dice = random.nextInt(100);
            if (dice < 22) {
                child();
            } else if (dice < 26) {
                timedChild();
            } else if (dice < 28) {
                cancelAfter();
            } else if (dice < 46) {
                onCancel();
            } else if (dice < 58) {
                unregister();
            } else if (dice < 63) {
                cancel();
            } else if (dice < 67) {
                close();
            } else if (dice < 75) {
                await();
            } else if (dice < 80) {
                whenCancelled();
            } else if (dice < 84) {
                anyOf();
            } else if (dice < 88) {
                run();
            } else {
                read();
            }
        }

        /**
         * A target for the next operation, preferring a live token: up to three picks, the first that
         * reads not cancelled (else the last). Without this, most of a round would run on dead
         * subtrees, whose children are born cancelled: cheap, and racing nothing.
         */
        private Node pick() {
            Node node = round.pick(random);
            for (int attempt = 1; attempt < 3 && node.token.isCancelled(); attempt++) {
                node = round.pick(random);
            }
            stats.targets.incrementAndGet();
            if (!node.token.isCancelled()) {
                stats.liveTargets.incrementAndGet();
            }
            return node;
        }

        /**
         * The target of a cancel, close or timer: never the round's root (thread 0 cancels it near the
         * end of the round, see {@link #cancelRoot}), and the root's children are picked again 7 times
         * out of 8, so that each tree stays alive, and raced on, for most of the round. Null if the
         * pick is the root anyway.
         */
        private Node pickToCancel() {
            Node node = pick();
            if (node.depth <= 1 && random.nextInt(8) != 0) {
                node = pick();
            }
            return (node == round.root) ? null : node;
        }

        /** Thread 0 cancels the round's root once, late in the round, while the others keep going. */
        void cancelRoot() {
            Node root = round.root;
            CancellationReason reason = CancellationReason.of(Kind.SHUTDOWN, "root cancel of round " + round.index);
            stats.cancels.incrementAndGet();
            if (root.token.cancel(reason)) {
                root.wins.incrementAndGet();
                root.wonReason = reason;
                stats.cancelsWon.incrementAndGet();
            }
            checkSubtreeCancelled(root, "the root's cancel() returned");
        }

        private void child() {
            Node parent = pick();
            while (parent.depth >= MAX_DEPTH) {
                parent = parent.parent;
            }
            boolean named = random.nextInt(4) == 0;
            CancellationToken token = named ? parent.token.child("n" + id + "-" + messages++) : parent.token.child();
            round.add(new Node(token, parent, null, TimerKind.NONE));
            stats.tokens.incrementAndGet();
        }

        private void timedChild() {
            Node parent = pick();
            while (parent.depth >= MAX_DEPTH) {
                parent = parent.parent;
            }
            boolean shortTimer = random.nextBoolean();
            Duration timeout = shortTimer ? Duration.ofNanos(random.nextLong(2_000_001)) : LONG_TIMER;
            CancellationToken token = parent.token.child(timeout);
            round.add(new Node(token, parent, null, shortTimer ? TimerKind.SHORT : TimerKind.LONG));
            stats.tokens.incrementAndGet();
            stats.timed.incrementAndGet();
        }

        private void cancelAfter() {
            Node node = pickToCancel();
            if (node == null || node.timer != TimerKind.NONE) {
                // A later cancelAfter replaces the timer: a node created with a short timer keeps it, so
                // that the lost-wake-up wait in await() may rely on it firing.
                return;
            }
            boolean shortTimer = random.nextBoolean();
            node.timerSet = true; // before the call: the timer may fire at once
            node.token.cancelAfter(shortTimer ? Duration.ofNanos(random.nextLong(2_000_001)) : LONG_TIMER);
        }

        private void onCancel() {
            Node node = pick();
            Callback callback = new Callback(node, round);
            round.add(callback);
            callback.registration = node.token.onCancel(callback);
            stats.registered.incrementAndGet();
        }

        private void unregister() {
            Callback callback = round.pickCallback(random);
            if (callback == null) {
                return;
            }
            Registration registration = callback.registration;
            if (registration != null && registration.unregister()) {
                callback.prevented.incrementAndGet();
            }
        }

        private void cancel() {
            Node node = pickToCancel();
            if (node == null) {
                return;
            }
            Kind kind = Kind.values()[random.nextInt(Kind.values().length)];
            if (kind == Kind.CLOSED || kind == Kind.TIMEOUT) {
                kind = Kind.MANUAL; // keep CLOSED and TIMEOUT to close() and the timers, so reasons are traceable
            }
            String message = "cancel " + id + "-" + messages++;
            CancellationReason reason = CancellationReason.of(kind, message);
            stats.cancels.incrementAndGet();
            boolean won = node.token.cancel(reason);
            if (won) {
                node.wins.incrementAndGet();
                node.wonReason = reason;
                stats.cancelsWon.incrementAndGet();
            }
            String after = won ? "cancel() returned true" : "cancel() returned false";
            checkSubtreeCancelled(node, after);
            checkNotListedByLiveParent(node, after);
        }

        private void close() {
            Node node = pickToCancel();
            if (node == null) {
                return;
            }
            node.closeCalled = true; // before the call: the reason is readable as soon as its CAS is done
            node.token.close();
            stats.closes.incrementAndGet();
            checkSubtreeCancelled(node, "close() returned");
            checkNotListedByLiveParent(node, "close() returned");
        }

        /**
         * SPEC children(): "never one that was closed, cancelled or collected". (A parent that is
         * being cancelled itself may still hold its list until its canceller detaches it.)
         */
        private void checkNotListedByLiveParent(Node node, String after) {
            Node parent = node.parent;
            if (parent != null && parent.token.children().contains(node.token) && !parent.token.isCancelled()) {
                round.fail(after + " on " + node + ", whose reason is " + node.token.reason().orElse(null)
                        + ", but its live parent " + parent + " still lists it in children()"
                        + (parent.token.children().contains(node.token) ? " (still on a second look)" : " (gone on a second look)"));
            }
        }

        private void await() throws InterruptedException {
            Node node = pick();
            stats.waits.incrementAndGet();
            if (node.timer == TimerKind.SHORT) {
                // Its timer fires within 2 ms unless the token is cancelled before: either way the
                // waiter must be woken. A false return after 30 s is a lost wake-up.
                if (!node.token.await(WAKE_UP_LIMIT)) {
                    round.fail("await(" + WAKE_UP_LIMIT + ") on " + node + " with a 0-2 ms timer returned false: lost wake-up");
                }
                stats.timerWakeUps.incrementAndGet();
                return;
            }
            boolean cancelled = node.token.await(Duration.ofNanos(random.nextLong(20_000)));
            if (cancelled && !node.token.isCancelled()) {
                round.fail("await() returned true but " + node + " reads not cancelled");
            }
        }

        private void whenCancelled() {
            Node node = pick();
            CompletableFuture<CancellationReason> stage = node.token.whenCancelled().toCompletableFuture();
            boolean cancelFromOutside = random.nextInt(4) == 0;
            round.add(new Stage(node, stage, cancelFromOutside));
            if (cancelFromOutside) {
                stage.cancel(false); // must not affect the token; releases the stage's registration
            }
            stats.stages.incrementAndGet();
        }

        private void anyOf() {
            int count = 1 + random.nextInt(3);
            List<Node> sources = new ArrayList<>();
            CancellationToken[] tokens = new CancellationToken[count + 1];
            for (int i = 0; i < count; i++) {
                Node source = round.pickInRootTree(random);
                sources.add(source);
                tokens[i] = source.token;
            }
            tokens[count] = CancellationToken.none(); // ignored by anyOf
            CancellationToken any = CancellationToken.anyOf(tokens);
            round.add(new Node(any, null, sources.toArray(new Node[0]), TimerKind.NONE));
            stats.tokens.incrementAndGet();
            stats.anyOfs.incrementAndGet();
        }

        /**
         * {@code run} with work that parks up to 20 µs (a park returns early on interrupt), so that
         * cancellation often lands while the work runs. Afterwards: no interrupt left on this thread;
         * and SPEC: {@code CancelledException} if and only if the work never ran (token already
         * cancelled), since work that returns normally makes {@code run} return normally.
         */
        private void run() {
            Node node = pick();
            long parkNanos = random.nextLong(20_000);
            boolean[] ran = new boolean[1];
            boolean[] interrupted = new boolean[1];
            boolean threw = false;
            stats.runs.incrementAndGet();
            try {
                node.token.run(() -> {
                    ran[0] = true;
                    LockSupport.parkNanos(parkNanos);
                    interrupted[0] = Thread.currentThread().isInterrupted();
                });
            } catch (CancelledException cancelled) {
                threw = true;
            }
            if (interrupted[0]) {
                stats.runsInterrupted.incrementAndGet();
            }
            if (Thread.interrupted()) {
                round.fail("run() on " + node + " left the interrupt flag set");
            }
            if (threw == ran[0]) {
                round.fail("run() on " + node + (threw ? " threw CancelledException although the work ran and returned"
                        : " neither ran the work nor threw"));
            }
        }

        private void read() {
            Node node = pick();
            if (node.token.isCancelled() && node.token.reason().isEmpty()) {
                round.fail(node + " reads cancelled but has no reason");
            }
        }

        /**
         * SPEC: "When {@code cancel()} returns, every descendant reads as cancelled", whichever call did
         * the cancelling: also a {@code cancel()} that returns false, or a {@code close()} that does
         * nothing, because another thread's cancellation of the same token got there first.
         */
        private void checkSubtreeCancelled(Node node, String after) {
            List<Node> work = new ArrayList<>();
            work.add(node);
            for (int i = 0; i < work.size(); i++) {
                Node n = work.get(i);
                if (!n.token.isCancelled()) {
                    round.fail(after + " on " + node + " but its " + (n == node ? "token itself" : "descendant " + n)
                            + " reads not cancelled");
                    return;
                }
                if (n.token.reason().isEmpty()) {
                    round.fail(n + " reads cancelled but has no reason");
                }
                work.addAll(n.children);
            }
        }
    }

    // ------------------------------------------------------------------ end of round

    /** Cancels the root, drains the timer thread, then checks every record of the round. */
    private static void finishRound(Round round, Stats stats) throws InterruptedException {
        Node root = round.root;
        CancellationReason end = CancellationReason.of(Kind.SHUTDOWN, "end of round " + round.index);
        if (root.token.cancel(end)) {
            root.wins.incrementAndGet();
            root.wonReason = end;
        }
        drainTimerThread(round);

        int nodes = round.nodeCount.get();
        for (int i = 0; i < nodes; i++) {
            Node node = round.nodes.get(i);
            Optional<CancellationReason> reason = node.token.reason();
            if (reason.isEmpty() || !node.token.isCancelled()) {
                round.fail(node + " not cancelled after the root's cancel() returned");
                continue;
            }
            CancellationReason r = reason.get();
            if (node.wins.get() > 1) {
                round.fail(node + ": cancel() returned true " + node.wins.get() + " times");
            }
            if (node.wins.get() == 1 && !sameCancel(r, node.wonReason, node)) {
                round.fail(node + ": its cancel(" + node.wonReason + ") returned true but its reason is " + r);
            }
            if (!explained(node, r)) {
                round.fail(node + " has reason " + r + ", explained by no cancel, close, timer or anyOf source of an "
                        + "ancestor-or-self " + node.lineage());
            }
            if (!node.token.children().isEmpty()) {
                round.fail(node + " is cancelled but still holds children " + node.token.children());
            }
            if (r.kind() == Kind.TIMEOUT && r.origin().equals(node.token.name())) {
                stats.timeouts.incrementAndGet();
            }
        }

        int callbacks = round.callbackCount.get();
        for (int i = 0; i < callbacks; i++) {
            Callback callback = round.callbacks.get(i);
            int fired = callback.fired.get();
            int prevented = callback.prevented.get();
            if (fired + prevented != 1) {
                round.fail("callback on " + callback.node + ": fired " + fired + " times, prevented by unregister() "
                        + prevented + " times (expected exactly one of the two, once)");
            }
            if (fired == 1) {
                Optional<CancellationReason> tokenReason = callback.node.token.reason();
                if (!tokenReason.equals(Optional.ofNullable(callback.got))) {
                    round.fail("callback on " + callback.node + " got " + callback.got + " but the token has " + tokenReason);
                }
            }
            stats.fired.addAndGet(fired);
            stats.prevented.addAndGet(prevented);
        }

        for (Stage stage : round.stages) {
            if (stage.cancelledFromOutside) {
                continue;
            }
            Optional<CancellationReason> tokenReason = stage.node.token.reason();
            if (!stage.future.isDone() || !tokenReason.equals(Optional.ofNullable(stage.future.getNow(null)))) {
                round.fail("whenCancelled() of " + stage.node + " is " + stage.future + ", token has " + tokenReason);
            }
        }
    }

    /**
     * A timer that fired just before the root's cancellation may still be running its token's
     * callbacks on the timer thread. {@code Timers} runs every timer on one thread, in deadline order:
     * a probe timer due now runs after whatever that thread is running, so once the probe has fired,
     * every earlier timer callback has completed.
     */
    private static void drainTimerThread(Round round) throws InterruptedException {
        CancellationToken probe = CancellationToken.create("timer-drain-probe");
        probe.cancelAfter(Duration.ofNanos(1));
        if (!probe.await(WAKE_UP_LIMIT)) {
            round.fail("the timer thread did not run a timer due now within " + WAKE_UP_LIMIT);
        }
    }

    private static boolean explained(Node node, CancellationReason r) {
        for (Node a = node; a != null; a = a.parent) {
            String origin = a.token.name();
            if (a.wonReason != null && sameCancel(r, a.wonReason, a)) {
                return true;
            }
            if (a.closeCalled && r.kind() == Kind.CLOSED && r.origin().equals(origin) && r.message().isEmpty()) {
                return true;
            }
            if ((a.timer != TimerKind.NONE || a.timerSet) && r.kind() == Kind.TIMEOUT && r.origin().equals(origin)) {
                return true;
            }
            if (a.sources != null) {
                for (Node source : a.sources) {
                    if (source.token.reason().equals(Optional.of(r))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** {@code r} is the reason a winning {@code cancel(given)} on {@code node} stored. */
    private static boolean sameCancel(CancellationReason r, CancellationReason given, Node node) {
        return r.kind() == given.kind() && r.message().equals(given.message()) && r.origin().equals(node.token.name());
    }

    // ------------------------------------------------------------------ records

    private enum TimerKind { NONE, SHORT, LONG }

    private static final class Node {
        final CancellationToken token;
        final Node parent;
        final Node[] sources;
        final int depth;
        final boolean inRootTree;
        final TimerKind timer;
        /** Test-side children, for the subtree checks. */
        final ConcurrentLinkedQueue<Node> children = new ConcurrentLinkedQueue<>();
        final AtomicInteger wins = new AtomicInteger();
        volatile CancellationReason wonReason;
        volatile boolean closeCalled;
        volatile boolean timerSet;

        /**
         * @param parent null for the round's root and for an {@code anyOf} (a root of its own)
         * @param sources the sources of an {@code anyOf}, else null
         */
        Node(CancellationToken token, Node parent, Node[] sources, TimerKind timer) {
            this.token = token;
            this.parent = parent;
            this.sources = sources;
            this.timer = timer;
            this.depth = (parent == null) ? 0 : parent.depth + 1;
            this.inRootTree = (parent == null) ? (sources == null) : parent.inRootTree;
            if (parent != null) {
                parent.children.add(this);
            }
        }

        String lineage() {
            StringBuilder sb = new StringBuilder();
            for (Node a = this; a != null; a = a.parent) {
                sb.append(sb.length() == 0 ? "[" : " < ").append(a.describe());
            }
            return sb.append(']').toString();
        }

        private String describe() {
            return token.name() + (wonReason != null ? " won " + wonReason.message().orElse("") : "")
                    + (closeCalled ? " closed" : "") + (timer != TimerKind.NONE || timerSet ? " timed" : "")
                    + (sources != null ? " anyOf" : "");
        }

        @Override
        public String toString() {
            return "token " + token.name() + " (depth " + depth + (sources != null ? ", anyOf" : "") + ")";
        }
    }

    private static final class Callback implements Consumer<CancellationReason> {
        final Node node;
        final Round round;
        final AtomicInteger fired = new AtomicInteger();
        final AtomicInteger prevented = new AtomicInteger();
        volatile Registration registration;
        volatile CancellationReason got;

        Callback(Node node, Round round) {
            this.node = node;
            this.round = round;
        }

        @Override
        public void accept(CancellationReason reason) {
            got = reason;
            fired.incrementAndGet();
            // Callbacks run once the whole subtree is cancelled: the token reports this very reason.
            Optional<CancellationReason> tokenReason = node.token.reason();
            if (!tokenReason.equals(Optional.of(reason))) {
                round.fail("callback on " + node + " got " + reason + " while the token reports " + tokenReason);
            }
        }
    }

    private record Stage(Node node, CompletableFuture<CancellationReason> future, boolean cancelledFromOutside) {
    }

    /** One round: a fresh root and the append-only records of everything the threads did to it. */
    private static final class Round {
        static final int HOT = 16;
        final int index;
        final long seed;
        final int opsPerThread;
        final Node root;
        final AtomicReferenceArray<Node> nodes;
        final AtomicInteger nodeCount = new AtomicInteger();
        final AtomicReferenceArray<Callback> callbacks;
        final AtomicInteger callbackCount = new AtomicInteger();
        final ConcurrentLinkedQueue<Stage> stages = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> failureMessages = new ConcurrentLinkedQueue<>();
        final AtomicInteger failureCount = new AtomicInteger();

        Round(int index, long seed, int opsPerThread) {
            this.index = index;
            this.seed = seed;
            this.opsPerThread = opsPerThread;
            int capacity = THREADS * opsPerThread; // each operation adds at most one node or one callback
            this.nodes = new AtomicReferenceArray<>(capacity + 1);
            this.callbacks = new AtomicReferenceArray<>(capacity);
            this.root = new Node(CancellationToken.create("root-" + index), null, null, TimerKind.NONE);
            add(root);
        }

        void add(Node node) {
            nodes.set(nodeCount.getAndIncrement(), node);
        }

        void add(Callback callback) {
            callbacks.set(callbackCount.getAndIncrement(), callback);
        }

        void add(Stage stage) {
            stages.add(stage);
        }

        /**
         * A random node already published (a slot reserved but not yet written falls back to the root):
         * half the time one of the {@value #HOT} newest, so that the threads collide on the same
         * young, still active tokens.
         */
        Node pick(SplittableRandom random) {
            int count = nodeCount.get();
            int index = (count > HOT && random.nextBoolean()) ? count - 1 - random.nextInt(HOT) : random.nextInt(count);
            Node node = nodes.get(index);
            return (node != null) ? node : root;
        }

        Node pickInRootTree(SplittableRandom random) {
            Node node = pick(random);
            return node.inRootTree ? node : root;
        }

        /** Like {@link #pick}: half the time one of the newest registrations, the likeliest still pending. */
        Callback pickCallback(SplittableRandom random) {
            int count = callbackCount.get();
            if (count == 0) {
                return null;
            }
            int index = (count > HOT && random.nextBoolean()) ? count - 1 - random.nextInt(HOT) : random.nextInt(count);
            return callbacks.get(index);
        }

        void fail(String message) {
            if (failureCount.incrementAndGet() <= MAX_REPORTED_FAILURES) {
                failureMessages.add(message);
            }
        }

        List<String> failures() {
            return new ArrayList<>(failureMessages);
        }
    }

    private static final class Stats {
        final AtomicLong targets = new AtomicLong();
        final AtomicLong liveTargets = new AtomicLong();
        final AtomicLong tokens = new AtomicLong();
        final AtomicLong anyOfs = new AtomicLong();
        final AtomicLong timed = new AtomicLong();
        final AtomicLong registered = new AtomicLong();
        final AtomicLong fired = new AtomicLong();
        final AtomicLong prevented = new AtomicLong();
        final AtomicLong cancels = new AtomicLong();
        final AtomicLong cancelsWon = new AtomicLong();
        final AtomicLong closes = new AtomicLong();
        final AtomicLong timeouts = new AtomicLong();
        final AtomicLong waits = new AtomicLong();
        final AtomicLong timerWakeUps = new AtomicLong();
        final AtomicLong stages = new AtomicLong();
        final AtomicLong runs = new AtomicLong();
        final AtomicLong runsInterrupted = new AtomicLong();
    }

    // ------------------------------------------------------------------ watchdog

    /** Waits at a round barrier; if a round wedges, dumps every thread (JSR166 style) and fails. */
    private static void awaitBarrier(CyclicBarrier barrier, long seed, int round, String which) throws Exception {
        try {
            barrier.await(BARRIER_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException wedged) {
            throw new AssertionError("seed " + seed + ", round " + round + ": the workers did not reach the " + which
                    + " barrier within " + BARRIER_TIMEOUT_SECONDS + " s. Thread dump:\n" + threadDump(), wedged);
        }
    }

    private static String threadDump() {
        StringBuilder sb = new StringBuilder();
        for (ThreadInfo info : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            sb.append(info);
        }
        return sb.toString();
    }

    private static String stackTrace(Throwable failure) {
        java.io.StringWriter out = new java.io.StringWriter();
        failure.printStackTrace(new java.io.PrintWriter(out));
        return out.toString();
    }
}
