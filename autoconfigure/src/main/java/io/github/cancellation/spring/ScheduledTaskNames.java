package io.github.cancellation.spring;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.config.ConfigurableBeanFactory;
import org.springframework.util.ClassUtils;

/**
 * Names the executions of a {@code @Scheduled} method {@code beanName.methodName} and finds the
 * bean, so that they hang off the bean's token.
 *
 * <h2>Why it reads a description: the one workaround of the {@code @Scheduled} path</h2>
 * The scheduler is given a runnable that Spring wraps in a private class; Framework offers no
 * public way to get the bean or the method from it (the public {@code ScheduledMethodRunnable}
 * inside is not reachable). What is public is its {@code toString()}, which Spring defines as
 * {@code declaringClass.methodName} ({@code ScheduledMethodRunnable#toString}, passed on by the
 * wrapper). So this class reads that description, and only when a task is scheduled (a handful
 * of times at start-up, nothing per execution and no scan of the beans): the bean is the one
 * bean of the declaring class, if there is exactly one; with several, their executions are named
 * {@code SimpleClassName.methodName} and hang off the application token. A description in
 * another form (a lambda, say) gives {@value #DEFAULT_TASK_NAME}.
 * {@code CancellationSchedulingAutoConfigurationTests} fails, naming the execution, if Spring's
 * description changes.
 *
 * <p>Thread-safety: thread-safe.
 */
final class ScheduledTaskNames {

    /** Name of a scheduled task whose description says nothing bounded about it. */
    static final String DEFAULT_TASK_NAME = "scheduled-task";

    /** Stands for "no single bean" in {@link #beanNames}: no bean is named so. */
    private static final String NONE = "";

    /** A qualified class name, a dot and a method name; nothing with an identity hash or a lambda. */
    private static final Pattern QUALIFIED_METHOD = Pattern
        .compile("[\\p{javaJavaIdentifierPart}.]+\\.[\\p{javaJavaIdentifierPart}]+");

    private final ListableBeanFactory beanFactory;

    /** Bean names by declaring class name, or {@link #NONE}. */
    private final Map<String, String> beanNames = new ConcurrentHashMap<>();

    ScheduledTaskNames(ListableBeanFactory beanFactory) {
        this.beanFactory = beanFactory;
    }

    /**
     * Returns the name of the bean whose scheduled method {@code task} runs, or null if unknown
     * or ambiguous.
     *
     * @param task the runnable a scheduler was given
     * @return the bean name, or null
     */
    @Nullable String beanName(Runnable task) {
        String description = description(task);
        if (description == null) {
            return null;
        }
        String className = description.substring(0, description.lastIndexOf('.'));
        String beanName = beanNames.computeIfAbsent(className, this::soleBeanOf);
        return beanName.equals(NONE) ? null : beanName;
    }

    /**
     * Returns a bounded name for the executions of {@code task}: {@code beanName.methodName} when
     * the bean is known, {@code SimpleClassName.methodName} when the description names a method,
     * {@value #DEFAULT_TASK_NAME} otherwise (a lambda, say, whose description has an identity hash).
     *
     * @param task the runnable a scheduler was given
     * @return the task name
     */
    String taskName(Runnable task) {
        String description = description(task);
        if (description == null) {
            return DEFAULT_TASK_NAME;
        }
        int lastDot = description.lastIndexOf('.');
        String methodName = description.substring(lastDot + 1);
        String beanName = beanName(task);
        if (beanName != null) {
            return beanName + "." + methodName;
        }
        String className = description.substring(0, lastDot);
        return className.substring(className.lastIndexOf('.') + 1) + "." + methodName;
    }

    /** The task's description if it has the form {@code declaringClass.methodName}, else null. */
    private static @Nullable String description(Runnable task) {
        String description = task.toString();
        return (description != null && QUALIFIED_METHOD.matcher(description).matches()) ? description : null;
    }

    private String soleBeanOf(String className) {
        ClassLoader classLoader = (beanFactory instanceof ConfigurableBeanFactory configurable)
                ? configurable.getBeanClassLoader() : null;
        if (!ClassUtils.isPresent(className, classLoader)) {
            return NONE;
        }
        Class<?> type = ClassUtils.resolveClassName(className, classLoader);
        String[] names = beanFactory.getBeanNamesForType(type, false, false);
        return (names.length == 1) ? names[0] : NONE;
    }
}
