package io.github.cancellation.spring;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethod;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import io.github.cancellation.CancellationReason;
import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import io.github.cancellation.DropGuard;
import io.github.cancellation.Registration;
import io.github.cancellation.Scope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.annotation.ImportCandidates;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.properties.HasModifiers.Predicates.modifier;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Architecture rules of the starter (issue 9), checked on the main classes of this module and of
 * the core, as they are on the test class path:
 * <ol>
 *   <li>the starter uses the core only through its public API;
 *   <li>every {@code *AutoConfiguration} is {@code public final}, {@code @AutoConfiguration} and
 *       listed in {@code META-INF/spring/...AutoConfiguration.imports}, and that file lists
 *       nothing else;
 *   <li>every bean of a user-replaceable type backs off with {@code @ConditionalOnMissingBean};
 *       every bean the starter defines is classified as user-replaceable or infrastructure.
 * </ol>
 * Each rule is also run on planted violators (test classes), so that none passes vacuously.
 */
class StarterArchitectureTests {

    private static final String CORE_PACKAGE = "io.github.cancellation";

    private static final String STARTER_PACKAGE = "io.github.cancellation.spring..";

    /** The core's public API: the only core types the starter may use. */
    static final Set<Class<?>> CORE_PUBLIC_API = Set.of(CancellationToken.class, CancellationReason.class,
            CancellationReason.Kind.class, CancelledException.class, Registration.class, Scope.class, DropGuard.class);

    /**
     * User-replaceable: the public types of which an application may define a bean of its own, in
     * which case the starter's bean must back off. These are exactly the public types that the
     * starter's {@code @Bean} methods return (checked below): a type the application cannot name,
     * it cannot provide.
     */
    static final Set<Class<?>> USER_REPLACEABLE = Set.of(CancellationToken.class, CancellationTaskTracker.class,
            CancellationTaskDecorator.class, CancellationEndpoint.class, CancellationEndpointWebExtension.class,
            CancellationMetrics.class);

    /**
     * Infrastructure: beans the starter needs for its own guarantees, which an application does
     * not replace; they are not {@code @ConditionalOnMissingBean} and are switched off with the
     * starter's properties instead. Each with the reason.
     */
    static final Map<Class<?>, String> INFRASTRUCTURE = Map.of(
            CancellationShutdownLifecycle.class,
            "the lifecycle that cancels the application token at close and drains; package-private, and replacing "
                    + "it would remove the shutdown guarantee (switched off with cancellation.enabled=false)",
            IssuedTokens.class,
            "internal bookkeeping of the tokens handed out (meters, endpoint); package-private",
            CancellationReadiness.class,
            "internal listener that turns readiness to REFUSING_TRAFFIC on cancellation; package-private",
            ExecutorPhaseTimeout.class,
            "BeanPostProcessor (static @Bean) bounding the executors' shutdown phase; package-private",
            BeanTokenResolverInstaller.class,
            "BeanFactoryPostProcessor (static @Bean) installing the bean-token autowire resolver; package-private",
            AsyncInvocationPostProcessor.class,
            "BeanPostProcessor (static @Bean) giving @Async invocations their tokens; package-private",
            CancellationSchedulingConfigurer.class,
            "a SchedulingConfigurer: Spring applies every one of them, so a user's would not replace it anyway; "
                    + "package-private (switched off with cancellation.scheduling.enabled=false)",
            packagePrivateType("io.github.cancellation.spring.jdbc.CancellableDataSourcePostProcessor"),
            "BeanPostProcessor (static @Bean) wrapping DataSource beans; package-private "
                    + "(switched off with cancellation.jdbc.enabled=false)");

