package io.github.cancellation;

import java.util.concurrent.atomic.AtomicInteger;

import org.jetbrains.lincheck.Lincheck;
import org.junit.jupiter.api.Test;

class LincheckTest {

    static final int INVOCATIONS = Integer.getInteger("cancellation.lincheck.invocations", 1000);

    @Test
    void trivial() {
        Lincheck.runConcurrentTest(INVOCATIONS, () -> {
            CancellationToken token = CancellationToken.create();
            AtomicInteger runs = new AtomicInteger();
            Thread a = new Thread(() -> token.onCancel(r -> runs.incrementAndGet()));
            Thread b = new Thread(token::cancel);
            a.start(); b.start();
            join(a); join(b);
            if (runs.get() != 1) throw new AssertionError("ran " + runs.get());
        });
    }

    static int broken;
    @Test
    void brokenCounter() {
        Lincheck.runConcurrentTest(INVOCATIONS, () -> {
            int[] c = new int[1];
            Thread a = new Thread(() -> c[0] = c[0] + 1);
            Thread b = new Thread(() -> c[0] = c[0] + 1);
            a.start(); b.start();
            join(a); join(b);
            if (c[0] != 2) throw new AssertionError("lost update " + c[0]);
        });
    }

    static void join(Thread t) {
        try { t.join(); } catch (InterruptedException e) { throw new AssertionError(e); }
    }
}
