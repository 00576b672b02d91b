package io.github.cancellation.spring;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;

import org.springframework.core.task.AsyncTaskExecutor;
import org.springframework.core.task.SimpleAsyncTaskExecutor;
import org.springframework.core.task.TaskDecorator;
import org.springframework.scheduling.concurrent.ConcurrentTaskExecutor;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Spring Framework behaviour that {@link SubmissionSkip} relies on, checked on plain Spring:
 * the executors Spring Boot builds or users commonly configure decorate a task on the submitting
 * thread, during the submission, once per submission ({@code execute}, {@code submit} and
 * {@code submitCompletable}, the three ways {@code AsyncExecutionInterceptor} submits). When
 * Framework changes that, this test fails naming the executor and the call; the starter then
 * still works (the invocation claims the decorated run), only slower.
 */
class SubmissionSkipTests {

    @Test
    void threadPoolTaskExecutorShouldDecorateOnTheSubmittingThread() throws Exception {
        ThreadPoolTaskExecutor executor = new ThreadPoolTaskExecutor();
        assertDecoratesOnTheSubmittingThread("ThreadPoolTaskExecutor", executor::setTaskDecorator, executor,
                executor::initialize, executor::shutdown);
    }

    @Test
    void simpleAsyncTaskExecutorShouldDecorateOnTheSubmittingThread() throws Exception {
        SimpleAsyncTaskExecutor executor = new SimpleAsyncTaskExecutor();
        assertDecoratesOnTheSubmittingThread("SimpleAsyncTaskExecutor", executor::setTaskDecorator, executor, () -> {
        }, executor::close);
    }

    @Test
    void concurrentTaskExecutorShouldDecorateOnTheSubmittingThread() throws Exception {
        ConcurrentTaskExecutor executor = new ConcurrentTaskExecutor(java.util.concurrent.Executors.newFixedThreadPool(1));
        assertDecoratesOnTheSubmittingThread("ConcurrentTaskExecutor", executor::setTaskDecorator, executor, () -> {
        }, () -> ((java.util.concurrent.ExecutorService) executor.getConcurrentExecutor()).shutdown());
    }

    private static void assertDecoratesOnTheSubmittingThread(String name, Consumer<TaskDecorator> setDecorator,
            AsyncTaskExecutor executor, Runnable initialize, Runnable shutdown) throws Exception {
        List<Thread> decoratingThreads = new CopyOnWriteArrayList<>();
        setDecorator.accept(runnable -> {
            decoratingThreads.add(Thread.currentThread());
            return runnable;
        });
        initialize.run();
        try {
            Callable<String> task = () -> "done";
            executor.execute(() -> {
            });
            executor.submit(task).get(10, TimeUnit.SECONDS);
            executor.submitCompletable(task).get(10, TimeUnit.SECONDS);
            assertThat(decoratingThreads).as(name + ": execute, submit and submitCompletable each decorate once, "
                    + "on the submitting thread").containsExactly(Thread.currentThread(), Thread.currentThread(),
                    Thread.currentThread());
        }
        finally {
            shutdown.run();
        }
    }
}