    /**
     * Infrastructure of the request tokens (issue 13), by name: package-private types of the
     * {@code web} package. None is user-replaceable; all go with {@code cancellation.web.enabled=false}.
     */
    static final Map<String, String> WEB_INFRASTRUCTURE = Map.of(
            "io.github.cancellation.spring.web.RequestTokens",
            "the request tokens' registry, timers and counts (an ActiveTokenSource, so that cancellation.tokens.active "
                    + "counts open request tokens)",
            "io.github.cancellation.spring.web.MvcRequestTokenFilter", "the Servlet filter that opens request tokens",
            "io.github.cancellation.spring.web.MvcRequestTokenConfigurer",
            "a WebMvcConfigurer: Spring applies every one of them",
            "io.github.cancellation.spring.web.RequestShutdownLifecycle",
            "the lifecycle that cancels requests after the shutdown grace",
            "io.github.cancellation.spring.web.RequestMetrics", "MeterBinder of cancellation.requests.cancelled",
            "io.github.cancellation.spring.web.WebFluxRequestTokenFilter", "the WebFilter that opens request tokens",
            "io.github.cancellation.spring.web.WebFluxRequestTokenConfigurer",
            "a WebFluxConfigurer: Spring applies every one of them",
            "io.github.cancellation.spring.web.WebFluxCancelledExceptionHandler",
            "answers a CancelledException; an application's @ExceptionHandler runs first",
            "io.github.cancellation.spring.web.RequestTimeoutValidator",
            "reads every @RequestTimeout at startup so that a bad value fails at once");

    /**
     * Infrastructure of the request tokens on one container only, by name (the type names the
     * container's classes): created only when that container is on the class path.
     */
    static final Map<String, String> CONTAINER_INFRASTRUCTURE = Map.of(
            "io.github.cancellation.spring.web.JettyFailureSignal",
            "Jetty's failure listener on each request (only when Jetty 12 ee11 is present)");

    /**
     * Spring Boot's own customizer types, of which Boot applies every bean to what it builds: the
     * starter's are added to the application's, never replace them, and never back off. They go with
     * {@code cancellation.web.client.enabled=false}.
     */
    static final Map<String, String> SPRING_CUSTOMIZERS = Map.of(
            "org.springframework.boot.restclient.RestClientCustomizer",
            "adds the token's interceptor to every RestClient.Builder Boot provides",
            "org.springframework.boot.webclient.WebClientCustomizer",
            "adds the token's filter to every WebClient.Builder Boot provides");

    private static final String IMPORTS_RESOURCE = "META-INF/spring/" + AutoConfiguration.class.getName()
            + ".imports";

    private static JavaClasses mainClasses;

    @BeforeAll
    static void importMainClasses() {
        // The starter's and the core's main classes (target/classes or the reactor's jars), no test class.
        mainClasses = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(CORE_PACKAGE);
    }

    // ---------------------------------------------------------------- rule 1: core's public API only

    /** By name: only the seven public API types of the core (a new public type needs a decision here). */
    static final ArchRule starterUsesOnlyTheCoreApiTypes = noClasses().that()
        .resideInAPackage(STARTER_PACKAGE)
        .should()
        .dependOnClassesThat(resideInAPackage(CORE_PACKAGE).and(not(nameIn(names(CORE_PUBLIC_API)))))
        .because("the starter is a client of the core's public API (CancellationToken, CancellationReason(.Kind), "
                + "CancelledException, Registration, Scope, DropGuard), never of its engine");

    /** By modifier: no non-public core type, whatever its name (this needs the core's classes imported). */
    static final ArchRule starterUsesNoNonPublicCoreType = noClasses().that()
        .resideInAPackage(STARTER_PACKAGE)
        .should()
        .dependOnClassesThat(resideInAPackage(CORE_PACKAGE).and(not(modifier(JavaModifier.PUBLIC))))
        .because("package-private core types are implementation details");

    @Test
    void starterShouldUseOnlyTheCorePublicApi() {
        assertThat(mainClasses.stream().filter(resideInAPackage(CORE_PACKAGE)::test).map(JavaClass::getSimpleName))
            .as("the core's classes are imported, so that the modifier rule sees them")
            .contains("TokenNode", "CallbackNode", "CancellationToken");
        assertThat(mainClasses.stream().filter(resideInAPackage(STARTER_PACKAGE)::test))
            .as("the starter's classes are imported").hasSizeGreaterThan(20);
        starterUsesOnlyTheCoreApiTypes.check(mainClasses);
        starterUsesNoNonPublicCoreType.check(mainClasses);
    }

