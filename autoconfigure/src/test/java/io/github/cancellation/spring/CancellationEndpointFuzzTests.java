package io.github.cancellation.spring;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import com.jayway.jsonpath.JsonPath;
import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.spring.CancellationEndpoint.CancelDescriptor;
import io.github.cancellation.spring.EndpointTestApplication.Http;
import io.github.cancellation.spring.EndpointTestApplication.Job;
import io.github.cancellation.spring.EndpointTestApplication.Worker;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.context.ConfigurableApplicationContext;

import static io.github.cancellation.spring.EndpointTestApplication.JOB;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A seeded fuzz of the cancel operation: random paths (known and unknown names, malformed,
 * control and percent-encoded characters, extra slashes, matrix and query parameters) and random
 * messages and bodies. Every answer is 200, 204, 400 or 404, and after every request exactly the
 * tokens under the paths that answered 200 are cancelled, with kind {@code ACTUATOR}: no token
 * outside a targeted subtree is ever cancelled.
 *
 * <p>10,000 requests go straight to the web extension (the endpoint's whole logic, in
 * microseconds), and 1,000 go over HTTP to a real server, through Tomcat's and Spring MVC's
 * decoding and Boot's body handling, which cost milliseconds each. The seed is printed; set
 * {@code -Dcancellation.fuzz.seed} to replay a run, {@code -Dcancellation.fuzz.requests} and
 * {@code -Dcancellation.fuzz.http-requests} for longer runs.
 */
class CancellationEndpointFuzzTests {

    private static final long SEED = Long.getLong("cancellation.fuzz.seed", 20_260_601L);

    private static final int REQUESTS = Integer.getInteger("cancellation.fuzz.requests", 10_000);

    private static final int ROUNDS = 10;

    private static final int HTTP_REQUESTS = Integer.getInteger("cancellation.fuzz.http-requests", 1_000);

    private static final String[] BEANS = { "reports", "exports" };

    private static final String[] TASKS = { JOB, "reports.generate", "exports.run", "batch" };

    private static final String[] KNOWN = { "reports", "exports", JOB, "reports.generate", "application", "part" };

    private static final String VALID_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._$-";

    private static final String NASTY_CHARACTERS = " /\\%?#;:@&=+,'\"<>[]{}|^`~\t\r\n\u0000\u001b\u007f\u00e9\u202e\u2028\uffff";

    @Test
    void randomPathsAndMessagesShouldOnlyEverCancelTheTargetedSubtree() {
        Random random = new Random(SEED);
        Map<Integer, Integer> statuses = new TreeMap<>();
        Set<String> targeted = new TreeSet<>();
        // rounds on fresh trees, so that cancels of tasks are checked before their bean is cancelled too
        for (int round = 0; round < ROUNDS; round++) {
            CancellationToken application = CancellationToken.create("application");
            CancellationToken reports = application.child("reports");
            CancellationToken exports = application.child("exports");
            CancellationToken batch = reports.child("batch");
            CancellationTaskTracker tracker = new CancellationTaskTracker();
            Map<String, List<CancellationToken>> tokensByPath = new TreeMap<>();
            tokensByPath.put("reports", List.of(reports));
            tokensByPath.put("exports", List.of(exports));
            tokensByPath.put("reports/batch", List.of(batch));
            track(tracker, tokensByPath, application, "ApplicationRunner");
            track(tracker, tokensByPath, reports, "reports.generate");
            track(tracker, tokensByPath, reports, "reports.generate");
            track(tracker, tokensByPath, reports, JOB);
            track(tracker, tokensByPath, exports, "exports.run");
            track(tracker, tokensByPath, batch, "part");
            CancellationEndpointWebExtension extension = new CancellationEndpointWebExtension(new CancellationEndpoint(
                    application, tracker, () -> Map.of("reports", reports, "exports", exports),
                    CancellationEndpoint.DEFAULT_MAX_TOKENS));
            Model model = new Model(tokensByPath);

            for (int i = 0; i < REQUESTS / ROUNDS; i++) {
                String[] path = randomPath(random);
                String message = random.nextInt(4) == 0 ? null : randomText(random, random.nextInt(60));
                // now and then as a body member or query parameter would give it: a string
                Object given = (random.nextInt(50) == 0) ? String.join(",", path) : path;
                WebEndpointResponse<CancelDescriptor> response = extension.cancel(given, message, SecurityContext.NONE);
                model.record(response.getStatus(), response.getBody().path(),
                        "round " + round + ", request " + i + ": " + Arrays.toString(path));
            }

            model.assertOnlyTargetedCancelled("at the end of round " + round);
            assertThat(application.isCancelled()).isFalse();
            model.statuses.forEach((status, count) -> statuses.merge(status, count, Integer::sum));
            targeted.addAll(model.targeted);
        }

        System.out.println("Fuzz through the web extension (seed " + SEED + "): " + REQUESTS + " requests in "
                + ROUNDS + " rounds, statuses " + statuses + "; paths that answered 200: " + targeted);
        assertThat(statuses).containsKeys(200, 400, 404);
    }

