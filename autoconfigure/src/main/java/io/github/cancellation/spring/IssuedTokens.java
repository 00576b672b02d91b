package io.github.cancellation.spring;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.Registration;

/**
 * The tokens the starter hands out, counted: how many are still open, and how many cancellations
 * began at them, by kind. {@link CancellationMetrics} reads both ({@code cancellation.tokens.active}
 * and {@code cancellation.tokens.cancelled}); the counts are kept whether or not Micrometer is
 * present, for two {@link LongAdder} updates per token and none on a token's hot path.
 *
 * <h2>Open tokens</h2>
 * Every token the starter creates for a bean, an {@code @Async} invocation, a {@code @Scheduled}
 * execution or a decorated task is {@linkplain #open opened} here and {@linkplain #end ended}
 * here, exactly once, by the code that owns it. Not counted: the application token (not handed
 * out), and the tokens of beans that are not singletons (the container never closes them; they
 * end with the application token).
 *
 * <h2>Cancellations, once each, where they began</h2>
 * A cancellation of a token reaches all its descendants with the same reason; it is counted once,
 * at the token where it began, and never for {@link Kind#CLOSED CLOSED}, which is how every
 * token's work ends. Two sources, split by kind so that none is counted twice:
 * <ol>
 *   <li>{@linkplain #STARTER_KINDS SHUTDOWN, ACTUATOR, CALLER}: the starter starts these itself
 *       (the shutdown lifecycle on the application token, the actuator endpoint on the tokens at a
 *       path, an {@code @Async} invocation whose caller's token or future was cancelled) and
 *       {@linkplain #countStarted counts} each {@code cancel} call that did cancel a token, at that
 *       moment. A token already cancelled, itself or through an ancestor, is not counted again.
 *   <li>Every other kind ({@code MANUAL}, {@code TIMEOUT}): application code cancelled one of the
 *       starter's tokens. Counted when the reason's origin is that token and the reason is not
 *       its parent's (so not for a descendant, which inherits the very same reason): for the
 *       application token and singleton bean tokens at once, by a callback on each once
 *       {@linkplain #startWatching() watching} has started (when the meters are bound); for the
 *       short-lived tokens of invocations, executions and tasks when their work ends and the
 *       token is {@linkplain #end ended}, since a callback on each would link it into its
 *       parent's child list and cost a lock on the parent per run.
 * </ol>
 * Not seen: cancellations that begin at the application's own tokens (children it creates,
 * {@code anyOf} tokens, its timeouts), and a cancellation of a short-lived token whose work
 * never ends.
 *
 * <p>Thread-safety: thread-safe.
 */
final class IssuedTokens {

    /** The kinds of cancellation that the starter itself starts, and counts where it starts them. */
    static final Set<Kind> STARTER_KINDS = EnumSet.of(Kind.SHUTDOWN, Kind.ACTUATOR, Kind.CALLER);

    /** The kinds that are counted: all but {@link Kind#CLOSED CLOSED}. */
    static final List<Kind> COUNTED_KINDS = Arrays.stream(Kind.values()).filter(kind -> kind != Kind.CLOSED).toList();

    /** The value of a long-lived token that is not watched (yet). */
    private static final Object UNWATCHED = new Object();

    /**
     * Opened minus ended. One adder, not one per direction: opens happen on submitting threads and
     * ends on pool threads, and a single adder gives each contending thread a padded cell of its
     * own, where an adder written by one thread only keeps CASing its unpadded base field, which
     * shares a cache line with whatever was allocated next to it.
     */
    private final LongAdder open = new LongAdder();

    private final LongAdder[] cancelled = new LongAdder[Kind.values().length];

    /**
     * The application token and the open singleton bean tokens (a bounded set), each with the
     * {@link Registration} of its watch, or {@link #UNWATCHED}.
     */
    private final Map<CancellationToken, Object> longLived = new ConcurrentHashMap<>();

    private volatile boolean watching;

    /** Told after each cancellation of a watched token: see {@link #startWatching(Runnable)}. */
    private volatile Runnable onWatchedCancel = () -> {
    };

