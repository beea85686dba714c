#!/usr/bin/env bash
# Installs what TAC Planner needs to build and test, skipping whatever is already present.
# Usage: scripts/setup.sh [--tests]   (--tests also installs Chromium and chromedriver)
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
# Must equal the wasm-bindgen version in Cargo.lock (app/Cargo.toml pins it with "=").
WASM_BINDGEN_VERSION=0.2.130

log() { printf '[setup] %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! trunk --version 2>/dev/null | grep -q " ${TRUNK_VERSION}\$"; then
  log "installing trunk ${TRUNK_VERSION} (about 10 minutes on a cold machine)"
  cargo install --locked trunk --version "${TRUNK_VERSION}"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " ${WASM_BINDGEN_VERSION}"; then
  log "installing wasm-bindgen-cli ${WASM_BINDGEN_VERSION}"
  # Not --locked: its lock file pins a webpki-roots release the registry no longer has.
  cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" --force
fi

# Cuts the release wasm into the first download and the parts fetched after it (scripts/split.mjs).
WASM_SPLIT_VERSION=0.2.4
if ! cmp -s <(echo "${WASM_SPLIT_VERSION}") "${CARGO_HOME:-$HOME/.cargo}/.tac-wasm-split-cli" 2>/dev/null \
  || ! command -v wasm-split-cli >/dev/null; then
  log "installing wasm-split-cli ${WASM_SPLIT_VERSION} (about 1 minute)"
  cargo install --locked wasm_split_cli_support --version "${WASM_SPLIT_VERSION}" --features build-binary --force
  echo "${WASM_SPLIT_VERSION}" > "${CARGO_HOME:-$HOME/.cargo}/.tac-wasm-split-cli"
fi

# Node packages: wasm-opt (binaryen 132; Debian's 108 breaks the wasm), and the test peers.
# Reinstalled whenever package-lock.json changes (a copy is kept beside the install).
if ! cmp -s tools/package-lock.json tools/node_modules/.tac-installed-lock 2>/dev/null; then
  log "installing node tools (binaryen, automerge-repo for interop tests)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
  cp tools/package-lock.json tools/node_modules/.tac-installed-lock
fi

if [ "${1:-}" = "--tests" ]; then
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    log "installing Chromium and chromedriver from Debian"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  # PostgreSQL, for the relay's tests on a throwaway cluster (scripts/postgres.sh); no service
  # is started.
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    log "installing postgresql from Debian"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  fi
  # pdftotext, to read the PDFs the relay makes back as text.
  if ! command -v pdftotext >/dev/null; then
    log "installing poppler-utils (pdftotext) from Debian"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq poppler-utils >/dev/null
  fi
  # Two real OpenID providers for the sign-in tests (PyPI's oidc-provider-mock, pinned with
  # everything it needs in tools/oidc-provider/requirements.txt), in their own virtualenv.
  OIDC=tools/oidc-provider
  if ! cmp -s "$OIDC/requirements.txt" "$OIDC/venv/.tac-installed" 2>/dev/null; then
    log "installing oidc-provider-mock (PyPI) for the sign-in tests"
    python3 -m venv "$OIDC/venv"
    "$OIDC/venv/bin/pip" install -q --disable-pip-version-check -r "$OIDC/requirements.txt"
    cp "$OIDC/requirements.txt" "$OIDC/venv/.tac-installed"
  fi
fi
log "done"
