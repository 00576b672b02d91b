package io.github.cancellation.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.util.Optional;

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
 * J4: a reader that sees {@code isCancelled()} true never sees an empty {@code reason()}, and the
 * reason it sees is the complete one the canceller gave (kind, message and origin).
 *
 * <p>r1: {@code isCancelled()}; r2: {@code reason()} read after it is present and complete.
 */
@JCStressTest
@Description("cancel() vs isCancelled() then reason(): cancelled implies a complete reason")
@Outcome(id = "false, false", expect = ACCEPTABLE, desc = "read before cancel()")
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "read after cancel(): the complete reason")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "cancel() landed between the two reads")
@Outcome(id = "true, false", expect = FORBIDDEN, desc = "cancelled, but the reason was empty or incomplete")
@State
public class ReasonPublication {

    private final CancellationToken token = CancellationToken.create("j4");

    @Actor
    public void cancel() {
        token.cancel(CancellationReason.of(Kind.SHUTDOWN, "drain"));
    }

    @Actor
    public void read(ZZ_Result r) {
        r.r1 = token.isCancelled();
        r.r2 = complete(token.reason(), "j4");
    }

    static boolean complete(Optional<CancellationReason> reason, String origin) {
        return reason.isPresent() && reason.get().kind() == Kind.SHUTDOWN
                && reason.get().message().orElse("").equals("drain") && reason.get().origin().equals(origin);
    }
}
