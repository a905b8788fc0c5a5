#!/usr/bin/env bash
# Builds the fuzz targets with the pinned stable toolchain and runs each for a bounded time:
#   fuzz/run.sh [SECONDS_PER_TARGET (default 25)] [TARGET...]
#
# Why not `cargo fuzz`: CI has only the toolchain rust-toolchain.toml pins (stable), and
# cargo-fuzz needs nightly (or RUSTC_BOOTSTRAP) for `-Zsanitizer`. libFuzzer itself needs
# only the sanitizer-coverage instrumentation, which stable rustc emits through LLVM options
# (`-Cpasses=sancov-module` and the `-sanitizer-coverage-*` flags below, the ones cargo-fuzz
# passes), plus `--cfg fuzzing`. What this gives up is AddressSanitizer, which safe Rust
# seldom needs; `cargo +nightly fuzz run <target>` keeps it for longer runs (README.md here).
#
# `--target` keeps the flags off build scripts and proc macros, as cargo-fuzz does. The
# build goes to its own target dir ($WARDEN_FUZZ_TARGET_DIR, default fuzz/target), never
# the main build's: the flags would rebuild every crate there.
#
# New inputs go to a scratch corpus; the committed seeds (fuzz/corpus/<target>) are read
# only. A crash, a failed assertion or a hang (a run over 10 s) fails the script, and
# libFuzzer writes the input to fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-25}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(stdio manifest prompt grants values redact)
fi

host="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_TARGET_DIR="${WARDEN_FUZZ_TARGET_DIR:-$PWD/target}"
export RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cdebug-assertions \
--cfg fuzzing"
cargo build --profile ci-fuzz --locked --target "$host" $(printf -- '--bin %s ' "${targets[@]}")

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
    echo "== fuzz $target (${seconds}s)"
    mkdir -p "$scratch/$target" "artifacts/$target"
    "$CARGO_TARGET_DIR/$host/ci-fuzz/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$target/" \
        "$scratch/$target" "corpus/$target"
done