    @Test
    void randomUrlsAndBodiesShouldOnlyEverCancelTheTargetedSubtree() throws InterruptedException {
        try (ConfigurableApplicationContext context = EndpointTestApplication.run(false,
                "management.endpoints.web.exposure.include=cancellation",
                "management.endpoint.cancellation.access=unrestricted",
                // a WARN line per cancel and per unreadable body would drown the test log
                "logging.level.io.github.cancellation.spring.CancellationEndpoint=ERROR",
                "logging.level.org.springframework.web=ERROR", "logging.level.org.apache=ERROR")) {
            Model model = new Model(fixture(context));
            CancellationToken application = context.getBean(CancellationToken.class);
            Http http = new Http(context);
            Random random = new Random(SEED);

            for (int i = 0; i < HTTP_REQUESTS; i++) {
                String path = randomUrlPath(random);
                String body = randomBody(random);
                StringBuilder responseBody = new StringBuilder();
                int status = http.postQuickly(path, body, responseBody);
                String target = (status == 200) ? JsonPath.read(responseBody.toString(), "$.path") : null;
                model.record(status, target, "request " + i + ": POST " + path + " " + body);
            }

            model.assertOnlyTargetedCancelled("at the end");
            System.out.println("Fuzz over HTTP (seed " + SEED + "): " + HTTP_REQUESTS + " requests, statuses "
                    + model.statuses + "; paths that answered 200, by first cancel: " + model.targeted);
            assertThat(application.isCancelled()).isFalse();
            assertThat(model.statuses).containsKeys(200, 400, 404);
        }
    }

    /**
     * What the fuzz expects: the tokens under the paths that answered 200 are cancelled, no other.
     */
    private static final class Model {

        private final Map<String, List<CancellationToken>> tokensByPath;

        final Set<String> targeted = new LinkedHashSet<>();

        final Map<Integer, Integer> statuses = new TreeMap<>();

        Model(Map<String, List<CancellationToken>> tokensByPath) {
            this.tokensByPath = tokensByPath;
        }

        void record(int status, @Nullable String target, String request) {
            statuses.merge(status, 1, Integer::sum);
            assertThat(status).as(request).isIn(200, 204, 400, 404);
            if (status == 200) {
                assertThat(target).as(request).isNotNull();
                targeted.add(target);
                assertOnlyTargetedCancelled("after " + request);
            }
        }

        void assertOnlyTargetedCancelled(String when) {
            tokensByPath.forEach((path, tokens) -> {
                boolean expected = targeted.stream()
                    .anyMatch((target) -> path.equals(target) || path.startsWith(target + "/"));
                for (CancellationToken token : tokens) {
                    assertThat(token.isCancelled()).as("%s: token at '%s' cancelled", when, path).isEqualTo(expected);
                    token.reason()
                        .ifPresent((reason) -> assertThat(reason.kind()).isEqualTo(CancellationReason.Kind.ACTUATOR));
                }
            });
        }
    }

    private static void track(CancellationTaskTracker tracker, Map<String, List<CancellationToken>> tokensByPath,
            CancellationToken parent, String name) {
        CancellationToken token = parent.child(name);
        tracker.track(name, token); // never closed: the tasks stay in flight for the whole fuzz
        String parentPath = tokensByPath.entrySet()
            .stream()
            .filter((entry) -> entry.getValue().contains(parent))
            .map(Map.Entry::getKey)
            .findFirst()
            .orElse("");
        String path = parentPath.isEmpty() ? name : parentPath + "/" + name;
        tokensByPath.merge(path, List.of(token), (a, b) -> {
            List<CancellationToken> both = new ArrayList<>(a);
            both.addAll(b);
            return both;
        });
    }

    /** Starts two jobs under each bean and returns every token by its path. */
    private static Map<String, List<CancellationToken>> fixture(ConfigurableApplicationContext context)
            throws InterruptedException {
        Map<String, List<CancellationToken>> tokens = new TreeMap<>();
        for (String bean : List.of("reports", "exports")) {
            Worker worker = context.getBean(bean, Worker.class);
            tokens.computeIfAbsent(bean, (key) -> new ArrayList<>()).add(worker.token);
            for (Job job : worker.start(2)) {
                tokens.computeIfAbsent(bean + "/" + JOB, (key) -> new ArrayList<>()).add(job.token());
            }
        }
        return tokens;
    }

    // ---------------------------------------------------------------- generators

