package io.github.cancellation;

import java.util.function.Consumer;

import org.jspecify.annotations.Nullable;

/**
 * One registered callback, and its own {@link Registration}: a node of the owner's doubly linked
 * callback list, so that unregistering is O(1) and allocates nothing. All fields are guarded by the
 * owner's lock while the node is in the list; once the owner's canceller has detached the list (see
 * {@link TokenNode} invariant I3), they belong to that canceller alone.
 */
final class CallbackNode implements Registration {

    /** The registration of a callback that already ran because the token was cancelled. */
    static final Registration ALREADY_RAN = () -> false;

    final TokenNode owner;
    @Nullable Consumer<CancellationReason> callback;
    @Nullable CallbackNode prev;
    @Nullable CallbackNode next;
    /** Set when unregistered, so that a second {@code unregister()} returns false. */
    boolean removed;

    CallbackNode(TokenNode owner, Consumer<CancellationReason> callback) {
        this.owner = owner;
        this.callback = callback;
    }

    @Override
    public boolean unregister() {
        return owner.unregister(this);
    }

    @Override
    public String toString() {
        return "Registration[" + owner.name() + (removed ? ", unregistered" : "") + "]";
    }
}
