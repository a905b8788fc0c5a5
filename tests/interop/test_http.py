"""Interop: the official Python MCP SDK (`mcp` 2.3.0) and plain `httpx2` drive the real `warden`
binary over Streamable HTTP, in both protocol eras: client identities and grants, bearer and JWT
authentication, Host/Origin checks, rate and concurrency limits, fairness between clients, and
confirmation of high-impact tools (2026-07-28 `input_required` and 2025-11-25 elicitation)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, ElicitResult, InputRequiredResult

ROOT = Path(__file__).resolve().parents[2]
WARDEN = os.environ.get("WARDEN_BIN", str(ROOT / "target" / "release" / "warden"))
PLUGINS = ROOT / "plugins"

MODES = ["legacy", "2026-07-28"]
CONFIRM_KEY = "dev.warden/confirm"
RETRY_AFTER_MS = "dev.warden/retryAfterMs"
ISSUER = "https://auth.test"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# hog's naps wait for sandboxes in the fairness test: give its calls room.
EXTRA = {"hog": 'limits = { timeout = "60s" }\n'}


def component(name: str) -> str:
    path = PLUGINS / f"{name}.wasm"
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return f'[components.{name}]\nsource = "{path}"\nsha256 = "{sha}"\n{EXTRA.get(name, "")}\n'


def client(name: str, token: str | None, tools: list[str], **settings: Any) -> str:
    """A `[clients.<name>]` table: a token (or anonymous when None), grants and limits."""
    lines = [f"[clients.{name}]"]
    lines.append("anonymous = true" if token is None else f'token_sha256 = "{digest(token)}"')
    lines.append(f"tools = {json.dumps(tools)}")
    for key, value in settings.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    dir: Path
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


Start = Callable[..., Server]


@pytest.fixture
def warden(tmp_path: Path) -> Iterator[Start]:
    """Starts `warden serve --http` on a free loopback port with a manifest written from the
    parts given (`@URL@` stands for the MCP endpoint's URL); stops it with SIGTERM at the end and
    checks that it shuts down gracefully (exit 0)."""
    running: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(*parts: str, components: tuple[str, ...] = ("echo", "text"), server: str = "") -> Server:
        port = free_port()
        url = f"http://127.0.0.1:{port}/mcp"
        home = tmp_path / f"server{len(running)}"
        home.mkdir()
        manifest = "[server]\n" + server + "\n"
        manifest += "".join(component(name) for name in components)
        manifest += "".join(parts)
        (home / "warden.toml").write_text(manifest.replace("@URL@", url))
        log = home / "warden.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [WARDEN, "serve", "--manifest", str(home / "warden.toml"), "--http", f"127.0.0.1:{port}"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=sink,
                env={**os.environ, "WARDEN_LOG": "warn"},
            )
        running.append((process, log))
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"warden exited early:\n{log.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"warden never listened:\n{log.read_text()}"
                time.sleep(0.05)
        return Server(url=url, port=port, dir=home, process=process)

    yield start
    for process, log in running:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"warden did not stop within 10 s of SIGTERM:\n{log.read_text()}")
        assert code == 0, f"warden exited {code}:\n{log.read_text()}"


def http(token: str | None = None, hooks: SentCalls | None = None, **headers: str) -> httpx2.AsyncClient:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    event_hooks = {"request": [hooks.tag]} if hooks is not None else None
    return httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120), event_hooks=event_hooks)


class SentCalls:
    """Counts the `tools/call` requests written out to the server (httpcore's trace extension),
    so that a test can order events by what happened rather than by guessing at times."""

    def __init__(self) -> None:
        self.count = 0

    async def tag(self, request: httpx2.Request) -> None:
        if b'"tools/call"' in request.content:
            request.extensions = {**request.extensions, "trace": self._trace}

    async def _trace(self, event: str, _info: dict[str, Any]) -> None:
        if event == "http11.send_request_body.complete":
            self.count += 1

    async def wait_for(self, count: int) -> None:
        while self.count < count:
            await anyio.sleep(0.01)
        # The bodies are out; give the server a moment to read them ahead of what comes next.
        await anyio.sleep(0.2)


@asynccontextmanager
async def connect(
    url: str, token: str | None, mode: str, *, headers: dict[str, str] | None = None, sent: SentCalls | None = None, **kwargs: Any
) -> AsyncIterator[Client]:
    async with http(token, sent, **(headers or {})) as transport:
        async with Client(streamable_http_client(url, http_client=transport), mode=mode, cache=None, **kwargs) as c:
            yield c


async def names(c: Client) -> set[str]:
    return {tool.name for tool in (await c.list_tools()).tools}


async def refused_code(call: Any) -> int:
    with pytest.raises(MCPError) as raised:
        await call
    return raised.value.error.code


def text(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def meta(result: Any) -> dict[str, Any]:
    return dict(result.meta or {})


TOOLS_CALL = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo_echo", "arguments": {"message": "raw"}}}
RAW_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


async def post(url: str, body: Any = None, token: str | None = None, **headers: str) -> httpx2.Response:
    async with http(token, **headers) as raw:
        return await raw.post(url, json=TOOLS_CALL if body is None else body, headers=RAW_HEADERS)


_tools: dict[str, set[str]] = {}


def tools_of(name: str) -> set[str]:
    """Every tool of a component, as `warden inspect` names them."""
    if name not in _tools:
        report = subprocess.run([WARDEN, "inspect", str(PLUGINS / f"{name}.wasm")], check=True, capture_output=True)
        _tools[name] = {tool["name"] for tool in json.loads(report.stdout)["tools"]}
    return _tools[name]


def echo_tools() -> set[str]:
    tools = tools_of("echo")
    assert {"echo_echo", "echo_greet", "echo_divide"} <= tools
    return tools


ALICE, BOB = "alice-token-5b0c1d", "bob-token-93f2aa"


# 1. Grants: each client sees and may call only its own tools.
@pytest.mark.parametrize("mode", MODES)
def test_clients_see_and_call_only_their_grants(warden: Start, mode: str) -> None:
    server = warden(
        client("alice", ALICE, ["echo_*"]),
        client("bob", BOB, ["text_count"]),
        client("local", None, ["text_*", "echo_echo"]),
    )

    async def scenario() -> None:
        async with connect(server.url, ALICE, mode) as alice, connect(server.url, BOB, mode) as bob:
            assert alice.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
            assert await names(alice) == echo_tools()
            assert await names(bob) == {"text_count"}

            result = await alice.call_tool("echo_echo", {"message": "from alice"})
            assert result.structured_content == {"result": "from alice"}
            result = await bob.call_tool("text_count", {"text": "a b\n"})
            assert result.structured_content == {"bytes": 4, "chars": 4, "words": 2, "lines": 1}

            with pytest.raises(MCPError) as raised:
                await alice.call_tool("text_count", {"text": "a"})
            assert raised.value.error.code == -32602
            assert raised.value.error.message == "Unknown tool: text_count"
            with pytest.raises(MCPError) as raised:
                await bob.call_tool("echo_echo", {"message": "x"})
            assert raised.value.error.code == -32602
            assert raised.value.error.message == "Unknown tool: echo_echo"
            # A granted text tool of the same component is still not bob's.
            assert await refused_code(bob.call_tool("text_search", {"text": "a", "pattern": "a"})) == -32602

        # No credentials from loopback: the anonymous client, with its own grants.
        async with connect(server.url, None, mode) as local:
            assert await names(local) == tools_of("text") | {"echo_echo"}
            assert "text_count" in tools_of("text")
            assert await refused_code(local.call_tool("echo_greet", {"person": {}})) == -32602

    anyio.run(scenario)


def test_legacy_session_belongs_to_the_client_that_opened_it(warden: Start) -> None:
    server = warden(client("alice", ALICE, ["echo_*"]), client("bob", BOB, ["echo_*"]))
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}

    async def scenario() -> None:
        opened = await post(server.url, initialize, ALICE)
        assert opened.status_code == 200
        session = opened.headers["mcp-session-id"]
        common = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
        ready = await post(server.url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, ALICE, **common)
        assert ready.status_code == 202
        assert (await post(server.url, listing, ALICE, **common)).status_code == 200
        # Bob's valid token does not make alice's session his.
        stolen = await post(server.url, listing, BOB, **common)
        assert stolen.status_code == 404
        async with http(BOB) as raw:
            assert (await raw.delete(server.url, headers=common)).status_code == 404
        assert (await post(server.url, listing, ALICE, **common)).status_code == 200

    anyio.run(scenario)


# 2. Authentication with bearer tokens, and throttling of failures.
def test_bearer_tokens_and_failure_throttling(warden: Start) -> None:
    server = warden(client("alice", ALICE, ["echo_*"]))

    async def scenario() -> None:
        missing = await post(server.url)
        assert missing.status_code == 401
        challenge = missing.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="warden"')
        assert "invalid_token" not in challenge
        assert "resource_metadata" not in challenge
        assert missing.json()["error"]["code"] == -32001

        for bad in ("Bearer not-a-token", f"Bearer {ALICE}x", "Basic YWxpY2U6eA=="):
            async with httpx2.AsyncClient(headers={"Authorization": bad}) as raw:
                response = await raw.post(server.url, json=TOOLS_CALL, headers=RAW_HEADERS)
            assert response.status_code == 401, bad
            assert response.headers["WWW-Authenticate"].startswith('Bearer realm="warden"')
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]

        async with connect(server.url, ALICE, "2026-07-28") as alice:
            result = await alice.call_tool("echo_echo", {"message": "valid"})
            assert result.structured_content == {"result": "valid"}

        # Keep failing from this address: it is throttled (429), and then even a valid token is
        # refused from it until the wait is over.
        statuses = []
        for attempt in range(60):
            response = await post(server.url, token=f"guess-{attempt}")
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["Retry-After"]) >= 1
                break
        assert statuses[:5] == [401] * 5
        assert statuses[-1] == 429, statuses
        assert set(statuses[:-1]) == {401}
        assert (await post(server.url, token=ALICE)).status_code == 429

    anyio.run(scenario)


# 3. OAuth: JWT access tokens against a JWKS file.
def es256_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize("mode", MODES)
def test_jwt_access_tokens(warden: Start, tmp_path: Path, mode: str) -> None:
    key, forger = es256_key(), es256_key()
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="ES256")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    server = warden(
        "[oauth]\n"
        f'jwks_file = "{jwks}"\n'
        f'issuer = "{ISSUER}"\n'
        'audience = "@URL@"\n'
        'scopes = { "echo" = ["echo_*"], "text:count" = ["text_count"] }\n'
    )
    audience = server.url
    metadata_url = f"{server.base}/.well-known/oauth-protected-resource/mcp"

    def token(signer: ec.EllipticCurvePrivateKey = key, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": audience, "sub": "robot", "iat": now, "exp": now + 300, "scope": "echo"}
        claims.update(overrides)
        return jwt.encode(claims, signer, algorithm="ES256", headers={"kid": "k1"})

    async def scenario() -> None:
        async with connect(server.url, token(), mode) as robot:
            assert await names(robot) == echo_tools()
            result = await robot.call_tool("echo_echo", {"message": "signed"})
            assert result.structured_content == {"result": "signed"}
            assert await refused_code(robot.call_tool("text_count", {"text": "a"})) == -32602
        async with connect(server.url, token(scope="text:count"), mode) as counter:
            assert await names(counter) == {"text_count"}

        missing = await post(server.url)
        assert missing.status_code == 401
        assert f'resource_metadata="{metadata_url}"' in missing.headers["WWW-Authenticate"]
        refused = {
            "forged": token(signer=forger),
            "expired": token(exp=int(time.time()) - 120),
            "wrong audience": token(aud="http://127.0.0.1:1/mcp"),
            "wrong issuer": token(iss="https://evil.test"),
            "no subject": jwt.encode(
                {"iss": ISSUER, "aud": audience, "exp": int(time.time()) + 300, "scope": "echo"},
                key,
                algorithm="ES256",
                headers={"kid": "k1"},
            ),
        }
        for why, bad in refused.items():
            response = await post(server.url, token=bad)
            assert response.status_code == 401, why
            challenge = response.headers["WWW-Authenticate"]
            assert challenge.startswith('Bearer realm="warden"'), why
            assert 'error="invalid_token"' in challenge, why
            assert f'resource_metadata="{metadata_url}"' in challenge, why

        async with http() as raw:
            document = await raw.get(metadata_url)
        assert document.status_code == 200
        body = document.json()
        assert body["resource"] == audience
        assert body["authorization_servers"] == [ISSUER]
        assert body["scopes_supported"] == ["echo", "text:count"]
        assert body["bearer_methods_supported"] == ["header"]

    anyio.run(scenario)


# 4. DNS-rebinding and cross-site defences.
@pytest.mark.parametrize("mode", MODES)
def test_host_and_origin_checks(warden: Start, mode: str) -> None:
    # max_argument_bytes = 1 KiB: the body bound is 1 KiB + 1 MiB.
    server = warden(client("alice", ALICE, ["echo_*"]), server='max_argument_bytes = "1 KiB"\n')

    async def scenario() -> None:
        for origin in ("http://evil.example", "http://localhost.evil.example", "null", f"https://127.0.0.1.nip.io:{server.port}"):
            response = await post(server.url, token=ALICE, Origin=origin)
            assert response.status_code == 403, origin
        for host in ("evil.example", f"evil.example:{server.port}", f"localhost.evil.example:{server.port}"):
            response = await post(server.url, token=ALICE, Host=host)
            assert response.status_code == 403, host
        # Even unauthenticated requests with a foreign Host are refused as such.
        assert (await post(server.url, Host="evil.example")).status_code == 403

        for origin in (f"http://127.0.0.1:{server.port}", "http://localhost:3000"):
            async with connect(server.url, ALICE, mode, headers={"Origin": origin}) as alice:
                result = await alice.call_tool("echo_echo", {"message": origin})
                assert result.structured_content == {"result": origin}
        async with connect(server.url, ALICE, mode, headers={"Host": f"localhost:{server.port}"}) as alice:
            assert (await alice.call_tool("echo_echo", {"message": "by name"})).structured_content == {"result": "by name"}

        # The body bound.
        big = {**TOOLS_CALL, "params": {"name": "echo_echo", "arguments": {"message": "x" * (1 << 20) + "x" * 2048}}}
        assert (await post(server.url, big, ALICE)).status_code == 413

    anyio.run(scenario)


# 5. Many clients at once: no call lost or answered with another's result.
@pytest.mark.parametrize("mode", MODES)
def test_concurrent_calls_of_many_clients(warden: Start, mode: str) -> None:
    tokens = {f"c{index}": f"token-{index}-{digest(str(index))[:12]}" for index in range(10)}
    server = warden(*(client(name, token, ["echo_echo"], rate="1000/s", burst=1000) for name, token in tokens.items()))
    results: dict[str, Any] = {}

    async def one_client(name: str, token: str) -> None:
        async with connect(server.url, token, mode) as c:

            async def call(index: int) -> None:
                message = f"{name}/{index}/{digest(name + str(index))[:8]}"
                result = await c.call_tool("echo_echo", {"message": message})
                results[message] = (result.is_error, result.structured_content, text(result))

            async with anyio.create_task_group() as group:
                for index in range(20):
                    group.start_soon(call, index)

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            for name, token in tokens.items():
                group.start_soon(one_client, name, token)

    anyio.run(scenario)
    assert len(results) == 200
    for message, (is_error, structured, shown) in results.items():
        assert is_error is False, message
        assert structured == {"result": message}
        assert shown == message


# 6. Rate and concurrency limits.
@pytest.mark.parametrize("mode", MODES)
def test_client_rate_limit_is_http_429(warden: Start, mode: str) -> None:
    server = warden(
        client("alice", ALICE, ["echo_*"], rate="1/m", burst=2),
        client("bob", BOB, ["echo_*"], rate="1/m", burst=2),
    )

    async def scenario() -> None:
        async with connect(server.url, ALICE, mode) as alice:
            for index in range(2):
                result = await alice.call_tool("echo_echo", {"message": f"call {index}"})
                assert result.structured_content == {"result": f"call {index}"}
            with pytest.raises(MCPError) as raised:
                await alice.call_tool("echo_echo", {"message": "one too many"})
            assert raised.value.error.code == -32000
            assert raised.value.error.message.startswith("rate limited (client `alice`: 1/m, burst 2): retry in ")
            # Only calls count: listing still works.
            assert "echo_echo" in await names(alice)

        response = await post(server.url, token=ALICE)
        assert response.status_code == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert response.json()["id"] == TOOLS_CALL["id"]
        assert response.json()["error"]["code"] == -32000

        # Bob's budget is his own.
        async with connect(server.url, BOB, mode) as bob:
            assert (await bob.call_tool("echo_echo", {"message": "bob"})).structured_content == {"result": "bob"}

    anyio.run(scenario)


@pytest.mark.parametrize("mode", MODES)
def test_tool_rate_limit_is_an_error_result(warden: Start, mode: str) -> None:
    server = warden(
        client("alice", ALICE, ["echo_*"]),
        client("bob", BOB, ["echo_*"]),
        '[components.echo.tools.echo]\nrate = "1/m"\nburst = 1\n',
    )

    async def scenario() -> None:
        async with connect(server.url, ALICE, mode) as alice:
            assert (await alice.call_tool("echo_echo", {"message": "first"})).structured_content == {"result": "first"}
            limited = await alice.call_tool("echo_echo", {"message": "second"})
            assert limited.is_error is True
            assert text(limited).startswith("rate limited (tool `echo_echo` per client: 1/m, burst 1): retry in ")
            assert 1000 < meta(limited)[RETRY_AFTER_MS] <= 60_000
            # An echoed (bogus) requestState is no way around the limit.
            sneaky = await alice.session.call_tool(
                "echo_echo", {"message": "third"}, request_state="bogus", allow_input_required=True
            )
            assert isinstance(sneaky, CallToolResult)
            assert sneaky.is_error is True
            assert text(sneaky).startswith("rate limited (tool `echo_echo`")
            # Other tools have no such limit.
            assert (await alice.call_tool("echo_divide", {"numerator": 6, "denominator": 3})).is_error is False
        async with connect(server.url, BOB, mode) as bob:
            assert (await bob.call_tool("echo_echo", {"message": "bob"})).structured_content == {"result": "bob"}

    anyio.run(scenario)


@pytest.mark.parametrize("mode", MODES)
def test_tool_max_concurrency_refuses_the_second_call(warden: Start, mode: str) -> None:
    server = warden(
        client("alice", ALICE, ["hog_nap"]),
        client("bob", BOB, ["hog_nap"]),
        "[components.hog.tools.nap]\nmax_concurrency = 1\n",
        components=("hog",),
    )
    outcomes: list[tuple[str, bool, str]] = []

    async def nap(c: Client, who: str) -> None:
        result = await c.call_tool("hog_nap", {"milliseconds": 1500})
        outcomes.append((who, result.is_error, text(result)))

    async def scenario() -> None:
        async with connect(server.url, ALICE, mode) as alice, connect(server.url, BOB, mode) as bob:
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(nap, alice, "alice")
                group.start_soon(nap, bob, "bob")
            # The slot is free again once the call finished.
            assert (await alice.call_tool("hog_nap", {"milliseconds": 1})).is_error is False

    anyio.run(scenario)
    alice_ok = [o for o in outcomes if o[0] == "alice" and not o[1]]
    alice_refused = [o for o in outcomes if o[0] == "alice" and o[1]]
    assert len(alice_ok) == 1, outcomes
    assert len(alice_refused) == 2, outcomes
    for _, _, message in alice_refused:
        assert message.startswith("this client already has 1 call(s) of this tool running"), message
    assert [o[1] for o in outcomes if o[0] == "bob"] == [False]


# 7. Fairness: one client's flood neither starves another nor exceeds the server's sandboxes.
@pytest.mark.parametrize("mode", MODES)
def test_flooding_client_does_not_starve_another(warden: Start, mode: str) -> None:
    sandboxes, flood = 4, 40
    server = warden(
        # A may have 8 calls admitted at once: twice the sandboxes, so half of them must wait.
        client("alice", ALICE, ["hog_nap"], rate="1000/s", burst=1000, max_concurrency=8),
        client("bob", BOB, ["echo_echo"]),
        components=("echo", "hog"),
        server=f"max_concurrent_calls = {sandboxes}\n",
    )
    finished_a = 0
    finished_a_when_b_done: int | None = None

    async def scenario() -> None:
        nonlocal finished_a_when_b_done
        sent = SentCalls()
        async with connect(server.url, ALICE, mode, sent=sent) as alice, connect(server.url, BOB, mode) as bob:

            async def call_a() -> None:
                nonlocal finished_a
                result = await alice.call_tool("hog_nap", {"milliseconds": 500})
                assert result.is_error is False, text(result)
                finished_a += 1

            async def call_b() -> None:
                nonlocal finished_a_when_b_done
                result = await bob.call_tool("echo_echo", {"message": "bob gets through"})
                assert result.structured_content == {"result": "bob gets through"}
                finished_a_when_b_done = finished_a

            async with anyio.create_task_group() as group:
                for _ in range(flood):
                    group.start_soon(call_a)
                # B's call goes out after all of A's.
                await sent.wait_for(flood)
                group.start_soon(call_b)

    anyio.run(scenario)
    assert finished_a == flood
    assert finished_a_when_b_done is not None
    # The server-wide bound: A's first calls hold every sandbox, so B finished only after at
    # least that many of A's calls (without the bound it would have run at once).
    assert finished_a_when_b_done >= sandboxes, finished_a_when_b_done
    # Fairness: B waited behind A's admitted calls only, not behind A's whole flood (which
    # would leave at most A's last round outstanding): most of the flood is still to run.
    assert flood - finished_a_when_b_done >= 2 * 8, finished_a_when_b_done


# 8. Confirmation of high-impact tools.
CONFIRMED = (
    "[components.echo.tools.echo]\nconfirm = true\n"
    "[components.echo.tools.classify]\nconfirm = true\n"
    '[components.echo.tools."maybe-double"]\nconfirm = true\n'
)


async def accept(_context: Any, _params: Any) -> ElicitResult:
    return ElicitResult(action="accept")


async def decline(_context: Any, _params: Any) -> ElicitResult:
    return ElicitResult(action="decline")


def test_confirmation_2026_input_required(warden: Start) -> None:
    server = warden(client("alice", ALICE, ["echo_*"]), client("bob", BOB, ["echo_*"]), CONFIRMED)
    mode = "2026-07-28"

    async def ask(c: Client, message: str) -> InputRequiredResult:
        asked = await c.session.call_tool("echo_echo", {"message": message}, allow_input_required=True)
        assert isinstance(asked, InputRequiredResult), asked
        assert asked.result_type == "input_required"
        assert set(asked.input_requests or {}) == {CONFIRM_KEY}
        request = asked.input_requests[CONFIRM_KEY]
        assert request.method == "elicitation/create"
        assert "`echo_echo`" in request.params.message and message in request.params.message
        assert asked.request_state
        return asked

    async def answer(c: Client, message: str, state: str, action: str = "accept") -> Any:
        return await c.session.call_tool(
            "echo_echo",
            {"message": message},
            input_responses={CONFIRM_KEY: ElicitResult(action=action)},
            request_state=state,
            allow_input_required=True,
        )

    async def scenario() -> None:
        async with connect(server.url, ALICE, mode, elicitation_callback=accept) as alice, connect(
            server.url, BOB, mode, elicitation_callback=accept
        ) as bob:
            # Accept: the call runs.
            asked = await ask(alice, "launch")
            done = await answer(alice, "launch", asked.request_state)
            assert isinstance(done, CallToolResult)
            assert done.is_error is False
            assert done.structured_content == {"result": "launch"}
            # The same state again: already answered.
            assert await refused_code(answer(alice, "launch", asked.request_state)) == -32602

            # Decline: it does not run.
            asked = await ask(alice, "abort")
            declined = await answer(alice, "abort", asked.request_state, "decline")
            assert declined.is_error is True
            assert declined.structured_content is None
            assert text(declined) == "the human declined the call of `echo_echo`: it did not run"
            asked = await ask(alice, "abort")
            cancelled = await answer(alice, "abort", asked.request_state, "cancel")
            assert text(cancelled) == "the human cancelled the call of `echo_echo`: it did not run"

            # Tampered: one character of the sealed state changed.
            asked = await ask(alice, "tamper")
            state = asked.request_state
            middle = len(state) // 2
            tampered = state[:middle] + ("A" if state[middle] != "A" else "B") + state[middle + 1 :]
            assert await refused_code(answer(alice, "tamper", tampered)) == -32602
            assert await refused_code(answer(alice, "tamper", state[:-4])) == -32602

            # Bound to the arguments, and to the client.
            asked = await ask(alice, "small")
            assert await refused_code(answer(alice, "LARGE", asked.request_state)) == -32602
            assert await refused_code(answer(bob, "small", asked.request_state)) == -32602
            # Bound to the tool: a state for echo_classify(3) does not run echo_maybe_double(3).
            asked = await alice.session.call_tool("echo_classify", {"value": 3}, allow_input_required=True)
            assert isinstance(asked, InputRequiredResult)
            other_tool = alice.session.call_tool(
                "echo_maybe_double",
                {"value": 3},
                input_responses={CONFIRM_KEY: ElicitResult(action="accept")},
                request_state=asked.request_state,
                allow_input_required=True,
            )
            assert await refused_code(other_tool) == -32602
            # The SDK's own driver answers through the elicitation callback.
            result = await alice.call_tool("echo_echo", {"message": "driven"})
            assert result.structured_content == {"result": "driven"}

        async with connect(server.url, ALICE, mode, elicitation_callback=decline) as alice:
            result = await alice.call_tool("echo_echo", {"message": "driven"})
            assert result.is_error is True
            assert text(result) == "the human declined the call of `echo_echo`: it did not run"

        # A client that cannot answer elicitations is told which capability is missing.
        async with connect(server.url, ALICE, mode) as alice:
            with pytest.raises(MCPError) as raised:
                await alice.call_tool("echo_echo", {"message": "unasked"})
            assert raised.value.error.code == -32021
            assert "elicitation" in raised.value.error.data["requiredCapabilities"]

    anyio.run(scenario)


def test_confirmation_legacy_elicitation(warden: Start) -> None:
    server = warden(client("alice", ALICE, ["echo_*"]), CONFIRMED)
    asked: list[str] = []

    async def recording_accept(_context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept")

    async def scenario() -> None:
        async with connect(server.url, ALICE, "legacy", elicitation_callback=recording_accept) as alice:
            result = await alice.call_tool("echo_echo", {"message": "go ahead"})
            assert result.is_error is False
            assert result.structured_content == {"result": "go ahead"}
            assert len(asked) == 1
            assert "`echo_echo`" in asked[0] and "go ahead" in asked[0]
            # Tools without confirm are not asked about.
            assert (await alice.call_tool("echo_divide", {"numerator": 6, "denominator": 3})).is_error is False
            assert len(asked) == 1
        async with connect(server.url, ALICE, "legacy", elicitation_callback=decline) as alice:
            result = await alice.call_tool("echo_echo", {"message": "stop"})
            assert result.is_error is True
            assert result.structured_content is None
            assert text(result) == "the human declined the call of `echo_echo`: it did not run"
        async with connect(server.url, ALICE, "legacy") as alice:
            result = await alice.call_tool("echo_echo", {"message": "nobody to ask"})
            assert result.is_error is True
            assert "this client cannot ask" in text(result)
            assert "the tool did not run" in text(result)

    anyio.run(scenario)


def test_shutdown_lets_the_call_in_flight_finish(warden: Start) -> None:
    server = warden(client("alice", ALICE, ["hog_nap"]), components=("hog",))

    async def scenario() -> None:
        sent = SentCalls()
        async with connect(server.url, ALICE, "2026-07-28", sent=sent) as alice:
            # Listed now: the SDK checks a result against the tool's output schema, which it
            # would otherwise fetch after the call, from a server that is gone by then.
            assert await names(alice) == {"hog_nap"}
            outcome: list[CallToolResult] = []

            async def nap() -> None:
                outcome.append(await alice.call_tool("hog_nap", {"milliseconds": 1500}))

            async with anyio.create_task_group() as group:
                group.start_soon(nap)
                # SIGTERM lands while the nap runs.
                await sent.wait_for(1)
                server.process.send_signal(signal.SIGTERM)
            assert len(outcome) == 1
            assert outcome[0].is_error is False, text(outcome[0])
            assert meta(outcome[0])["dev.warden/provenance"]["tool"] == "hog_nap"

    anyio.run(scenario)
    # The fixture checks the exit status (0) after the call.
    assert server.process.wait(timeout=10) == 0


# 10. Cancellation: a 2026-07-28 client that abandons a call (its response stream closes)
# stops the guest and frees its slot; the call is audited as cancelled.
def test_closing_the_stream_cancels_the_call(warden: Start) -> None:
    server = warden(
        client("alice", ALICE, ["media_*"], max_concurrency=1),
        '[components.media.limits]\nfuel = 1_000_000_000_000_000\ntimeout = "10m"\n\n[audit]\npath = "audit.jsonl"\n',
        components=("media",),
    )
    audit = server.dir / "audit.jsonl"

    def spin_outcome() -> str | None:
        for line in audit.read_text().splitlines() if audit.exists() else []:
            record = json.loads(line)
            if record["tool"] == "media_spin":
                return record["outcome"]
        return None

    async def scenario() -> None:
        async with connect(server.url, ALICE, "2026-07-28") as alice:
            started = anyio.Event()

            async def on_progress(_value: float, _total: float | None, message: str | None) -> None:
                if message == "started":
                    started.set()

            async with anyio.create_task_group() as group:

                async def spin() -> None:
                    await alice.call_tool("media_spin", {}, progress_callback=on_progress)

                group.start_soon(spin)
                with anyio.fail_after(60):
                    await started.wait()
                # Abandon the call: its HTTP response stream is closed.
                group.cancel_scope.cancel()

            deadline = time.monotonic() + 60
            while spin_outcome() is None:
                assert time.monotonic() < deadline, "the spinning call was never stopped"
                await anyio.sleep(0.05)
            assert spin_outcome() == "cancelled"

            # With max_concurrency 1, the next call runs once the cancelled one let go.
            while True:
                result = await alice.call_tool("media_pixel", {})
                if not result.is_error:
                    break
                assert "already has" in text(result), text(result)
                assert time.monotonic() < deadline, "the slot stayed taken"
                await anyio.sleep(0.05)
            assert result.content[0].type == "image"

    anyio.run(scenario)
