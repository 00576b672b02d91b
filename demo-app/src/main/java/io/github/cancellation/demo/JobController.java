package io.github.cancellation.demo;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * Starts long jobs and cancels them.
 * <ul>
 *   <li>{@code POST /jobs?seconds=60} starts a job and answers at once ({@code 202}, with its id);
 *       the job runs on the task executor and its {@code CompletableFuture} is kept here. The
 *       request does not wait for the job: a request still open at shutdown would hold the web
 *       server's graceful shutdown, which comes before the jobs are cancelled.
 *   <li>{@code GET /jobs}, {@code GET /jobs/{id}}: state ({@code RUNNING}, {@code DONE},
 *       {@code CANCELLED} with the reason, {@code FAILED}).
 *   <li>{@code DELETE /jobs/{id}} cancels the job through the caller's token this controller
 *       passed to the job (the job sees kind {@code CALLER});
 *       {@code DELETE /jobs/{id}?via=future} cancels the returned future instead (also
 *       {@code CALLER}). Either answers once the job has stopped (at most 2 s).
 * </ul>
 */
@RestController
@RequestMapping("/jobs")
public class JobController {

    private static final Logger logger = LoggerFactory.getLogger(JobController.class);

    private static final Duration STOP_WAIT = Duration.ofSeconds(2);

    private final JobService jobService;

    private final AtomicLong ids = new AtomicLong();

    private final Map<Long, Job> jobs = new ConcurrentHashMap<>();

    JobController(JobService jobService) {
        this.jobService = jobService;
    }

    @PostMapping
    ResponseEntity<JobView> start(@RequestParam(defaultValue = "60") int seconds) {
        if (seconds < 1 || seconds > 86_400) {
            return ResponseEntity.badRequest().build();
        }
        long id = ids.incrementAndGet();
        // The caller's token: a root of its own, so that only DELETE cancels it (shutdown reaches
        // the job through the job's own token, a descendant of the application token).
        CancellationToken caller = CancellationToken.create("job-" + id);
        CompletableFuture<JobService.JobResult> future = jobService.run(id, seconds, caller);
        Job job = new Job(id, seconds, Instant.now(), caller, future);
        jobs.put(id, job);
        return ResponseEntity.accepted().location(URI.create("/jobs/" + id)).body(job.view());
    }

    @GetMapping
    List<JobView> list() {
        return jobs.values().stream().sorted(Comparator.comparingLong(Job::id)).map(Job::view).toList();
    }

    @GetMapping("/{id}")
    ResponseEntity<JobView> get(@PathVariable long id) {
        Job job = jobs.get(id);
        return (job != null) ? ResponseEntity.ok(job.view()) : ResponseEntity.notFound().build();
    }

    @DeleteMapping("/{id}")
    ResponseEntity<JobView> cancel(@PathVariable long id, @RequestParam(defaultValue = "token") String via) {
        Job job = jobs.get(id);
        if (job == null) {
            return ResponseEntity.notFound().build();
        }
        if ("future".equals(via)) {
            logger.info("job {}: cancelling its future", id);
            job.future().cancel(true);
        }
        else {
            logger.info("job {}: cancelling the caller's token '{}'", id, job.caller().name());
            job.caller().cancel(CancellationReason.of(CancellationReason.Kind.MANUAL, "DELETE /jobs/" + id));
        }
        awaitQuietly(job.future());
        return ResponseEntity.ok(job.view());
    }

    private static void awaitQuietly(CompletableFuture<?> future) {
        try {
            future.get(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        catch (ExecutionException | TimeoutException | java.util.concurrent.CancellationException ex) {
            // the view says what happened
        }
    }

    /**
     * A job as {@code /jobs} shows it.
     *
     * @param id the job's id
     * @param seconds how long it works when not cancelled
     * @param state {@code RUNNING}, {@code DONE}, {@code CANCELLED} or {@code FAILED}
     * @param reason why it was cancelled or failed, else null
     * @param ageMillis time since it was started
     */
    public record JobView(long id, int seconds, String state, String reason, long ageMillis) {
    }

    private record Job(long id, int seconds, Instant started, CancellationToken caller,
            CompletableFuture<JobService.JobResult> future) {

        JobView view() {
            long age = Duration.between(started, Instant.now()).toMillis();
            if (!future.isDone()) {
                return new JobView(id, seconds, "RUNNING", null, age);
            }
            Throwable failure = future.handle((result, ex) -> ex).getNow(null);
            if (failure instanceof CompletionException && failure.getCause() != null) {
                failure = failure.getCause();
            }
            if (failure == null) {
                return new JobView(id, seconds, "DONE", null, age);
            }
            if (failure instanceof CancelledException cancelled) {
                return new JobView(id, seconds, "CANCELLED", Reasons.describe(cancelled.reason()), age);
            }
            if (failure instanceof java.util.concurrent.CancellationException) {
                return new JobView(id, seconds, "CANCELLED", "the future was cancelled", age);
            }
            return new JobView(id, seconds, "FAILED", String.valueOf(failure), age);
        }
    }
}
