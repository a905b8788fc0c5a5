#!/usr/bin/env python3
"""Soak run (not in CI): mixed load on the real `warden` binary over stdio and Streamable HTTP
for a while (10 minutes by default), then checks that it held up.

Load, from clients of the official Python SDK (`mcp` 2.3.0, both protocol eras):
- good calls (`echo_echo` with a per-call nonce), bad arguments, runaway (`hog_spin`) and
  trapping (`hog_panic` with a nonce, `raw_boom`) tools, denied capabilities (`probe_*`);
- HTTP clients that disconnect mid-call (`hog_nap`), and short-lived stdio servers whose client
  goes away mid-call (stdin closed), one after another on one audit file.

Checks, at the end:
- every request was answered (or its client went away on purpose), with its own answer: the
  nonce it sent, never another client's;
- every call is in its server's audit log exactly once (matched by the W3C trace id each call
  sends, which the record keeps as `correlation_id`), and `warden audit verify` passes;
- the long-running servers' RSS and open file descriptors are back to their warm level once
  the load stops.

    .venv/bin/python tests/soak/soak.py [--minutes 10] [--json FILE]

Needs a release build (`$WARDEN_BIN`, else `$CARGO_TARGET_DIR/release/warden`, else
`target/release/warden`). Traffic stays on 127.0.0.1. Exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
CALL_TIMEOUT = 60.0
MODES = ["legacy", "2026-07-28"]
# RSS may stay above the warm level by what the allocator keeps: this much, or a quarter.
RSS_SLACK = 32 << 20


def warden_bin() -> str:
    if "WARDEN_BIN" in os.environ:
        return os.environ["WARDEN_BIN"]
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "release" / "warden")


def component(name: str, extra: str = "") -> str:
    path = PLUGINS / f"{name}.wasm"
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return f'[components.{name}]\nsource = "{path}"\nsha256 = "{sha}"\n{extra}\n'


def manifest(audit: str, tokens: dict[str, str]) -> str:
    text = '[server]\nmax_concurrent_calls = 64\n\n'
    text += component("echo", '[components.echo.tools.echo]\nlog_params = ["message"]\n')
    text += component(
        "hog",
        'limits = { fuel = 50_000_000, timeout = "5s" }\n'
        '[components.hog.tools.panic]\nlog_params = ["message"]\n'
        '[components.hog.tools.nap]\nlog_params = ["milliseconds"]\n',
    )
    text += component("raw")
    text += component("probe")
    for name, token in tokens.items():
        text += (
            f'[clients.{name}]\ntoken_sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\n'
            'tools = ["*"]\nrate = "1000/s"\nburst = 1000\nmax_concurrency = 16\n\n'
        )
    text += f'[audit]\npath = "{audit}"\n'
    return text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def usage(pid: int) -> tuple[int, int]:
    """(RSS in bytes, open file descriptors) of process `pid`."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def child_serving(manifest_path: Path) -> int:
    """The pid of our child `warden serve --manifest manifest_path`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and str(manifest_path).encode() in cmdline:
            return int(entry.name)
    raise RuntimeError(f"no warden serves {manifest_path}")


def traceparent(trace: str) -> dict[str, Any]:
    return {"traceparent": f"00-{trace}-{secrets.token_hex(8)}-01"}


def text(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


@dataclass
class Tally:
    """What the load did, and every way it went wrong."""

    calls: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # trace id → (server, expected: True = answered, False = its client went away)
    traces: dict[str, tuple[str, bool]] = field(default_factory=dict)

    def track(self, server: str, kind: str, answered: bool = True) -> str:
        """A new call's trace id, counted as a call of `kind` to `server`."""
        trace = secrets.token_hex(16)
        self.traces[trace] = (server, answered)
        self.calls[kind] += 1
        return trace

    def problem(self, what: str) -> None:
        if len(self.problems) < 50:
            print(f"PROBLEM: {what}", file=sys.stderr)
        self.problems.append(what)


# name, weight, tool, arguments (NONCE is replaced), check of (isError, text, nonce)
KINDS: list[tuple[str, int, str, dict[str, Any], Any]] = [
    ("good", 50, "echo_echo", {"message": "NONCE"}, lambda err, out, n: not err and out == n),
    ("bad_args", 12, "echo_echo", {"message": 5}, lambda err, out, n: err and "invalid arguments" in out),
    ("runaway", 8, "hog_spin", {}, lambda err, out, n: err and ("out of fuel" in out or "timed out" in out)),
    ("panic", 8, "hog_panic", {"message": "NONCE"}, lambda err, out, n: err and f"panicked: {n}" in out),
    ("trap", 6, "raw_boom", {}, lambda err, out, n: err and "trap" in out),
    ("denied_http", 8, "probe_http_get", {"url": "http://127.0.0.1:9/x"}, lambda err, out, n: err),
    ("denied_file", 8, "probe_read_file", {"path": "/etc/passwd"}, lambda err, out, n: err),
]


