package io.github.cancellation.spring;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.OperationResponseBody;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.Selector.Match;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

/**
 * The {@code cancellation} actuator endpoint: reads the token tree under the application token
 * and cancels one subtree of it.
 *
 * <h2>Read (allowed by default, once exposed)</h2>
 * {@code GET /actuator/cancellation} returns the tree from the application token down: the
 * tokens of singleton beans, then the tokens of tracked tasks in flight ({@code @Async}
 * invocations, {@code @Scheduled} executions, tasks of Boot's executors, work tracked with
 * {@link CancellationTaskTracker}) with each task's name, age and thread, and each token's state
 * and reason. The answer holds at most {@value #DEFAULT_MAX_TOKENS} tokens, breadth first, at
 * most 32 levels and at most {@value #MAX_TASKS_PER_TOKEN}
 * tasks per token; {@code truncated} says when something was left out.
 * {@code GET /actuator/cancellation/{path}} returns the subtree at a path (404 if there is none,
 * 400 for a malformed path).
 *
 * <h2>Paths</h2>
 * A path names tokens from below the application token down, separated by {@code /}:
 * {@code orderService} is the token of bean {@code orderService},
 * {@code orderService/orderService.export} the token of a running invocation of its
 * {@code export} method, {@code ImportJob} a task submitted to Boot's executor outside any token
 * scope (named after its class). Each node of the tree shows its {@code path}. Segments are token names made
 * of {@code A-Z a-z 0-9 . _ $ -} (so a path needs no escaping in a URL), at most 255 characters,
 * at most 32 segments; tokens with other names have no path. A path selects every token at it:
 * two running invocations of the same method share a path and are cancelled together.
 *
 * <h2>Write (only with {@code management.endpoint.cancellation.access=unrestricted})</h2>
 * {@code POST /actuator/cancellation/{path}}, with an optional JSON body
 * {@code {"message": "why"}}, cancels the tokens at the path, and so their whole subtrees, with
 * kind {@link CancellationReason.Kind#ACTUATOR ACTUATOR}; the parent and siblings are untouched.
 * The message is stripped of control characters and cut to {@value #MAX_MESSAGE_LENGTH}
 * characters. Answers: 200 with what was cancelled (a repeated cancel answers 200 again and
 * changes nothing: {@code ALREADY_CANCELLED}); 404 for a path that selects no token; 400 for a
 * malformed path or body, and for the empty path, since the application token is not cancellable
 * here (shut the application down instead, for example with the {@code shutdown} endpoint). In
 * the error cases nothing is cancelled and nothing is created. Every cancel is logged at WARN
 * with its path and, over HTTP when known, the principal. Over HTTP the path is read from the URL
 * only (see {@link CancellationEndpointWebExtension}).
 *
 * <p>The endpoint adds no security of its own: secure it as any actuator endpoint. With Spring
 * Security, Boot's default requires authentication for it, and a CSRF token for a POST; an
 * application that opens the cancel typically allows it to one role and exempts the endpoint from
 * CSRF for API clients.
 *
 * <p>Over JMX the operations are {@code tokens()}, {@code subtree(String[] path)} and
 * {@code cancel(String[] path, String message)}; a malformed path is an
 * {@code IllegalArgumentException} for {@code subtree} and answers {@code INVALID} for
 * {@code cancel}, an unknown one answers {@code null} and {@code NOT_FOUND}.
 *
 * <p>This class holds the operations only: the tree is built by {@link CancellationTree},
 * rendered by {@link CancellationTreeRenderer}, and what callers send is cleaned by
 * {@link EndpointInput}.
 *
 * <p>Thread-safety: thread-safe; each operation works on a fresh snapshot of the tree.
 */
@Endpoint(id = "cancellation", defaultAccess = Access.READ_ONLY)
public class CancellationEndpoint {

    /** The most tokens a read returns. */
    public static final int DEFAULT_MAX_TOKENS = 1000;

    /** The most tasks a read lists for one token (the oldest ones). */
    public static final int MAX_TASKS_PER_TOKEN = 100;

