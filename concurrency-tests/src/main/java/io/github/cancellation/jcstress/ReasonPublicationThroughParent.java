package io.github.cancellation.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationReason.Kind;
import io.github.cancellation.CancellationToken;

/**
 * J4 through the tree, unlinked child: a child with nothing registered is not held by its parent and
 * learns of the parent's cancellation by looking up (the tree's epoch, then its ancestors). A reader
 * of the child that sees it cancelled also sees the parent's complete reason.
 *
 * <p>r1: {@code child.isCancelled()}; r2: {@code child.reason()} read after it is the parent's
 * complete reason.
 */
@JCStressTest
@Description("parent cancel() vs child isCancelled() then reason() (unlinked child)")
@Outcome(id = "false, false", expect = ACCEPTABLE, desc = "read before the parent's cancel()")
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "read after: the parent's complete reason")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "cancel() landed between the two reads")
@Outcome(id = "true, false", expect = FORBIDDEN, desc = "cancelled, but the reason was empty or incomplete")
@State
public class ReasonPublicationThroughParent {

    private final CancellationToken parent = CancellationToken.create("parent");
    private final CancellationToken child = parent.child("child");

    @Actor
    public void cancelParent() {
        parent.cancel(CancellationReason.of(Kind.SHUTDOWN, "drain"));
    }

    @Actor
    public void readChild(ZZ_Result r) {
        r.r1 = child.isCancelled();
        r.r2 = ReasonPublication.complete(child.reason(), "parent");
    }
}