    IssuedTokens(CancellationToken applicationToken) {
        for (int i = 0; i < cancelled.length; i++) {
            cancelled[i] = new LongAdder();
        }
        if (applicationToken != CancellationToken.none()) {
            longLived.put(applicationToken, UNWATCHED);
        }
    }

    /**
     * Creates a short-lived child of {@code parent} (the token of an invocation, execution or
     * task), counted open until {@link #end(CancellationToken)}.
     */
    CancellationToken open(CancellationToken parent, String name) {
        CancellationToken token = parent.child(name);
        open.increment();
        return token;
    }

    /**
     * Ends a token from {@link #open}: counts a cancellation that application code began at it,
     * then closes it. Call exactly once per token.
     */
    void end(CancellationToken token) {
        if (token.isCancelled()) { // no Optional nor capturing lambda per token in the common case
            token.reason().ifPresent(reason -> countIfBeganAt(token, reason));
        }
        token.close();
        open.decrement();
    }

    /**
     * Creates a long-lived child of {@code parent} (a singleton bean's token), counted open until
     * {@link #endLongLived(CancellationToken)} and watched for cancellations once watching starts.
     */
    CancellationToken openLongLived(CancellationToken parent, String name) {
        CancellationToken token = open(parent, name);
        longLived.put(token, UNWATCHED);
        if (watching) {
            watch(token);
        }
        return token;
    }

    /**
     * Ends a token from {@link #openLongLived}: stops watching it, then closes it. Call exactly
     * once per token.
     */
    void endLongLived(CancellationToken token) {
        Object watch = longLived.remove(token);
        if (watch instanceof Registration registration) {
            registration.unregister();
        }
        token.close();
        open.decrement();
    }

    /**
     * Starts counting, at once, the cancellations that application code begins at the application
     * token and the bean tokens: registers a callback on each, now and on every later bean token.
     * Idempotent. Called when the meters are bound, so that without them no callback is
     * registered.
     *
     * @param onCancel run after each such cancellation, on the thread that cancels (the tracker
     *     then notes the cancellation in the tasks under the token)
     */
    void startWatching(Runnable onCancel) {
        onWatchedCancel = onCancel;
        watching = true;
        for (CancellationToken token : longLived.keySet()) {
            watch(token);
        }
    }

    private void watch(CancellationToken token) {
        // Once per token, whoever comes first: startWatching() or openLongLived(); the map serializes them.
        longLived.computeIfPresent(token, (key, watch) -> (watch == UNWATCHED)
                ? key.onCancel(reason -> {
                    countIfBeganAt(key, reason);
                    onWatchedCancel.run();
                }) : watch);
    }

    /**
     * Counts a cancellation of a {@linkplain #STARTER_KINDS starter's kind}. Call it only when the
     * {@code cancel} call that started it returned {@code true}.
     */
    void countStarted(Kind kind) {
        cancelled[kind.ordinal()].increment();
    }

    /**
     * Counts {@code reason}, the reason of {@code token}, if application code began it there: not
     * {@code CLOSED}, not one of the starter's kinds (counted where the starter starts them),
     * stamped by this token, and not inherited from its parent (a descendant gets the very same
     * reason object).
     */
    private void countIfBeganAt(CancellationToken token, CancellationReason reason) {
        Kind kind = reason.kind();
        if (kind == Kind.CLOSED || STARTER_KINDS.contains(kind) || !reason.origin().equals(token.name())) {
            return;
        }
        if (token.parent().flatMap(CancellationToken::reason).orElse(null) == reason) {
            return;
        }
        cancelled[kind.ordinal()].increment();
    }

    /**
     * Returns how many tokens handed out are open: opened and not yet ended.
     *
     * @return the number of open tokens, never negative
     */
    long openCount() {
        // The sum is not a snapshot: it may see an end before the open that preceded it, hence the floor.
        return Math.max(0, open.sum());
    }

    /**
     * Returns how many cancellations of {@code kind} began at the starter's tokens.
     *
     * @param kind the kind
     * @return the count so far
     */
    long cancelledCount(Kind kind) {
        return cancelled[kind.ordinal()].sum();
    }

    @Override
    public String toString() {
        return "IssuedTokens[" + openCount() + " open]";
    }
}
