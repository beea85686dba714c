#!/usr/bin/env bash
# Sets up what is missing and runs every test: native (protocol core against samod, relay,
# JS interop), IndexedDB in headless Chromium, and end-to-end in two browser profiles.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
export PATH="$PWD/tools/node_modules/.bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"

step() { printf '\n== %s\n' "$*"; }

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --exclude app -- -D warnings
cargo clippy -p app --target wasm32-unknown-unknown --all-targets -- -D warnings

step "build the app and the relay"
trunk build --release
cargo build -p server

step "native tests (shared core against samod, relay, interop with JS automerge-repo, end-to-end)"
cargo test --workspace --exclude app

step "browser storage tests (wasm-bindgen-test in headless Chromium)"
cargo test -p app --target wasm32-unknown-unknown

step "all tests passed"
