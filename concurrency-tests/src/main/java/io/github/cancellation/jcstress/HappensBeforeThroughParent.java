package io.github.cancellation.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

import io.github.cancellation.CancellationToken;

/**
 * The "Memory consistency effects" of {@code CancellationToken}: a plain write made before the
 * parent's {@code cancel()} is visible to a thread that sees a descendant's {@code isCancelled()}
 * return true.
 *
 * <p>r1: -1 if the child did not read cancelled, else the plain field as the reader saw it.
 */
@JCStressTest
@Description("plain write; parent cancel() vs child isCancelled(); read: the write is visible")
@Outcome(id = "-1", expect = ACCEPTABLE, desc = "the child did not read cancelled yet")
@Outcome(id = "42", expect = ACCEPTABLE, desc = "cancelled, and the write made before cancel() is visible")
@Outcome(id = "0", expect = FORBIDDEN, desc = "cancelled, but the write made before cancel() is not visible")
@Outcome(expect = FORBIDDEN, desc = "anything else")
@State
public class HappensBeforeThroughParent {

    private final CancellationToken parent = CancellationToken.create("parent");
    private final CancellationToken child = parent.child("child");
    private int data;

    @Actor
    public void writeThenCancel() {
        data = 42;
        parent.cancel();
    }

    @Actor
    public void readChild(I_Result r) {
        r.r1 = child.isCancelled() ? data : -1;
    }
}
