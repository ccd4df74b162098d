"""Tools generated from a small OpenAPI spec, calling a company API served locally: only
allow-listed operations exist, GETs run at once, other methods wait for confirmation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from kenning.agent.guardrails import ToolRunner
from kenning.agent.registry import ToolContext
from kenning.agent.tools.openapi import openapi_tools
from kenning.auth.models import ROLE_PERMISSIONS, Caller, CredentialKind, Role, User
from kenning.errors import ConfigurationError
from kenning.settings import AgentSettings, OpenAPIToolSettings
from tests.agent.conftest import agent_service, audit, make_agent_settings
from tests.fakes.http_api import Recorded, RecordingAPI
from tests.fakes.openai_server import FakeOpenAIServer, ToolCalls

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Shop", "version": "1"},
    "servers": [{"url": "http://shop.invalid"}],
    "paths": {
        "/orders/{order_id}": {
            "parameters": [
                {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": {
                "operationId": "getOrder",
                "summary": "Look up an order.",
                "parameters": [{"name": "verbose", "in": "query", "schema": {"type": "boolean"}}],
            },
        },
        "/orders/{order_id}/cancel": {
            "post": {
                "operationId": "cancelOrder",
                "summary": "Cancel an order.",
                "parameters": [
                    {
                        "name": "order_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Cancel"}}
                    },
                },
            }
        },
        "/orders": {"delete": {"operationId": "deleteAllOrders", "summary": "Delete all."}},
    },
    "components": {
        "schemas": {
            "Cancel": {
                "type": "object",
                "properties": {"reason": {"type": "string", "minLength": 1}},
                "required": ["reason"],
            }
        }
    },
}
CTX = ToolContext(
    Caller(User("acme", "ed", Role.EDITOR), CredentialKind.TOKEN, ROLE_PERMISSIONS[Role.EDITOR]),
    "run",
    None,
    "call-9",
)


def shop(request: Recorded) -> tuple[int, Any]:
    if request.method == "GET" and request.path.startswith("/orders/"):
        return 200, {"order_id": request.path.split("/")[2], "status": "shipped"}
    if request.method == "POST" and request.path.endswith("/cancel"):
        return 200, {"cancelled": True}
    return 404, {"error": "no route"}


@pytest.fixture
def api() -> Iterator[RecordingAPI]:
    with RecordingAPI(shop) as server:
        yield server


def settings_for(tmp_path: Path, url: str, operations: list[str]) -> OpenAPIToolSettings:
    spec = tmp_path / "shop.json"
    spec.write_text(json.dumps(SPEC))
    return OpenAPIToolSettings(
        spec=spec, base_url=url, operations=operations, auth_value=SecretStr("Bearer shop-key")
    )


def test_only_allow_listed_operations_become_tools(tmp_path: Path, api: RecordingAPI) -> None:
    settings = settings_for(tmp_path, api.url, ["getOrder", "cancelOrder"])
    tools = {t.name: t for t in openapi_tools(settings)}
    assert set(tools) == {"api__getOrder", "api__cancelOrder"}
    assert not tools["api__getOrder"].side_effect
    assert tools["api__cancelOrder"].side_effect
    cancel = tools["api__cancelOrder"].parameters
    assert cancel["required"] == ["order_id", "body"]
    assert cancel["properties"]["body"]["required"] == ["reason"]  # the $ref was inlined
    assert openapi_tools(settings_for(tmp_path, api.url, [])) == []


def test_an_unknown_operation_in_the_allow_list_is_a_configuration_error(
    tmp_path: Path, api: RecordingAPI
) -> None:
    with pytest.raises(ConfigurationError, match="deleteEverything"):
        openapi_tools(settings_for(tmp_path, api.url, ["getOrder", "deleteEverything"]))


def test_a_generated_tool_calls_the_api_with_its_auth(tmp_path: Path, api: RecordingAPI) -> None:
    [tool] = openapi_tools(settings_for(tmp_path, api.url, ["getOrder"]))
    runner = ToolRunner(AgentSettings())
    try:
        out = runner.run(tool, CTX, tool.parse_arguments('{"order_id": "A/17", "verbose": true}'))
    finally:
        runner.close()
    assert out.data == {"order_id": "A%2F17", "status": "shipped"}
    [request] = api.requests
    assert request.path == "/orders/A%2F17"
    assert request.query == {"verbose": ["true"]}
    assert request.headers["authorization"] == "Bearer shop-key"


def test_the_agent_runs_reads_and_holds_writes(
    tmp_path: Path, llm: FakeOpenAIServer, api: RecordingAPI
) -> None:
    llm.enqueue(
        ToolCalls((("api__getOrder", {"order_id": "A-17"}),)),
        ToolCalls((("api__cancelOrder", {"order_id": "A-17", "body": {"reason": "late"}}),)),
    )
    llm.tool_responder = lambda request: "Order A-17 is cancelled."
    openapi = settings_for(tmp_path, api.url, ["getOrder", "cancelOrder"])
    settings = make_agent_settings(tmp_path / "d", llm.url, None, openapi=openapi)
    with agent_service(settings, documents=False) as svc:
        out = svc.client.post(
            "/v1/agent", headers=svc.auth("ed"), json={"question": "cancel order A-17"}
        ).json()
        assert out["status"] == "waiting_for_confirmation"
        assert [r.method for r in api.requests] == ["GET"]
        [action] = out["pending_actions"]
        done = svc.client.post(f"/v1/actions/{action['id']}/confirm", headers=svc.auth("ed"))
        assert done.json()["text"] == "Order A-17 is cancelled."
        [cancel] = api.received("POST")
        assert cancel.path == "/orders/A-17/cancel"
        assert cancel.body == {"reason": "late"}
        assert "shop-key" not in str(audit(svc))

        # A viewer is not offered the company API at all.
        svc.client.post("/v1/agent", headers=svc.auth("vic"), json={"question": "hi"})
        offered = [t["function"]["name"] for t in llm.requests[-1].body["tools"]]
        assert not [name for name in offered if name.startswith("api__")]


def test_a_bad_allow_list_stops_the_server_at_start_up(
    tmp_path: Path, llm: FakeOpenAIServer, api: RecordingAPI
) -> None:
    openapi = settings_for(tmp_path, api.url, ["noSuchOperation"])
    settings = make_agent_settings(tmp_path / "d", llm.url, None, openapi=openapi)
    with (
        pytest.raises(ConfigurationError, match="noSuchOperation"),
        agent_service(settings, documents=False),
    ):
        pass
