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
 * cancellation by looking up.
 *
 * <p>Looking up is made cheap by <em>generations</em>. A node's {@link #state} is one reference to a
 * {@link State}: either a generation of the tree, meaning "when this generation was current, no
 * ancestor of mine was cancelled", or a verdict, meaning "cancelled, with this reason". A canceller
 * that may have a descendant still reading "live" <em>retires</em> the tree's current generation:
 * it sets the generation's one volatile flag, {@link State#stale}, which every node that verified at
 * that generation shares. So {@link #isCancelled()} on an unchanged token is two loads (the state,
 * then its flag); a verdict is always stale; only a node whose generation was retired walks its
 * ancestors, and then records the generation it read before the walk.
 *
 * <p>A root that many threads link children into (the application token, a request's parent) would
 * make them all spin on its one lock. So the first linker that finds a root's lock taken
 * <em>inflates</em> it into a few <em>stripes</em>, padded child lists with a lock each; from then on
 * every linker takes a free stripe, its own first, and the root's canceller seals and drains them all
 * (I2s). A node that is not a root never inflates: it is rarely contended, and it may leave its own
 * parent's list, which a stripe's owner never does.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li><b>I1 (state).</b> {@link #state} goes from generation to generation (a reader that verified)
 *       and once, by CAS, to a verdict, which never changes again. The thread whose CAS sets the
 *       verdict is <em>the canceller</em> of this node and the only thread that detaches its lists (I3).
 *   <li><b>I2 (links).</b> A node is linked only if its parent is a root, is linked, or is
 *       cancelled. {@link #linked} and a node's sibling pointers are written only while holding the
 *       lock of the parent's list that holds it and the node's own lock (after the parent is
 *       cancelled: by the parent's canceller alone, which owns the detached list).
 *   <li><b>I2s (stripes).</b> Only a root inflates, once, by CAS, and keeps its stripes. For a
 *       child in a stripe, the stripe's lock stands for the parent's lock in I2, I3 and I5:
 *       {@link #linked} says which list holds the child, and the root's canceller takes each
 *       stripe's lock after its CAS and detaches the stripe's list, as it does its own.
 *   <li><b>I3 (lists).</b> {@link #callbacks} and {@link #firstChild} are read and written under
 *       the node's lock. A thread that adds to them first checks, under the lock, that the node is
 *       not cancelled; the canceller, after its CAS, either detaches both lists under the lock or
 *       proves them empty without it ({@link #quiet()}: the lock is free and both lists are empty
 *       after the CAS, so any later adder sees the verdict). Hence every callback and every linked
 *       child is taken by exactly one canceller, or sees the cancellation itself: no lost wake-up, no
 *       callback run twice.
 *   <li><b>I4a (generation rule).</b> A canceller that {@linkplain #mayHaveLiveDescendants may have a
 *       live descendant} retires the tree's current generation after its CAS and before
 *       {@code cancel()} returns ({@link #retire}: flag first, then a new current one, so every
 *       generation older than the current one is stale). A node records a generation only if it read
 *       it as current <em>before</em> a walk that found no cancelled ancestor (a new child: before its
 *       parent's check). So a node whose generation is not stale has no cancelled ancestor whose
 *       {@code cancel()} has returned. {@link #childState} is written before a child reads its
 *       parent's state (a Dekker handshake with the canceller's CAS-then-read).
 *   <li><b>I4b (only-child rule).</b> "May have a live descendant" is every {@code childState} but
 *       {@link #NO_CHILD} and {@link #ONLY_CHILD_ENDED}: a token whose one and only child was itself
 *       cancelled or closed (by its own {@code cancel()}/{@code close()}, which retired the generation
 *       first if that child could have live descendants, and only then marked the parent) has no
 *       descendant left to tell. So the common "invocation with one sub-task" shape, closed
 *       bottom-up, never retires a generation, and readers elsewhere keep their two-load check.
 *   <li><b>I5 (locks).</b> Locks are taken parent before child (a stripe counts as its root), at
 *       most two at a time; callbacks run with no lock held. The lock is one CAS on {@link #lock}, never a monitor, so no thread
 *       blocks in a monitor (virtual threads are never pinned).
 *   <li><b>I6 (iteration).</b> Cancellation walks the subtree with an explicit work list, and the
 *       ancestor walk is a loop: no recursion anywhere, whatever the depth.
 *   <li><b>I7 (who runs callbacks).</b> Only a node's canceller (I1) runs its callbacks, and a
 *       reader that finds a cancelled ancestor only sets the verdict of <em>unlinked</em> nodes on
 *       its path ({@link #adopt}), which hold nothing to run. A linked node whose ancestor is
 *       cancelled reads as cancelled (its walk finds the ancestor) until the ancestor's canceller
 *       reaches it, sets its verdict and runs its callbacks; so callbacks always run on the
 *       cancelling thread, before its {@code cancel()} returns.
 *   <li><b>I8 (return of cancel).</b> A {@code cancel()} or {@code close()} that finds the token
 *       already cancelled retires the generation too ({@link #settle}), so whichever call returns,
 *       every descendant then reads as cancelled.
 * </ol>
 */
final class TokenNode extends CancellationToken {

    /**
     * The reason stored by {@code close()}: its origin is resolved to the closing node when read
     * ({@link #materialize}), so that closing allocates no reason.
     */
    private static final CancellationReason CLOSED_MARK =
            new CancellationReason(CancellationReason.Kind.CLOSED, null, null, "");

    /*
     * childState (I4a, I4b). Written without the lock: the first child by CAS, the others by plain
     * volatile writes; the only child's end by CAS on its parent.
     *
     *   NO_CHILD --first child (CAS wins)--> ONLY_CHILD --its own cancel/close, after I4a (CAS)--> ONLY_CHILD_ENDED
     *      |                                    |                                                      |
     *      +--first child, CAS lost--> MANY_CHILDREN <--another child------+--------another child-----+
     *
     * MANY_CHILDREN is final. Every state but NO_CHILD and ONLY_CHILD_ENDED may have a live descendant.
     */
    /** {@link #childState}: no child was ever created from this node. */
    private static final byte NO_CHILD = 0;
    /** {@link #childState}: exactly one child was created, and it may be live. */
    private static final byte ONLY_CHILD = 1;
    /** {@link #childState}: exactly one child was created, and its own cancel or close has run. */
    private static final byte ONLY_CHILD_ENDED = 2;
    /** {@link #childState}: more than one child was created. */
    private static final byte MANY_CHILDREN = 3;

    private static final VarHandle STATE;
    private static final VarHandle LOCK;
    private static final VarHandle CHILD_STATE;
    private static final VarHandle STALE;
    private static final VarHandle CURRENT;
    private static final VarHandle EXTRA;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            STATE = lookup.findVarHandle(TokenNode.class, "state", State.class);
            LOCK = lookup.findVarHandle(TokenNode.class, "lock", int.class);
            CHILD_STATE = lookup.findVarHandle(TokenNode.class, "childState", byte.class);
            STALE = lookup.findVarHandle(State.class, "stale", boolean.class);
            EXTRA = lookup.findVarHandle(TokenNode.class, "extra", Object.class);
            CURRENT = lookup.findVarHandle(Tree.class, "current", State.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * What {@link #state} points to: a <em>generation</em> ({@code reason} null) or a
     * <em>verdict</em> ({@code reason} set). Immutable but for {@link #stale}.
     *
     * <pre>
     *   generation:  fresh --retire (the tree's canceller, I4a)--> stale      (final)
     *   verdict:     stale from birth                                         (final)
     * </pre>
     *
     * One generation is shared by every node that verified while it was current; one verdict by
     * every node cancelled through the same ancestor (the {@code close()} verdict of a tree by every
     * node of it closed by its own {@code close()}).
     */
    static final class State {
        final Tree tree;
        /** Null for a generation; the reason (maybe {@link #CLOSED_MARK}) for a verdict. */
        final @Nullable CancellationReason reason;
        /** Set once: when the generation is retired; from birth for a verdict. */
        volatile boolean stale;

        State(Tree tree, @Nullable CancellationReason reason) {
            this.tree = tree;
            this.reason = reason;
            if (reason != null) {
                STALE.set(this, true); // published with the verdict, by the CAS that installs it
            }
        }
    }

    /** What the nodes of one tree share: the current generation (I4a) and the close verdict. */
    static final class Tree {
        /** The generation that verifications record now; replaced by {@link #retire}. */
        volatile State current;
        /** The verdict of a node closed by its own {@code close()}: closing allocates nothing. */
        final State closed;

        Tree() {
            current = new State(this, null);
            closed = new State(this, CLOSED_MARK);
        }
    }

    /** The rarely used part of a node: see {@link #extra}. */
    static final class Rare {
        /** The name given at creation, or null for a generated one. */
        final @Nullable String name;
        /** The deadline set by the latest {@code cancelAfter}, kept after it fired or was released. */
        volatile Timers.@Nullable Timer timer;
        /** A contended root's child list stripes (I2s): set once, by CAS, never removed. */
        volatile Stripe @Nullable [] stripes;

        Rare(@Nullable String name) {
            this.name = name;
        }
    }

    private final @Nullable TokenNode parent;

    /**
     * A generation or the verdict (I1). Written only by CAS (or in the constructor):
     *
     * <pre>
     *   generation g --verify: a walk found no cancelled ancestor (CAS g -> current)--> generation g'
     *   generation g --cancel, close, adopt, the ancestor's canceller (CAS)-----------> verdict   (final)
     * </pre>
     *
     * A root starts with a generation of its own that is never retired: only its own cancellation
     * changes its state.
     */
    private volatile State state;
    /** 0 free, 1 held (I5). Accessed only through {@link #LOCK}. */
    @SuppressWarnings("unused")
    private int lock;
    /** What this node knows of its children (I4a, I4b): see the diagram above {@link #NO_CHILD}. */
    private volatile byte childState;
    /** Whether this node was its parent's first child, created while it had no other (I4b). */
    private final boolean onlyChild;
    /**
     * Which child list of its parent holds this node (I2): {@link #NOT_LINKED}, {@link #IN_PARENT}
     * or, below a contended root, {@link #IN_STRIPE} + the stripe's index.
     *
     * <pre>
     *   NOT_LINKED --linkOne (list lock + own lock)--> IN_PARENT or IN_STRIPE+k
     *   IN_PARENT or IN_STRIPE+k --tryUnlink, propagate (list lock + own lock), or the parent's canceller--> NOT_LINKED
     * </pre>
     */
    private byte linked;
    private @Nullable TokenNode firstChild;
    private @Nullable TokenNode prevSibling;
    private @Nullable TokenNode nextSibling;
    private @Nullable CallbackNode callbacks;
    /**
     * The rarely used part, so that a plain token pays nothing for it: null, or the name given at
     * creation (a {@code String}), until the token gets a deadline (SPEC {@code remaining()}); from
     * then on a {@link Rare} that carries the name and the timer:
     *
     * <pre>
     *   null or name --first cancelAfter, or a root's inflation (CAS)--> Rare   (final)
     * </pre>
     */
    private volatile @Nullable Object extra;

    private TokenNode(@Nullable TokenNode parent, State state, @Nullable String name, boolean onlyChild) {
        this.parent = parent;
        this.onlyChild = onlyChild;
        // Plain stores: a volatile store here would cost every child() a full fence. The node reaches
        // other threads through whatever hands it over (a happens-before edge), as any object does;
        // the release fence keeps even a racy handover from showing these fields unset.
        EXTRA.set(this, name);
        STATE.set(this, state);
        VarHandle.releaseFence();
    }

    static TokenNode newRoot(@Nullable String name) {
        return new TokenNode(null, new State(new Tree(), null), name, false);
    }

    static CancellationToken newAnyOf(CancellationToken[] sources) {
        TokenNode result = newRoot(null);
        List<Registration> registrations = new ArrayList<>(sources.length);
        for (CancellationToken source : sources) {
            if (source == NoneToken.INSTANCE) {
                continue;
            }
            registrations.add(source.onCancel(result::cancel));
            if (result.cancelled()) {
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

    // ------------------------------------------------------------------ state (I1, I4a)

    /** Whether this node holds a verdict of its own (not: whether an ancestor is cancelled). */
    private boolean cancelled() {
        return state.reason != null;
    }

    @Override
    public boolean isCancelled() {
        State s = state;
        return s.stale && isCancelledSlow(s);
    }

    /** The check once the generation {@code s} was retired, or {@code s} is a verdict. */
    private boolean isCancelledSlow(State s) {
        return s.reason != null || cancelledAncestorReason(s, false) != null;
    }

    /**
     * Walks the ancestors (I6) for a cancelled one and returns its reason; unlinked nodes on the way
     * adopt it, so that their next check is short (I7). If none is cancelled, records the generation
     * that was current before the walk (I4a), unless the state changed from {@code seen} meanwhile,
     * and returns null.
     *
     * <p>With {@code adoptFromParent} false (a mere check), a node whose own parent is the cancelled
     * one adopts nothing and gets the parent's stored reason as is: its next check finds the parent
     * in one step anyway, and a flat fan-out of children polled once each after their parent's
     * cancel then costs a few loads each, not a lock, a CAS and a reason each.
     */
    private @Nullable CancellationReason cancelledAncestorReason(State seen, boolean adoptFromParent) {
        State current = seen.tree.current;
        for (TokenNode a = parent; a != null; a = a.parent) {
            State as = a.state;
            if (as.reason != null) {
                if (a == parent && !adoptFromParent) {
                    return as.reason;
                }
                State inherited = a.verdictForDescendants(as);
                for (TokenNode n = this; n != a; n = n.parent) {
                    n.adopt(inherited);
                }
                return inherited.reason;
            }
        }
        if (seen.reason == null && parent != null) {
            // A root keeps its own generation: it is never retired (see #state).
            STATE.compareAndSet(this, seen, current);
        }
        return null;
    }

    /** The verdict a descendant of this cancelled node takes: {@code own}, with a close resolved to this node. */
    private State verdictForDescendants(State own) {
        return (own.reason == CLOSED_MARK) ? new State(own.tree, materialize(CLOSED_MARK)) : own;
    }

    /**
     * Takes an ancestor's verdict if this node is unlinked (I7): an unlinked node holds no callback
     * and no linked child (I2, I3), so there is nothing to run. A linked node is left to the
     * ancestor's canceller, which will reach it and run its callbacks before its {@code cancel()}
     * returns.
     */
    private void adopt(State inherited) {
        if (cancelled()) {
            return;
        }
        lock();
        if (linked == NOT_LINKED) {
            setVerdict(inherited);
        }
        unlock();
    }

    /** I1: installs {@code verdict} unless the node has one; true if this call did. */
    private boolean setVerdict(State verdict) {
        for (;;) {
            State s = state;
            if (s.reason != null) {
                return false;
            }
            if (STATE.compareAndSet(this, s, verdict)) {
                return true;
            }
            // A reader recorded a newer generation meanwhile: try again.
        }
    }

    private CancellationReason materialize(CancellationReason stored) {
        return (stored == CLOSED_MARK)
                ? new CancellationReason(CancellationReason.Kind.CLOSED, null, null, this)
                : stored;
    }

    @Override
    public Optional<CancellationReason> reason() {
        State s = state;
        if (s.reason != null) {
            return Optional.of(materialize(s.reason));
        }
        if (!isCancelled()) {
            return Optional.empty();
        }
        s = state;
        if (s.reason != null) {
            return Optional.of(materialize(s.reason));
        }
        // Cancelled through an ancestor whose canceller has not reached this linked node yet (I7).
        CancellationReason inherited = cancelledAncestorReason(s, true);
        s = state;
        return Optional.of((s.reason != null) ? materialize(s.reason) : Objects.requireNonNull(inherited));
    }

    @Override
    public boolean cancel(CancellationReason reason) {
        Objects.requireNonNull(reason, "reason must not be null");
        if (!isCancelled() && cancelInternal(new State(state.tree, reason.stampedBy(this)))) {
            return true;
        }
        settle();
        return false;
    }

    @Override
    public void close() {
        if (isCancelled() || !cancelInternal(state.tree.closed)) {
            settle();
        }
    }

    /**
     * A {@code cancel()} or {@code close()} that lost (the token was cancelled already, maybe by a
     * call still under way) must not return before every descendant reads as cancelled either:
     * retiring the generation after seeing the verdict makes every descendant that has not looked
     * since walk up and find it (I8, I4a).
     */
    private void settle() {
        if (mayHaveLiveDescendants()) {
            retire(state.tree);
        }
    }

    /** Whether a descendant could still read "not cancelled" from its own state (I4a, I4b). */
    private boolean mayHaveLiveDescendants() {
        byte cs = childState;
        return cs == ONLY_CHILD || cs == MANY_CHILDREN;
    }

    /**
     * I4a: retires the tree's current generation. The flag is set before the generation is replaced,
     * so that every generation older than the current one is stale; of two racing retirements, one
     * replaces it and both have set the flag before they return.
     */
    private static void retire(Tree tree) {
        State g = tree.current;
        g.stale = true;
        CURRENT.compareAndSet(tree, g, new State(tree, null));
    }

    /**
     * Cancels this node with {@code verdict} if no one did before (I1): retires the generation
     * (I4a), releases the parent of an only child (I4b), then cancels the linked subtree and runs
     * every detached callback.
     */
    private boolean cancelInternal(State verdict) {
        if (!setVerdict(verdict)) {
            return false;
        }
        if (mayHaveLiveDescendants()) {
            retire(verdict.tree);
        }
        if (onlyChild && parent != null) {
            // After I4a: the parent may now skip it, this node's descendants being told (I4b).
            CHILD_STATE.compareAndSet(parent, ONLY_CHILD, ONLY_CHILD_ENDED);
        }
        if (!quiet()) {
            propagate(verdict);
        }
        return true;
    }

    /**
     * After this thread's CAS of the verdict: true if nothing is registered and no one is
     * registering, so there is nothing to detach (I3). A registrant that takes the lock after this
     * read sees the verdict; one that released it before is seen through the lists.
     */
    private boolean quiet() {
        return (int) LOCK.getVolatile(this) == 0 && callbacks == null && firstChild == null && linked == NOT_LINKED
                && stripes() == null;
    }

    /**
     * The canceller's part (I3, I6): detaches this node's lists and, in the same pass (the parent's
     * list lock first, I5), leaves the parent's list; drains a root's stripes (I2s); then cancels
     * every linked descendant breadth-first with the same verdict ({@link #reachLinkedChild}); runs
     * all callbacks last, with no lock held, so that they see the whole subtree cancelled.
     */
    private void propagate(State own) {
        TokenNode p = parent;
        byte where = linked; // a hint: re-checked under both locks (I2)
        if (where != NOT_LINKED) {
            Objects.requireNonNull(p).lockList(where);
        }
        lock();
        CallbackNode ownCallbacks = callbacks;
        TokenNode kids = firstChild;
        callbacks = null;
        firstChild = null;
        boolean leave = linked != NOT_LINKED && linked != where;
        boolean parentEmptied = false;
        if (where != NOT_LINKED && linked == where && !p.cancelled()) {
            // Leave the parent's list in the same pass (a cancelled parent's canceller owns it: I2).
            p.removeFromList(where, this);
            linked = NOT_LINKED;
            parentEmptied = where == IN_PARENT && p.linked != NOT_LINKED && p.callbacks == null && p.firstChild == null;
        }
        unlock();
        if (where != NOT_LINKED) {
            p.unlockList(where);
        }
        if (leave) {
            leaveParent();
        } else if (parentEmptied) {
            tryUnlink(p);
        }
        Stripe[] stripes = (parent == null) ? stripes() : null;
        if (ownCallbacks == null && kids == null && stripes == null) {
            return;
        }
        CancellationReason r = materialize(Objects.requireNonNull(own.reason));
        Reached reached = null;
        if (kids != null || stripes != null) {
            State verdict = (own.reason == CLOSED_MARK) ? new State(own.tree, r) : own;
            reached = new Reached();
            if (stripes != null) {
                drain(stripes, reached);
            }
            if (kids == null) {
                kids = reached.nextChain();
            }
            for (TokenNode chain = kids; chain != null; chain = reached.nextChain()) {
                for (TokenNode kid = chain; kid != null; ) {
                    TokenNode next = kid.nextSibling;
                    reachLinkedChild(kid, verdict, reached);
                    kid = next;
                }
            }
        }
        if (ownCallbacks != null) {
            runAll(ownCallbacks, r);
        }
        if (reached != null) {
            reached.runCallbacks(r);
        }
    }

    /**
     * The per-child body of {@link #propagate}: the canceller, owner of the detached list that holds
     * {@code kid} (I2), takes it out of the list, gives it the verdict unless it has its own (I1),
     * and then, under its lock, detaches its callbacks and its own linked children (I3) into
     * {@code reached}. A kid that has its own verdict is left alone: its own canceller detaches it.
     */
    private static void reachLinkedChild(TokenNode kid, State verdict, Reached reached) {
        kid.nextSibling = null;
        kid.prevSibling = null;
        if (!kid.setVerdict(verdict)) {
            return;
        }
        kid.lock();
        CallbackNode kidCallbacks = kid.callbacks;
        TokenNode grandKids = kid.firstChild;
        kid.callbacks = null;
        kid.firstChild = null;
        kid.linked = NOT_LINKED;
        kid.unlock();
        reached.add(kidCallbacks, grandKids);
    }

    /** The canceller's work list (I6): the child lists still to reach and the callbacks to run. */
    private static final class Reached {
        private @Nullable List<CallbackNode> toRun;
        private @Nullable ArrayDeque<TokenNode> chains;

        void add(@Nullable CallbackNode callbacks, @Nullable TokenNode children) {
            if (callbacks != null) {
                if (toRun == null) {
                    toRun = new ArrayList<>();
                }
                toRun.add(callbacks);
            }
            if (children != null) {
                if (chains == null) {
                    chains = new ArrayDeque<>();
                }
                chains.add(children);
            }
        }

        @Nullable TokenNode nextChain() {
            return (chains == null) ? null : chains.poll();
        }

        void runCallbacks(CancellationReason r) {
            if (toRun != null) {
                for (CallbackNode list : toRun) {
                    runAll(list, r);
                }
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
            byte where = node.linked; // a hint: re-checked under both locks
            if (where == NOT_LINKED) {
                return;
            }
            boolean removed = false;
            p.lockList(where);
            node.lock();
            if (node.linked == where && !p.cancelled() && node.callbacks == null && node.firstChild == null) {
                p.removeFromList(where, node);
                node.linked = NOT_LINKED;
                removed = true;
            }
            node.unlock();
            p.unlockList(where);
            if (!removed || where != IN_PARENT) {
                return; // a stripe's owner is a root: it never leaves a list
            }
            node = p;
        }
    }

    /** Unlinks {@code kid} from the list {@code where} of this node; holds that list's lock and the kid's. */
    private void removeFromList(byte where, TokenNode kid) {
        TokenNode prev = kid.prevSibling;
        TokenNode next = kid.nextSibling;
        if (prev != null) {
            prev.nextSibling = next;
        } else if (where == IN_PARENT) {
            firstChild = next;
        } else {
            stripe(where).first = next;
        }
        if (next != null) {
            next.prevSibling = prev;
        }
        kid.prevSibling = null;
        kid.nextSibling = null;
    }

    /** Puts {@code kid} first in the list {@code where} of this node; holds that list's lock and the kid's. */
    private void addToList(byte where, TokenNode kid) {
        TokenNode first = (where == IN_PARENT) ? firstChild : stripe(where).first;
        kid.prevSibling = null;
        kid.nextSibling = first;
        if (first != null) {
            first.prevSibling = kid;
        }
        if (where == IN_PARENT) {
            firstChild = kid;
        } else {
            stripe(where).first = kid;
        }
    }

    // ------------------------------------------------------------------ stripes (I2s)

    /** {@link #linked}: in no list. */
    private static final byte NOT_LINKED = 0;
    /** {@link #linked}: in the parent's own list, {@link #firstChild}, under the parent's lock. */
    private static final byte IN_PARENT = 1;
    /** {@link #linked}: {@code IN_STRIPE + k}: in stripe k of a contended root, under that stripe's lock. */
    private static final byte IN_STRIPE = 2;
    /** Stripes per contended root: a power of two, twice the processors, at most 32. */
    private static final int STRIPES;

    static {
        int n = 2;
        while (n < 2 * Runtime.getRuntime().availableProcessors() && n < 32) {
            n <<= 1;
        }
        STRIPES = n;
    }

    /**
     * One stripe of a contended root's child list (I2s): a lock and a list of its own, padded so that
     * two stripes do not share a cache line (HotSpot lays out the longs first, so the lock and the
     * list of two stripes allocated one after the other are more than 112 bytes apart).
     */
    @SuppressWarnings("unused")
    static final class Stripe {
        private long p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14;
        /** 0 free, 1 held (I5). Accessed only through {@link #STRIPE_LOCK}. */
        private int lock;
        @Nullable TokenNode first;
    }

    private static final VarHandle STRIPE_LOCK;

    static {
        try {
            STRIPE_LOCK = MethodHandles.lookup().findVarHandle(Stripe.class, "lock", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** This root's stripes, or null while it is not inflated (I2s). */
    private Stripe @Nullable [] stripes() {
        return (extra instanceof Rare rare) ? rare.stripes : null;
    }

    private Stripe stripe(byte where) {
        return Objects.requireNonNull(stripes())[where - IN_STRIPE];
    }

    /**
     * I2s: takes a lock of a list to link a child into. A node that is not a root, or a root that
     * never found its lock taken, uses its own list; a root whose lock a linker finds taken is
     * inflated into stripes, once, and from then on every linker takes a free stripe, its own first
     * (by thread), so that threads linking children into one root do not all spin on one word.
     *
     * @return the list taken: {@link #IN_PARENT} or {@code IN_STRIPE + k}
     */
    private byte lockListForLinking() {
        if (parent != null) {
            lock();
            return IN_PARENT;
        }
        Stripe[] stripes = stripes();
        if (stripes == null) {
            if (LOCK.compareAndSet(this, 0, 1)) {
                return IN_PARENT;
            }
            stripes = inflate();
        }
        int mask = stripes.length - 1;
        int i = (int) ((Thread.currentThread().getId() * 0x9E3779B97F4A7C15L) >>> 40) & mask; // spread ids
        for (int spins = 0; ; spins++) {
            if (STRIPE_LOCK.compareAndSet(stripes[i], 0, 1)) {
                return (byte) (IN_STRIPE + i);
            }
            i = (i + 1) & mask;
            if (spins >= 64) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
    }

    /** Gives this root its stripes, unless a racing linker did (I2s). */
    private Stripe[] inflate() {
        Rare rare = rare();
        Stripe[] stripes = rare.stripes;
        if (stripes == null) {
            Stripe[] fresh = new Stripe[STRIPES];
            for (int i = 0; i < fresh.length; i++) {
                fresh[i] = new Stripe();
            }
            stripes = STRIPES_FIELD.compareAndSet(rare, null, fresh) ? fresh : Objects.requireNonNull(rare.stripes);
        }
        return stripes;
    }

    private static final VarHandle STRIPES_FIELD;

    static {
        try {
            STRIPES_FIELD = MethodHandles.lookup().findVarHandle(Rare.class, "stripes", Stripe[].class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Takes the lock of this node's list {@code where}: its own lock, or a stripe's (I5: the parent level). */
    private void lockList(byte where) {
        if (where == IN_PARENT) {
            lock();
            return;
        }
        Stripe stripe = stripe(where);
        int spins = 0;
        while (!STRIPE_LOCK.compareAndSet(stripe, 0, 1)) {
            if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    private void unlockList(byte where) {
        if (where == IN_PARENT) {
            unlock();
        } else {
            STRIPE_LOCK.setRelease(stripe(where), 0);
        }
    }

    /**
     * The canceller of a root with stripes seals and drains them (I2s, I3): after its CAS, it takes
     * each stripe's lock and detaches its list; a linker that takes a stripe's lock later sees the
     * verdict, as with the root's own list.
     */
    private void drain(Stripe[] stripes, Reached reached) {
        for (int i = 0; i < stripes.length; i++) {
            byte where = (byte) (IN_STRIPE + i);
            lockList(where);
            TokenNode list = stripes[i].first;
            stripes[i].first = null;
            unlockList(where);
            reached.add(null, list);
        }
    }

    private static final int LINKED = 0;
    private static final int CANCELLED = 1;
    private static final int RETRY = 2;
    /** {@link #linkOne}: linked, and the callback it was given is registered. */
    private static final int REGISTERED = 3;

    /**
     * Links this node into its parent, ancestors first (I2), or leaves it cancelled when an ancestor
     * turns out to be; registers {@code callback} (if not null) on this node under the same locks
     * that link it, so that a first callback costs one pass. Goals: no recursion (I6); at most two
     * locks held; tolerate concurrent unlinking of an ancestor by retrying.
     *
     * @return whether {@code callback} was registered
     */
    private boolean linkUp(@Nullable CallbackNode callback) {
        for (;;) {
            // The unlinked stretch from this node up to the first ancestor that is a root, linked or
            // cancelled (racy reads: linkOne re-checks under the locks).
            TokenNode top = this;
            List<TokenNode> stretch = null;
            for (TokenNode p = parent; p != null && p.parent != null && p.linked == NOT_LINKED && !p.cancelled();
                    p = p.parent) {
                if (stretch == null) {
                    stretch = new ArrayList<>();
                    stretch.add(this);
                }
                stretch.add(p);
                top = p;
            }
            int outcome;
            if (stretch == null) {
                outcome = linkOne(top, callback);
            } else {
                outcome = LINKED;
                for (int i = stretch.size() - 1; i >= 0 && outcome == LINKED; i--) {
                    outcome = linkOne(stretch.get(i), (i == 0) ? callback : null);
                }
            }
            if (outcome == CANCELLED) {
                State s = state;
                if (s.reason == null) {
                    cancelledAncestorReason(s, true);
                }
                return false;
            }
            if (outcome != RETRY) {
                return outcome == REGISTERED;
            }
        }
    }

    /**
     * Links {@code node} into its parent if the parent is a root or linked, and registers
     * {@code callback} on it if given; adopts the parent's verdict if it is cancelled; asks for a
     * retry if the parent was unlinked meanwhile.
     */
    private static int linkOne(TokenNode node, @Nullable CallbackNode callback) {
        TokenNode p = Objects.requireNonNull(node.parent);
        byte where = p.lockListForLinking();
        State ps = p.state;
        if (ps.reason != null) {
            p.unlockList(where);
            node.adopt(p.verdictForDescendants(ps));
            return CANCELLED;
        }
        if (p.parent != null && p.linked == NOT_LINKED) {
            p.unlockList(where);
            return RETRY;
        }
        node.lock();
        boolean cancelled = node.cancelled();
        int outcome = cancelled ? CANCELLED : LINKED;
        if (!cancelled) {
            if (node.linked == NOT_LINKED) {
                p.addToList(where, node);
                node.linked = where;
            }
            if (callback != null) {
                node.pushCallback(callback);
                outcome = REGISTERED;
            }
        }
        node.unlock();
        p.unlockList(where);
        return outcome;
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
            if (!replaceTimers && parent != null && linked == NOT_LINKED && linkUp(node)) {
                // Not linked yet (a racy read): linked and registered in one pass.
                return true;
            }
            lock();
            if (cancelled()) {
                unlock();
                return false;
            }
            if (parent == null || linked != NOT_LINKED) {
                CallbackNode replaced = null;
                if (replaceTimers) {
                    replaced = removeTimers();
                    rare().timer = (Timers.Timer) node.callback;
                }
                pushCallback(node);
                unlock();
                for (CallbackNode old = replaced; old != null; old = old.next) {
                    ((Timers.Timer) Objects.requireNonNull(old.callback)).release();
                    old.callback = null;
                }
                return true;
            }
            unlock();
            linkUp(null);
        }
    }

    /** Under the lock: puts {@code node} first in the callback list. */
    private void pushCallback(CallbackNode node) {
        CallbackNode first = callbacks;
        node.next = first;
        if (first != null) {
            first.prev = node;
        }
        callbacks = node;
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
        if (cancelled() || node.removed) {
            // Cancelled: the canceller has taken (or will take) the node and runs it (I3).
            unlock();
            return false;
        }
        unlinkCallback(node);
        node.callback = null;
        boolean empty = linked != NOT_LINKED && callbacks == null && firstChild == null;
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
        // Written before this node's state is read below (I4a); the first child only by CAS, so
        // that of two first children created at once, one is the only child and the other makes many.
        boolean only = false;
        byte cs = childState;
        if (cs == NO_CHILD) {
            only = CHILD_STATE.compareAndSet(this, NO_CHILD, ONLY_CHILD);
            if (!only) {
                childState = MANY_CHILDREN;
            }
        } else if (cs != MANY_CHILDREN) {
            childState = MANY_CHILDREN;
        }
        State s = state;
        if (s.reason == null) {
            State current = s.tree.current; // read before the check below (I4a)
            if (!isCancelled()) {
                return new TokenNode(this, current, childName, only);
            }
        }
        return new TokenNode(this, verdictForBornCancelled(), childName, only);
    }

    /** The verdict of a child created from this cancelled node (through an ancestor or itself). */
    private State verdictForBornCancelled() {
        State s = state;
        if (s.reason != null) {
            return verdictForDescendants(s);
        }
        return new State(s.tree, cancelledReason());
    }

    @Override
    public void cancelAfter(Duration delay) {
        Objects.requireNonNull(delay, "delay must not be null");
        scheduleTimer(delay, null);
    }

    @Override
    public void cancelAfter(Duration delay, String message) {
        Objects.requireNonNull(delay, "delay must not be null");
        Objects.requireNonNull(message, "message must not be null");
        scheduleTimer(delay, message);
    }

    private void scheduleTimer(Duration delay, @Nullable String message) {
        if (isCancelled()) {
            return;
        }
        long nanos = saturatedNanos(delay);
        Timers.Timer t = new Timers.Timer(this, delay, nanos, message);
        if (nanos <= 0) {
            rare().timer = t;
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
            Timers.Timer t = (n.extra instanceof Rare rare) ? rare.timer : null;
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
        Object x = extra;
        String n = (x instanceof Rare rare) ? rare.name : (String) x;
        return (n != null) ? n : "token-" + Integer.toHexString(System.identityHashCode(this));
    }

    /** This node's {@link Rare} part, created on first use (see {@link #extra}). */
    private Rare rare() {
        for (;;) {
            Object x = extra;
            if (x instanceof Rare rare) {
                return rare;
            }
            Rare rare = new Rare((String) x);
            if (EXTRA.compareAndSet(this, x, rare)) {
                return rare;
            }
        }
    }

    @Override
    public Optional<CancellationToken> parent() {
        return Optional.ofNullable(parent);
    }

    /** Adds the kids of one child list that are not cancelled (under that list's lock). */
    private static void listLive(@Nullable TokenNode first, List<CancellationToken> snapshot) {
        for (TokenNode kid = first; kid != null; kid = kid.nextSibling) {
            // A kid cancelled by its own canceller stays listed until that canceller unlinks it.
            if (!kid.cancelled()) {
                snapshot.add(kid);
            }
        }
    }

    @Override
    public List<CancellationToken> children() {
        if (isCancelled()) {
            return List.of();
        }
        List<CancellationToken> snapshot = new ArrayList<>();
        lock();
        listLive(firstChild, snapshot);
        unlock();
        Stripe[] stripes = stripes();
        if (stripes != null) {
            for (int i = 0; i < stripes.length; i++) {
                byte where = (byte) (IN_STRIPE + i);
                lockList(where);
                listLive(stripes[i].first, snapshot);
                unlockList(where);
            }
        }
        return Collections.unmodifiableList(snapshot);
    }
    // ------------------------------------------------------------------ white-box test hooks

    /*
     * For TokenNodeInvariantsTest only: it holds a node's lock to stop an operation at a lock (I5)
     * and to observe the windows of I4a, I7 and I8 one step at a time. Package-private, never used by
     * the engine.
     */

    /** Takes this node's lock if it is free, as the engine does (I5); true if taken. */
    boolean testHookTryLock() {
        return LOCK.compareAndSet(this, 0, 1);
    }

    /** Releases the lock taken by {@link #testHookTryLock()}. */
    void testHookUnlock() {
        unlock();
    }

    /** The reason stored in this node's own verdict (raw: a close is not resolved), or null. */
    @Nullable CancellationReason testHookStoredReason() {
        return state.reason;
    }

    /** The tree's current generation: it changes exactly when a generation is retired (I4a). */
    Object testHookCurrentGeneration() {
        return state.tree.current;
    }

    /**
     * Gives this node a verdict the way a winning canceller does, and stops there: the window before
     * the winner retires the generation (I8).
     */
    void testHookSetVerdictOnly(CancellationReason reason) {
        setVerdict(new State(state.tree, reason));
    }
}
