"""Interop: the official Python MCP SDK (`mcp` 2.3.0) drives the real `warden` binary over
stdio, in both protocol eras: legacy (2025-11-25, initialize handshake) and 2026-07-28
(stateless, per-request metadata)."""

import base64
import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import ElicitResult

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
def test_content_blocks(mode: str) -> None:
    async def scenario() -> None:
        async with Client(server(), mode=mode) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert tools["media_pixel"].output_schema is None

            result = await client.call_tool("media_pixel", {})
            assert result.is_error is False
            assert result.structured_content is None
            [image] = result.content
            assert image.type == "image" and image.mime_type == "image/png"
            assert base64.b64decode(image.data).startswith(b"\x89PNG")

            [audio] = (await client.call_tool("media_beep", {})).content
            assert audio.type == "audio" and audio.mime_type == "audio/wav"

            result = await client.call_tool("media_mixed", {"caption": "a pixel"})
            assert [block.type for block in result.content] == ["text", "image", "resource"]
            embedded = result.content[2].resource
            assert str(embedded.uri) == "media://caption.md"
            assert embedded.mime_type == "text/markdown" and embedded.text == "a pixel"

            result = await client.call_tool("media_blob", {"mime-type": "image/svg+xml", "size": 8})
            assert result.is_error is True
            assert "image/svg+xml" in result.content[0].text

    anyio.run(scenario)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_progress_and_log_notifications(mode: str) -> None:
    async def scenario() -> None:
        progress: list[tuple[float, float | None, str | None]] = []
        logs: list[tuple[str, str]] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append((value, total, message))

        async def on_log(params: Any) -> None:
            logs.append((params.level, params.data))

        async with Client(server(), mode=mode, log_level="warning", logging_callback=on_log) as client:
            if mode == "legacy":
                # The handshake era sets the level per session; 2026-07-28 sends it per request.
                await client.set_logging_level("warning")
            result = await client.call_tool("media_count", {"steps": 4}, progress_callback=on_progress)
            assert result.structured_content == {"result": "counted 4"}
            values = [value for value, _, _ in progress]
            assert values and values == sorted(set(values)), progress
            assert values[0] == 1 and values[-1] == 4
            assert progress[-1] == (4, 4, "step 4 of 4")

            result = await client.call_tool("media_chatter", {"message": "hello"})
            assert result.structured_content == {"result": "logged"}
            assert logs == [("warning", "warn: hello"), ("error", "error: hello")]

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


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_a_tool_asks_the_human(mode: str) -> None:
    """`media_two_questions` asks two questions: an `elicitation/create` request each
    (legacy), or two rounds of `input_required` that the SDK answers and retries (2026)."""
    asked: list[str] = []

    async def answer(_context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        field = next(iter(params.requested_schema["properties"]))
        return ElicitResult(action="accept", content={field: {"name": "Ada", "colour": "teal"}[field]})

    async def scenario() -> None:
        async with Client(server(), mode=mode, elicitation_callback=answer) as client:
            result = await client.call_tool("media_two_questions", {})
            assert result.is_error is False, result
            assert result.content[0].text == "Ada likes teal"

    anyio.run(scenario)
    assert len(asked) == 2, asked
    assert asked[0].startswith("The tool `media_two_questions` (component `media`, sha256 ")
    assert asked[1].endswith("Step 2: what is your favourite colour?")
