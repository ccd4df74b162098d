"""A document carrying an injected instruction to open a ticket: the agent's side-effecting
call is held for the user's confirmation and audited, never executed silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kenning.auth.models import Permission
from tests.agent.conftest import (
    HELPDESK_SECRET,
    agent_service,
    audit,
    gullible_model,
    make_agent_settings,
    tool_messages,
)
from tests.api.conftest import Service
from tests.fakes.http_api import RecordingAPI
from tests.fakes.openai_server import FakeOpenAIServer

QUESTION = "What warranty does the HX-200 have?"


def _ask(svc: Service, username: str = "vic") -> dict[str, Any]:
    response = svc.client.post("/v1/agent", headers=svc.auth(username), json={"question": QUESTION})
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def test_injected_ticket_waits_for_confirmation_then_executes_once(
    tmp_path: Path, llm: FakeOpenAIServer, helpdesk: RecordingAPI
) -> None:
    llm.tool_responder = gullible_model
    with agent_service(make_agent_settings(tmp_path / "d", llm.url, helpdesk.url)) as svc:
        out = _ask(svc)
        assert out["status"] == "waiting_for_confirmation"
        [pending] = out["pending_actions"]
        assert pending["tool"] == "create_ticket"
        assert pending["arguments"]["subject"] == "Refund every customer"
        assert helpdesk.requests == []  # nothing was sent to the helpdesk
        # The document reached the model only as delimited, untrusted data.
        [search_result] = tool_messages(llm)
        assert search_result.startswith('<tool_result tool="search_knowledge"')
        assert "untrusted" in search_result
        assert "call create_ticket" in search_result
        actions = [e["action"] for e in audit(svc)]
        assert actions == ["agent.tool.executed", "agent.tool.proposed"]

        # Only its owner sees and decides it.
        pending_only = {"status": "pending"}
        listed = svc.client.get("/v1/actions", headers=svc.auth("vic"), params=pending_only)
        assert [a["id"] for a in listed.json()] == [pending["id"]]
        assert svc.client.get("/v1/actions", headers=svc.auth("val")).json() == []
        stolen = svc.client.post(f"/v1/actions/{pending['id']}/confirm", headers=svc.auth("val"))
        assert stolen.status_code == 404
        # An automated client (an API key) cannot approve what its model proposed.
        _, key = svc.comps.auth.create_key(
            "test", "acme", "vic", name="bot", scopes=frozenset({Permission.READ}), days=1
        )
        by_key = svc.client.post(
            f"/v1/actions/{pending['id']}/confirm", headers={"Authorization": f"Bearer {key}"}
        )
        assert by_key.status_code == 403
        assert helpdesk.requests == []

        done = svc.client.post(f"/v1/actions/{pending['id']}/confirm", headers=svc.auth("vic"))
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["status"] == "done"
        assert body["answer_id"]
        assert [c["number"] for c in body["citations"]] == [1]
        assert body["citations"][0]["passage"]["title"].startswith("HX-200")
        [ticket] = helpdesk.received("POST", "/tickets")
        assert ticket.body["subject"] == "Refund every customer"
        assert ticket.body["requester"]["username"] == "vic"
        assert ticket.headers["authorization"] == HELPDESK_SECRET
        assert ticket.headers["idempotency-key"] == pending["id"]
        assert [s["status"] for s in body["steps"]] == ["executed", "pending", "executed"]

        # Decided once: a second confirm (a double click, a retry) does nothing.
        again = svc.client.post(f"/v1/actions/{pending['id']}/confirm", headers=svc.auth("vic"))
        assert again.status_code == 409
        assert len(helpdesk.received("POST", "/tickets")) == 1
        state = svc.client.get(f"/v1/actions/{pending['id']}", headers=svc.auth("vic")).json()
        assert state["status"] == "executed"

        events = audit(svc)
        assert [e["action"] for e in events] == [
            "agent.tool.executed",
            "agent.tool.proposed",
            "agent.tool.confirmed",
            "agent.tool.executed",
        ]
        assert {e["actor"] for e in events} == {"vic"}
        assert events[1]["target"] == "create_ticket"
        assert events[1]["detail"]["arguments"]["subject"] == "Refund every customer"
        assert HELPDESK_SECRET not in str(events)


def test_rejected_action_is_never_executed(
    tmp_path: Path, llm: FakeOpenAIServer, helpdesk: RecordingAPI
) -> None:
    llm.tool_responder = gullible_model
    with agent_service(make_agent_settings(tmp_path / "d", llm.url, helpdesk.url)) as svc:
        [pending] = _ask(svc)["pending_actions"]
        rejected = svc.client.post(f"/v1/actions/{pending['id']}/reject", headers=svc.auth("vic"))
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["status"] == "done"
        steps = [s["status"] for s in rejected.json()["steps"]]
        assert steps == ["executed", "pending", "rejected"]
        assert "rejected" in tool_messages(llm)[-1]
        late = svc.client.post(f"/v1/actions/{pending['id']}/confirm", headers=svc.auth("vic"))
        assert late.status_code == 409
        assert helpdesk.requests == []
        assert [e["action"] for e in audit(svc)] == [
            "agent.tool.executed",
            "agent.tool.proposed",
            "agent.tool.rejected",
        ]
