package io.github.cancellation.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;

import io.github.cancellation.CancellationToken;

/**
 * I4's shortcut on the real memory model: a parent whose only child ended by its own
 * {@code close()} closes without moving the epoch. One actor closes the only child, then the
 * parent; the other creates a second child (whose own child caches the epoch). Once the parent's
 * {@code close()} returned, the only child's child reads cancelled; at the end, so does the second
 * child's child, whether or not the parent's close saw the second child. The handshake is the
 * parent's child-state write before the new child reads the parent, against the closer's reason
 * CAS before it reads the child state. (The only child's close racing the parent's is
 * model-checked in {@code LincheckTest}; two actors fit the 2-core machine.)
 *
 * <p>r1: the only child's child, read right after {@code parent.close()} returned; r2: the second
 * child's child, read by the arbiter.
 */
@JCStressTest
@Description("only child's close() then parent close() vs a second child")
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "every descendant of the closed parent reads cancelled")
@Outcome(id = "false, .*", expect = FORBIDDEN, desc = "parent.close() returned before the first branch read cancelled")
@Outcome(id = ".*, false", expect = FORBIDDEN, desc = "the second child's child of a closed parent reads not cancelled")
@State
public class OnlyChildShortcut {

    private final CancellationToken parent = CancellationToken.create("root").child("parent");
    private final CancellationToken only = parent.child("only");
    private final CancellationToken grandchild = only.child("grandchild");
    private CancellationToken secondChild;

    public OnlyChildShortcut() {
        grandchild.isCancelled(); // caches the epoch
    }

    @Actor
    public void closeOnlyChildThenParent(ZZ_Result r) {
        only.close();
        parent.close();
        r.r1 = grandchild.isCancelled();
    }

    @Actor
    public void secondChild() {
        CancellationToken child = parent.child("second").child("secondChild");
        child.isCancelled(); // caches the epoch
        secondChild = child;
    }

    @Arbiter
    public void arbiter(ZZ_Result r) {
        r.r2 = secondChild.isCancelled();
    }
}
