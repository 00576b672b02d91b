package io.github.cancellation.spring;

import java.util.function.Supplier;

import io.github.cancellation.CancellationToken;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.core.Ordered;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.util.function.SingletonSupplier;

/**
 * Wraps the scheduler of {@code @Scheduled} methods in a {@link CancellationTaskScheduler}.
 *
 * <p>{@code ScheduledAnnotationBeanPostProcessor} gives its registrar a
 * {@code TaskSchedulerRouter}, then calls every {@link SchedulingConfigurer} in order, then
 * schedules the tasks through the registrar's scheduler. This configurer has the lowest
 * precedence, so it wraps whatever scheduler the application's own configurers chose (a
 * configurer of the application that should run after it must say so with an order). Tasks the
 * application adds to the registrar get tokens as well.
 *
 * <p>Thread-safety: called once, on the thread that refreshes the context.
 */
final class CancellationSchedulingConfigurer implements SchedulingConfigurer, Ordered {

    private final ListableBeanFactory beanFactory;

    private final ScheduledTaskNames names;

    private final CancellationTaskTracker tracker;

    private final IssuedTokens tokens;

    private final Supplier<CancellationToken> applicationToken;

    CancellationSchedulingConfigurer(ListableBeanFactory beanFactory, ScheduledTaskNames names,
            CancellationTaskTracker tracker, IssuedTokens tokens) {
        this.beanFactory = beanFactory;
        this.names = names;
        this.tracker = tracker;
        this.tokens = tokens;
        this.applicationToken = SingletonSupplier.of(() -> ApplicationTokens.find(beanFactory));
    }

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        TaskScheduler scheduler = registrar.getScheduler();
        if (scheduler != null && !(scheduler instanceof CancellationTaskScheduler)) {
            registrar.setTaskScheduler(new CancellationTaskScheduler(scheduler, names, applicationToken,
                    beanName -> ApplicationTokens.beanToken(beanFactory, beanName), tracker, tokens));
        }
    }

    /**
     * Returns {@link Ordered#LOWEST_PRECEDENCE}: this configurer runs after the application's.
     *
     * @return the order
     */
    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
