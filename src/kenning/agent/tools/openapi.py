"""Tools generated from a company's OpenAPI 3 spec: one per allow-listed ``operationId``.

Only operations named in ``agent.openapi.operations`` become tools (an empty list: none),
so adding an endpoint to the spec never silently hands it to the model. A tool's schema
has the operation's path and query parameters as properties, and ``body`` for a JSON
request body; local ``$ref``s are inlined. ``GET``/``HEAD`` are read-only; every other
method is side-effecting and waits for the user's confirmation. The configured auth
header is added by Kenning, never by the model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from kenning.agent.registry import Tool, ToolContext, ToolOutput
from kenning.agent.tools import _http
from kenning.errors import ConfigurationError
from kenning.settings import OpenAPIToolSettings

READ_ONLY_METHODS = frozenset({"get", "head"})
METHODS = ("get", "put", "post", "delete", "patch", "head")
_MAX_REF_DEPTH = 20


def load_spec(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:
            raise ConfigurationError("a YAML spec needs PyYAML: pip install pyyaml") from exc
        spec = yaml.safe_load(text)
    else:
        spec = json.loads(text)
    if not isinstance(spec, dict) or "paths" not in spec:
        raise ConfigurationError(f"{path} is not an OpenAPI document (no 'paths')")
    return spec


def openapi_tools(
    settings: OpenAPIToolSettings, *, transport: httpx.BaseTransport | None = None
) -> list[Tool]:
    if settings.spec is None or not settings.operations:
        return []
    spec = load_spec(settings.spec)
    base_url = settings.base_url or _first_server(spec)
    found = {op["operationId"]: (path, method, op) for path, method, op in _operations(spec)}
    unknown = sorted(set(settings.operations) - set(found))
    if unknown:
        raise ConfigurationError(f"agent.openapi.operations not in the spec: {unknown}")
    return [
        _tool(spec, settings, base_url, *found[op_id], transport=transport)
        for op_id in settings.operations
    ]


def _first_server(spec: dict[str, Any]) -> str:
    servers = spec.get("servers") or []
    if not servers or not isinstance(servers[0].get("url"), str):
        raise ConfigurationError("the OpenAPI spec names no server: set agent.openapi.base_url")
    url: str = servers[0]["url"]
    return url


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict) and op.get("operationId"):
                op = {**op, "parameters": [*shared, *op.get("parameters", [])]}
                found.append((path, method, op))
    return found


def _resolve(spec: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` with local ``$ref``s inlined (remote refs are refused: no fetching)."""
    if depth > _MAX_REF_DEPTH:
        raise ConfigurationError("OpenAPI $ref nesting is too deep (recursive schema?)")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#/"):
                raise ConfigurationError(f"only local $refs are supported, not {ref!r}")
            target: Any = spec
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return _resolve(spec, target, depth + 1)
        return {k: _resolve(spec, v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(spec, v, depth + 1) for v in node]
    return node


def _schema(
    spec: dict[str, Any], op: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    params = [p for p in _resolve(spec, op["parameters"]) if p.get("in") in ("path", "query")]
    for param in params:
        prop = dict(param.get("schema") or {"type": "string"})
        if param.get("description"):
            prop["description"] = param["description"]
        properties[param["name"]] = prop
        if param.get("required") or param["in"] == "path":
            required.append(param["name"])
    body = _resolve(spec, op.get("requestBody") or {})
    json_body = (body.get("content") or {}).get("application/json")
    if json_body is not None:
        properties["body"] = json_body.get("schema") or {"type": "object"}
        if body.get("required"):
            required.append("body")
    # No other arguments: a model must not add query parameters the spec does not name.
    schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return schema, params


def _tool_name(operation_id: str) -> str:
    return ("api__" + re.sub(r"[^A-Za-z0-9_-]", "_", operation_id))[:64]


def _tool(
    spec: dict[str, Any],
    settings: OpenAPIToolSettings,
    base_url: str,
    path: str,
    method: str,
    op: dict[str, Any],
    *,
    transport: httpx.BaseTransport | None,
) -> Tool:
    schema, params = _schema(spec, op)
    in_path = {p["name"] for p in params if p["in"] == "path"}

    def handler(ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        url = base_url.rstrip("/") + re.sub(
            r"\{([^}]+)\}", lambda m: quote(str(arguments[m.group(1)]), safe=""), path
        )
        query = {k: v for k, v in arguments.items() if k not in in_path and k != "body"}
        headers = {"Idempotency-Key": ctx.call_id}
        if settings.auth_value is not None:
            headers[settings.auth_header] = settings.auth_value.get_secret_value()
        result = _http.call(
            method.upper(),
            url,
            timeout_s=settings.timeout_s,
            headers=headers,
            params=query,
            json=arguments.get("body"),
            transport=transport,
        )
        return ToolOutput(result)

    description = op.get("summary") or op.get("description") or f"{method.upper()} {path}"
    return Tool(
        name=_tool_name(op["operationId"]),
        description=str(description)[:1000],
        parameters=schema,
        handler=handler,
        side_effect=method not in READ_ONLY_METHODS,
        timeout_s=settings.timeout_s + 1,
        endpoint="openapi",
    )
