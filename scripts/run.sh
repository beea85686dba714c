#!/usr/bin/env bash
# Sets up what is missing, builds the app and runs the relay, which serves it.
# Data goes to ./data (SQLite) unless DATA_DIR or DATABASE_URL say otherwise.
# Extra arguments go to the relay, e.g. scripts/run.sh --bind 127.0.0.1:9000
# `scripts/run.sh create-admin --agency NAME --name NAME --email EMAIL` makes the first
# administrator instead (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "create-admin" ]; then
  exec cargo run --release -p server --bin tac-relay -- "$@"
fi
scripts/setup.sh
export PATH="$PWD/tools/node_modules/.bin:$PATH"
trunk build --release
exec cargo run --release -p server --bin tac-relay -- "$@"
