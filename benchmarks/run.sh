#!/usr/bin/env bash
# Runs every benchmark side by side with the peers, in one go, and writes BENCHMARKS.md at the
# repository root. Not part of `mvn -B verify`: it takes ~30 minutes on a 2-core machine (JMH ~12,
# survey ~3, Spring ~12 with the no-signal control). Run it on an otherwise idle machine.
# Options (environment):
#   JMH_ARGS      extra JMH arguments (default: 1 fork, 5 x 1 s warm-up, 5 x 1 s measurement; the
#                 single-shot fan-outs 10 warm-up and 30 measured shots)
#   QUICK=1       a short smoke run (JMH: 1 x 0.5 s warm-up, 2 x 0.5 s measurement; Spring: 2 runs each,
#                 1 throughput JVM each with fewer rounds)
#   JMH=0         skip JMH and the survey (reuse results/jmh*.json and results/survey.md from an earlier run)
#   SPRING=0      skip the Spring part (reuse results/shutdown.md from an earlier run)
#   SPRING_ARGS   extra SpringShutdownBench arguments (e.g. "--runs 9 --throughput-jvms 5")
#   SPRING_LABEL  a line printed at the top of the Spring results (e.g. "smoke run on a loaded machine")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/results"
mkdir -p "$out"
cd "$root"

# The two Spring apps are cleaned first: their repackaged jars are otherwise kept as they are when only the
# starter (a dependency) changed, and the benchmark would measure the starter of an earlier build.
mvn -q -B -pl benchmarks/shutdown-plain,benchmarks/shutdown-starter clean
mvn -q -B -pl benchmarks,benchmarks/shutdown-plain,benchmarks/shutdown-starter -am -DskipTests package

if [ "${JMH:-1}" != 0 ]; then
  if [ "${QUICK:-0}" = 1 ]; then
    timing="-f 1 -wi 1 -w 500ms -i 2 -r 500ms"
    shots="-f 1 -wi 2 -i 3"
  else
    timing="-f 1 -wi 5 -w 1s -i 5 -r 1s"
    shots="-f 1 -wi 10 -i 30"
  fi
  # Timed shapes, then the single-shot fan-outs (one cancel of a fresh tree per shot: more shots, no time).
  java -jar benchmarks/target/benchmarks.jar "CheckBenchmark|ChurnCheckBenchmark|ChildBenchmark" \
    $timing ${JMH_ARGS:-} -prof gc -rf json -rff "$out/jmh.json" | tee "$out/jmh.txt"
  java -jar benchmarks/target/benchmarks.jar "FanoutBenchmark" \
    $shots ${JMH_ARGS:-} -prof gc -rf json -rff "$out/jmh-fanout.json" | tee -a "$out/jmh.txt"

  java -Xmx4g -cp benchmarks/target/benchmarks.jar io.github.cancellation.benchmarks.Survey \
    2>/dev/null > "$out/survey.md"
fi

# The Spring part: the same Boot app built twice (plain / with the starter), each JVM started on its own;
# SIGTERM and POST /actuator/shutdown with 1,000 in-flight @Async loops, then @Async throughput.
if [ "${SPRING:-1}" != 0 ]; then
  spring_args=(--runs 5 --throughput-jvms 3)
  if [ "${QUICK:-0}" = 1 ]; then
    spring_args=(--runs 2 --throughput-jvms 1 --app-arg --bench.throughput.warmups=3 --app-arg --bench.throughput.rounds=5)
  fi
  if [ -n "${SPRING_LABEL:-}" ]; then
    spring_args+=(--label "$SPRING_LABEL")
  fi
  java -cp benchmarks/target/benchmarks.jar io.github.cancellation.benchmarks.SpringShutdownBench \
    --plain benchmarks/shutdown-plain/target/shutdown-plain.jar \
    --starter benchmarks/shutdown-starter/target/shutdown-starter.jar \
    --out "$out" "${spring_args[@]}" ${SPRING_ARGS:-}
fi

shutdown_md=()
if [ -f "$out/shutdown.md" ]; then
  shutdown_md=("$out/shutdown.md")
fi
python3 "$here/scripts/report.py" "$out/jmh.json,$out/jmh-fanout.json" "$out/survey.md" ${shutdown_md[@]+"${shutdown_md[@]}"} \
  > "$root/BENCHMARKS.md"
echo "wrote $root/BENCHMARKS.md"
