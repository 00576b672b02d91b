package io.github.cancellation;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.conditions.ArchConditions;

/**
 * Architecture rules of the core (quality anchors B.3 C10, STYLE item 1): the core has no runtime
 * dependency but the JDK (JSpecify's annotations are compile-time only), and its public surface is
 * exactly the six API types; the tree, the callback list, the timer and the interrupter stay
 * package-private. Main classes only: tests may use anything.
 */
@AnalyzeClasses(packages = "io.github.cancellation", importOptions = ImportOption.DoNotIncludeTests.class)
class CoreArchitectureTest {

    /** The public API: these types, and nothing else, are public. */
    static final Set<Class<?>> PUBLIC_API = Set.of(CancellationToken.class, CancellationReason.class,
            CancellationReason.Kind.class, CancelledException.class, Registration.class, Scope.class, DropGuard.class);

    private static final Set<String> PUBLIC_API_NAMES =
            PUBLIC_API.stream().map(Class::getName).collect(Collectors.toUnmodifiableSet());

    /** Core main classes depend only on the JDK, JSpecify's annotations and themselves. */
    @ArchTest
    static final ArchRule coreDependsOnlyOnJavaAndJSpecify = classes()
            .should().onlyDependOnClassesThat()
            .resideInAnyPackage("java..", "org.jspecify..", "io.github.cancellation..")
            .because("the core has no runtime dependency (SPEC); JSpecify annotations are compile-time only");

    /** All of the core lives in the one exported package. */
    @ArchTest
    static final ArchRule coreHasOnePackage = classes()
            .should().resideInAPackage("io.github.cancellation")
            .because("the core exports one package; everything else is package-private in it");

    /** Only the six public API types (and CancellationReason.Kind) are public. */
    @ArchTest
    static final ArchRule onlyTheApiTypesArePublic = classes()
            .that().haveModifier(JavaModifier.PUBLIC)
            .should(beOneOf(PUBLIC_API_NAMES))
            .because("the engine (TokenNode, CallbackNode, Timers, Interrupter, NoneToken) is an implementation detail");

    /** Each of the six public API types is still public (the rule above cannot see a missing one). */
    @ArchTest
    static final ArchRule theApiTypesArePublic = classes()
            .that(nameIn(PUBLIC_API_NAMES))
            .should().bePublic()
            .allowEmptyShould(false);

    /**
     * The rules are not vacuous: a public class that depends on a test library (planted here, in test
     * code) breaks both the dependency rule and the public-surface rule.
     */
    @Test
    void rules_onAPlantedViolator_reportViolations() {
        JavaClasses planted = new ClassFileImporter().importClasses(PlantedViolator.class);

        assertThat(coreDependsOnlyOnJavaAndJSpecify.evaluate(planted).hasViolation()).isTrue();
        assertThat(onlyTheApiTypesArePublic.evaluate(planted).hasViolation()).isTrue();
    }

    /** A public type outside the API that uses AssertJ: what the rules must reject in main code. */
    public static final class PlantedViolator {
        static final Object USES_ASSERTJ = assertThat(1);
    }

    private static DescribedPredicate<JavaClass> nameIn(Set<String> names) {
        return DescribedPredicate.describe("one of " + sorted(names), javaClass -> names.contains(javaClass.getName()));
    }

    private static ArchCondition<JavaClass> beOneOf(Set<String> names) {
        return ArchConditions.be(nameIn(names));
    }

    private static String sorted(Set<String> names) {
        return Stream.of(names.toArray(String[]::new)).sorted().collect(Collectors.joining(", ", "[", "]"));
    }
}
