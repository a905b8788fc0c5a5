"""Interop: the official Python MCP SDK (`mcp` 2.3.0) drives the real `warden` binary over
stdio, in both protocol eras: legacy (2025-11-25, initialize handshake) and 2026-07-28
(stateless, per-request metadata)."""

import os
from pathlib import Path

import anyio
import pytest
from mcp import Client, MCPError, StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]
WARDEN = os.environ.get("WARDEN_BIN", str(ROOT / "target" / "release" / "warden"))
MANIFEST = str(ROOT / "warden.toml")


def server() -> StdioServerParameters:
    return StdioServerParameters(
        command=WARDEN,
        args=["serve", "--manifest", MANIFEST],
        env={"WARDEN_LOG": "warn"},
    )


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_lists_and_calls_tools(mode: str) -> None:
    async def scenario() -> None:
        async with Client(server(), mode=mode) as client:
            expected = "2025-11-25" if mode == "legacy" else "2026-07-28"
            assert client.protocol_version == expected

            tools = (await client.list_tools()).tools
            names = [tool.name for tool in tools]
            assert names == sorted(names)
            assert {"echo_echo", "echo_greet", "text_count", "text_search"} <= set(names)
            echo = next(tool for tool in tools if tool.name == "echo_echo")
            assert echo.description == "Return the message unchanged."
            assert echo.input_schema["required"] == ["message"]

            result = await client.call_tool("echo_echo", {"message": "hi from python"})
            assert result.is_error is False
            assert result.structured_content == {"result": "hi from python"}
            assert result.content[0].text == "hi from python"

            person = {"name": "Grace", "age": 85, "favourite": "blue", "perms": ["write"], "tags": []}
            result = await client.call_tool("echo_greet", {"person": person})
            assert result.is_error is False
            assert result.structured_content["favourite"] == "blue"

            result = await client.call_tool("text_count", {"text": "a b c\n"})
            assert result.structured_content == {"bytes": 6, "chars": 6, "words": 3, "lines": 1}

            result = await client.call_tool("echo_divide", {"numerator": 1, "denominator": 0})
            assert result.is_error is True

            result = await client.call_tool("echo_echo", {"message": 42})
            assert result.is_error is True
            assert "/message" in result.content[0].text

            with pytest.raises(MCPError) as raised:
                await client.call_tool("no_such_tool", {})
            assert raised.value.error.code == -32602

            # Still serving after the errors.
            result = await client.call_tool("echo_echo", {"message": "still here"})
            assert result.structured_content == {"result": "still here"}

    anyio.run(scenario)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_lists_and_reads_resources(mode: str) -> None:
    async def scenario() -> None:
        async with Client(server(), mode=mode) as client:
            if mode == "legacy":  # a pinned 2026-07-28 client does not discover capabilities
                assert client.server_capabilities.resources is not None
                assert not client.server_capabilities.resources.subscribe

            listed = await client.list_resources()
            uris = [str(resource.uri) for resource in listed.resources]
            assert uris == ["notes://sandbox.md", "notes://welcome.md"]
            assert listed.resources[1].title == "Welcome"
            assert listed.resources[1].mime_type == "text/markdown"

            templates = (await client.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["notes://{path}"]

            read = await client.read_resource("notes://welcome.md")
            assert read.contents[0].text.startswith("# Welcome")
            assert read.contents[0].mime_type == "text/markdown"

            with pytest.raises(MCPError) as raised:
                await client.read_resource("notes://missing.md")
            assert raised.value.error.code == (-32002 if mode == "legacy" else -32602)

            # The search tool points at the resources it found.
            result = await client.call_tool("notes_search", {"text": "sandbox"})
            assert result.structured_content["result"][0]["uri"] == "notes://sandbox.md"

    anyio.run(scenario)
