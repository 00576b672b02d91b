package io.github.cancellation.demo;

import java.util.concurrent.CompletableFuture;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.scheduling.annotation.Async;
import org.springframework.stereotype.Service;

/**
 * Long jobs, one {@code @Async} invocation each, returning a {@link CompletableFuture}.
 */
@Service
public class JobService {

    private static final Logger logger = LoggerFactory.getLogger(JobService.class);

    /**
     * Works for {@code seconds} seconds, one second at a time.
     *
     * <p>The {@code token} parameter is filled in by the starter with this invocation's own token
     * ({@code jobService.run}); the token the caller passed in its place is linked to it, so
     * cancelling the caller's token cancels this invocation with kind {@code CALLER}. Shutdown
     * cancels it with kind {@code SHUTDOWN}, and cancelling the returned future with {@code CALLER}
     * too. Ending with {@link CancelledException} completes the caller's future as cancelled.
     *
     * @param id the job's id, for the logs
     * @param seconds how long the job works
     * @param token the caller's token on the way in; the invocation's token inside
     * @return the result, once the job has worked all its seconds
     */
    @Async
    public CompletableFuture<JobResult> run(long id, int seconds, CancellationToken token) {
        logger.info("job {} started: {} s of work under token '{}'", id, seconds, token.name());
        int done = 0;
        try {
            while (done < seconds) {
                token.call(() -> {
                    Thread.sleep(1000); // one second of blocking work; wakes up on cancellation
                    return null;
                });
                done++;
            }
        }
        catch (CancelledException ex) {
            logger.info("job {} stopped after {}/{} s: {}", id, done, seconds, Reasons.describe(ex.reason()));
            throw ex;
        }
        catch (Exception ex) {
            throw new IllegalStateException("job " + id + " failed", ex);
        }
        logger.info("job {} done after {} s", id, seconds);
        return CompletableFuture.completedFuture(new JobResult(id, seconds));
    }

    /**
     * What a job that ran to its end returns.
     *
     * @param id the job's id
     * @param seconds how long it worked
     */
    public record JobResult(long id, int seconds) {
    }
}
