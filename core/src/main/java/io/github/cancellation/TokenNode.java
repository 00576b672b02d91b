package io.github.cancellation;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.jspecify.annotations.Nullable;

/**
 * The token tree: every real token is one node. This class is the engine; {@link CancellationToken}
 * is its public face.
 *
 * <h2>Design</h2>
 * A child is <em>linked</em> into its parent (held in the parent's child list) only while it needs to
 * be reached by the parent's cancellation: while it has a callback (waiters, timers and
 * {@code whenCancelled} stages are callbacks too) or a linked child. Other children are not held by
 * their parent at all, so a forgotten one is garbage-collected, and they learn of an ancestor's
 * cancellation by looking up: {@link #isCancelled()} reads the node's own state, then the tree's
 * <em>epoch</em>, a counter that the cancellation of any token that ever had children increments;
 * only when the epoch moved since the node last looked does it walk its ancestors.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li><b>I1 (state).</b> {@link #reason} goes once from {@code null} to a reason, by CAS, and never
 *       changes again. The thread whose CAS succeeds is <em>the canceller</em> of this node and the
 *       only thread that detaches its lists (I3).
 *   <li><b>I2 (links).</b> A node is linked only if its parent is a root, is linked, or is
 *       cancelled. {@link #linked} and a node's sibling pointers are written only while holding the
 *       parent's lock and the node's own lock (after the parent is cancelled: by the parent's
 *       canceller alone, which owns the detached list).
 *   <li><b>I3 (lists).</b> {@link #callbacks} and {@link #firstChild} are read and written under
 *       the node's lock. A thread that adds to them first checks, under the lock, that
 *       {@code reason} is {@code null}; the canceller, after its CAS, either detaches both lists
 *       under the lock or proves them empty without it ({@link #quiet()}: the lock is free and both
 *       lists are empty after the CAS, so any later adder sees the reason). Hence every callback and
 *       every linked child is taken by exactly one canceller, or sees the cancellation itself: no
 *       lost wake-up, no callback run twice.
 *   <li><b>I4 (epoch).</b> A canceller that {@linkplain #childState may have a live descendant}
 *       increments the tree's epoch after its CAS and before {@code cancel()} returns.
 *       {@link #seenEpoch} is only ever set to an epoch value read <em>before</em> a walk that
 *       found no cancelled ancestor. So a node whose {@code seenEpoch} equals the current epoch has
 *       no cancelled ancestor whose {@code cancel()} has returned, and a node that was created
 *       after it read the epoch sees any later cancellation. {@code childState} is written before a
 *       child reads its parent's state (a Dekker handshake with the canceller's CAS-then-read). "May
 *       have a live descendant" is every state but {@link #NO_CHILD} and {@link #ONLY_CHILD_ENDED}:
 *       a token whose one and only child was itself cancelled or closed (by its own
 *       {@code cancel()}/{@code close()}, which moved the epoch first if that child could have
 *       live descendants, and only then marked the parent) has no descendant left to tell. So the
 *       common "invocation with one sub-task" shape, closed bottom-up, never moves the epoch, and
 *       readers elsewhere in the tree keep their one-read check.
 *   <li><b>I5 (locks).</b> Locks are taken parent before child, at most two at a time; callbacks
 *       run with no lock held. The lock is one CAS on {@link #lock}, never a monitor, so no thread
 *       blocks in a monitor (virtual threads are never pinned).
 *   <li><b>I6 (iteration).</b> Cancellation walks the subtree with an explicit work list, and the
 *       ancestor walk is a loop: no recursion anywhere, whatever the depth.
 *   <li><b>I7 (who runs callbacks).</b> Only a node's canceller (I1) runs its callbacks, and a
 *       reader that finds a cancelled ancestor only sets the reason of <em>unlinked</em> nodes on
 *       its path ({@link #adopt}), which hold nothing to run. A linked node whose ancestor is
 *       cancelled reads as cancelled (its walk finds the ancestor) until the ancestor's canceller
 *       reaches it, sets its reason and runs its callbacks; so callbacks always run on the
 *       cancelling thread, before its {@code cancel()} returns.
 *   <li><b>I8 (return of cancel).</b> A {@code cancel()} or {@code close()} that finds the token
 *       already cancelled moves the epoch too ({@link #settle}), so whichever call returns, every descendant then
 *       reads as cancelled.
 * </ol>
 */
