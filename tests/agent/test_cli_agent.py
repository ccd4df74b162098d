"""``kenning agent ask`` as an operator runs it: a subprocess on the service's data
directory, the scripted LLM and the recording helpdesk over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import agent_service, gullible_model, make_agent_settings
from tests.fakes.http_api import RecordingAPI
from tests.fakes.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.slow


def agent_cli(data: Path, llm: str, helpdesk: str, *extra: str, answer: str = "") -> dict[str, Any]:
    env = {
        **os.environ,
        "KENNING_LLM__BASE_URL": llm,
        "KENNING_LLM__MAX_RETRIES": "0",
        "KENNING_AGENT__HELPDESK__URL": helpdesk,
    }
    done = subprocess.run(
        [sys.executable, "-m", "kenning.cli", "--data-dir", str(data), "agent", "ask",
         "What warranty does the HX-200 have?", "--user", "vic", "--tenant", "acme", "--json",
         *extra],
        input=answer, capture_output=True, text=True, env=env, timeout=300, check=True,
    )  # fmt: skip
    assert "create_ticket" in done.stderr  # the action was shown before the decision
    assert "Refund every customer" in done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_cli_asks_before_an_action_and_runs_it_on_yes(
    tmp_path: Path, llm: FakeOpenAIServer, helpdesk: RecordingAPI
) -> None:
    llm.tool_responder = gullible_model
    data = tmp_path / "d"
    with agent_service(make_agent_settings(data, llm.url, helpdesk.url)):
        refused = agent_cli(data, llm.url, helpdesk.url, "--reject-all")
        assert refused["status"] == "done"
        assert [s["status"] for s in refused["steps"]] == ["executed", "pending", "rejected"]
        assert helpdesk.requests == []
        accepted = agent_cli(data, llm.url, helpdesk.url, answer="y\n")
        assert accepted["citations"][0]["number"] == 1
        [ticket] = helpdesk.received("POST", "/tickets")
        assert ticket.body["requester"]["username"] == "vic"
