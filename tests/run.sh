#!/usr/bin/env bash
# Runs every test of Warden, in one go, on a fresh machine or a warm one:
#   1. the example plugins rebuild byte-for-byte (their digests are pinned in warden.toml);
#   2. cargo fmt and clippy are clean;
#   3. cargo test --release --workspace --all-features: unit tests, SDK doctests, the
#      end-to-end tests that start the real `warden` binary and call the real components
#      (OTLP export included), and a smoke run of the load tool (bench/: `warden-load
#      --smoke` against that binary and the native rmcp baseline, over stdio and HTTP; a few
#      hundred calls, no timing checked); then the plugins' own unit tests;
#   4. the official Python MCP SDK drives the same binary in both protocol eras.
# The host is built once (release profile, all features: clippy and the tests ask for the same
# feature set, so no dependency is built for two) and reused by every step after it. The load
# tool is a workspace member built and run by that same `cargo test`: no step of its own
# builds anything.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

echo "== plugins: reproducible rebuild"
plugins/build.sh --check

echo "== lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release --locked --all-features -- -D warnings

echo "== cargo test"
cargo test --workspace --release --locked --all-features
# The example plugins' own unit tests (pure logic: globs, GitHub JSON, header filters),
# run on the host target.
cargo test --manifest-path plugins/Cargo.toml --locked --quiet

echo "== python interop (mcp 2.3.0)"
venv="$root/.venv"
if ! "$venv/bin/python" -c 'import mcp, pytest' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
fi
WARDEN_BIN="$CARGO_TARGET_DIR/release/warden" "$venv/bin/python" -m pytest -q tests/interop
