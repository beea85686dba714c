#!/usr/bin/env bash
# Sets up what is missing and runs every test: native (protocol core against samod, relay,
# JS interop), IndexedDB in headless Chromium, and end-to-end in two browser profiles.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
export PATH="$PWD/tools/node_modules/.bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
# A one-off build gains nothing from incremental caches, and they take gigabytes of disk.
[ "${CI:-}" = "true" ] && export CARGO_INCREMENTAL=0

step() { printf '\n== %s\n' "$*"; }

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --exclude app -- -D warnings
cargo clippy -p app --target wasm32-unknown-unknown --all-targets -- -D warnings
# The release build cuts the wasm where app/src/later.rs says (index.html turns this on).
cargo clippy -p app --target wasm32-unknown-unknown --features split -- -D warnings

step "build the app and the relay"
trunk build --release
cargo build -p server

step "native tests (shared core against samod, relay, interop with JS automerge-repo, end-to-end)"
cargo test --workspace --exclude app

step "the relay's storage, access, audit and sync tests again, on PostgreSQL"
# A throwaway cluster on a free loopback port, removed when this script ends.
pg_dir="$(mktemp -d /tmp/tac-pg.XXXXXX)"
pg_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
trap 'scripts/postgres.sh stop "$pg_dir"' EXIT
pg_url="$(scripts/postgres.sh start "$pg_dir" "$pg_port")"
[ -n "$pg_url" ] || { echo "PostgreSQL did not start"; exit 1; }
export TAC_TEST_POSTGRES="$pg_url"
# The test programs the step above built, run again as they are: `cargo test -p server` would
# resolve features for the relay alone and build everything a second time.
server_test() {
  cargo test --workspace --exclude app --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and m.get("executable") and t.get("kind") == ["test"] \
            and t.get("name") == sys.argv[1] and "/" + sys.argv[2] + "#" in m.get("package_id", "") + "#":
        print(m["executable"])' "$1" "${2:-server}"
}
for t in storage access relay authorship security shards documents subject_access departure \
    case_views interop unload organisation_sign_in records; do
  bin="$(server_test "$t")"
  [ -x "$bin" ] || { echo "no test program for $t"; exit 1; }
  (cd server && "$bin" -q)
done
# Two relay processes on that database: one serves, the other takes over when it is killed.
(cd server && "$(server_test failover)" --ignored --nocapture)
# Two relay processes serving together (--relay-url): live co-editing across them, and one
# taking the other's cases over when it is killed.
(cd server && "$(server_test relays)" --ignored --nocapture)
# Two browsers, one at each of two relays serving together, co-edit a case.
(cd tests && "$(server_test two_relays tests)" --ignored --nocapture)
unset TAC_TEST_POSTGRES

step "browser storage tests (wasm-bindgen-test in headless Chromium)"
cargo test -p app --target wasm32-unknown-unknown

step "all tests passed"
