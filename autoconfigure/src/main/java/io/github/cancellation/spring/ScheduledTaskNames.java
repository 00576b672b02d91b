package io.github.cancellation.spring;

import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

import org.springframework.aop.framework.AopInfrastructureBean;
import org.springframework.aop.framework.AopProxyUtils;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.core.MethodIntrospector;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.annotation.AnnotationUtils;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.scheduling.annotation.Schedules;

/**
 * Knows which bean each {@code @Scheduled} method belongs to, so that its executions can be named
 * {@code beanName.methodName} and hang off the bean's token.
 *
 * <p>Why a registry: the scheduler sees a runnable that Spring wraps in a private class, which
 * tells only {@code declaringClass.methodName} (its {@code toString()}, the one
 * {@code ScheduledMethodRunnable} gives), not the bean. So this post-processor looks at every
 * bean the way {@code ScheduledAnnotationBeanPostProcessor} does (which runs after it: that one
 * is an internal post-processor, registered last) and records, for each such string, the bean
 * that has the method. When several beans share the class of a scheduled method, the bean is
 * ambiguous: their executions are named {@code SimpleClassName.methodName} and hang off the
 * application token.
 *
 * <p>Thread-safety: thread-safe.
 */
final class ScheduledTaskNames implements BeanPostProcessor {

    /** Name of a scheduled task whose description says nothing bounded about it. */
    static final String DEFAULT_TASK_NAME = "scheduled-task";

    /** Stands for "several beans" in {@link #beanNames}: no bean is named so. */
    private static final String AMBIGUOUS = "";

    /** A qualified class name, a dot and a method name; nothing with an identity hash or a lambda. */
    private static final Pattern QUALIFIED_METHOD = Pattern
        .compile("[\\p{javaJavaIdentifierPart}.]+\\.[\\p{javaJavaIdentifierPart}]+");

    private final Set<Class<?>> nonAnnotatedClasses = ConcurrentHashMap.newKeySet();

    /** Bean names by {@code className.methodName}, or {@link #AMBIGUOUS}. */
    private final Map<String, String> beanNames = new ConcurrentHashMap<>();

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (bean instanceof AopInfrastructureBean || bean instanceof TaskScheduler
                || bean instanceof ScheduledExecutorService) {
            return bean; // as ScheduledAnnotationBeanPostProcessor, which ignores them too
        }
        Class<?> targetClass = AopProxyUtils.ultimateTargetClass(bean);
        if (nonAnnotatedClasses.contains(targetClass)) {
            return bean;
        }
        Set<Method> methods = AnnotationUtils.isCandidateClass(targetClass, List.of(Scheduled.class, Schedules.class))
                ? MethodIntrospector.selectMethods(targetClass, (MethodIntrospector.MetadataLookup<Boolean>) method ->
                        AnnotatedElementUtils.getMergedRepeatableAnnotations(method, Scheduled.class, Schedules.class)
                            .isEmpty() ? null : Boolean.TRUE).keySet()
                : Set.of();
        if (methods.isEmpty()) {
            nonAnnotatedClasses.add(targetClass);
            return bean;
        }
        for (Method method : methods) {
            // The description of the runnable Spring will create: see ScheduledMethodRunnable and,
            // for reactive methods, ScheduledAnnotationReactiveSupport.
            Method invocable = AopUtils.selectInvocableMethod(method, bean.getClass());
            record(invocable.getDeclaringClass().getName() + "." + method.getName(), beanName);
            record(bean.getClass().getName() + "." + method.getName(), beanName);
        }
        return bean;
    }

    private void record(String description, String beanName) {
        beanNames.merge(description, beanName, (known, added) -> known.equals(added) ? known : AMBIGUOUS);
    }

    /**
     * Returns the name of the bean whose scheduled method {@code task} runs, or null if unknown
     * or ambiguous.
     *
     * @param task the runnable a scheduler was given
     * @return the bean name, or null
     */
    @Nullable String beanName(Runnable task) {
        String beanName = beanNames.get(task.toString());
        return (beanName == null || beanName.equals(AMBIGUOUS)) ? null : beanName;
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
        String description = task.toString();
        if (description == null || !QUALIFIED_METHOD.matcher(description).matches()) {
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
}
