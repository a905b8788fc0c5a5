#!/usr/bin/env bash
# Runs every test of Warden, in one go, on a fresh machine or a warm one:
#   1. the example plugins rebuild byte-for-byte (their digests are pinned in warden.toml);
#   2. cargo fmt and clippy are clean;
#   3. cargo test --release --workspace --all-features: unit tests, SDK doctests, the
#      end-to-end tests that start the real `warden` binary and call the real components
#      (OTLP export included), and a smoke run of the load tool (bench/: `warden-load
#      --smoke` against that binary and the native rmcp baseline, over stdio and HTTP; a few
#      hundred calls, no timing checked); then the plugins' own unit tests;
#   4. the official Python MCP SDK drives the same binary in both protocol eras;
#   5. the official MCP conformance suite runs against it (`serve --http`), both eras, and
#      must match tests/conformance/expected-failures-<era>.yml exactly;
#   6. every fuzz target (fuzz/) runs for a short, bounded time, so none of them rots: built
#      with the stable toolchain into a target dir of its own (fuzz/run.sh says how and why).
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

echo "== conformance (@modelcontextprotocol/conformance, both eras)"
# Installs Node.js 22 and the pinned suite outside the checkout the first time (needs npm);
# see tests/conformance/install.sh for where.
tests/conformance/install.sh
WARDEN_BIN="$CARGO_TARGET_DIR/release/warden" tests/conformance/run.sh

echo "== fuzz (every target, ${WARDEN_FUZZ_SECONDS:-20} s each)"
fuzz/run.sh "${WARDEN_FUZZ_SECONDS:-20}"