    private static String[] randomPath(Random random) {
        String[] path = new String[random.nextInt(5)];
        for (int i = 0; i < path.length; i++) {
            path[i] = switch (random.nextInt(12)) {
                case 0 -> random.nextBoolean() ? "." : "..";
                case 1 -> "";
                default -> randomSegment(random, i);
            };
        }
        return path;
    }

    private static String randomUrlPath(Random random) {
        StringBuilder path = new StringBuilder("/actuator/cancellation");
        int segments = random.nextInt(5);
        for (int i = 0; i < segments; i++) {
            path.append(random.nextInt(30) == 0 ? "//" : "/").append(encode(randomSegment(random, i), random));
        }
        switch (random.nextInt(30)) {
            case 0 -> path.append('/');
            case 1 -> path.append(";x=1");
            case 2 -> path.append("?message=").append(encode(randomText(random, 20), random));
            case 3 -> path.append("?path=").append(encode(randomSegment(random, 0), random));
            default -> {
            }
        }
        return path.toString();
    }

    private static String randomSegment(Random random, int position) {
        String segment = switch (random.nextInt(10)) {
            case 0, 1, 2 -> known(random, position);
            case 3 -> mutate(known(random, position), random);
            case 4, 5 -> randomFrom(VALID_CHARACTERS, 1 + random.nextInt(12), random);
            case 6 -> "r".repeat(250 + random.nextInt(10));
            default -> randomText(random, 1 + random.nextInt(8));
        };
        // in a URL, "." and ".." are resolved by the server before any endpoint sees them; randomPath adds them
        return (segment.equals(".") || segment.equals("..")) ? "dots" : segment;
    }

    /** A known name, most often one that exists at this position of a path. */
    private static String known(Random random, int position) {
        if (random.nextInt(4) == 0) {
            return KNOWN[random.nextInt(KNOWN.length)];
        }
        return (position == 0) ? BEANS[random.nextInt(BEANS.length)] : TASKS[random.nextInt(TASKS.length)];
    }

    private static String mutate(String name, Random random) {
        int at = random.nextInt(name.length());
        return switch (random.nextInt(4)) {
            case 0 -> name.substring(0, at) + name.substring(at + 1);
            case 1 -> name.substring(0, at) + Character.toUpperCase(name.charAt(at)) + name.substring(at + 1);
            case 2 -> name + VALID_CHARACTERS.charAt(random.nextInt(VALID_CHARACTERS.length()));
            default -> name.substring(0, at) + NASTY_CHARACTERS.charAt(random.nextInt(NASTY_CHARACTERS.length()))
                    + name.substring(at);
        };
    }

    private static String randomText(Random random, int length) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < length; i++) {
            text.append(random.nextBoolean() ? NASTY_CHARACTERS.charAt(random.nextInt(NASTY_CHARACTERS.length()))
                    : VALID_CHARACTERS.charAt(random.nextInt(VALID_CHARACTERS.length())));
        }
        if (random.nextInt(10) == 0) {
            text.appendCodePoint(0x1F600); // outside the BMP
        }
        return text.toString();
    }

    private static String randomFrom(String characters, int length, Random random) {
        StringBuilder text = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            text.append(characters.charAt(random.nextInt(characters.length())));
        }
        return text.toString();
    }

    /** Percent-encodes all but unreserved characters, and sometimes those too. */
    private static String encode(String text, Random random) {
        boolean encodeAll = random.nextInt(20) == 0;
        StringBuilder encoded = new StringBuilder();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            boolean unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == '~' || c == '$';
            if (unreserved && !(encodeAll && c != '.')) {
                encoded.append(c);
            }
            else {
                encoded.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return encoded.toString();
    }

    private static @Nullable String randomBody(Random random) {
        return switch (random.nextInt(10)) {
            case 0, 1, 2 -> null;
            case 3 -> "{}";
            case 4, 5, 6 -> "{\"message\":\"" + jsonEscape(randomText(random, random.nextInt(random.nextInt(10) == 0 ? 300 : 40)))
                    + "\"}";
            case 7 -> random.nextBoolean() ? "{\"message\":12345,\"extra\":true}"
                    : "{\"path\":\"" + jsonEscape(randomSegment(random, 0)) + "\"}";
            default -> switch (random.nextInt(4)) {
                case 0 -> "{\"message\":";
                case 1 -> "[]";
                case 2 -> "\"text\"";
                default -> "{\"message\":{\"nested\":1}}";
            };
        };
    }

    private static String jsonEscape(String text) {
        StringBuilder escaped = new StringBuilder();
        text.chars().forEach((c) -> {
            if (c == '"' || c == '\\') {
                escaped.append('\\').append((char) c);
            }
            else if (c < 0x20) {
                escaped.append(String.format("\\u%04x", c));
            }
            else {
                escaped.append((char) c);
            }
        });
        return escaped.toString();
    }
}
