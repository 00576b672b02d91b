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
import org.openjdk.jcstress.infra.results.III_Result;

import io.github.cancellation.CancellationToken;

/**
 * I2s of {@code TokenNode}: two threads link a child each into one root (registering a callback on
 * it), and the second then cancels the root while the first may still be linking. A linker that
 * finds the root's lock taken inflates the root into stripes and links into one of them; the root's
 * canceller must seal and drain every stripe. So each callback runs exactly once, and the cancelled
 * root holds no child. (Two actors, so that it runs on two CPUs.)
 *
 * <p>r1, r2: how many times the callbacks of the two children ran; r3: how many children the
 * cancelled root still lists.
 */
@JCStressTest
@Description("a linker into one root (maybe inflated into stripes) vs a second linker that then cancels the root")
@Outcome(id = "1, 1, 0", expect = ACCEPTABLE, desc = "each callback ran once, the root holds nothing")
@Outcome(expect = FORBIDDEN, desc = "a callback lost or run twice, or a child left in the cancelled root")
@State
public class LinkersOnOneRootVersusCancel {

    private final CancellationToken root = CancellationToken.create("root");
    private final CancellationToken a = root.child("a");
    private final CancellationToken b = root.child("b");
    private final AtomicInteger runsA = new AtomicInteger();
    private final AtomicInteger runsB = new AtomicInteger();

    @Actor
    public void linkA() {
        a.onCancel(reason -> runsA.incrementAndGet());
    }

    @Actor
    public void linkBThenCancel() {
        b.onCancel(reason -> runsB.incrementAndGet());
        root.cancel();
    }

    @Arbiter
    public void arbiter(III_Result r) {
        r.r1 = runsA.get();
        r.r2 = runsB.get();
        r.r3 = root.children().size();
    }
}
