"""Tools from configured MCP servers (the official ``mcp`` SDK: ``pip install 'kenning[mcp]'``).

Each server in ``agent.mcp_servers`` is asked for its tools once, when the registry is
built; each tool becomes ``mcp__<server>__<tool>`` with the server's own input schema.
A server's word about its tools is not trusted: every tool is side-effecting (waits for
the user's confirmation) unless the operator lists it in ``read_only``. A server that
cannot be reached at start-up is logged and skipped, so one broken integration does not
take the agent down.

A call opens a session, calls the tool and closes the session (stdio: one subprocess
per call). That costs a process start, but holds no state between the sync worker
threads that run tools, and a crashed server is simply started again next time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio

from kenning.agent.registry import Tool, ToolContext, ToolOutput
from kenning.errors import ConfigurationError, ToolError
from kenning.settings import MCPServerSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


@asynccontextmanager
async def _session(server: MCPServerSettings) -> AsyncIterator[Any]:
    """A connected SDK client for ``server``; everything it opened is closed on exit."""
    try:
        import httpx2
        from mcp import Client, StdioServerParameters
        from mcp.client.streamable_http import streamable_http_client
    except ImportError as exc:
        raise ConfigurationError("MCP servers need the SDK: pip install 'kenning[mcp]'") from exc
    if server.command:
        params = StdioServerParameters(
            command=server.command[0], args=server.command[1:], env=server.env or None
        )
        async with Client(params, read_timeout_seconds=server.timeout_s) as client:
            yield client
        return
    if not server.url:
        raise ConfigurationError(f"MCP server {server.name!r} needs a command or a url")
    headers = {}
    if server.api_key is not None:
        headers["Authorization"] = f"Bearer {server.api_key.get_secret_value()}"
    async with (
        httpx2.AsyncClient(headers=headers, timeout=server.timeout_s) as http,
        Client(
            streamable_http_client(server.url, http_client=http),
            read_timeout_seconds=server.timeout_s,
        ) as client,
    ):
        yield client


def _run(server: MCPServerSettings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Open a session, run ``work(client)``, close it: from a plain (worker) thread."""

    async def session() -> T:
        with anyio.fail_after(server.timeout_s):
            async with _session(server) as client:
                return await work(client)

    return anyio.run(session)


def discover(server: MCPServerSettings) -> list[Tool]:
    """The server's tools, or none (logged) if it cannot be reached."""

    async def list_tools(client: Any) -> Any:
        return await client.list_tools()

    try:
        listed = _run(server, list_tools)
    except ConfigurationError:
        raise
    except Exception as exc:  # any transport or protocol failure: skip this server
        log.warning("MCP server %s: cannot list its tools (%s); skipped", server.name, exc)
        return []
    return [_tool(server, t.name, t.description or "", t.input_schema) for t in listed.tools]


def _tool_name(server: str, tool: str) -> str:
    return f"mcp__{server}__{re.sub(r'[^A-Za-z0-9_-]', '_', tool)}"[:64]


def _tool(server: MCPServerSettings, name: str, description: str, schema: Any) -> Tool:
    def handler(ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        async def call(client: Any) -> Any:
            return await client.call_tool(name, arguments)

        try:
            result = _run(server, call)
        except Exception as exc:  # the server is down, hung up or broke the protocol
            reason = f"MCP {server.name}/{name}: {type(exc).__name__}"
            raise ToolError(reason, transient=True) from exc
        texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
        if result.is_error:
            raise ToolError(f"MCP {server.name}/{name} failed: {' '.join(texts)[:500]}")
        data: Any = result.structured_content if result.structured_content else "\n".join(texts)
        return ToolOutput(data)

    parameters = schema if isinstance(schema, dict) and schema else {"type": "object"}
    return Tool(
        name=_tool_name(server.name, name),
        description=f"[{server.name}] {description}"[:1000],
        parameters=parameters,
        handler=handler,
        side_effect=name not in server.read_only,
        timeout_s=server.timeout_s + 1,
        endpoint=f"mcp:{server.name}",
    )
