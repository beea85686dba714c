#!/usr/bin/env bash
# Fuzzes every path by which another party's bytes reach automerge (see
# shared::untrusted::exercise), on stable Rust: cargo-fuzz with `-s none` (no sanitizer).
# Usage: scripts/fuzz.sh [seconds per target, default 300] [target ...]
# Crashers are copied to shared/tests/fixtures/untrusted/, which the normal test run replays:
# commit them once the guard refuses them.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-300}"; shift || true
TARGETS=("$@"); [ ${#TARGETS[@]} -eq 0 ] && TARGETS=(chunks relay_frame client_frame case_record)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
FIXTURES=shared/tests/fixtures/untrusted
mkdir -p target/fuzz-corpus
for t in "${TARGETS[@]}"; do
  corpus="target/fuzz-corpus/$t"; mkdir -p "$corpus"
  # Earlier crashers seed the corpus, so the fuzzer starts near known trouble; memory bombs
  # (-oom-) only the relay's memory-limited workers survive, so they would stop every run.
  find "$FIXTURES" -type f ! -name '*.md' ! -name '*-oom-*' -exec cp {} "$corpus"/ \;
  echo "== $t for ${SECONDS_EACH}s"
  rm -f target/fuzz-artifacts-"$t"-*
  set +e
  # Fork mode, going on past out-of-memory inputs: in one process, automerge can be made to
  # ask for gigabytes (only the relay's memory-limited workers survive that, see
  # server/src/untrusted.rs); those are kept as -oom- fixtures, and the search goes on.
  cargo fuzz run -s none --fuzz-dir fuzz --target-dir target/fuzz "$t" "$corpus" -- \
    -fork=1 -ignore_ooms=1 -rss_limit_mb=2048 \
    -max_total_time="$SECONDS_EACH" -max_len=65536 \
    -artifact_prefix="target/fuzz-artifacts-$t-" > "target/fuzz-$t.log" 2>&1
  set -e
  # The last status line: total executions, and the crashes and OOMs met on the way.
  grep -E "^#[0-9]+: " "target/fuzz-$t.log" | tail -1
  echo "out-of-memory inputs: $(grep -c "out-of-memory" "target/fuzz-$t.log"); crashes: $(grep -c "deadly signal\|panicked" "target/fuzz-$t.log")"
  for crash in target/fuzz-artifacts-"$t"-*; do
    [ -e "$crash" ] || continue
    name="$t-$(basename "$crash" | sed "s/^fuzz-artifacts-$t-//")"
    # In fork mode memory can grow over many inputs and be blamed on whichever ran last (once
    # the empty input): an out-of-memory input is kept only if it runs out of memory alone.
    if [[ "$name" == *-oom-* ]] && "target/fuzz/x86_64-unknown-linux-gnu/release/$t" \
        -rss_limit_mb=2048 -malloc_limit_mb=2048 "$crash" >/dev/null 2>&1; then
      echo "not kept: $name runs within the memory limit on its own"
      continue
    fi
    cp "$crash" "$FIXTURES/$name" && echo "kept crasher $FIXTURES/$name"
  done
done