def fill(arguments: dict[str, Any], nonce: str) -> dict[str, Any]:
    return {key: nonce if value == "NONCE" else value for key, value in arguments.items()}


async def worker(client: Client, server: str, label: str, tally: Tally, stop: asyncio.Event) -> None:
    rng = random.Random(label)
    weights = [kind[1] for kind in KINDS]
    while not stop.is_set():
        name, _, tool, arguments, check = rng.choices(KINDS, weights)[0]
        trace = tally.track(server, name)
        nonce = f"{label}:{trace}"
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(
                client.call_tool(tool, fill(arguments, nonce), meta=traceparent(trace)), CALL_TIMEOUT
            )
        except Exception as error:  # noqa: BLE001 - every failure is a finding
            tally.problem(f"{label} {name}: no answer: {error!r}")
            continue
        tally.latencies.append(time.monotonic() - started)
        if not check(bool(result.is_error), text(result), nonce):
            tally.problem(f"{label} {name}: wrong answer (crossed?): {text(result)[:200]!r}")


def http_client(url: str, token: str, mode: str) -> tuple[httpx2.AsyncClient, Client]:
    transport = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=120)
    )
    return transport, Client(streamable_http_client(url, http_client=transport), mode=mode, cache=None)


async def http_dropouts(url: str, token: str, tally: Tally, stop: asyncio.Event) -> None:
    """HTTP clients that go away mid-call."""
    n = 0
    while not stop.is_set():
        n += 1
        trace = tally.track("http", "http_dropout", answered=False)
        transport, client = http_client(url, token, MODES[n % 2])
        try:
            async with transport, client:
                call = asyncio.create_task(
                    client.call_tool("hog_nap", {"milliseconds": 2000 + n}, meta=traceparent(trace))
                )
                await asyncio.sleep(0.3)
                call.cancel()
                await asyncio.gather(call, return_exceptions=True)
        except Exception as error:  # noqa: BLE001
            tally.problem(f"http dropout {n}: {error!r}")
        await asyncio.sleep(0.2)


async def stdio_dropouts(manifest_path: Path, tally: Tally, stop: asyncio.Event) -> None:
    """Short-lived stdio servers, one after another on one audit file, whose client closes
    stdin mid-call; each server must exit cleanly."""
    n = 0
    while not stop.is_set():
        n += 1
        trace = tally.track("churn", "stdio_dropout", answered=False)
        process = await asyncio.create_subprocess_exec(
            warden_bin(), "serve", "--manifest", str(manifest_path),
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "WARDEN_LOG": "warn"},
        )
        assert process.stdin is not None
        lines = [
            {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "soak", "version": "0"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "hog_nap", "arguments": {"milliseconds": 1000 + n}, "_meta": traceparent(trace)}},
        ]
        process.stdin.write("".join(json.dumps(line) + "\n" for line in lines).encode())
        await process.stdin.drain()
        await asyncio.sleep(0.3)
        process.stdin.close()
        try:
            code = await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            tally.problem(f"stdio dropout {n}: the server did not exit within 30 s of its client leaving")
            continue
        if code != 0:
            tally.problem(f"stdio dropout {n}: the server exited {code}")


def check_audit(path: Path, server: str, tally: Tally) -> dict[str, Any]:
    verify = subprocess.run([warden_bin(), "audit", "verify", str(path)], capture_output=True, text=True)
    if verify.returncode != 0:
        tally.problem(f"{server}: audit verify: {verify.stdout}{verify.stderr}")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    seen = Counter(record["correlation_id"] for record in records)
    dropped = recorded = 0
    for trace, (where, answered) in tally.traces.items():
        if where != server:
            continue
        if answered and seen[trace] != 1:
            tally.problem(f"{server}: answered call {trace} has {seen[trace]} audit records")
        if not answered:
            # Its client left mid-call: one record if the call got to run, never two.
            dropped += 1
            recorded += seen[trace]
            if seen[trace] > 1:
                tally.problem(f"{server}: dropped call {trace} has {seen[trace]} audit records")
    return {
        "records": len(records),
        "verify": verify.stdout.strip() or verify.stderr.strip(),
        "outcomes": dict(Counter(record["outcome"] for record in records)),
        "dropped_calls": dropped,
        "dropped_calls_recorded": recorded,
    }


