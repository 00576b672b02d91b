package io.github.cancellation.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Mode;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.Signal;
import org.openjdk.jcstress.annotations.State;

import io.github.cancellation.CancellationToken;

/**
 * J5 through the tree (tokio's {@code cancel_with_child} model): a thread parked in {@code await()}
 * on a grandchild, which links the grandchild and its parent into the root while the root is
 * cancelled, ends after the root's {@code cancel()}.
 */
@JCStressTest(Mode.Termination)
@Description("await() on a grandchild ends after cancel() of the root")
@Outcome(id = "TERMINATED", expect = ACCEPTABLE, desc = "await() returned after the root's cancel()")
@Outcome(id = "STALE", expect = FORBIDDEN, desc = "lost wake-up: await() still blocked after cancel()")
@Outcome(expect = FORBIDDEN, desc = "await() threw")
@State
public class AwaitOnChildTermination {

    private final CancellationToken root = CancellationToken.create("root");
    private final CancellationToken grandchild = root.child("child").child("grandchild");

    @Actor
    public void await() throws InterruptedException {
        grandchild.await();
    }

    @Signal
    public void cancelRoot() {
        root.cancel();
    }
}