    @Test
    void theCorePublicApiTypesShouldBePublic() {
        assertThat(CORE_PUBLIC_API).allSatisfy((type) -> assertThat(mainClasses.get(type).getModifiers())
            .as(type.getName()).contains(JavaModifier.PUBLIC));
    }

    // ---------------------------------------------------------------- rule 2: auto-configurations

    static ArchRule autoConfigurationsArePublicFinalAnnotatedAndListed(Set<String> listed) {
        return classes().that()
            .resideInAPackage(STARTER_PACKAGE)
            .and()
            .haveSimpleNameEndingWith("AutoConfiguration")
            .should()
            .bePublic()
            .andShould()
            .haveModifier(JavaModifier.FINAL)
            .andShould()
            .beAnnotatedWith(AutoConfiguration.class)
            .andShould(beListedIn(listed))
            .allowEmptyShould(false)
            .because("Spring Boot loads auto-configurations only from the imports file, and they are not meant "
                    + "to be extended or imported by applications");
    }

    @Test
    void everyAutoConfigurationShouldBePublicFinalAnnotatedAndListedInTheImportsFile() {
        Set<String> listed = listedAutoConfigurations(getClass().getClassLoader());
        System.out.println("Starter auto-configurations listed in " + IMPORTS_RESOURCE + ": " + listed);
        autoConfigurationsArePublicFinalAnnotatedAndListed(listed).check(mainClasses);

        // And the converse: the file lists only classes of this module that are auto-configurations.
        Set<String> declared = mainClasses.stream()
            .filter(resideInAPackage(STARTER_PACKAGE)::test)
            .filter((javaClass) -> javaClass.isAnnotatedWith(AutoConfiguration.class))
            .map(JavaClass::getName)
            .collect(Collectors.toCollection(TreeSet::new));
        assertThat(listed).as("classes listed in the imports file = @AutoConfiguration classes of the starter")
            .containsExactlyInAnyOrderElementsOf(declared);
        assertThat(listed).allSatisfy((name) -> assertThat(name).endsWith("AutoConfiguration"));
    }

    /**
     * The starter's entries of every {@code AutoConfiguration.imports} on the class path, read as
     * Spring Boot reads them ({@link ImportCandidates}: comments and blank lines skipped).
     */
    static Set<String> listedAutoConfigurations(ClassLoader classLoader) {
        ImportCandidates candidates = ImportCandidates.load(AutoConfiguration.class, classLoader);
        Set<String> ours = StreamSupport.stream(candidates.spliterator(), false)
            .filter((name) -> name.startsWith("io.github.cancellation."))
            .collect(Collectors.toCollection(TreeSet::new));
        assertThat(ours).as("the starter's %s is on the class path", IMPORTS_RESOURCE).isNotEmpty();
        return ours;
    }

    // ---------------------------------------------------------------- rule 3: back-off of user-replaceable beans

    private static final DescribedPredicate<JavaMethod> RETURNS_USER_REPLACEABLE_TYPE = DescribedPredicate
        .describe("return a user-replaceable type " + simpleNames(USER_REPLACEABLE),
                (method) -> names(USER_REPLACEABLE).contains(method.getRawReturnType().getName()));

    static final ArchRule userReplaceableBeansAreConditionalOnMissingBean = methods().that()
        .areAnnotatedWith(Bean.class)
        .and()
        .areDeclaredInClassesThat()
        .resideInAPackage(STARTER_PACKAGE)
        .and(RETURNS_USER_REPLACEABLE_TYPE)
        .should(beConditionalOnMissingBeanOfTheirReturnType())
        .allowEmptyShould(false)
        .because("a bean of the application must replace the starter's (Spring Boot's back-off convention)");

    static final ArchRule everyBeanIsClassified = methods().that()
        .areAnnotatedWith(Bean.class)
        .and()
        .areDeclaredInClassesThat()
        .resideInAPackage(STARTER_PACKAGE)
        .should(returnATypeIn(USER_REPLACEABLE, INFRASTRUCTURE.keySet()))
        .allowEmptyShould(false)
        .because("each new bean needs a decision: user-replaceable (then @ConditionalOnMissingBean) or "
                + "infrastructure (then listed, with a reason, in StarterArchitectureTests.INFRASTRUCTURE)");

