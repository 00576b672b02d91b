/**
 * jcstress tests of the token (quality anchors B.3, J1 to J6): each class races two actors over the
 * public API of {@code io.github.cancellation} under the real Java memory model, on every JVM
 * configuration jcstress tries, and lists which outcomes are acceptable; every other outcome is
 * forbidden and fails the run. Where Lincheck explores interleavings under sequential consistency,
 * these catch what only the hardware and the JIT can do (a missing {@code volatile}, a reordered
 * publication).
 *
 * <p>Build and run (opt-in, never part of {@code mvn verify}):
 *
 * <pre>
 * mvn -B -Pjcstress -pl concurrency-tests -am package -DskipTests
 * cd concurrency-tests/target &amp;&amp; java -jar jcstress.jar -m quick
 * </pre>
 *
 * <p>jcstress writes its binary result file and its HTML report ({@code results/}) into the current
 * folder; {@code -t Name} runs one test. Figures of the latest run are in RELIABILITY.md.
 */
package io.github.cancellation.jcstress;