    /** The longest cancellation message kept, in characters. */
    public static final int MAX_MESSAGE_LENGTH = 200;

    /** The message of an actuator cancel that gave none. */
    static final String DEFAULT_MESSAGE = "cancelled through the actuator endpoint";

    private static final Log logger = LogFactory.getLog(CancellationEndpoint.class);

    private final CancellationToken applicationToken;

    private final CancellationTaskTracker tracker;

    private final Supplier<Map<String, CancellationToken>> beanTokens;

    private final CancellationTreeRenderer renderer;

    private final IssuedTokens issuedTokens;

    CancellationEndpoint(CancellationToken applicationToken, CancellationTaskTracker tracker,
            Supplier<Map<String, CancellationToken>> beanTokens, int maxTokens) {
        this(applicationToken, tracker, beanTokens, maxTokens, new IssuedTokens(applicationToken));
    }

    /**
     * Creates the endpoint; every token its cancel operation cancels is counted by
     * {@code issuedTokens} ({@code cancellation.tokens.cancelled}, kind {@code ACTUATOR}).
     */
    CancellationEndpoint(CancellationToken applicationToken, CancellationTaskTracker tracker,
            Supplier<Map<String, CancellationToken>> beanTokens, int maxTokens, IssuedTokens issuedTokens) {
        this.applicationToken = applicationToken;
        this.tracker = tracker;
        this.beanTokens = beanTokens;
        this.renderer = new CancellationTreeRenderer(maxTokens);
        this.issuedTokens = issuedTokens;
    }

    /**
     * Returns the token tree from the application token down.
     *
     * @return a descriptor with one token, the application token, and what is below it
     */
    @ReadOperation
    public TokensDescriptor tokens() {
        CancellationTree tree = snapshot();
        return renderer.render(List.of(tree.root()));
    }

    /**
     * Returns the subtree at a path.
     *
     * @param path the path, one segment per element
     * @return the tokens at the path and what is below them, or {@code null} if there are none
     * @throws InvalidEndpointRequestException if the path is malformed
     */
    @ReadOperation
    public @Nullable TokensDescriptor subtree(@Selector(match = Match.ALL_REMAINING) String[] path) {
        String invalid = CancellationTree.validate(path);
        if (invalid != null) {
            throw new InvalidEndpointRequestException("Malformed path: " + invalid, "Malformed path");
        }
        List<CancellationTree.Node> nodes = snapshot().find(path);
        return nodes.isEmpty() ? null : renderer.render(nodes);
    }

    /**
     * Cancels the tokens at a path, with kind {@code ACTUATOR}. Over HTTP the web extension
     * answers instead, with status codes and the principal.
     *
     * @param path the path, one segment per element
     * @param message why, or {@code null}
     * @return what happened; {@code INVALID} and {@code NOT_FOUND} cancel nothing
     */
    @WriteOperation
    public CancelDescriptor cancel(@Selector(match = Match.ALL_REMAINING) String[] path, @Nullable String message) {
        return cancel(path, message, null);
    }

