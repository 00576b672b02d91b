package io.github.cancellation.benchmarks.spring;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * One unit of the loops' work, the same in both apps: a sleep of {@code bench.unit-millis}
 * (a poll, a call to another service). Loops check their stop signal between units, never
 * inside one, so exit comes at most one unit after the signal, in both apps alike.
 */
@Component
public class Work {

    private final long unitMillis;

    public Work(@Value("${bench.unit-millis:50}") long unitMillis) {
        this.unitMillis = unitMillis;
    }

    public void unit() throws InterruptedException {
        Thread.sleep(unitMillis);
    }
}
