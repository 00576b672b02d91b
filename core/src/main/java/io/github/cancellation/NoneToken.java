package io.github.cancellation;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * {@link CancellationToken#none()}: the one token that is never cancelled. It stores nothing, so it
 * can be shared by every thread and context.
 */
final class NoneToken extends CancellationToken {

    static final NoneToken INSTANCE = new NoneToken();

    /** Its callbacks never run, so unregistering always "prevents" them. */
    private static final Registration NOTHING_STORED = () -> true;

    private NoneToken() {
    }

    @Override
    public CancellationToken child() {
        return CancellationToken.create();
    }

    @Override
    public CancellationToken child(String name) {
        return CancellationToken.create(name);
    }

    @Override
    public void cancelAfter(Duration delay) {
        Objects.requireNonNull(delay, "delay must not be null");
    }

    @Override
    public boolean cancel(CancellationReason reason) {
        Objects.requireNonNull(reason, "reason must not be null");
        return false;
    }

    @Override
    public boolean isCancelled() {
        return false;
    }

    @Override
    public Optional<Duration> remaining() {
        return Optional.empty();
    }

    @Override
    public Optional<CancellationReason> reason() {
        return Optional.empty();
    }

    @Override
    public Registration onCancel(Consumer<CancellationReason> callback) {
        Objects.requireNonNull(callback, "callback must not be null");
        return NOTHING_STORED;
    }

    @Override
    public void close() {
        // Never cancelled and never attached to anything: there is nothing to close.
    }

    @Override
    public String name() {
        return "none";
    }

    @Override
    public Optional<CancellationToken> parent() {
        return Optional.empty();
    }

    @Override
    public List<CancellationToken> children() {
        return List.of();
    }
}
