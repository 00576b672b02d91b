package io.github.cancellation.spring;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

import io.github.cancellation.CancellationToken;
import org.jspecify.annotations.Nullable;

/**
 * A snapshot of the tokens the starter knows about, arranged as a tree under the application
 * token: the bean tokens, the tokens of tracked tasks, and the tokens between them. Built for the
 * actuator endpoint, which reads it and resolves cancel paths against it; building it never
 * creates, registers on or changes a token.
 *
 * <h2>Why the starter's own records</h2>
 * {@link CancellationToken#children()} lists only children that hold something (a callback, a
 * waiter), so a bean token nobody waits on would be missing. The tree is therefore built from
 * what the starter holds strongly: the open tokens of singleton beans (by bean name) and the
 * tracker's tasks in flight (each with its token). The chain of {@link CancellationToken#parent()}
 * links places each of them under the application token; tokens on that chain that are neither a
 * bean's nor a task's appear as plain {@linkplain Type#TOKEN tokens}. A token whose chain does not
 * reach the application token within {@value #MAX_ANCESTORS} steps (another root, an
 * {@code anyOf} token) is left out.
 *
 * <h2>Paths</h2>
 * The path of a node is the names of the tokens from below the application token down to it,
 * joined by {@code /}: {@code ""} for the application token, {@code orderService} for a bean
 * token, {@code orderService/orderService.export} for a task under it. A name can be part of a
 * path only if it matches {@value #SEGMENT_PATTERN}, is at most {@value #MAX_SEGMENT_LENGTH}
 * characters long and is not {@code .} or {@code ..}; a node with any other name on its chain has
 * no path and cannot be addressed. Sibling tokens may share a name (two running invocations of
 * the same method): a path then selects all of them.
 *
 * <p>Thread-safety: an instance is a snapshot confined to the thread that built it. The tokens it
 * refers to are thread-safe and keep changing: a node's state is read when it is rendered.
 */
final class CancellationTree {

    /** What a segment of a path may contain. */
    static final String SEGMENT_PATTERN = "[A-Za-z0-9._$-]+";

    /** The longest name a path segment may have. */
    static final int MAX_SEGMENT_LENGTH = 255;

    /** The most segments a path may have. */
    static final int MAX_SEGMENTS = 32;

    /** How far up the parent chain of a bean or task token the tree looks for a known token. */
    static final int MAX_ANCESTORS = 64;

    private static final Pattern SEGMENT = Pattern.compile(SEGMENT_PATTERN);

    private final Node root;

    private CancellationTree(Node root) {
        this.root = root;
    }

    /**
     * Builds a snapshot.
     *
     * @param applicationToken the root of the tree
     * @param beanTokens the open tokens of singleton beans, by bean name
     * @param tasks the tracked tasks in flight, oldest first
     */
    static CancellationTree snapshot(CancellationToken applicationToken, Map<String, CancellationToken> beanTokens,
            List<TrackedTask> tasks) {
        Map<CancellationToken, Node> nodes = new IdentityHashMap<>();
        Node root = new Node(applicationToken, null, Type.APPLICATION);
        nodes.put(applicationToken, root);
        new TreeMap<>(beanTokens).values().forEach((token) -> {
            Node node = attach(token, nodes);
            if (node != null && node.type == Type.TOKEN) {
                node.type = Type.BEAN;
            }
        });
        for (TrackedTask task : tasks) {
            Node node = attach(task.token(), nodes);
            if (node != null) {
                node.tasks.add(task);
                if (node.type == Type.TOKEN) {
                    node.type = Type.TASK;
                }
            }
        }
        return new CancellationTree(root);
    }

    /**
     * Returns the node of {@code token}, creating it and the missing nodes of its ancestors, or
     * {@code null} if its chain does not reach a node within {@link #MAX_ANCESTORS} steps.
     */
    private static @Nullable Node attach(CancellationToken token, Map<CancellationToken, Node> nodes) {
        Deque<CancellationToken> chain = new ArrayDeque<>();
        CancellationToken current = token;
        Node known = nodes.get(current);
        while (known == null) {
            if (chain.size() == MAX_ANCESTORS) {
                return null;
            }
            chain.push(current);
            Optional<CancellationToken> parent = current.parent();
            if (parent.isEmpty()) {
                return null;
            }
            current = parent.get();
            known = nodes.get(current);
        }
        Node node = known;
        while (!chain.isEmpty()) {
            CancellationToken next = chain.pop();
            Node child = new Node(next, node, Type.TOKEN);
            node.children.add(child);
            nodes.put(next, child);
            node = child;
        }
        return node;
    }

    /**
     * Returns the application token's node.
     */
    Node root() {
        return root;
    }

    /**
     * Returns the nodes at {@code path}, empty if there are none. The path must be
     * {@linkplain #validate(String[]) valid}; the empty path selects the root.
     */
    List<Node> find(String[] path) {
        List<Node> found = List.of(root);
        for (String segment : path) {
            List<Node> next = new ArrayList<>();
            for (Node node : found) {
                for (Node child : node.children) {
                    if (child.token.name().equals(segment)) {
                        next.add(child);
                    }
                }
            }
            if (next.isEmpty()) {
                return List.of();
            }
            found = next;
        }
        return found;
    }

    /**
     * Returns why {@code path} is not a valid path, or {@code null} if it is.
     */
    static @Nullable String validate(String[] path) {
        if (path.length > MAX_SEGMENTS) {
            return "a path has at most " + MAX_SEGMENTS + " segments";
        }
        for (String segment : path) {
            if (segment == null || !isValidSegment(segment)) {
                return "each segment of a path is a token name of 1 to " + MAX_SEGMENT_LENGTH
                        + " characters among " + SEGMENT_PATTERN + ", other than '.' and '..'";
            }
        }
        return null;
    }

    static boolean isValidSegment(String name) {
        return name.length() <= MAX_SEGMENT_LENGTH && !name.equals(".") && !name.equals("..")
                && SEGMENT.matcher(name).matches();
    }

    /** What a node stands for. */
    enum Type {

        /** The application token, the root. */
        APPLICATION,

        /** The token of a singleton bean that injects one. */
        BEAN,

        /** The token of one or more tracked tasks in flight. */
        TASK,

        /** Any other token on the way from the application token to a bean or task token. */
        TOKEN
    }

    /** A token in the snapshot. */
    static final class Node {

        final CancellationToken token;

        final @Nullable Node parent;

        Type type;

        final List<Node> children = new ArrayList<>();

        final List<TrackedTask> tasks = new ArrayList<>(1);

        Node(CancellationToken token, @Nullable Node parent, Type type) {
            this.token = token;
            this.parent = parent;
            this.type = type;
        }

        /**
         * Returns this node's path, or {@code null} if a name on the way is not a valid segment.
         */
        @Nullable String path() {
            List<String> names = new ArrayList<>();
            for (Node node = this; node.parent != null; node = node.parent) {
                String name = node.token.name();
                if (!isValidSegment(name)) {
                    return null;
                }
                names.add(name);
            }
            Collections.reverse(names);
            return String.join("/", names);
        }
    }
}
