package io.github.cancellation;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;

/**
 * The callback behind {@link CancellationToken#call} and {@link CancellationToken#run}: interrupts
 * the worker thread on cancellation, but only while the work runs.
 *
 * <p>Goals: (1) an interrupt is delivered only while the worker is inside the work; (2) it never
 * leaks past the call, even when cancellation races with the end of the work; (3) an interrupt that
 * was set on entry is kept. The state machine makes the race explicit:
 *
 * <pre>
 *   RUNNING --accept (canceller)--> INTERRUPTING --interrupt delivered--> INTERRUPTED
 *   RUNNING --finish (worker)-----> DONE
 * </pre>
 *
 * Both transitions out of RUNNING are CASes, so exactly one side wins. If the canceller wins, the
 * worker's {@link #finish()} waits (a few instructions: {@code Thread.interrupt()} does not block)
 * until the interrupt is delivered and then clears it, unless it was set on entry.
 */
final class Interrupter implements Consumer<CancellationReason> {

    private static final int RUNNING = 0;
    private static final int INTERRUPTING = 1;
    private static final int INTERRUPTED = 2;
    private static final int DONE = 3;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Interrupter.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Thread worker;
    private final boolean interruptedOnEntry;
    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state;

    Interrupter(Thread worker) {
        this.worker = worker;
        this.interruptedOnEntry = worker.isInterrupted();
    }

    @Override
    public void accept(CancellationReason reason) {
        if (STATE.compareAndSet(this, RUNNING, INTERRUPTING)) {
            worker.interrupt();
            state = INTERRUPTED;
        }
    }

    /** Called by the worker when the work is over; afterwards no interrupt from this call arrives. */
    void finish() {
        if (STATE.compareAndSet(this, RUNNING, DONE)) {
            return;
        }
        while (state == INTERRUPTING) {
            Thread.onSpinWait();
        }
        if (!interruptedOnEntry) {
            Thread.interrupted();
        }
    }
}
