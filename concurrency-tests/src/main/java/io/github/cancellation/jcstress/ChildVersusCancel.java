package io.github.cancellation.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZZ_Result;

import io.github.cancellation.CancellationToken;

/**
 * J3: {@code child()} racing with the parent's {@code cancel()}: once both have returned, the child
 * is cancelled with the parent's reason, whether it was born cancelled or cancelled afterwards. It
 * is never left active.
 *
 * <p>r1: the child read cancelled right after {@code child()} returned (born cancelled); r2 (arbiter):
 * the child reads cancelled; r3 (arbiter): its reason equals the parent's.
 */
@JCStressTest
@Description("child() vs cancel(): the child ends up cancelled with the parent's reason")
@Outcome(id = "true, true, true", expect = ACCEPTABLE, desc = "cancel() came first: the child was born cancelled")
@Outcome(id = "false, true, true", expect = ACCEPTABLE, desc = "child() came first: cancel() reached the child")
@Outcome(id = ".*, false, .*", expect = FORBIDDEN, desc = "the child was left active after its parent's cancel()")
@Outcome(expect = FORBIDDEN, desc = "the child has another reason than its parent")
@State
public class ChildVersusCancel {

    private final CancellationToken parent = CancellationToken.create("parent");
    private CancellationToken child;

    @Actor
    public void child(ZZZ_Result r) {
        CancellationToken c = parent.child("child");
        child = c;
        r.r1 = c.isCancelled();
    }

    @Actor
    public void cancel() {
        parent.cancel();
    }

    @Arbiter
    public void arbiter(ZZZ_Result r) {
        r.r2 = child.isCancelled();
        r.r3 = child.reason().equals(parent.reason());
    }
}
