package io.github.cancellation.spring.web;

import java.util.Arrays;

import io.github.cancellation.CancellationReason.Kind;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * The request meters:
 * <ul>
 *   <li>{@value #REQUESTS_CANCELLED} (counter, tag {@value #TAG_KIND}): requests whose token was
 *       cancelled by the time they ended, by the kind of the reason ({@code TIMEOUT},
 *       {@code DISCONNECTED}, {@code SHUTDOWN}, ...; never {@code CLOSED}, which is how every
 *       request ends).
 * </ul>
 *
 * <p>Thread-safety: thread-safe; reads live counts.
 */
final class RequestMetrics implements MeterBinder {

    /** Name of the counter of cancelled requests. */
    static final String REQUESTS_CANCELLED = "cancellation.requests.cancelled";

    /** Tag of the kind of the reason. */
    static final String TAG_KIND = "kind";

    private final RequestTokens tokens;

    RequestMetrics(RequestTokens tokens) {
        this.tokens = tokens;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Arrays.stream(Kind.values()).filter((kind) -> kind != Kind.CLOSED).forEach((kind) -> FunctionCounter
            .builder(REQUESTS_CANCELLED, tokens, (counts) -> counts.cancelledCount(kind))
            .tag(TAG_KIND, kind.name())
            .description("Requests whose token was cancelled by the time they ended")
            .baseUnit("requests")
            .register(registry));
    }
}
