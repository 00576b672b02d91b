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
import org.openjdk.jcstress.infra.results.II_Result;

import io.github.cancellation.CancellationToken;

/**
 * J1: a callback registered while another thread cancels the token runs exactly once, either on the
 * registering thread (the token was already cancelled) or on the cancelling thread.
 *
 * <p>r1: how many times the callback ran; r2: 1 if it ran on the registering thread, 2 if on the
 * cancelling thread.
 */
@JCStressTest
@Description("onCancel() vs cancel(): the callback runs exactly once")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "cancel() came first: the callback ran at registration")
@Outcome(id = "1, 2", expect = ACCEPTABLE, desc = "onCancel() came first: cancel() ran the callback")
@Outcome(id = "0, .*", expect = FORBIDDEN, desc = "lost callback: never ran")
@Outcome(id = "2, .*", expect = FORBIDDEN, desc = "callback ran twice")
@Outcome(expect = FORBIDDEN, desc = "anything else")
@State
public class OnCancelVersusCancel {

    private final CancellationToken token = CancellationToken.create("j1");
    private final AtomicInteger runs = new AtomicInteger();
    private volatile Thread registrant;
    private volatile Thread runner;

    @Actor
    public void register() {
        registrant = Thread.currentThread();
        token.onCancel(reason -> {
            runner = Thread.currentThread();
            runs.incrementAndGet();
        });
    }

    @Actor
    public void cancel() {
        token.cancel();
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r1 = runs.get();
        r.r2 = (runner == null) ? 0 : (runner == registrant) ? 1 : 2;
    }
}
