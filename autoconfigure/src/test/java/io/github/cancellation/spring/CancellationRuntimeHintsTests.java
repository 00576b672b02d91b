package io.github.cancellation.spring;

import java.lang.invoke.VarHandle;
import java.util.List;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.github.cancellation.CancellationToken;
import org.junit.jupiter.api.Test;

import org.springframework.aot.hint.MemberCategory;
import org.springframework.aot.hint.RuntimeHints;
import org.springframework.aot.hint.TypeReference;
import org.springframework.aot.hint.predicate.RuntimeHintsPredicates;
import org.springframework.context.annotation.ImportRuntimeHints;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The starter's {@link CancellationRuntimeHints}, checked with {@link RuntimeHintsPredicates} the
 * way a native image would need them: every class of core and of the starter that reads or writes
 * its fields through a {@link VarHandle} has field access registered. The classes are found from
 * the bytecode, so a new one (or a renamed one) fails here rather than in a user's native image.
 */
class CancellationRuntimeHintsTests {

    private final RuntimeHints hints = new RuntimeHints();

    CancellationRuntimeHintsTests() {
        new CancellationRuntimeHints().registerHints(hints, getClass().getClassLoader());
    }

    @Test
    void everyClassWithAVarHandleHasFieldAccess() {
        List<String> withVarHandles = classesWithVarHandles();
        assertThat(withVarHandles).as("classes of core and the starter with a VarHandle field")
            .contains("io.github.cancellation.TokenNode");
        assertThat(withVarHandles).allSatisfy(type -> assertThat(RuntimeHintsPredicates.reflection()
            .onType(TypeReference.of(type))
            .withMemberCategory(MemberCategory.ACCESS_DECLARED_FIELDS))
            .as("field access for %s", type)
            .accepts(hints));
        assertThat(CancellationRuntimeHints.VAR_HANDLE_CLASSES).as("no stale entry in the hints")
            .containsExactlyInAnyOrderElementsOf(withVarHandles);
    }

    @Test
    void theJdbcProxiesAreHinted() {
        for (Class<?> type : new Class<?>[] { java.sql.Connection.class, java.sql.Statement.class,
                java.sql.PreparedStatement.class, java.sql.CallableStatement.class }) {
            assertThat(RuntimeHintsPredicates.proxies().forInterfaces(type)).as("a JDK proxy of %s", type)
                .accepts(hints);
        }
    }

    @Test
    void theAutoConfigurationImportsTheHints() {
        ImportRuntimeHints imported = CancellationAutoConfiguration.class.getAnnotation(ImportRuntimeHints.class);
        assertThat(imported).isNotNull();
        assertThat(imported.value()).contains(CancellationRuntimeHints.class);
    }

    private static List<String> classesWithVarHandles() {
        return new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackagesOf(CancellationToken.class, CancellationAutoConfiguration.class)
            .stream()
            .filter(type -> type.getFields().stream()
                .anyMatch(field -> field.getModifiers().contains(JavaModifier.STATIC)
                        && field.getRawType().isEquivalentTo(VarHandle.class)))
            .map(JavaClass::getName)
            .sorted()
            .toList();
    }
}
