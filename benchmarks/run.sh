#!/usr/bin/env bash
# Runs every benchmark side by side with the peers, in one go, and writes BENCHMARKS.md at the
# repository root. Not part of `mvn -B verify`: it takes ~30-40 minutes on a 2-core machine.
# Run it on an otherwise idle machine. Options (environment):
#   JMH_ARGS   extra JMH arguments (default: 1 fork, 5 x 1 s warm-up, 5 x 1 s measurement)
#   QUICK=1    a short smoke run (1 x 0.5 s warm-up, 2 x 0.5 s measurement)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/results"
mkdir -p "$out"
cd "$root"

mvn -q -B -pl benchmarks -am -DskipTests package

if [ "${QUICK:-0}" = 1 ]; then
  timing="-f 1 -wi 1 -w 500ms -i 2 -r 500ms"
else
  timing="-f 1 -wi 5 -w 1s -i 5 -r 1s"
fi
java -jar benchmarks/target/benchmarks.jar "CheckBenchmark|ChurnCheckBenchmark|ChildBenchmark|FanoutBenchmark" \
  $timing ${JMH_ARGS:-} -prof gc -rf json -rff "$out/jmh.json" | tee "$out/jmh.txt"

java -Xmx4g -cp benchmarks/target/benchmarks.jar io.github.cancellation.benchmarks.Survey \
  2>/dev/null > "$out/survey.md"

python3 "$here/scripts/report.py" "$out/jmh.json" "$out/survey.md" > "$root/BENCHMARKS.md"
echo "wrote $root/BENCHMARKS.md"
