package io.github.cancellation.spring.web;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import org.springframework.web.bind.annotation.GetMapping;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * Reading deadline headers and {@code @RequestTimeout}: valid values give the duration they say;
 * anything else is ignored and never fails; no value gives more than the maximum. A fuzz test
 * compares the parser with a slow reference reading on tens of thousands of values.
 */
class RequestDeadlinesTests {

    /** The values the fuzz test reads; the brief asks for at least 10,000. */
    static final int FUZZ_VALUES = Integer.getInteger("cancellation.fuzz.values", 20_000);

    private static final Pattern REFERENCE = Pattern.compile("[ \\t]*(\\d+(?:\\.\\d{1,9})?)(ms|s)?[ \\t]*",
            Pattern.CASE_INSENSITIVE);

    @Test
    void fromHeader_validValues_giveTheirDuration() {
        assertThat(RequestDeadlines.fromHeader("1500")).contains(Duration.ofMillis(1500));
        assertThat(RequestDeadlines.fromHeader("500ms")).contains(Duration.ofMillis(500));
        assertThat(RequestDeadlines.fromHeader("500MS")).contains(Duration.ofMillis(500));
        assertThat(RequestDeadlines.fromHeader("1.5s")).contains(Duration.ofMillis(1500));
        assertThat(RequestDeadlines.fromHeader(" \t2s ")).contains(Duration.ofSeconds(2));
        assertThat(RequestDeadlines.fromHeader("1.5")).contains(Duration.ofNanos(1_500_000));
        assertThat(RequestDeadlines.fromHeader("0")).contains(Duration.ZERO);
        assertThat(RequestDeadlines.fromHeader("0.000000001s")).contains(Duration.ofNanos(1));
    }

    @Test
    void fromHeader_invalidValues_areIgnored() {
        for (String value : new String[] { "", " ", "-5", "+5", "5m", "5 s", "1e3", "0x10", "1.", ".5", "1..5",
                "1.1234567890s", "s", "ms", "NaN", "Infinity", "5msms", "五", "1 500", "\u0661\u0662" }) {
            assertThat(RequestDeadlines.fromHeader(value)).as("'%s'", value).isEmpty();
        }
        assertThat(RequestDeadlines.fromHeader((String) null)).isEmpty();
    }

    @Test
    void fromHeader_absurdValues_areCutToTheMaximum() {
        assertThat(RequestDeadlines.fromHeader("99999999999999999999")).contains(RequestDeadlines.MAX_HEADER_TIMEOUT);
        assertThat(RequestDeadlines.fromHeader("9223372036854775807s")).contains(RequestDeadlines.MAX_HEADER_TIMEOUT);
        assertThat(RequestDeadlines.fromHeader("86400001")).contains(RequestDeadlines.MAX_HEADER_TIMEOUT);
        assertThat(RequestDeadlines.fromHeader("1" + "0".repeat(40))).as("longer than the longest element").isEmpty();
    }

    @Test
    void fromHeader_severalValues_giveTheShortestValidOne() {
        assertThat(RequestDeadlines.fromHeader("3s, 2s ,junk,-1")).contains(Duration.ofSeconds(2));
        assertThat(RequestDeadlines.fromHeader(Collections.enumeration(List.of("5s", "x", "700ms"))))
            .contains(Duration.ofMillis(700));
        assertThat(RequestDeadlines.fromHeader(",,,")).isEmpty();
        String many = String.join(",", Collections.nCopies(RequestDeadlines.MAX_ELEMENTS, "9s")) + ",1ms";
        assertThat(RequestDeadlines.fromHeader(many)).as("elements past the limit are not read")
            .contains(Duration.ofSeconds(9));
    }

    @Test
    void fromHeader_fuzzedValues_agreeWithTheReferenceAndStayWithinTheMaximum() {
        long seed = Long.getLong("cancellation.fuzz.seed", 13L);
        Random random = new Random(seed);
        int valid = 0;
        int ignored = 0;
        int capped = 0;
        for (int i = 0; i < FUZZ_VALUES; i++) {
            List<String> values = new ArrayList<>();
            int count = 1 + ((random.nextInt(8) == 0) ? random.nextInt(4) : 0);
            for (int v = 0; v < count; v++) {
                values.add(randomValue(random));
            }
            Optional<Duration> read = RequestDeadlines.fromHeader(Collections.enumeration(values));
            Optional<Duration> expected = reference(values);
            assertThat(read).as("seed %d, values %s", seed, values).isEqualTo(expected);
            read.ifPresent((duration) -> assertThat(duration).isBetween(Duration.ZERO,
                    RequestDeadlines.MAX_HEADER_TIMEOUT));
            if (read.isEmpty()) {
                ignored++;
            }
            else if (read.get().equals(RequestDeadlines.MAX_HEADER_TIMEOUT)) {
                capped++;
            }
            else {
                valid++;
            }
        }
        System.out.printf("Deadline header fuzz, seed %d: %d values, %d read, %d capped, %d ignored%n", seed,
                FUZZ_VALUES, valid, capped, ignored);
        assertThat(valid).as("the generator makes valid values too").isGreaterThan(FUZZ_VALUES / 10);
        assertThat(ignored).as("and invalid ones").isGreaterThan(FUZZ_VALUES / 10);
    }

