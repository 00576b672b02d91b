package io.github.cancellation.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;

/**
 * One cell of the compatibility matrix the demo's end-to-end tests run on: which JVM starts the
 * packaged demo, with which JVM options and application arguments. The Spring Boot line is the
 * build's own ({@code -Pspring-boot-4.1} builds the same jar against Boot 4.1.x).
 *
 * <p>
 * A second JDK (Java 25) is found from {@code -Ddemo.java25.home=...} (which {@code .ci/run} sets),
 * else from {@code $JAVA25_HOME}, else under {@code /usr/lib/jvm}. Without one, its cells are
 * skipped with a message that says how to run them, except under {@code CI=true}, where a missing
 * JDK fails the run: the matrix must not shrink silently there.
 */
record Platform(String name, Path javaHome, int javaFeature, List<String> jvmArguments,
        List<String> arguments, String expectedThread, boolean aotMode) {

    private static final Pattern JAVA_VERSION = Pattern.compile("^JAVA_VERSION=\"(\\d+)", Pattern.MULTILINE);

    /** The JVM that runs the tests (Java 17 in the build), platform threads, no AOT. */
    static Platform baseline() {
        Path home = Path.of(System.getProperty("java.home"));
        return new Platform("java" + Runtime.version().feature(), home, Runtime.version().feature(), List.of(),
                List.of(), "Thread[", false);
    }

    /** Java 25, platform threads. */
    static Platform java25() {
        return new Platform("java25", requireJdk(25), 25, List.of(), List.of(), "Thread[", false);
    }

    /** Java 25 with {@code spring.threads.virtual.enabled=true}: every executor of Boot runs virtual threads. */
    static Platform java25VirtualThreads() {
        return new Platform("java25-virtual-threads", requireJdk(25), 25, List.of(),
                List.of("--spring.threads.virtual.enabled=true"), "VirtualThread[", false);
    }

    /**
     * The baseline JVM in Spring AOT mode ({@code -Dspring.aot.enabled=true}), on the classes that
     * the build's {@code process-aot} generated: the context is not built from bean definitions
     * at run time but from the generated initializers, as in a native image.
     */
    static Platform aot() {
        Platform base = baseline();
        return new Platform(base.name() + "-aot", base.javaHome(), base.javaFeature(),
                List.of("-Dspring.aot.enabled=true"), List.of(), "Thread[", true);
    }

    /** The ids of every cell, in the order the tests run them. */
    static final String IDS = "baseline, java25, java25-virtual-threads, aot";

    /**
     * The cell with this id (one of {@link #IDS}); skips it (JUnit assumption) when
     * {@code -Ddemo.platforms=...} is set and does not name it.
     */
    static Platform byId(String id) {
        String selected = System.getProperty("demo.platforms", "");
        if (!selected.isBlank() && !selected.startsWith("${")
                && Stream.of(selected.split(",")).map(String::trim).noneMatch(id::equals)) {
            Assumptions.abort("platform " + id + " not selected by -Ddemo.platforms=" + selected);
        }
        return switch (id) {
            case "baseline" -> baseline();
            case "java25" -> java25();
            case "java25-virtual-threads" -> java25VirtualThreads();
            case "aot" -> aot();
            default -> throw new IllegalArgumentException("unknown platform '" + id + "'; known: " + IDS);
        };
    }

    /** The {@code java} launcher of this platform. */
    Path javaExecutable() {
        return javaHome.resolve("bin").resolve("java");
    }

    /** The command line that starts the demo jar on this platform, before the test's own arguments. */
    List<String> command(Path jar) {
        List<String> command = new ArrayList<>();
        command.add(javaExecutable().toString());
        command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k"));
        command.addAll(jvmArguments);
        command.addAll(List.of("-jar", jar.toAbsolutePath().toString()));
        command.addAll(arguments);
        return command;
    }

    @Override
    public String toString() {
        return name;
    }

    private static Path requireJdk(int feature) {
        Optional<Path> home = findJdk(feature);
        if (home.isEmpty()) {
            String message = "No Java " + feature + " JDK found (set -Ddemo.java" + feature + ".home=... or $JAVA"
                    + feature + "_HOME, or install one under /usr/lib/jvm)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new IllegalStateException(message + ": CI runs the whole matrix");
            }
            Assumptions.abort(message + "; skipping the Java " + feature + " cells");
        }
        return home.get();
    }

    static Optional<Path> findJdk(int feature) {
        List<Path> candidates = new ArrayList<>();
        String property = System.getProperty("demo.java" + feature + ".home", "");
        if (!property.isBlank() && !property.startsWith("${")) {
            candidates.add(Path.of(property));
        }
        String environment = System.getenv("JAVA" + feature + "_HOME");
        if (environment != null && !environment.isBlank()) {
            candidates.add(Path.of(environment));
        }
        Path jvms = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvms)) {
            try (Stream<Path> entries = Files.list(jvms)) {
                entries.sorted(Comparator.reverseOrder()).forEach(candidates::add);
            }
            catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
        return candidates.stream()
            .filter(home -> Files.isExecutable(home.resolve("bin").resolve("java")))
            .filter(home -> featureOf(home) == feature)
            .findFirst();
    }

    private static int featureOf(Path home) {
        Path release = home.resolve("release");
        if (!Files.isRegularFile(release)) {
            return -1;
        }
        try {
            Matcher matcher = JAVA_VERSION.matcher(Files.readString(release));
            return matcher.find() ? Integer.parseInt(matcher.group(1)) : -1;
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
