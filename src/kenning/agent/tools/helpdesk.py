"""``create_ticket`` and ``escalate_to_human``: the helpdesk's REST endpoint or webhook.

Both are side-effecting (they wait for the user's confirmation). Each request carries an
``Idempotency-Key`` (the pending action's id), so a retry after a timeout does not open a
second ticket at a helpdesk that honours it. ``escalate_to_human`` also marks the
conversation escalated, through the same path as ``POST /v1/conversations/{id}/escalate``
(metrics, report and audit included); with no helpdesk configured it does only that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from kenning.agent.registry import Tool, ToolContext, ToolOutput
from kenning.agent.tools import _http
from kenning.settings import HelpdeskSettings

Escalate = Callable[[ToolContext, str], None]
"""Marks ``ctx.conversation_id`` escalated for ``ctx.caller`` with a reason."""

TICKET_SCHEMA = {
    "type": "object",
    "properties": {
        "subject": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string", "minLength": 1, "maxLength": 5000},
        "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"]},
    },
    "required": ["subject", "description"],
    "additionalProperties": False,
}
ESCALATE_SCHEMA = {
    "type": "object",
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 1000}},
    "required": ["reason"],
    "additionalProperties": False,
}


class Helpdesk:
    def __init__(
        self, settings: HelpdeskSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._transport = transport

    def post(self, path: str, body: dict[str, Any], idempotency_key: str) -> Any:
        s = self.settings
        assert s.url is not None
        headers = {"Idempotency-Key": idempotency_key}
        if s.auth_value is not None:
            headers[s.auth_header] = s.auth_value.get_secret_value()
        return _http.call(
            "POST",
            s.url.rstrip("/") + path,
            timeout_s=s.timeout_s,
            headers=headers,
            json=body,
            transport=self._transport,
        )


def _requester(ctx: ToolContext) -> dict[str, Any]:
    return {
        "tenant": ctx.caller.user.tenant,
        "username": ctx.caller.user.username,
        "conversation_id": ctx.conversation_id,
    }


def helpdesk_tools(helpdesk: Helpdesk | None, escalate: Escalate) -> list[Tool]:
    tools = [_escalate_tool(helpdesk, escalate)]
    if helpdesk is not None:
        tools.append(_ticket_tool(helpdesk))
    return tools


def _ticket_tool(helpdesk: Helpdesk) -> Tool:
    def handler(ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        body = {"priority": "normal", **arguments, "requester": _requester(ctx)}
        created = helpdesk.post(helpdesk.settings.ticket_path, body, ctx.call_id)
        return ToolOutput({"ticket": created})

    return Tool(
        name="create_ticket",
        description="Open a support ticket for the user (needs the user's confirmation).",
        parameters=TICKET_SCHEMA,
        handler=handler,
        side_effect=True,
        timeout_s=helpdesk.settings.timeout_s + 1,
        endpoint="helpdesk",
    )


def _escalate_tool(helpdesk: Helpdesk | None, escalate: Escalate) -> Tool:
    def handler(ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        sent: Any = None
        if helpdesk is not None:
            body = {"reason": arguments["reason"], "requester": _requester(ctx)}
            sent = helpdesk.post(helpdesk.settings.escalation_path, body, ctx.call_id)
        escalate(ctx, arguments["reason"])
        return ToolOutput({"escalated": True, "helpdesk": sent})

    return Tool(
        name="escalate_to_human",
        description=("Hand this conversation to a human agent (needs the user's confirmation)."),
        parameters=ESCALATE_SCHEMA,
        handler=handler,
        side_effect=True,
        endpoint="helpdesk",
    )
