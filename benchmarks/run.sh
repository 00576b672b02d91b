#!/usr/bin/env bash
# Runs every benchmark side by side with the peers, in one go, and writes BENCHMARKS.md at the
# repository root. Not part of `mvn -B verify`: it takes ~38 minutes on a 2-core machine (JMH ~12,
# survey ~3, Spring ~12 with the no-signal control, web ~7 plus the build). Run it on an otherwise idle
# machine.
# Options (environment):
#   JMH_ARGS      extra JMH arguments (default: 1 fork, 5 x 1 s warm-up, 5 x 1 s measurement; the
#                 single-shot fan-outs 10 warm-up and 30 measured shots)
#   QUICK=1       a short smoke run (JMH: 1 x 0.5 s warm-up, 2 x 0.5 s measurement; Spring: 2 runs each,
#                 1 throughput JVM each with fewer rounds; web: 1 JVM per configuration, 3 s warm-up,
#                 3 rounds of 2 s)
#   JMH=0         skip JMH and the survey (reuse results/jmh*.json and results/survey.md from an earlier run)
#   SPRING=0      skip the Spring part (reuse results/shutdown.md from an earlier run)
#   WEB=0         skip the request token overhead part (reuse results/web.json from an earlier run)
#   SPRING_ARGS   extra SpringShutdownBench arguments (e.g. "--runs 9 --throughput-jvms 5")
#   SPRING_LABEL  a line printed at the top of the Spring results (e.g. "smoke run on a loaded machine")
#   WEB_ARGS      extra WebOverheadBench arguments (e.g. "--jvms 5 --connections 32")
#   WEB_LABEL     a line printed at the top of the web results
# A part that is skipped and has no results file of an earlier run keeps its section of the current
# BENCHMARKS.md as it is; BENCHMARKS.md is only replaced once the report is complete.
# Only the web part, ~8 minutes: JMH=0 SPRING=0 benchmarks/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/results"
mkdir -p "$out"
cd "$root"

# The Spring apps are cleaned first: their repackaged jars are otherwise kept as they are when only the
# starter (a dependency) changed, and the benchmark would measure the starter of an earlier build. Only the
# apps of the parts that run are built.
apps=()
if [ "${SPRING:-1}" != 0 ]; then
  apps+=(benchmarks/shutdown-plain benchmarks/shutdown-starter)
fi
if [ "${WEB:-1}" != 0 ]; then
  apps+=(benchmarks/web-mvc benchmarks/web-webflux)
fi
modules=benchmarks
if [ ${#apps[@]} -gt 0 ]; then
  app_list=$(IFS=,; echo "${apps[*]}")
  mvn -q -B -pl "$app_list" clean
  modules="benchmarks,$app_list"
fi
mvn -q -B -pl "$modules" -am -DskipTests package

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

# The request token overhead part: a hello-world MVC (Tomcat) and WebFlux (Reactor Netty) app, each with
# the starter on and off (--cancellation.enabled=false), JVMs alternating, under a local closed-loop load.
if [ "${WEB:-1}" != 0 ]; then
  web_args=()
  if [ "${QUICK:-0}" = 1 ]; then
    web_args=(--jvms 1 --warmup 3 --rounds 3 --round-seconds 2)
  fi
  if [ -n "${WEB_LABEL:-}" ]; then
    web_args+=(--label "$WEB_LABEL")
  fi
  java -cp benchmarks/target/benchmarks.jar io.github.cancellation.benchmarks.WebOverheadBench \
    --mvc benchmarks/web-mvc/target/web-mvc.jar \
    --webflux benchmarks/web-webflux/target/web-webflux.jar \
    --out "$out" ${web_args[@]+"${web_args[@]}"} ${WEB_ARGS:-}
fi

# The report: every part from its results file; a part without one keeps its section of the current
# BENCHMARKS.md (--previous). Written aside first, so that a failure leaves BENCHMARKS.md as it was.
python3 "$here/scripts/report.py" "$out/jmh.json,$out/jmh-fanout.json" "$out/survey.md" "$out/shutdown.md" \
  --web "$out/web.json" --previous "$root/BENCHMARKS.md" > "$out/BENCHMARKS.md.new"
mv "$out/BENCHMARKS.md.new" "$root/BENCHMARKS.md"
echo "wrote $root/BENCHMARKS.md"