    @Test
    void everyUserReplaceableBeanShouldBeConditionalOnMissingBean() {
        System.out.println("User-replaceable bean types (@ConditionalOnMissingBean required): "
                + simpleNames(USER_REPLACEABLE));
        INFRASTRUCTURE.forEach((type, reason) -> System.out
            .println("  infrastructure, not required: " + type.getSimpleName() + ": " + reason));
        userReplaceableBeansAreConditionalOnMissingBean.check(mainClasses);
        everyBeanIsClassified.check(mainClasses);
    }

    @Test
    void userReplaceableIsExactlyThePublicBeanTypes() {
        Set<String> publicBeanTypes = mainClasses.stream()
            .filter(resideInAPackage(STARTER_PACKAGE)::test)
            .flatMap((javaClass) -> javaClass.getMethods().stream())
            .filter((method) -> method.isAnnotatedWith(Bean.class))
            .map(JavaMethod::getRawReturnType)
            .filter((type) -> type.getModifiers().contains(JavaModifier.PUBLIC))
            .map(JavaClass::getName)
            .filter((name) -> !SPRING_CUSTOMIZERS.containsKey(name))
            .collect(Collectors.toCollection(TreeSet::new));
        assertThat(publicBeanTypes).as("public types returned by the starter's @Bean methods")
            .containsExactlyInAnyOrderElementsOf(names(USER_REPLACEABLE));
        assertThat(INFRASTRUCTURE.keySet()).as("infrastructure types are package-private")
            .allSatisfy((type) -> assertThat(mainClasses.get(type).getModifiers()).doesNotContain(JavaModifier.PUBLIC));
        assertThat(WEB_INFRASTRUCTURE.keySet()).as("web infrastructure types are package-private")
            .allSatisfy((type) -> assertThat(mainClasses.get(type).getModifiers()).doesNotContain(JavaModifier.PUBLIC));
        assertThat(CONTAINER_INFRASTRUCTURE.keySet()).as("container infrastructure types are package-private")
            .allSatisfy((type) -> assertThat(mainClasses.get(type).getModifiers()).doesNotContain(JavaModifier.PUBLIC));
    }

    // ---------------------------------------------------------------- the rules are not vacuous

    @Test
    void rulesShouldReportPlantedViolators() {
        JavaClasses planted = new ClassFileImporter().importClasses(PlantedAutoConfiguration.class,
                PlantedAutoConfiguration.Beans.class);
        // PlantedAutoConfiguration is a test class, so it is in none of the imported main classes.
        assertThat(autoConfigurationsArePublicFinalAnnotatedAndListed(Set.of()).evaluate(planted).getFailureReport()
            .getDetails()).as("not final, not @AutoConfiguration, not listed").hasSize(3);
        List<String> backOff = userReplaceableBeansAreConditionalOnMissingBean.evaluate(planted).getFailureReport()
            .getDetails();
        assertThat(backOff).as("tracker without the condition, decorator with a condition on another type")
            .hasSize(2)
            .anySatisfy((detail) -> assertThat(detail).contains("tracker()"))
            .anySatisfy((detail) -> assertThat(detail).contains("decorator()"));
        assertThat(everyBeanIsClassified.evaluate(planted).getFailureReport().getDetails())
            .as("a bean of an unclassified type").singleElement()
            .satisfies((detail) -> assertThat(detail).contains("unclassified()"));
    }

    // ---------------------------------------------------------------- helpers

    /** A package-private type of a sub-package, which this test cannot name in code. */
    private static Class<?> packagePrivateType(String name) {
        try {
            return Class.forName(name, false, StarterArchitectureTests.class.getClassLoader());
        }
        catch (ClassNotFoundException ex) {
            throw new IllegalStateException("infrastructure type " + name + " is missing", ex);
        }
    }

    private static DescribedPredicate<JavaClass> nameIn(Set<String> names) {
        return DescribedPredicate.describe("one of " + names, (javaClass) -> names.contains(javaClass.getName()));
    }

    private static Set<String> names(Set<Class<?>> types) {
        return types.stream().map(Class::getName).collect(Collectors.toUnmodifiableSet());
    }