    @Test
    void fromAnnotation_readsMethodThenClass() throws NoSuchMethodException {
        RequestDeadlines deadlines = new RequestDeadlines();

        assertThat(deadlines.fromAnnotation(Annotated.class.getDeclaredMethod("own"))).contains(Duration.ofMillis(1500));
        assertThat(deadlines.fromAnnotation(Annotated.class.getDeclaredMethod("inherited"))).contains(Duration.ofSeconds(3));
        assertThat(deadlines.fromAnnotation(RequestDeadlinesTests.class.getDeclaredMethod("fromAnnotation_readsMethodThenClass")))
            .isEmpty();
    }

    @Test
    void fromAnnotation_invalidValue_failsNamingMethodAndValue() {
        RequestDeadlines deadlines = new RequestDeadlines();

        assertThatIllegalArgumentException()
            .isThrownBy(() -> deadlines.fromAnnotation(Annotated.class.getDeclaredMethod("broken")))
            .withMessageContaining("@RequestTimeout(\"soon\")")
            .withMessageContaining("Annotated.broken()")
            .withMessageContaining("1500, 500ms or 1.5s");
    }

    @Test
    void format_givesShortTexts() {
        assertThat(RequestDeadlines.format(Duration.ofMillis(500))).isEqualTo("500ms");
        assertThat(RequestDeadlines.format(Duration.ofMillis(1500))).isEqualTo("1.5s");
        assertThat(RequestDeadlines.format(Duration.ofSeconds(5))).isEqualTo("5s");
        assertThat(RequestDeadlines.format(Duration.ofMillis(1234))).isEqualTo("1234ms");
    }

    /** A reading of the header values built from the documented rules, with regex and BigDecimal. */
    private static Optional<Duration> reference(List<String> values) {
        BigDecimal max = BigDecimal.valueOf(RequestDeadlines.MAX_HEADER_TIMEOUT.toNanos());
        BigDecimal shortest = null;
        int seen = 0;
        outer:
        for (String value : values) {
            for (String element : value.split(",", -1)) {
                if (seen++ == RequestDeadlines.MAX_ELEMENTS) {
                    break outer;
                }
                String trimmed = element.replaceAll("^[ \\t]+|[ \\t]+$", "");
                Matcher matcher = REFERENCE.matcher(element);
                if (trimmed.length() > RequestDeadlines.MAX_ELEMENT_LENGTH || !matcher.matches()) {
                    continue;
                }
                String unit = (matcher.group(2) != null) ? matcher.group(2).toLowerCase(Locale.ROOT) : "ms";
                BigDecimal nanos = new BigDecimal(matcher.group(1))
                    .multiply(BigDecimal.valueOf(unit.equals("s") ? 1_000_000_000L : 1_000_000L));
                BigDecimal capped = nanos.min(max).setScale(0, java.math.RoundingMode.DOWN);
                shortest = (shortest == null) ? capped : shortest.min(capped);
            }
        }
        return (shortest == null) ? Optional.empty() : Optional.of(Duration.ofNanos(shortest.longValueExact()));
    }

    private static String randomValue(Random random) {
        return switch (random.nextInt(6)) {
            case 0, 1 -> validValue(random);
            case 2 -> mutate(validValue(random), random);
            case 3 -> validValue(random) + "," + validValue(random);
            case 4 -> randomText(random, "0123456789.msS ,\t-+eE", 1 + random.nextInt(12));
            default -> randomText(random, null, random.nextInt(40));
        };
    }

    private static String validValue(Random random) {
        StringBuilder value = new StringBuilder();
        if (random.nextInt(10) == 0) {
            value.append(' ');
        }
        int digits = (random.nextInt(20) == 0) ? 10 + random.nextInt(20) : 1 + random.nextInt(6);
        for (int i = 0; i < digits; i++) {
            value.append((char) ('0' + random.nextInt(10)));
        }
        if (random.nextBoolean()) {
            value.append('.');
            int fraction = 1 + random.nextInt(10);
            for (int i = 0; i < fraction; i++) {
                value.append((char) ('0' + random.nextInt(10)));
            }
        }
        value.append(switch (random.nextInt(5)) {
            case 0 -> "";
            case 1 -> "ms";
            case 2 -> "MS";
            case 3 -> "S";
            default -> "s";
        });
        if (random.nextInt(10) == 0) {
            value.append('\t');
        }
        return value.toString();
    }

    private static String mutate(String value, Random random) {
        StringBuilder mutated = new StringBuilder(value);
        int position = random.nextInt(mutated.length() + 1);
        switch (random.nextInt(3)) {
            case 0 -> mutated.insert(position, "-+.e ,x\u00a0\u0660".charAt(random.nextInt(9)));
            case 1 -> {
                if (position < mutated.length()) {
                    mutated.deleteCharAt(position);
                }
            }
            default -> mutated.insert(0, '-');
        }
        return mutated.toString();
    }

    private static String randomText(Random random, String alphabet, int length) {
        StringBuilder text = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            text.append((alphabet != null) ? alphabet.charAt(random.nextInt(alphabet.length()))
                    : (char) random.nextInt(random.nextBoolean() ? 128 : 0xD800));
        }
        return text.toString();
    }

    @RequestTimeout("3s")
    static class Annotated {

        @GetMapping
        @RequestTimeout("1.5s")
        void own() {
        }

        @GetMapping
        void inherited() {
        }

        @GetMapping
        @RequestTimeout("soon")
        void broken() {
        }
    }
}
