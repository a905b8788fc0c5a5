#!/usr/bin/env bash
# Builds every plugin into plugins/<name>.wasm, byte-for-byte reproducibly.
#
#   plugins/build.sh           build, then copy each component to plugins/<name>.wasm
#   plugins/build.sh --check   build, then compare each component's sha256 with the committed
#                              plugins/<name>.wasm; exit 1 on any difference
#
# Environment: PLUGINS_TARGET_DIR, the cargo target dir (default: plugins/target).
#
# Reproducible on any machine and from any checkout path: the toolchain is pinned by
# rust-toolchain.toml, dependencies by Cargo.lock (--locked), every absolute path that could
# leak into a component (the checkout, CARGO_HOME, the target dir) is remapped, and cargo sees
# the checkout through a symlink at a fixed path (see STAGE below).
# CARGO_ENCODED_RUSTFLAGS replaces any RUSTFLAGS or rustflags config of the caller.
# Needs flock(1) (util-linux).
set -euo pipefail

readonly PLUGINS=(echo text hog raw unlinkable resourceful twin files fetch github probe poison media notes rogue test)
readonly TARGET=wasm32-wasip2

usage() {
    echo "usage: $0 [--check]" >&2
    exit 2
}

check=false
case $# in
    0) ;;
    1) [[ $1 == --check ]] || usage; check=true ;;
    *) usage ;;
esac

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
target_dir=${PLUGINS_TARGET_DIR:-$here/target}
mkdir -p -- "$target_dir"
target_dir=$(cd -- "$target_dir" && pwd)
cargo_home=${CARGO_HOME:-$HOME/.cargo}

# Cargo hashes a path dependency that lies outside the workspace (../sdk) by its absolute path.
# That hash reaches every crate that depends on it, and with it symbol names and the order in
# which LTO merges modules, so the bytes would change with the checkout location. Building
# through a symlink at a fixed path gives cargo the same paths on every machine. The lock keeps
# concurrent builds from different checkouts off each other's symlink.
readonly STAGE=/tmp/warden-plugins-build
exec 9>"$STAGE.lock"
flock 9
mkdir -p -- "$STAGE"
ln -sfn -- "$root" "$STAGE/src"

# Later remappings win when several match, so the most specific paths come last.
remaps=()
add_remap() {
    local from=$1 to=$2
    remaps+=("--remap-path-prefix=$from=$to")
    local physical
    if physical=$(cd -- "$from" 2>/dev/null && pwd -P) && [[ $physical != "$from" ]]; then
        remaps+=("--remap-path-prefix=$physical=$to")
    fi
}
add_remap "$cargo_home" /cargo
add_remap "$root" /warden
add_remap "$STAGE/src" /warden
add_remap "$target_dir" /target

# CARGO_ENCODED_RUSTFLAGS separates flags with 0x1f, so paths may contain spaces.
export CARGO_ENCODED_RUSTFLAGS
CARGO_ENCODED_RUSTFLAGS=$(IFS=$'\x1f'; printf '%s' "${remaps[*]}")
# Only the committed release profile decides how the components are built.
export CARGO_INCREMENTAL=0
for var in "${!CARGO_PROFILE_@}"; do
    unset "$var"
done

# Run from the repository root, so rust-toolchain.toml pins the toolchain.
cd -- "$root"
cargo build --release --locked --target "$TARGET" \
    --manifest-path "$STAGE/src/plugins/Cargo.toml" --target-dir "$target_dir"

failed=0
for name in "${PLUGINS[@]}"; do
    built=$target_dir/$TARGET/release/$name.wasm
    committed=$here/$name.wasm
    if $check; then
        built_sha=$(sha256sum -- "$built" | cut -d' ' -f1)
        committed_sha=missing
        [[ -f $committed ]] && committed_sha=$(sha256sum -- "$committed" | cut -d' ' -f1)
        if [[ $built_sha == "$committed_sha" ]]; then
            echo "ok       $name.wasm  $built_sha"
        else
            echo "MISMATCH $name.wasm  built $built_sha  committed $committed_sha"
            failed=1
        fi
    else
        cp -- "$built" "$committed"
        echo "$(sha256sum -- "$committed" | cut -d' ' -f1)  plugins/$name.wasm"
    fi
done

if ((failed)); then
    echo "built components differ from the committed ones: run plugins/build.sh and commit" >&2
    exit 1
fi
