package io.github.cancellation.spring;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import io.github.cancellation.CancellationToken;

import io.github.cancellation.spring.CancellationEndpoint.ReasonDescriptor;
import io.github.cancellation.spring.CancellationEndpoint.TaskDescriptor;
import io.github.cancellation.spring.CancellationEndpoint.TokenDescriptor;
import io.github.cancellation.spring.CancellationEndpoint.TokensDescriptor;

/**
 * Renders a {@link CancellationTree} snapshot as the {@link CancellationEndpoint}'s response,
 * bounded in size: at most {@code maxTokens} tokens, {@link CancellationTree#MAX_SEGMENTS}
 * levels and {@link CancellationEndpoint#MAX_TASKS_PER_TOKEN} tasks per token.
 *
 * <p>Thread-safety: stateless apart from its limit; reads a snapshot.
 */
final class CancellationTreeRenderer {

    private final int maxTokens;

    CancellationTreeRenderer(int maxTokens) {
        this.maxTokens = maxTokens;
    }

    /**
     * Renders the given nodes and their subtrees, breadth first, within the limits (so the
     * recursion of {@link #describe} stays shallow).
     */
    TokensDescriptor render(List<CancellationTree.Node> selected) {
        Set<CancellationTree.Node> included = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<CancellationTree.Node> level = new ArrayDeque<>(selected);
        boolean truncated = false;
        for (int depth = 0; !level.isEmpty(); depth++) {
            if (depth == CancellationTree.MAX_SEGMENTS || included.size() == maxTokens) {
                truncated = true;
                break;
            }
            Deque<CancellationTree.Node> next = new ArrayDeque<>();
            for (CancellationTree.Node node : level) {
                if (included.size() == maxTokens) {
                    truncated = true;
                    break;
                }
                included.add(node);
                next.addAll(node.children);
                truncated |= node.tasks.size() > CancellationEndpoint.MAX_TASKS_PER_TOKEN;
            }
            level = next;
        }
        List<TokenDescriptor> tokens = new ArrayList<>();
        for (CancellationTree.Node node : selected) {
            if (included.contains(node)) {
                tokens.add(describe(node, included));
            }
        }
        return new TokensDescriptor(tokens, included.size(), truncated);
    }

    private static TokenDescriptor describe(CancellationTree.Node node, Set<CancellationTree.Node> included) {
        List<TokenDescriptor> children = new ArrayList<>();
        for (CancellationTree.Node child : node.children) {
            if (included.contains(child)) {
                children.add(describe(child, included));
            }
        }
        int shown = Math.min(node.tasks.size(), CancellationEndpoint.MAX_TASKS_PER_TOKEN);
        List<TaskDescriptor> tasks = new ArrayList<>(shown);
        for (TrackedTask task : node.tasks.subList(0, shown)) {
            tasks.add(new TaskDescriptor(task.name(), task.age().toMillis(), task.thread().getName()));
        }
        CancellationToken token = node.token;
        ReasonDescriptor reason = token.reason().map(ReasonDescriptor::of).orElse(null);
        return new TokenDescriptor(token.name(), node.path(), node.type.name().toLowerCase(Locale.ROOT),
                (reason != null) ? "cancelled" : "active", reason, tasks, children);
    }
}
