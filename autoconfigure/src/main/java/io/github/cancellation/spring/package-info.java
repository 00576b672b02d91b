/**
 * Spring Boot auto-configuration for {@link io.github.cancellation.CancellationToken}: an
 * application token that is cancelled when the application context closes, after the web server
 * has drained and before executors wait for their tasks, a drain of tracked work, a child token for
 * every bean that injects a {@code CancellationToken}, a child token for every task run by the
 * executors and schedulers that Spring Boot builds and for every {@code @Async} invocation and
 * {@code @Scheduled} execution (named {@code beanName.methodName}), readiness
 * {@code REFUSING_TRAFFIC} once the application token is cancelled, with Micrometer the
 * {@code cancellation.*} meters, and, with actuator, the {@code cancellation} endpoint.
 *
 * <p>The public types are {@link io.github.cancellation.spring.CancellationAutoConfiguration},
 * {@link io.github.cancellation.spring.CancellationAsyncAutoConfiguration},
 * {@link io.github.cancellation.spring.CancellationSchedulingAutoConfiguration},
 * {@link io.github.cancellation.spring.CancellationProperties}, the task tracker
 * ({@link io.github.cancellation.spring.CancellationTaskTracker} and
 * {@link io.github.cancellation.spring.TrackedTask}), the
 * {@link io.github.cancellation.spring.CancellationTaskDecorator}, the Micrometer
 * context-propagation accessor, the meters
 * ({@link io.github.cancellation.spring.CancellationMetricsAutoConfiguration} and
 * {@link io.github.cancellation.spring.CancellationMetrics}, whose constants name them, and
 * {@link io.github.cancellation.spring.ActiveTokenSource}, the other sources of open tokens that
 * {@code cancellation.tokens.active} counts), and the
 * actuator endpoint
 * ({@link io.github.cancellation.spring.CancellationEndpointAutoConfiguration},
 * {@link io.github.cancellation.spring.CancellationEndpoint} with its response types, and
 * {@link io.github.cancellation.spring.CancellationEndpointWebExtension}). Everything else is
 * package-private. Every parameter and return value is non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package io.github.cancellation.spring;

import org.jspecify.annotations.NullMarked;
