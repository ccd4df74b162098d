"""The agent loop over the API: ACL-aware search with citations, the per-role allow-list,
argument validation, the step limit, escalation, and no LLM at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.agent.conftest import (
    HELPDESK_SECRET,
    agent_service,
    audit,
    make_agent_settings,
    tool_messages,
)
from tests.fakes.http_api import RecordingAPI
from tests.fakes.openai_server import FakeOpenAIServer, Status, ToolCalls


def _ask(svc: Any, username: str, question: str) -> dict[str, Any]:
    response = svc.client.post("/v1/agent", headers=svc.auth(username), json={"question": question})
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def _search_then_answer(answer: str) -> Any:
    def respond(request: dict[str, Any]) -> ToolCalls | str:
        last = request["messages"][-1]
        if last["role"] == "user":
            return ToolCalls((("search_knowledge", {"query": last["content"]}),))
        return answer

    return respond


def test_search_is_acl_aware_and_the_answer_cites_its_passages(
    tmp_path: Path, llm: FakeOpenAIServer, helpdesk: RecordingAPI
) -> None:
    llm.tool_responder = _search_then_answer("Twelve percent [1], paid in March [7].")
    with agent_service(make_agent_settings(tmp_path / "d", llm.url, helpdesk.url)) as svc:
        allowed = _ask(svc, "vic", "Falcon bonus plan percent")
        assert "twelve percent" in tool_messages(llm)[0]
        assert allowed["text"] == "Twelve percent [1], paid in March."  # [7] cites nothing
        assert [c["passage"]["title"] for c in allowed["citations"]] == ["Falcon bonus plan"]

        denied = _ask(svc, "val", "Falcon bonus plan percent")
        assert "twelve percent" not in tool_messages(llm)[0]
        assert all(s["title"] != "Falcon bonus plan" for s in denied["sources"])


def test_a_tool_outside_the_role_allow_list_is_denied_and_audited(
    tmp_path: Path, llm: FakeOpenAIServer, helpdesk: RecordingAPI
) -> None:
    ticket = {"subject": "help", "description": "please"}
    llm.enqueue(ToolCalls((("create_ticket", ticket),)))
    llm.tool_responder = lambda request: "I cannot open tickets for you."
    settings = make_agent_settings(
        tmp_path / "d", llm.url, helpdesk.url, role_tools={"viewer": ["search_knowledge"]}
    )
    with agent_service(settings, documents=False) as svc:
        out = _ask(svc, "vic", "open a ticket")
        offered = [t["function"]["name"] for t in llm.requests[0].body["tools"]]
        assert offered == ["search_knowledge"]
        assert out["status"] == "done"
        assert out["pending_actions"] == []
        assert out["steps"][0]["status"] == "denied"
        assert "not available" in tool_messages(llm)[0]
        assert helpdesk.requests == []
        assert [e["action"] for e in audit(svc)] == ["agent.tool.denied"]
        assert svc.client.get("/v1/actions", headers=svc.auth("vic")).json() == []


def test_invalid_arguments_go_back_to_the_model_and_secrets_stay_out_of_the_audit(
    tmp_path: Path, llm: FakeOpenAIServer, helpdesk: RecordingAPI
) -> None:
    bad = {"subject": "x", "api_key": "k-123", "note": f"use {HELPDESK_SECRET}"}
    llm.enqueue(ToolCalls((("create_ticket", bad),)), ToolCalls((("create_ticket", "{oops"),)))
    llm.tool_responder = lambda request: "Sorry."
    with agent_service(make_agent_settings(tmp_path / "d", llm.url, helpdesk.url),
                       documents=False) as svc:  # fmt: skip
        out = _ask(svc, "vic", "ticket please")
        first, second = tool_messages(llm)
        assert first.startswith("error: invalid arguments")
        assert "not valid JSON" in second
        assert [s["status"] for s in out["steps"]] == ["invalid", "invalid"]
        assert out["pending_actions"] == []
        events = audit(svc)
        assert [e["action"] for e in events] == ["agent.tool.invalid", "agent.tool.invalid"]
        assert "k-123" not in str(events)
        assert HELPDESK_SECRET not in str(events)
        assert helpdesk.requests == []


def test_the_step_limit_stops_a_model_that_never_answers(
    tmp_path: Path, llm: FakeOpenAIServer, helpdesk: RecordingAPI
) -> None:
    llm.tool_responder = lambda request: ToolCalls((("search_knowledge", {"query": "again"}),))
    settings = make_agent_settings(tmp_path / "d", llm.url, helpdesk.url, max_steps=3)
    with agent_service(settings, documents=False) as svc:
        out = _ask(svc, "vic", "loop forever")
        assert out["status"] == "step_limit"
        assert "3 steps" in out["text"]
        chats = [r for r in llm.requests if r.path == "/v1/chat/completions"]
        assert len(chats) == 3
        assert out["answer_id"]


def test_escalation_after_confirmation_marks_the_conversation(
    tmp_path: Path, llm: FakeOpenAIServer, helpdesk: RecordingAPI
) -> None:
    llm.enqueue(ToolCalls((("escalate_to_human", {"reason": "angry customer"}),)))
    llm.tool_responder = lambda request: "A colleague will contact you."
    with agent_service(make_agent_settings(tmp_path / "d", llm.url, helpdesk.url),
                       documents=False) as svc:  # fmt: skip
        out = _ask(svc, "vic", "I want a human")
        conv_id = out["conversation_id"]
        assert svc.comps.conversations.get("acme", "vic", conv_id).escalated_at is None
        [action] = out["pending_actions"]
        done = svc.client.post(f"/v1/actions/{action['id']}/confirm", headers=svc.auth("vic"))
        assert done.json()["text"] == "A colleague will contact you."
        conv = svc.comps.conversations.get("acme", "vic", conv_id)
        assert conv.escalated_at is not None
        assert conv.escalation_reason == "angry customer"
        [sent] = helpdesk.received("POST", "/escalations")
        assert sent.body["requester"]["conversation_id"] == conv_id
        assert "conversation.escalate" in [e["action"] for e in audit(svc, "conversation.")]


def test_without_an_llm_the_agent_answers_plainly_and_says_so(
    tmp_path: Path, helpdesk: RecordingAPI
) -> None:
    with agent_service(make_agent_settings(tmp_path / "d", None, helpdesk.url)) as svc:
        out = _ask(svc, "vic", "What does error E04 mean on the HX-200?")
        assert out["status"] == "plain_answer"
        assert out["run_id"] is None
        assert "No tools-capable language model" in out["notice"]
        assert out["sources"]
        missing = svc.client.post("/v1/actions/abc/confirm", headers=svc.auth("vic"))
        assert missing.status_code == 409


def test_a_failing_llm_is_a_502_and_nothing_runs(
    tmp_path: Path, llm: FakeOpenAIServer, helpdesk: RecordingAPI
) -> None:
    llm.enqueue(Status(503))
    with agent_service(make_agent_settings(tmp_path / "d", llm.url, helpdesk.url),
                       documents=False) as svc:  # fmt: skip
        response = svc.client.post("/v1/agent", headers=svc.auth("vic"), json={"question": "hello"})
        assert response.status_code == 502
        assert "HTTP 503" in response.json()["detail"]
        assert audit(svc) == []
        assert helpdesk.requests == []


def test_a_follow_up_in_the_conversation_sees_the_earlier_exchange(
    tmp_path: Path, llm: FakeOpenAIServer
) -> None:
    llm.tool_responder = lambda request: f"answer {len(request['messages'])}"
    with agent_service(make_agent_settings(tmp_path / "d", llm.url, None),
                       documents=False) as svc:  # fmt: skip
        first = _ask(svc, "vic", "first question")
        follow = svc.client.post(
            "/v1/agent",
            headers=svc.auth("vic"),
            json={"question": "and then?", "conversation_id": first["conversation_id"]},
        ).json()
        assert follow["conversation_id"] == first["conversation_id"]
        sent = [(m["role"], m["content"]) for m in llm.requests[-1].body["messages"][1:]]
        assert sent == [
            ("user", "first question"),
            ("assistant", "answer 2"),
            ("user", "and then?"),
        ]
        other = svc.client.post(
            "/v1/agent",
            headers=svc.auth("val"),
            json={"question": "peek", "conversation_id": first["conversation_id"]},
        )
        assert other.status_code == 404