    /**
     * Cancels the tokens at a path, with kind {@code ACTUATOR}, and logs it with the principal.
     */
    CancelDescriptor cancel(String[] path, @Nullable String message, @Nullable String principal) {
        if (path.length == 0) {
            return CancelDescriptor.invalid("", "the application token is not cancellable through this endpoint: "
                    + "shut the application down instead (for example with the shutdown endpoint)");
        }
        String invalid = CancellationTree.validate(path);
        if (invalid != null) {
            return CancelDescriptor.invalid(null, "malformed path: " + invalid);
        }
        String shownPath = String.join("/", path);
        List<CancellationTree.Node> nodes = snapshot().find(path);
        if (nodes.isEmpty()) {
            if (logger.isDebugEnabled()) {
                logger.debug("Actuator cancel of '" + shownPath + "': no such token");
            }
            return new CancelDescriptor(shownPath, Outcome.NOT_FOUND, 0, 0, "no token at this path");
        }
        CancellationReason reason = CancellationReason.of(CancellationReason.Kind.ACTUATOR, EndpointInput.cleanMessage(message));
        int cancelled = 0;
        for (CancellationTree.Node node : nodes) {
            if (node.token.cancel(reason)) {
                issuedTokens.countStarted(CancellationReason.Kind.ACTUATOR);
                cancelled++;
            }
        }
        if (cancelled > 0) {
            tracker.noteCancelled();
        }
        String who = (principal != null) ? " by '" + EndpointInput.cleanPrincipal(principal) + "'" : "";
        logger.warn("Actuator cancel of '" + shownPath + "'" + who + ": " + cancelled + " of " + nodes.size()
                + " token(s) at this path cancelled now (kind ACTUATOR, message '" + reason.message().orElse("")
                + "')");
        if (cancelled == 0) {
            return new CancelDescriptor(shownPath, Outcome.ALREADY_CANCELLED, nodes.size(), 0,
                    "every token at this path was already cancelled");
        }
        return new CancelDescriptor(shownPath, Outcome.CANCELLED, nodes.size(), cancelled,
                "cancelled " + cancelled + " token(s) and their descendants");
    }

    private CancellationTree snapshot() {
        return CancellationTree.snapshot(applicationToken, beanTokens.get(), tracker.tasks());
    }

    // ---------------------------------------------------------------- response types

    /**
     * What a cancel did.
     */
    public enum Outcome {

        /** At least one token at the path was cancelled by this request. */
        CANCELLED,

        /** Every token at the path was already cancelled; nothing changed. */
        ALREADY_CANCELLED,

        /** No token at the path; nothing changed. */
        NOT_FOUND,

        /** A malformed path, or the application token itself; nothing changed. */
        INVALID
    }

    /**
     * The answer to a read: tokens and their subtrees.
     *
     * @param tokens the tokens read: the application token, or the tokens at the path
     * @param size how many tokens the answer holds, at every level
     * @param truncated whether tokens or tasks were left out to keep the answer small
     */
    public record TokensDescriptor(List<TokenDescriptor> tokens, int size, boolean truncated)
            implements OperationResponseBody {
    }

    /**
     * One token of the tree.
     *
     * @param name the token's name
     * @param path the path that selects it; absent if a name on the way cannot be part of a path
     * @param type {@code application}, {@code bean}, {@code task} (the token of tracked tasks in
     * flight) or {@code token} (one between them)
     * @param state {@code active} or {@code cancelled}
     * @param reason why it was cancelled; absent while it is active
     * @param tasks the tracked tasks running under exactly this token
     * @param children the tokens below it
     */
    public record TokenDescriptor(String name, @Nullable String path, String type, String state,
            @Nullable ReasonDescriptor reason, List<TaskDescriptor> tasks, List<TokenDescriptor> children) {
    }

    /**
     * Why a token was cancelled.
     *
     * @param kind the kind of cancellation
     * @param message the message, if any
     * @param origin the name of the token where the cancellation began
     */
    public record ReasonDescriptor(CancellationReason.Kind kind, @Nullable String message, String origin) {

        static ReasonDescriptor of(CancellationReason reason) {
            return new ReasonDescriptor(reason.kind(), reason.message().orElse(null), reason.origin());
        }
    }

    /**
     * A tracked task in flight.
     *
     * @param name the task's name
     * @param ageMillis how long it has been running, in milliseconds
     * @param thread the name of the thread that runs it
     */
    public record TaskDescriptor(String name, long ageMillis, String thread) {
    }

    /**
     * The answer to a cancel.
     *
     * @param path the path, as received when it was valid
     * @param outcome what happened
     * @param matched how many tokens the path selected
     * @param cancelled how many of them this request cancelled
     * @param detail a sentence for people
     */
    public record CancelDescriptor(@Nullable String path, Outcome outcome, int matched, int cancelled, String detail)
            implements OperationResponseBody {

        static CancelDescriptor invalid(@Nullable String path, String detail) {
            return new CancelDescriptor(path, Outcome.INVALID, 0, 0, detail);
        }
    }
}
