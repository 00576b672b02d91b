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
 * J5: a thread parked in {@code await()} ends after {@code cancel()}, whether the signal comes before
 * or after it parks (no lost wake-up). jcstress never interrupts the actor, so only the cancellation
 * can end it.
 */
@JCStressTest(Mode.Termination)
@Description("await() ends after cancel()")
@Outcome(id = "TERMINATED", expect = ACCEPTABLE, desc = "await() returned after cancel()")
@Outcome(id = "STALE", expect = FORBIDDEN, desc = "lost wake-up: await() still blocked after cancel()")
@Outcome(expect = FORBIDDEN, desc = "await() threw")
@State
public class AwaitTermination {

    private final CancellationToken token = CancellationToken.create("j5");

    @Actor
    public void await() throws InterruptedException {
        token.await();
    }

    @Signal
    public void cancel() {
        token.cancel();
    }
}
