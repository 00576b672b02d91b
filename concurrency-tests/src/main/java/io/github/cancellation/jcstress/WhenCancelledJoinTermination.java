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
 * J6: a thread blocked on {@code whenCancelled().toCompletableFuture().join()} ends after
 * {@code cancel()}, whether the signal comes before or after the stage is created.
 */
@JCStressTest(Mode.Termination)
@Description("whenCancelled().toCompletableFuture().join() ends after cancel()")
@Outcome(id = "TERMINATED", expect = ACCEPTABLE, desc = "join() returned after cancel()")
@Outcome(id = "STALE", expect = FORBIDDEN, desc = "lost completion: join() still blocked after cancel()")
@Outcome(expect = FORBIDDEN, desc = "join() threw")
@State
public class WhenCancelledJoinTermination {

    private final CancellationToken token = CancellationToken.create("j6");

    @Actor
    public void join() {
        token.whenCancelled().toCompletableFuture().join();
    }

    @Signal
    public void cancel() {
        token.cancel();
    }
}