final class TokenNode extends CancellationToken {

    /**
     * The reason stored by {@code close()}: its origin is resolved to the closing node when read
     * ({@link #materialize}), so that closing allocates no reason.
     */
    private static final CancellationReason CLOSED_MARK =
            new CancellationReason(CancellationReason.Kind.CLOSED, null, null, "");

    /** {@link #childState}: no child was ever created from this node. */
    private static final byte NO_CHILD = 0;
    /** {@link #childState}: exactly one child was created, and it may be live. */
    private static final byte ONLY_CHILD = 1;
    /** {@link #childState}: exactly one child was created, and its own cancel or close has run. */
    private static final byte ONLY_CHILD_ENDED = 2;
    /** {@link #childState}: more than one child was created. */
    private static final byte MANY_CHILDREN = 3;

    private static final VarHandle REASON;
    private static final VarHandle LOCK;
    private static final VarHandle CHILD_STATE;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            REASON = lookup.findVarHandle(TokenNode.class, "reason", CancellationReason.class);
            LOCK = lookup.findVarHandle(TokenNode.class, "lock", int.class);
            CHILD_STATE = lookup.findVarHandle(TokenNode.class, "childState", byte.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final @Nullable TokenNode parent;
    /** The tree's epoch (I4), shared by every node of one tree. */
    private final AtomicInteger epoch;
    /** Given or generated name; a racy lazy init of a deterministic value. */
    private @Nullable String name;

    /** Null until cancelled (I1). May hold {@link #CLOSED_MARK}. */
    private volatile @Nullable CancellationReason reason;
    /** The last epoch at which a walk found no cancelled ancestor (I4). Racy by design. */
    private int seenEpoch;
    /** 0 free, 1 held (I5). Accessed only through {@link #LOCK}. */
    @SuppressWarnings("unused")
    private int lock;
    /** What this node knows of its children (I4): one of {@link #NO_CHILD} ... {@link #MANY_CHILDREN}. */
    private volatile byte childState;
    /** Whether this node was its parent's first child, created while it had no other (I4). */
    private final boolean onlyChild;
    /** Whether this node is in its parent's child list (I2). */
    private boolean linked;
    private @Nullable TokenNode firstChild;
    private @Nullable TokenNode prevSibling;
    private @Nullable TokenNode nextSibling;
    private @Nullable CallbackNode callbacks;
    /**
     * The deadline set by the latest {@code cancelAfter} (SPEC {@code remaining()}), kept after the
     * timer fired or was released; null on tokens that never had one. Written under the lock (or,
     * for a timer due at once, just before it fires), read without it.
     */
    private volatile Timers.@Nullable Timer timer;

    private TokenNode(@Nullable TokenNode parent, AtomicInteger epoch, @Nullable String name,
            @Nullable CancellationReason reason, int seenEpoch, boolean onlyChild) {
        this.parent = parent;
        this.onlyChild = onlyChild;
        this.epoch = epoch;
        this.name = name;
        this.seenEpoch = seenEpoch;
        if (reason != null) {
            this.reason = reason;
        }
    }

    static TokenNode newRoot(@Nullable String name) {
        return new TokenNode(null, new AtomicInteger(), name, null, 0, false);
    }

    static CancellationToken newAnyOf(CancellationToken[] sources) {
        TokenNode result = newRoot(null);
        List<Registration> registrations = new ArrayList<>(sources.length);
        for (CancellationToken source : sources) {
            if (source == NoneToken.INSTANCE) {
                continue;
            }
            registrations.add(source.onCancel(result::cancel));
            if (result.reason != null) {
                break;
            }
        }
        if (!registrations.isEmpty()) {
            result.onCancel(detached -> registrations.forEach(Registration::unregister));
        }
        return result;
    }

    // ------------------------------------------------------------------ lock (I5)

    private void lock() {
        if (!LOCK.compareAndSet(this, 0, 1)) {
            lockContended();
        }
    }

    private void lockContended() {
        int spins = 0;
        while (!LOCK.compareAndSet(this, 0, 1)) {
            if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    private void unlock() {
        LOCK.setRelease(this, 0);
    }

    // ------------------------------------------------------------------ state

    @Override
    public boolean isCancelled() {
        if (reason != null) {
            return true;
        }
        if (parent == null) {
            return false;
        }
        int e = epoch.get();
        if (e == seenEpoch) {
            return false;
        }
        return cancelledAncestorReason(e, false) != null;
    }

    /**
     * Walks the ancestors (I6) for a cancelled one and returns its reason; unlinked nodes on the way
     * adopt it, so that their next check is one read (I7). If none is cancelled, records {@code e},
     * read before the walk (I4), and returns null.
     *
     * <p>With {@code adoptFromParent} false (a mere check), a node whose own parent is the cancelled
     * one adopts nothing and gets the parent's stored reason as is: its next check finds the parent
     * in one step anyway, and a flat fan-out of children polled once each after their parent's
     * cancel then costs one read each, not a lock, a CAS and a reason each.
     */
    private @Nullable CancellationReason cancelledAncestorReason(int e, boolean adoptFromParent) {
        for (TokenNode a = parent; a != null; a = a.parent) {
            CancellationReason r = a.reason;
            if (r != null) {
                if (a == parent && !adoptFromParent) {
                    return r;
                }
                CancellationReason inherited = a.materialize(r);
                for (TokenNode n = this; n != a; n = n.parent) {
                    n.adopt(inherited);
                }
                return inherited;
            }
        }
        seenEpoch = e;
        return null;
    }

    /**
     * Takes an ancestor's reason if this node is unlinked (I7): an unlinked node holds no callback
     * and no linked child (I2, I3), so there is nothing to run. A linked node is left to the
     * ancestor's canceller, which will reach it and run its callbacks before its {@code cancel()}
     * returns.
     */
    private void adopt(CancellationReason inherited) {
        if (reason != null) {
            return;
        }
        lock();
        if (!linked) {
            REASON.compareAndSet(this, null, inherited);
        }
        unlock();
    }

    private CancellationReason materialize(CancellationReason stored) {
        return (stored == CLOSED_MARK)
                ? new CancellationReason(CancellationReason.Kind.CLOSED, null, null, this)
                : stored;
    }

    @Override
    public Optional<CancellationReason> reason() {
        CancellationReason r = reason;
        if (r != null) {
            return Optional.of(materialize(r));
        }
        if (!isCancelled()) {
            return Optional.empty();
        }
        r = reason;
        if (r != null) {
            return Optional.of(materialize(r));
        }
        // Cancelled through an ancestor whose canceller has not reached this linked node yet (I7).
        CancellationReason inherited = cancelledAncestorReason(epoch.get(), true);
        r = reason;
        return Optional.of((r != null) ? materialize(r) : Objects.requireNonNull(inherited));
    }

    @Override
    public boolean cancel(CancellationReason reason) {
        Objects.requireNonNull(reason, "reason must not be null");
        if (!isCancelled() && cancelInternal(reason.stampedBy(this))) {
            return true;
        }
        settle();
        return false;
    }

    /**
     * A {@code cancel()} or {@code close()} that lost (the token was cancelled already, maybe by a
     * call still under way) must not return before every descendant reads as cancelled either: moving the epoch after
     * seeing the reason makes every descendant that has not looked since walk up and find it (I4).
     */
    private void settle() {
        if (mayHaveLiveDescendants()) {
            epoch.incrementAndGet();
        }
    }

    /** Whether a descendant could still read "not cancelled" from its own state (I4). */
    private boolean mayHaveLiveDescendants() {
        byte state = childState;
        return state == ONLY_CHILD || state == MANY_CHILDREN;
    }

    @Override
    public void close() {
        if (isCancelled() || !cancelInternal(CLOSED_MARK)) {
            settle();
        }
    }

    /**
     * Cancels this node with {@code r} (already stamped) if no one did before (I1): moves the epoch
     * (I4), then cancels the linked subtree and runs every detached callback.
     */
    private boolean cancelInternal(CancellationReason r) {
        if (!REASON.compareAndSet(this, null, r)) {
            return false;
        }
        if (mayHaveLiveDescendants()) {
            epoch.incrementAndGet();
        }
        if (onlyChild && parent != null) {
            // After the epoch (I4): the parent may now skip it, this node's descendants being told.
            CHILD_STATE.compareAndSet(parent, ONLY_CHILD, ONLY_CHILD_ENDED);
        }
        if (!quiet()) {
            propagate(r);
        }
        return true;
    }

    /**
     * After this thread's CAS of {@code reason}: true if nothing is registered and no one is
     * registering, so there is nothing to detach (I3). A registrant that takes the lock after this
     * read sees the reason; one that released it before is seen through the lists.
     */
    private boolean quiet() {
        return (int) LOCK.getVolatile(this) == 0 && callbacks == null && firstChild == null && !linked;
    }

    /**
     * The canceller's part (I3, I6): detaches this node's lists, leaves the parent's list, then
     * cancels every linked descendant breadth-first with the same reason; runs all callbacks last,
     * with no lock held, so that they see the whole subtree cancelled.
     */
    private void propagate(CancellationReason stored) {
        lock();
        CallbackNode ownCallbacks = callbacks;
        TokenNode kids = firstChild;
        callbacks = null;
        firstChild = null;
        boolean wasLinked = linked;
        unlock();
        if (wasLinked) {
            leaveParent();
        }
        if (ownCallbacks == null && kids == null) {
            return;
        }
        CancellationReason r = materialize(stored);
        List<CallbackNode> toRun = null;
        ArrayDeque<TokenNode> chains = null;
        for (TokenNode chain = kids; chain != null; chain = (chains == null) ? null : chains.poll()) {
            for (TokenNode kid = chain; kid != null; ) {
                TokenNode next = kid.nextSibling;
                kid.nextSibling = null;
                kid.prevSibling = null;
                if (REASON.compareAndSet(kid, null, r)) {
                    kid.lock();
                    CallbackNode kidCallbacks = kid.callbacks;
                    TokenNode grandKids = kid.firstChild;
                    kid.callbacks = null;
                    kid.firstChild = null;
                    kid.linked = false;
                    kid.unlock();
                    if (kidCallbacks != null) {
                        if (toRun == null) {
                            toRun = new ArrayList<>();
                        }
                        toRun.add(kidCallbacks);
                    }
                    if (grandKids != null) {
                        if (chains == null) {
                            chains = new ArrayDeque<>();
                        }
                        chains.add(grandKids);
                    }
                }
                kid = next;
            }
        }
        if (ownCallbacks != null) {
            runAll(ownCallbacks, r);
        }
        if (toRun != null) {
            for (CallbackNode list : toRun) {
                runAll(list, r);
            }
        }
    }

    private static void runAll(CallbackNode list, CancellationReason r) {
        for (CallbackNode node = list; node != null; ) {
            CallbackNode next = node.next;
            Consumer<CancellationReason> callback = node.callback;
            node.callback = null;
            node.next = null;
            node.prev = null;
            if (callback != null) {
                runCallback(callback, r);
            }
            node = next;
        }
    }

    static void runCallback(Consumer<CancellationReason> callback, CancellationReason r) {
        try {
            callback.accept(r);
        } catch (Throwable failure) {
            report(failure);
        }
    }

    /** The reporting hook of SPEC: the running thread's uncaught-exception handler, once. */
    private static void report(Throwable failure) {
        Thread thread = Thread.currentThread();
        try {
            thread.getUncaughtExceptionHandler().uncaughtException(thread, failure);
        } catch (Throwable handlerFailure) {
            // The handler itself failed: stderr is the last place left to report both.
            handlerFailure.addSuppressed(failure);
            handlerFailure.printStackTrace();
        }
    }

    // ------------------------------------------------------------------ links (I2)

    /** Removes this cancelled node from its parent's list unless the parent's canceller owns it. */
    private void leaveParent() {
        tryUnlink(this);
    }

    /**
     * Unlinks {@code start} if it is linked and holds nothing, then each ancestor that became empty
     * by that, iteratively.
     */
    private static void tryUnlink(TokenNode start) {
        for (TokenNode node = start; ; ) {
            TokenNode p = node.parent;
            if (p == null) {
                return;
            }
            boolean removed = false;
            p.lock();
            node.lock();
            if (node.linked && p.reason == null && node.callbacks == null && node.firstChild == null) {
                p.removeChild(node);
                node.linked = false;
                removed = true;
            }
            node.unlock();
            p.unlock();
            if (!removed) {
                return;
            }
            node = p;
        }
    }

    /** Unlinks {@code kid} from this node's list; holds this node's lock and the kid's. */
    private void removeChild(TokenNode kid) {
        TokenNode prev = kid.prevSibling;
        TokenNode next = kid.nextSibling;
        if (prev != null) {
            prev.nextSibling = next;
        } else {
            firstChild = next;
        }
        if (next != null) {
            next.prevSibling = prev;
        }
        kid.prevSibling = null;
        kid.nextSibling = null;
    }

    /** Puts {@code kid} first in this node's list; holds this node's lock and the kid's. */
    private void addChild(TokenNode kid) {
        TokenNode first = firstChild;
        kid.prevSibling = null;
        kid.nextSibling = first;
        if (first != null) {
            first.prevSibling = kid;
        }
        firstChild = kid;
    }

    private static final int LINKED = 0;
    private static final int CANCELLED = 1;
    private static final int RETRY = 2;

    /**
     * Links this node into its parent, ancestors first (I2), or leaves it cancelled when an ancestor
     * turns out to be. Goals: no recursion (I6); at most two locks held; tolerate concurrent
     * unlinking of an ancestor by retrying.
     */
    private void linkUp() {
        for (;;) {
            // The unlinked stretch from this node up to the first ancestor that is a root, linked or
            // cancelled (racy reads: linkOne re-checks under the locks).
            TokenNode top = this;
            List<TokenNode> stretch = null;
            for (TokenNode p = parent; p != null && p.parent != null && !p.linked && p.reason == null; p = p.parent) {
                if (stretch == null) {
                    stretch = new ArrayList<>();
                    stretch.add(this);
                }
                stretch.add(p);
                top = p;
            }
            int outcome;
            if (stretch == null) {
                outcome = linkOne(top);
            } else {
                outcome = LINKED;
                for (int i = stretch.size() - 1; i >= 0 && outcome == LINKED; i--) {
                    outcome = linkOne(stretch.get(i));
                }
            }
            if (outcome == CANCELLED) {
                if (reason == null) {
                    cancelledAncestorReason(epoch.get(), true);
                }
                return;
            }
            if (outcome == LINKED) {
                return;
            }
        }
    }

    /**
     * Links {@code node} into its parent if the parent is a root or linked; adopts the parent's
     * reason if it is cancelled; asks for a retry if the parent was unlinked meanwhile.
     */
    private static int linkOne(TokenNode node) {
        TokenNode p = Objects.requireNonNull(node.parent);
        p.lock();
        CancellationReason pr = p.reason;
        if (pr != null) {
            p.unlock();
            node.adopt(p.materialize(pr));
            return CANCELLED;
        }
        if (p.parent != null && !p.linked) {
            p.unlock();
            return RETRY;
        }
        node.lock();
        boolean cancelled = node.reason != null;
        if (!cancelled && !node.linked) {
            p.addChild(node);
            node.linked = true;
        }
        node.unlock();
        p.unlock();
        return cancelled ? CANCELLED : LINKED;
    }

    // ------------------------------------------------------------------ callbacks

    @Override
    public Registration onCancel(Consumer<CancellationReason> callback) {
        Objects.requireNonNull(callback, "callback must not be null");
        CallbackNode node = new CallbackNode(this, callback);
        if (attach(node, false)) {
            return node;
        }
        runCallback(callback, cancelledReason());
        return CallbackNode.ALREADY_RAN;
    }

    /**
     * Adds {@code node} to this token's callbacks, linking the token first (I2, I3). Returns false if
     * the token is cancelled, in which case the node was not added.
     *
     * @param replaceTimers whether to remove the timers registered before (they are released)
     */
    private boolean attach(CallbackNode node, boolean replaceTimers) {
        if (isCancelled()) {
            return false;
        }
        for (;;) {
            lock();
            if (reason != null) {
                unlock();
                return false;
            }
            if (parent == null || linked) {
                CallbackNode replaced = null;
                if (replaceTimers) {
                    replaced = removeTimers();
                    timer = (Timers.Timer) node.callback;
                }
                CallbackNode first = callbacks;
                node.next = first;
                if (first != null) {
                    first.prev = node;
                }
                callbacks = node;
                unlock();
                for (CallbackNode old = replaced; old != null; old = old.next) {
                    ((Timers.Timer) Objects.requireNonNull(old.callback)).release();
                    old.callback = null;
                }
                return true;
            }
            unlock();
            linkUp();
        }
    }

    /** Under the lock: unlinks the timer callbacks and returns them as a chain. */
    private @Nullable CallbackNode removeTimers() {
        CallbackNode removed = null;
        for (CallbackNode node = callbacks; node != null; ) {
            CallbackNode next = node.next;
            if (node.callback instanceof Timers.Timer) {
                unlinkCallback(node);
                node.next = removed;
                removed = node;
            }
            node = next;
        }
        return removed;
    }

    private void unlinkCallback(CallbackNode node) {
        CallbackNode prev = node.prev;
        CallbackNode next = node.next;
        if (prev != null) {
            prev.next = next;
        } else {
            callbacks = next;
        }
        if (next != null) {
            next.prev = prev;
        }
        node.prev = null;
        node.next = null;
        node.removed = true;
    }

    /** {@link Registration#unregister()} of a callback of this token. */
    boolean unregister(CallbackNode node) {
        lock();
        if (reason != null || node.removed) {
            // Cancelled: the canceller has taken (or will take) the node and runs it (I3).
            unlock();
            return false;
        }
        unlinkCallback(node);
        node.callback = null;
        boolean empty = linked && callbacks == null && firstChild == null;
        unlock();
        if (empty) {
            tryUnlink(this);
        }
        return true;
    }

    // ------------------------------------------------------------------ children

    @Override
    public CancellationToken child() {
        return newChild(null);
    }

    @Override
    public CancellationToken child(String name) {
        return newChild(Objects.requireNonNull(name, "name must not be null"));
    }

    private TokenNode newChild(@Nullable String childName) {
        // Written before this node's state is read below (I4); the first child only by CAS, so
        // that of two first children created at once, one is the only child and the other makes many.
        boolean only = false;
        byte state = childState;
        if (state == NO_CHILD) {
            only = CHILD_STATE.compareAndSet(this, NO_CHILD, ONLY_CHILD);
            if (!only) {
                childState = MANY_CHILDREN;
            }
        } else if (state != MANY_CHILDREN) {
            childState = MANY_CHILDREN;
        }
        int e = epoch.get();
        if (isCancelled()) {
            return new TokenNode(this, epoch, childName, cancelledReason(), e, only);
        }
        return new TokenNode(this, epoch, childName, null, e, only);
    }

    @Override
    public void cancelAfter(Duration delay) {
        Objects.requireNonNull(delay, "delay must not be null");
        if (isCancelled()) {
            return;
        }
        long nanos = saturatedNanos(delay);
        Timers.Timer t = new Timers.Timer(this, delay, nanos);
        if (nanos <= 0) {
            timer = t;
            t.run();
            return;
        }
        t.start(nanos);
        if (!attach(new CallbackNode(this, t), true)) {
            t.release();
        }
    }

    @Override
    public Optional<Duration> remaining() {
        Timers.Timer earliest = null;
        for (TokenNode n = this; n != null; n = n.parent) {
            Timers.Timer t = n.timer;
            if (t != null && (earliest == null || t.deadline() - earliest.deadline() < 0)) {
                earliest = t;
            }
        }
        if (earliest == null) {
            return Optional.empty();
        }
        return Optional.of(Duration.ofNanos(Math.max(0L, earliest.deadline() - System.nanoTime())));
    }

    // ------------------------------------------------------------------ introspection

    @Override
    public String name() {
        String n = name;
        if (n == null) {
            n = "token-" + Integer.toHexString(System.identityHashCode(this));
            name = n;
        }
        return n;
    }

    @Override
    public Optional<CancellationToken> parent() {
        return Optional.ofNullable(parent);
    }

    @Override
    public List<CancellationToken> children() {
        if (isCancelled()) {
            return List.of();
        }
        List<CancellationToken> snapshot = new ArrayList<>();
        lock();
        for (TokenNode kid = firstChild; kid != null; kid = kid.nextSibling) {
            // A kid cancelled by its own canceller stays listed until that canceller unlinks it.
            if (kid.reason == null) {
                snapshot.add(kid);
            }
        }
        unlock();
        return Collections.unmodifiableList(snapshot);
    }
}
