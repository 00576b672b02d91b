/**
 * A hierarchical, cooperative cancellation token, after Rust's {@code tokio_util::sync::CancellationToken}.
 *
 * <p>A {@link io.github.cancellation.CancellationToken} is a signal that work can check
 * ({@code isCancelled()}), wait on ({@code await()}, {@code whenCancelled()}) and react to
 * ({@code onCancel(...)}). Tokens form a tree: cancelling a token cancels all of its descendants,
 * never its parent or siblings. Cancellation is cooperative: nothing here stops a thread, except
 * {@code call}/{@code run}, which interrupt the thread that runs the work they were given.
 *
 * <p>This is the only exported package. Everything that is not public here is an implementation
 * detail. Every parameter and return value is non-null unless annotated {@code @Nullable}.
 */
@NullMarked
package io.github.cancellation;

import org.jspecify.annotations.NullMarked;