def check_usage(name: str, warm: tuple[int, int], final: tuple[int, int], tally: Tally) -> dict[str, Any]:
    (warm_rss, warm_fds), (rss, fds) = warm, final
    if rss > max(warm_rss + RSS_SLACK, warm_rss * 5 // 4):
        tally.problem(f"{name}: RSS {rss >> 20} MiB, warm level {warm_rss >> 20} MiB")
    if fds > warm_fds:
        tally.problem(f"{name}: {fds} open files, warm level {warm_fds}")
    return {"warm_rss_mib": round(warm_rss / 2**20, 1), "final_rss_mib": round(rss / 2**20, 1),
            "warm_fds": warm_fds, "final_fds": fds}


async def soak(minutes: float, home: Path) -> dict[str, Any]:
    tally = Tally()
    tokens = {f"c{i}": secrets.token_urlsafe(24) for i in range(5)}
    paths = {}
    for server in ("http", "stdio", "churn"):
        (home / server).mkdir()
        paths[server] = home / server / "warden.toml"
        paths[server].write_text(manifest("audit.jsonl", tokens))

    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    log = (home / "http" / "warden.log").open("wb")
    http_server = subprocess.Popen(
        [warden_bin(), "serve", "--manifest", str(paths["http"]), "--http", f"127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
        env={**os.environ, "WARDEN_LOG": "warn"},
    )
    deadline = time.monotonic() + 120
    while True:
        if http_server.poll() is not None:
            raise RuntimeError(f"warden --http exited: {(home / 'http' / 'warden.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)

    stop = asyncio.Event()
    warm_seconds = min(30.0, minutes * 60 / 4)
    async with AsyncExitStack() as stack:
        stdio_client = Client(
            StdioServerParameters(
                command=warden_bin(), args=["serve", "--manifest", str(paths["stdio"])],
                env={**os.environ, "WARDEN_LOG": "warn"},
            ),
            mode="2026-07-28",
        )
        await stack.enter_async_context(stdio_client)
        stdio_pid = child_serving(paths["stdio"])
        clients = [("stdio", "stdio", stdio_client)]
        for i, (name, token) in enumerate(list(tokens.items())[:4]):
            transport, client = http_client(url, token, MODES[i % 2])
            await stack.enter_async_context(transport)
            await stack.enter_async_context(client)
            clients.append(("http", name, client))
        tasks = [
            asyncio.create_task(worker(client, server, f"{name}-w{w}", tally, stop))
            for server, name, client in clients
            for w in range(3)
        ]
        tasks.append(asyncio.create_task(http_dropouts(url, tokens["c4"], tally, stop)))
        tasks.append(asyncio.create_task(stdio_dropouts(paths["churn"], tally, stop)))

        started = time.monotonic()
        await asyncio.sleep(warm_seconds)
        # The warm level: measured while the load runs, after the first calls filled the
        # caches, pools and connections it needs.
        warm = {"http": usage(http_server.pid), "stdio": usage(stdio_pid)}
        await asyncio.sleep(max(0.0, minutes * 60 - (time.monotonic() - started)))
        stop.set()
        await asyncio.gather(*tasks)
        loaded = time.monotonic() - started
        # Idle, clients still connected (the HTTP ones close below).
        await asyncio.sleep(5)
        stdio_final = usage(stdio_pid)
    await asyncio.sleep(5)
    http_final = usage(http_server.pid)
    http_server.send_signal(signal.SIGTERM)
    if http_server.wait(timeout=30) != 0:
        tally.problem(f"warden --http exited {http_server.returncode} on SIGTERM")
    log.close()

    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "seconds": round(loaded),
        "calls": dict(tally.calls),
        "total_calls": sum(tally.calls.values()),
        "latency_ms": {
            "p50": round(statistics.median(tally.latencies) * 1000, 1),
            "p99": round(statistics.quantiles(tally.latencies, n=100)[98] * 1000, 1),
            "max": round(max(tally.latencies) * 1000, 1),
        },
        "audit": {server: check_audit(home / server / "audit.jsonl", server, tally) for server in paths},
        "usage": {
            "http": check_usage("http", warm["http"], http_final, tally),
            "stdio": check_usage("stdio", warm["stdio"], stdio_final, tally),
        },
    }
    report["problems"] = len(tally.problems)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warden-soak-") as home:
        report = asyncio.run(soak(args.minutes, Path(home)))
    shown = json.dumps(report, indent=2)
    print(shown)
    if args.json:
        args.json.write_text(shown + "\n")
    print(f"soak: {report['total_calls']} calls, {report['problems']} problem(s)")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
