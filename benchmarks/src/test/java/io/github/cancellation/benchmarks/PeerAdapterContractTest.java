package io.github.cancellation.benchmarks;

import java.util.concurrent.atomic.AtomicInteger;

import io.github.cancellation.benchmarks.peers.Peers;
import io.github.cancellation.benchmarks.peers.TokenAdapter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.junit.jupiter.api.Assertions.assertAll;

/**
 * Every peer behind {@link TokenAdapter} does what the benchmark shapes assume, so that the
 * numbers compare like with like: a child is cancelled with its parent, a registered callback
 * runs once, an unregistered one never (where the peer can unregister), closing a child leaves
 * the parent alone. The volatile floor only has to answer the check.
 */
class PeerAdapterContractTest {

    @ParameterizedTest
    @ValueSource(strings = {"ours", "grpc", "kotlin", "naive", "future"})
    void cancellingTheRootShouldReachADescendantAndRunItsCallbackOnce(String peer) {
        TokenAdapter<Object> adapter = Peers.byName(peer);
        Object root = adapter.newRoot();
        Object grandchild = adapter.newChild(adapter.newChild(root));
        AtomicInteger runs = new AtomicInteger();
        adapter.register(grandchild, runs::incrementAndGet);

        assertThat(adapter.isCancelled(grandchild)).isFalse();
        adapter.cancel(root);
        adapter.cancel(root);

        assertAll(
                () -> assertThat(adapter.isCancelled(root)).isTrue(),
                () -> assertThat(adapter.isCancelled(grandchild)).isTrue(),
                () -> assertThat(runs).hasValue(1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"ours", "grpc", "kotlin", "naive"})
    void anUnregisteredCallbackShouldNotRun(String peer) {
        TokenAdapter<Object> adapter = Peers.byName(peer);
        Object root = adapter.newRoot();
        AtomicInteger runs = new AtomicInteger();
        adapter.unregister(root, adapter.register(root, runs::incrementAndGet));

        adapter.cancel(root);

        assertThat(runs).hasValue(0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ours", "grpc", "kotlin", "naive", "future"})
    void closingAChildShouldLeaveTheRootAndItsOtherChildrenAlone(String peer) {
        TokenAdapter<Object> adapter = Peers.byName(peer);
        Object root = adapter.newRoot();
        Object sibling = adapter.newChild(root);
        adapter.close(adapter.newChild(root));

        assertThat(adapter.isCancelled(root)).isFalse();
        assertThat(adapter.isCancelled(sibling)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ours", "grpc", "kotlin", "naive", "future", "volatile"})
    void theCheckShouldReadACancellation(String peer) {
        TokenAdapter<Object> adapter = Peers.byName(peer);
        Object token = adapter.newRoot();

        assertThat(adapter.isCancelled(token)).isFalse();
        adapter.cancel(token);
        assertThat(adapter.isCancelled(token)).isTrue();
    }

    @org.junit.jupiter.api.Test
    void anUnknownPeerShouldBeNamedInTheError() {
        assertThatIllegalArgumentException().isThrownBy(() -> Peers.byName("tokio"))
            .withMessageContaining("'tokio'")
            .withMessageContaining("ours, grpc, kotlin, naive, future, volatile");
    }
}
