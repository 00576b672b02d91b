package io.github.cancellation.demo;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.CancellationTaskTracker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * Says what to try once the demo is up, logs the moment the application token is cancelled, and
 * stops the demo by itself after {@code demo.seconds} when that is set (as if Ctrl+C had been
 * pressed).
 */
@Component
class DemoLifecycleLog {

    private static final Logger logger = LoggerFactory.getLogger(DemoLifecycleLog.class);

    private final DemoProperties properties;

    /**
     * @param applicationCancellationToken the application token itself: a parameter with the
     *     bean's name gets the root, not a child of its own
     * @param tracker the starter's task tracker, to tell how many tasks are in flight
     * @param properties the demo's settings
     */
    DemoLifecycleLog(CancellationToken applicationCancellationToken, CancellationTaskTracker tracker,
            DemoProperties properties) {
        this.properties = properties;
        applicationCancellationToken.onCancel(reason -> logger.info(
                "application token cancelled ({}): {} tracked task(s) in flight are told to stop",
                Reasons.describe(reason), tracker.activeCount()));
    }

    @EventListener
    void ready(ApplicationReadyEvent event) {
        Environment environment = event.getApplicationContext().getEnvironment();
        String port = environment.getProperty("local.server.port", "8080");
        String base = "http://localhost:" + port;
        logger.info("demo ready on port {}; try:\n"
                + "  curl -X POST '{}/ingest?item=order-1'\n"
                + "  curl -X POST '{}/jobs?seconds=60'      then  curl -X DELETE {}/jobs/1\n"
                + "  curl {}/actuator/cancellation\n"
                + "  and press Ctrl+C to watch every task stop", port, base, base, base, base);
        if (properties.seconds() > 0) {
            stopAfter(event.getApplicationContext(), properties.seconds());
        }
    }

    private static void stopAfter(ConfigurableApplicationContext context, long seconds) {
        Thread stopper = new Thread(() -> {
            try {
                Thread.sleep(seconds * 1000);
            }
            catch (InterruptedException ex) {
                return;
            }
            logger.info("{} s are up (demo.seconds): stopping as if Ctrl+C had been pressed", seconds);
            SpringApplication.exit(context);
        }, "demo-auto-stop");
        stopper.setDaemon(true);
        stopper.start();
    }
}
