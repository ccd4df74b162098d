"""MCP both ways, with the official SDK: other agents use Kenning's MCP server (stdio and
HTTP) with their own permissions; Kenning's agent uses tools of a small local MCP server."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from kenning.agent.guardrails import ToolRunner
from kenning.agent.registry import ToolContext
from kenning.agent.tools.mcp_servers import discover
from kenning.api.app import create_app
from kenning.auth.models import Permission
from kenning.mcp.server import http_app
from kenning.settings import AgentSettings, MCPServerSettings
from tests.agent.conftest import BONUS, agent_service, audit, make_agent_settings, tool_messages
from tests.agent.test_guardrails import CALLER
from tests.api.conftest import Service, login, seed
from tests.fakes.openai_server import FakeOpenAIServer, ToolCalls

REPO = Path(__file__).resolve().parents[2]
KENNING = Path(sys.executable).parent / "kenning"
pytestmark = pytest.mark.slow


def api_key(svc: Service, username: str) -> str:
    _, full = svc.comps.auth.create_key(
        "test", "acme", username, name="mcp", scopes=frozenset({Permission.READ}), days=1
    )
    return full


@contextmanager
def serve(app: Any, path: str = "/mcp") -> Iterator[str]:
    """``app`` on a real uvicorn server, lifespan included (MCP's session manager)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def call(client_of: Any, tool: str, arguments: dict[str, Any]) -> Any:
    async def go() -> Any:
        async with client_of() as client:
            return await client.call_tool(tool, arguments)

    return anyio.run(go)


def titles(result: Any) -> set[str]:
    assert not result.is_error, result
    hits = result.structured_content["result"]
    return {h["title"] for h in hits}


def over_http(url: str, key: str) -> Any:
    @asynccontextmanager
    async def connect() -> AsyncIterator[Client]:
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            yield client

    return connect


def test_kenning_over_http_answers_with_the_callers_permissions(tmp_path: Path) -> None:
    with agent_service(make_agent_settings(tmp_path / "d", None, None)) as svc:
        keys = {name: api_key(svc, name) for name in ("vic", "val")}
        with serve(http_app(svc.comps)) as url:

            def as_user(name: str) -> Any:
                return over_http(url, keys[name])

            query = {"query": "Falcon bonus plan percent", "k": 5}
            assert "Falcon bonus plan" in titles(call(as_user("vic"), "search", query))
            assert "Falcon bonus plan" not in titles(call(as_user("val"), "search", query))
            answer = call(as_user("vic"), "ask", {"question": "What does error E04 mean?"})
            assert not answer.is_error
            assert "inlet" in answer.structured_content["text"]

            anonymous = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert anonymous.status_code == 401
            forged = httpx.post(url, json={}, headers={"Authorization": "Bearer kn_forged_key"})
            assert forged.status_code == 401


def test_kenning_over_stdio_acts_as_the_api_keys_user(tmp_path: Path) -> None:
    with agent_service(make_agent_settings(tmp_path / "d", None, None)) as svc:
        keys = {name: api_key(svc, name) for name in ("vic", "val")}

        def as_user(name: str) -> Any:
            params = StdioServerParameters(
                command=str(KENNING),
                args=["--data-dir", str(tmp_path / "d"), "mcp", "serve", "--stdio"],
                env={"KENNING_MCP_API_KEY": keys[name], "HF_HUB_OFFLINE": "1"},
            )
            return lambda: Client(params, read_timeout_seconds=120)

        query = {"query": "Falcon bonus plan percent"}
        assert "Falcon bonus plan" in titles(call(as_user("vic"), "search", query))
        assert "Falcon bonus plan" not in titles(call(as_user("val"), "search", query))


def _shop(ledger: Path) -> MCPServerSettings:
    return MCPServerSettings(
        name="shop",
        command=[sys.executable, "-m", "tests.fakes.mcp_tools"],
        env={"FAKE_MCP_LEDGER": str(ledger), "PYTHONPATH": str(REPO)},
        read_only=["lookup_order"],
    )


def test_tools_of_an_mcp_server_are_namespaced_and_side_effecting_by_default(
    tmp_path: Path,
) -> None:
    tools = {t.name: t for t in discover(_shop(tmp_path / "ledger"))}
    assert set(tools) == {"mcp__shop__lookup_order", "mcp__shop__refund_order"}
    assert not tools["mcp__shop__lookup_order"].side_effect
    assert tools["mcp__shop__refund_order"].side_effect
    assert tools["mcp__shop__refund_order"].parameters["required"] == ["order_id", "amount"]
    broken = MCPServerSettings(name="gone", command=[sys.executable, "-c", "pass"], timeout_s=5)
    assert discover(broken) == []


def test_the_agent_uses_an_mcp_tool_and_holds_the_side_effecting_one(
    tmp_path: Path, llm: FakeOpenAIServer
) -> None:
    ledger = tmp_path / "ledger"
    llm.enqueue(
        ToolCalls((("mcp__shop__lookup_order", {"order_id": "A-17"}),)),
        ToolCalls((("mcp__shop__refund_order", {"order_id": "A-17", "amount": 12.5}),)),
    )
    llm.tool_responder = lambda request: "Refunded."
    settings = make_agent_settings(tmp_path / "d", llm.url, None, mcp_servers=[_shop(ledger)])
    with agent_service(settings, documents=False) as svc:
        out = svc.client.post(
            "/v1/agent", headers=svc.auth("ed"), json={"question": "refund order A-17"}
        ).json()
        assert out["status"] == "waiting_for_confirmation", out
        assert "shipped" in tool_messages(llm)[0]
        assert not ledger.exists()  # proposed, not executed
        [action] = out["pending_actions"]
        done = svc.client.post(f"/v1/actions/{action['id']}/confirm", headers=svc.auth("ed"))
        assert done.json()["status"] == "done", done.text
        lines = ledger.read_text().splitlines()
        assert [json.loads(line) for line in lines] == [{"order_id": "A-17", "amount": 12.5}]
        assert [e["target"] for e in audit(svc) if e["action"] == "agent.tool.executed"] == [
            "mcp__shop__lookup_order",
            "mcp__shop__refund_order",
        ]


def test_the_api_app_serves_mcp_at_slash_mcp(tmp_path: Path) -> None:
    """The same server inside ``kenning serve``: one port, the API's keys."""
    app = create_app(make_agent_settings(tmp_path / "d", None, None))
    with serve(app, path="") as base:
        comps = app.state.components
        seed(comps)
        with httpx.Client(base_url=base, timeout=60) as http:
            token = login(http, "acme", "ed")
            upload = http.post(
                "/v1/documents",
                headers={"Authorization": f"Bearer {token}"},
                files=[("files", ("bonus.md", BONUS.encode()))],
                data={"acl": ["group:eng"]},
            )
            job_url = f"/v1/jobs/{upload.json()['id']}"
            deadline = time.monotonic() + 60
            while http.get(job_url, headers={"Authorization": f"Bearer {token}"}).json()[
                "status"
            ] not in ("done", "failed"):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        keys = {}
        for name in ("vic", "val"):
            _, keys[name] = comps.auth.create_key(
                "test", "acme", name, name="mcp", scopes=frozenset({Permission.READ}), days=1
            )
        query = {"query": "Falcon bonus plan percent"}
        url = f"{base}/mcp"
        assert "Falcon bonus plan" in titles(call(over_http(url, keys["vic"]), "search", query))
        assert "Falcon bonus plan" not in titles(call(over_http(url, keys["val"]), "search", query))
        assert httpx.post(url, json={}).status_code == 401


def test_tools_of_an_mcp_server_over_http_carry_its_api_key(tmp_path: Path) -> None:
    from tests.fakes import mcp_tools

    seen: list[str | None] = []
    inner = mcp_tools.server.streamable_http_app(stateless_http=True, json_response=True)

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            seen.append(headers.get(b"authorization", b"").decode() or None)
        await inner(scope, receive, send)

    with serve(recording) as url:
        shop = MCPServerSettings(
            name="shop", url=url, api_key=SecretStr("shop-key"), read_only=["lookup_order"]
        )
        tools = {t.name: t for t in discover(shop)}
        assert set(tools) == {"mcp__shop__lookup_order", "mcp__shop__refund_order"}
        runner = ToolRunner(AgentSettings())
        try:
            ctx = ToolContext(CALLER, "run", None, "call")
            out = runner.run(tools["mcp__shop__lookup_order"], ctx, {"order_id": "B-2"})
        finally:
            runner.close()
    assert out.data == {"order_id": "B-2", "status": "shipped"}
    assert seen
    assert set(seen) == {"Bearer shop-key"}