    private static String simpleNames(Set<Class<?>> types) {
        return types.stream().map(Class::getSimpleName).sorted().collect(Collectors.joining(", ", "[", "]"));
    }

    private static ArchCondition<JavaClass> beListedIn(Set<String> listed) {
        return new ArchCondition<>("be listed in " + IMPORTS_RESOURCE) {
            @Override
            public void check(JavaClass javaClass, ConditionEvents events) {
                boolean satisfied = listed.contains(javaClass.getName());
                events.add(new SimpleConditionEvent(javaClass, satisfied,
                        javaClass.getName() + (satisfied ? " is" : " is not") + " listed in " + IMPORTS_RESOURCE));
            }
        };
    }

    /**
     * {@code @ConditionalOnMissingBean} on the method, matching the method's return type: without
     * attributes (Spring then uses the return type) or with the return type among its
     * {@code value}/{@code type}.
     */
    private static ArchCondition<JavaMethod> beConditionalOnMissingBeanOfTheirReturnType() {
        return new ArchCondition<>("be @ConditionalOnMissingBean of their return type") {
            @Override
            public void check(JavaMethod method, ConditionEvents events) {
                String returnType = method.getRawReturnType().getName();
                boolean satisfied;
                String detail;
                if (!method.isAnnotatedWith(ConditionalOnMissingBean.class)) {
                    satisfied = false;
                    detail = "is not @ConditionalOnMissingBean";
                }
                else {
                    ConditionalOnMissingBean condition = method.getAnnotationOfType(ConditionalOnMissingBean.class);
                    Set<String> types = Arrays.stream(condition.value()).map(Class::getName)
                        .collect(Collectors.toCollection(TreeSet::new));
                    types.addAll(Arrays.asList(condition.type()));
                    boolean defaults = types.isEmpty() && condition.name().length == 0
                            && condition.annotation().length == 0;
                    satisfied = defaults || types.contains(returnType);
                    detail = satisfied ? "is @ConditionalOnMissingBean" + (defaults ? "" : " of " + types)
                            : "is @ConditionalOnMissingBean of " + types + ", not of its return type";
                }
                events.add(new SimpleConditionEvent(method, satisfied,
                        method.getFullName() + " returning " + returnType + " " + detail + " in "
                                + method.getSourceCodeLocation()));
            }
        };
    }

    private static ArchCondition<JavaMethod> returnATypeIn(Set<Class<?>> userReplaceable,
            Set<Class<?>> infrastructure) {
        Set<String> known = names(userReplaceable);
        Set<String> infra = new java.util.HashSet<>(names(infrastructure));
        infra.addAll(WEB_INFRASTRUCTURE.keySet());
        infra.addAll(CONTAINER_INFRASTRUCTURE.keySet());
        infra.addAll(SPRING_CUSTOMIZERS.keySet());
        return new ArchCondition<>("return a user-replaceable or infrastructure type") {
            @Override
            public void check(JavaMethod method, ConditionEvents events) {
                String returnType = method.getRawReturnType().getName();
                boolean satisfied = known.contains(returnType) || infra.contains(returnType);
                events.add(new SimpleConditionEvent(method, satisfied, method.getFullName() + " returns "
                        + returnType + (satisfied ? ", classified" : ", neither user-replaceable nor infrastructure")));
            }
        };
    }

    /**
     * What the rules must reject: a non-final, unannotated, unlisted {@code *AutoConfiguration},
     * with a user-replaceable bean that does not back off, one that backs off for another type,
     * and a bean of a type nobody classified.
     */
    public static class PlantedAutoConfiguration {

        @Configuration(proxyBeanMethods = false)
        static class Beans {

            @Bean
            CancellationTaskTracker tracker() {
                return new CancellationTaskTracker();
            }

            @Bean
            @ConditionalOnMissingBean(CancellationTaskTracker.class)
            CancellationTaskDecorator decorator() {
                throw new UnsupportedOperationException("never called");
            }

            @Bean
            @ConditionalOnMissingBean
            CancellationEndpoint endpoint() {
                throw new UnsupportedOperationException("never called");
            }

            @Bean
            StringBuilder unclassified() {
                return new StringBuilder();
            }
        }
    }
}
