package io.github.cancellation.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.util.concurrent.atomic.AtomicInteger;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZI_Result;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.Registration;

/**
 * J2 through the tree: unregistering the only callback of a child (which then unlinks the child from
 * its parent) while the parent is cancelled: exactly one of "unregister returned true" and "the
 * callback ran".
 *
 * <p>r1: what {@code unregister()} returned; r2: how many times the callback ran.
 */
@JCStressTest
@Description("unregister() on a child vs cancel() of its parent: (true, not run) or (false, run once)")
@Outcome(id = "true, 0", expect = ACCEPTABLE, desc = "unregister() won: the callback never runs")
@Outcome(id = "false, 1", expect = ACCEPTABLE, desc = "the parent's cancel() won: the callback ran once")
@Outcome(id = "true, 1", expect = FORBIDDEN, desc = "unregister() claimed to prevent a callback that ran")
@Outcome(id = "false, 0", expect = FORBIDDEN, desc = "neither: the callback was lost")
@Outcome(expect = FORBIDDEN, desc = "anything else (a callback run twice)")
@State
public class UnregisterOnChildVersusParentCancel {

    private final CancellationToken parent = CancellationToken.create("parent");
    private final CancellationToken child = parent.child("child");
    private final AtomicInteger runs = new AtomicInteger();
    private final Registration registration = child.onCancel(reason -> runs.incrementAndGet());

    @Actor
    public void unregister(ZI_Result r) {
        r.r1 = registration.unregister();
    }

    @Actor
    public void cancelParent() {
        parent.cancel();
    }

    @Arbiter
    public void arbiter(ZI_Result r) {
        r.r2 = runs.get();
    }
}
