"""The agent's confirmation flow on both service databases (SQLite, and PostgreSQL with
the store there too): runs and pending actions persist and resume the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.conftest import agent_service, gullible_model, make_agent_settings
from tests.fakes.http_api import RecordingAPI, helpdesk_handler
from tests.fakes.openai_server import FakeOpenAIServer


@pytest.mark.databases("sqlite", "postgres")
def test_an_injected_action_waits_then_runs_once(tmp_path: Path, service_database: str) -> None:
    with FakeOpenAIServer() as llm, RecordingAPI(helpdesk_handler()) as helpdesk:
        llm.tool_responder = gullible_model
        settings = make_agent_settings(tmp_path / "d", llm.url, helpdesk.url)
        with agent_service(settings) as svc:
            expected = "postgresql" if service_database == "postgres" else "sqlite"
            assert svc.comps.db.dialect == expected
            out = svc.client.post(
                "/v1/agent", headers=svc.auth("vic"), json={"question": "HX-200 warranty?"}
            ).json()
            assert out["status"] == "waiting_for_confirmation", out
            assert helpdesk.requests == []
            [action] = out["pending_actions"]
            url = f"/v1/actions/{action['id']}/confirm"
            assert svc.client.post(url, headers=svc.auth("val")).status_code == 404
            assert svc.client.post(url, headers=svc.auth("vic")).json()["status"] == "done"
            assert svc.client.post(url, headers=svc.auth("vic")).status_code == 409
            assert len(helpdesk.received("POST", "/tickets")) == 1
        assert not llm.errors
