package io.github.cancellation.demo;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Settings of the demo, under {@code demo.*} (see {@code application.yml}).
 *
 * @param badIngest replace the ingest worker with the "Bad" variant: a loop behind a plain boolean
 *     flag, blocked in {@code queue.take()} (the negative control)
 * @param seconds when positive, stop by itself after this many seconds, as if Ctrl+C had been pressed
 * @param ingest the ingest worker
 * @param report the scheduled report
 */
@ConfigurationProperties("demo")
public record DemoProperties(@DefaultValue("false") boolean badIngest, @DefaultValue("0") long seconds,
        @DefaultValue Ingest ingest, @DefaultValue Report report) {

    /**
     * @param processTime how long processing one item takes (not interrupted: an item taken is finished)
     */
    public record Ingest(@DefaultValue("50ms") Duration processTime) {
    }

    /**
     * The schedule itself is read by {@code @Scheduled} from {@code demo.report.initial-delay} and
     * {@code demo.report.interval}.
     *
     * @param stepTime how long each of the report's steps takes (blocking work run through the token)
     */
    public record Report(@DefaultValue("2s") Duration stepTime) {
    }
}
