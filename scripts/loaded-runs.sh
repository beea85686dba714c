#!/usr/bin/env bash
# Runs the whole native suite N times (default 10) on a loaded machine, to find flaky tests:
# beside each run, a release build of the relay (in its own target folder, cleaned each time)
# keeps both cores busy, as CI's neighbours might. Every failing test is listed per run in
# target/loaded-runs.log; the randomized tests print their seeds there too.
# Usage: scripts/loaded-runs.sh [N]
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-10}"
LOG=target/loaded-runs.log
mkdir -p target; : > "$LOG"
cargo build -p server >/dev/null 2>&1
cargo test --workspace --exclude app --no-run >/dev/null 2>&1
failed_runs=0
for i in $(seq 1 "$RUNS"); do
  ( while true; do
      rm -rf target/load-build
      nice -n 0 cargo build --release -p server --target-dir target/load-build >/dev/null 2>&1
    done ) &
  load=$!
  start=$(date +%s)
  cargo test --workspace --exclude app --no-fail-fast > "target/loaded-run-$i.out" 2>&1
  rc=$?
  kill -- -"$load" 2>/dev/null || kill "$load" 2>/dev/null; pkill -f "target/load-build" 2>/dev/null
  wait "$load" 2>/dev/null
  took=$(( $(date +%s) - start ))
  fails=$(grep -E "^test .* FAILED$" "target/loaded-run-$i.out" | sed 's/^test //; s/ \.\.\. FAILED$//' | tr '\n' ' ')
  seeds=$(grep -Eo "seed [0-9]+" "target/loaded-run-$i.out" | sort -u | tr '\n' ' ')
  echo "run $i: rc=$rc in ${took}s; failed: ${fails:-none}; ${seeds}" | tee -a "$LOG"
  [ "$rc" -ne 0 ] && failed_runs=$((failed_runs + 1))
done
rm -rf target/load-build
echo "$failed_runs of $RUNS runs failed" | tee -a "$LOG"
[ "$failed_runs" -eq 0 ]
