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
 * J2: {@code unregister()} racing with {@code cancel()}: exactly one of "unregister returned true"
 * and "the callback ran" (the {@link Registration#unregister()} contract, .NET's XOR).
 *
 * <p>r1: what {@code unregister()} returned; r2: how many times the callback ran.
 */
@JCStressTest
@Description("unregister() vs cancel(): (true, not run) or (false, run once), nothing else")
@Outcome(id = "true, 0", expect = ACCEPTABLE, desc = "unregister() won: the callback never runs")
@Outcome(id = "false, 1", expect = ACCEPTABLE, desc = "cancel() won: the callback ran once, unregister() says so")
@Outcome(id = "true, 1", expect = FORBIDDEN, desc = "unregister() claimed to prevent a callback that ran")
@Outcome(id = "false, 0", expect = FORBIDDEN, desc = "neither: the callback was lost")
@Outcome(expect = FORBIDDEN, desc = "anything else (a callback run twice)")
@State
public class UnregisterVersusCancel {

    private final CancellationToken token = CancellationToken.create("j2");
    private final AtomicInteger runs = new AtomicInteger();
    private final Registration registration = token.onCancel(reason -> runs.incrementAndGet());

    @Actor
    public void unregister(ZI_Result r) {
        r.r1 = registration.unregister();
    }

    @Actor
    public void cancel() {
        token.cancel();
    }

    @Arbiter
    public void arbiter(ZI_Result r) {
        r.r2 = runs.get();
    }
}
