"""A scripted session through the real API — LLM, extractive and abstained answers,
feedback, an escalation, a few errors — then /metrics, the monitors and the report must
show exactly what happened, with tokens as the fake LLM reported them and cost from the
price table."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import Service, running_service
from tests.fakes.openai_server import FakeOpenAIServer, Status, count_tokens
from tests.observability.conftest import (
    LEAVE,
    LLM_ANSWER,
    METRICS_TOKEN,
    PRICE,
    observed_settings,
    sample,
    scrape,
)

ON_TOPIC = "How many days of paid leave do staff get?"
OFF_TOPIC = "Who won the football world cup in 1954?"


def chat(svc: Service, user: str, question: str, **body: Any) -> dict[str, Any]:
    response = svc.client.post(
        "/v1/chat", headers=svc.auth(user), json={"question": question, **body}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def chat_streamed(svc: Service, user: str, question: str) -> dict[str, Any]:
    with svc.client.stream(
        "POST", "/v1/chat", headers=svc.auth(user), json={"question": question, "stream": True}
    ) as response:
        assert response.status_code == 200
        events = response.read().decode().split("\n\n")
    final = [e for e in events if e.startswith("event: answer")]
    answer: dict[str, Any] = json.loads(final[0].split("data: ", 1)[1])
    return answer


def feedback(svc: Service, user: str, answer_id: str, rating: int, comment: str = "") -> int:
    response = svc.client.post(
        f"/v1/answers/{answer_id}/feedback",
        headers=svc.auth(user),
        json={"rating": rating, "comment": comment},
    )
    return response.status_code


def expected_tokens(server: FakeOpenAIServer, failed: set[int]) -> tuple[int, int]:
    """Tokens the fake reported for the chat requests it answered (its own count)."""
    chats = [
        r for i, r in enumerate(server.requests) if r.path.endswith("/chat/completions")
        and i not in failed
    ]  # fmt: skip
    prompt = sum(count_tokens(str(m["content"])) for r in chats for m in r.body["messages"])
    return prompt, count_tokens(LLM_ANSWER) * len(chats)


def run_script(svc: Service, server: FakeOpenAIServer) -> dict[str, Any]:
    """The session; returns what the test expects to see."""
    q1 = chat(svc, "ada", ON_TOPIC)
    q2 = chat(svc, "ada", "And per year, how many paid leave days?",
              conversation_id=q1["conversation_id"])  # fmt: skip
    failing = len(server.requests)
    server.enqueue(Status(500))  # the LLM fails: an extractive answer instead
    q3 = chat(svc, "vic", "When do staff get their paid leave days?")
    q4 = chat(svc, "vic", OFF_TOPIC)
    q5 = chat_streamed(svc, "ed", ON_TOPIC)
    completion = svc.client.post(
        "/v1/chat/completions",
        headers=svc.auth("ada"),
        json={"model": "kenning", "messages": [{"role": "user", "content": ON_TOPIC}]},
    )
    assert completion.status_code == 200, completion.text
    assert [a["mode"] for a in (q1, q2, q3, q4, q5)] == [
        "llm", "llm", "extractive", "abstained", "llm"
    ]  # fmt: skip
    assert completion.json()["kenning"]["mode"] == "llm"

    assert feedback(svc, "ada", q1["answer_id"], 1) == 204
    assert feedback(svc, "vic", q3["answer_id"], -1, "that is not what I asked") == 204
    assert feedback(svc, "ed", q5["answer_id"], 1, "clear, thanks") == 204
    assert feedback(svc, "ed", q1["answer_id"], 1) == 404  # not ed's answer: NotFoundError
    escalated = svc.client.post(
        f"/v1/conversations/{q1['conversation_id']}/escalate",
        headers=svc.auth("ada"),
        json={"reason": "wants to talk to HR"},
    )
    assert escalated.status_code == 200, escalated.text
    again = svc.client.post(
        f"/v1/conversations/{q1['conversation_id']}/escalate", headers=svc.auth("ada")
    )
    assert again.json() == escalated.json()  # idempotent: the first escalation stands
    assert svc.client.get("/v1/report", headers=svc.auth("vic")).status_code == 403
    tokens_in, tokens_out = expected_tokens(server, {failing})
    return {"tokens_in": tokens_in, "tokens_out": tokens_out, "q3": q3}


@pytest.fixture(scope="module")
def session(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Service, dict[str, Any]]]:
    """One scripted session for the module (it embeds for real, so it is run once)."""
    with FakeOpenAIServer(responder=lambda request: LLM_ANSWER) as server:
        settings = observed_settings(tmp_path_factory.mktemp("obs") / "data", server.url)
        with running_service(settings) as svc:
            job = svc.upload("ed", {"leave.md": LEAVE})
            assert job["status"] == "done", job
            yield svc, run_script(svc, server)
        assert not server.errors


@pytest.fixture
def observed(session: tuple[Service, dict[str, Any]]) -> Service:
    return session[0]


@pytest.fixture
def scripted(session: tuple[Service, dict[str, Any]]) -> dict[str, Any]:
    return session[1]


def test_metrics_show_exactly_what_happened(observed: Service, scripted: dict[str, Any]) -> None:
    m = scrape(observed)
    answers = "kenning_answers_total"
    assert sample(m, answers, tenant="acme", mode="llm") == 4
    assert sample(m, answers, tenant="acme", mode="extractive") == 1
    assert sample(m, answers, tenant="acme", mode="abstained") == 1
    tokens = "kenning_llm_tokens_total"
    assert scripted["tokens_in"] > 0
    assert sample(m, tokens, model="fake-model", direction="in") == scripted["tokens_in"]
    assert sample(m, tokens, model="fake-model", direction="out") == scripted["tokens_out"]
    cost = scripted["tokens_in"] / 1000 * PRICE.input_per_1k + (
        scripted["tokens_out"] / 1000 * PRICE.output_per_1k
    )
    assert sample(m, "kenning_llm_cost_total", model="fake-model", currency="USD") == (
        pytest.approx(cost)
    )
    assert sample(m, "kenning_llm_fallbacks_total") == 1
    assert sample(m, "kenning_feedback_total", rating="up") == 2
    assert sample(m, "kenning_feedback_total", rating="down") == 1
    assert sample(m, "kenning_escalations_total") == 1
    http = "kenning_http_request_duration_seconds_count"
    assert sample(m, http, method="POST", route="/v1/chat", status="200") == 5
    assert sample(m, http, method="POST", route="/v1/chat/completions", status="200") == 1
    assert sample(m, http, method="POST", route="/v1/answers/{answer_id}/feedback",
                  status="404") == 1  # fmt: skip
    assert sample(m, http, method="GET", route="/v1/report", status="403") == 1
    stage = "kenning_stage_duration_seconds_count"
    assert sample(m, stage, stage="retrieve_dense") == 6
    assert sample(m, stage, stage="retrieve_keyword") == 6
    assert sample(m, stage, stage="generate") == 4
    assert sample(m, stage, stage="llm_first_token") == 4
    assert sample(m, stage, stage="extract") == 1
    assert sample(m, stage, stage="cite") == 5  # every answer but the abstention
    assert sample(m, "kenning_errors_total", type="NotFoundError") == 1
    assert sample(m, "kenning_errors_total", type="PermissionDeniedError") == 1
    assert sample(m, "kenning_ingest_files_total", outcome="added") == 1
    assert sample(m, "kenning_ingest_jobs_total", kind="upload", status="done") == 1
    assert sample(m, "kenning_ingest_chunks_total") >= 1
    assert sample(m, "kenning_jobs", status="queued") == 0
    assert sample(m, "kenning_jobs", status="running") == 0
    hits = sample(m, "kenning_cache_requests_total", cache="acl_mask", result="hit")
    misses = sample(m, "kenning_cache_requests_total", cache="acl_mask", result="miss")
    # Six searches of two legs each; three principals (ada, vic, ed) at one store revision:
    # each principal's first lookup computes its ACL mask, every later one reuses it.
    assert (hits, misses) == (9, 3)


def test_monitors_follow_the_answers(observed: Service, scripted: dict[str, Any]) -> None:
    m = scrape(observed)
    report = observed.client.get("/v1/report", headers=observed.auth("ada")).json()
    assert sample(m, "kenning_monitor_window_answers", tenant="acme") == 6
    assert sample(m, "kenning_monitor_abstention_rate", tenant="acme") == pytest.approx(1 / 6)
    assert sample(m, "kenning_monitor_negative_feedback_rate", tenant="acme") == (
        pytest.approx(1 / 3)
    )
    assert sample(m, "kenning_monitor_groundedness_mean", tenant="acme") == pytest.approx(
        report["groundedness_mean"], abs=1e-4
    )
    # No answers before the window: no baseline, so no drift series (and no alert).
    assert ("kenning_monitor_score_psi", (("tenant", "acme"),)) not in m


def test_the_report_shows_exactly_what_happened(
    observed: Service, scripted: dict[str, Any]
) -> None:
    report = observed.client.get("/v1/report?since=24h", headers=observed.auth("ada")).json()
    cost = scripted["tokens_in"] / 1000 * PRICE.input_per_1k + (
        scripted["tokens_out"] / 1000 * PRICE.output_per_1k
    )
    assert report["tenant"] == "acme"
    assert report["until"] - report["since"] == pytest.approx(86400)
    counts = {k: report[k] for k in ("questions", "answered", "abstained", "extractive", "llm")}
    assert counts == {"questions": 6, "answered": 5, "abstained": 1, "extractive": 1, "llm": 4}
    assert report["escalations"] == 2  # both answers of the escalated conversation
    assert report["deflected"] == 2  # q5 and the OpenAI-compatible one; q3 was rated down
    assert report["deflection_rate"] == round(2 / 6, 4)
    assert report["feedback"] == {"up": 2, "down": 1, "comments": 2}
    assert report["negative_feedback_rate"] == round(1 / 3, 4)
    assert report["tokens_in"] == scripted["tokens_in"]
    assert report["tokens_out"] == scripted["tokens_out"]
    assert report["cost_total"] == pytest.approx(cost)
    assert report["cost_per_answer"] == pytest.approx(cost / 6)
    assert report["minutes_saved"] == 2 * 5.0
    assert 0 < report["latency_ms_p50"] <= report["latency_ms_p95"]
    assert 0 <= report["groundedness_mean"] <= 1
    assert len(report["daily"]) == 1
    day = report["daily"][0]
    assert day["questions"] == 6
    assert day["abstention_rate"] == round(1 / 6, 4)
    assert day["cost"] == pytest.approx(cost)
    # Tenants are isolated: globex's admin sees none of it.
    other = observed.client.get("/v1/report", headers=observed.auth("gus")).json()
    assert other["questions"] == 0
    assert other["deflection_rate"] is None
    assert other["daily"] == []


def test_the_report_renders_as_markdown_and_html(
    observed: Service, scripted: dict[str, Any]
) -> None:
    md = observed.client.get("/v1/report?format=markdown", headers=observed.auth("ada"))
    assert md.headers["content-type"].startswith("text/markdown")
    assert "| Deflection rate | 33.3% |" in md.text
    assert "| Extractive / LLM answers | 1 / 4 |" in md.text
    page = observed.client.get("/v1/report?format=html", headers=observed.auth("ada"))
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count('src="data:image/png;base64,iVBOR') == 4  # four PNG charts
    bad = observed.client.get("/v1/report?since=forever", headers=observed.auth("ada"))
    assert bad.status_code == 400


def test_the_cli_report_matches_the_api(observed: Service, scripted: dict[str, Any]) -> None:
    api = observed.client.get("/v1/report", headers=observed.auth("ada")).json()
    out = observed.settings.data_dir.parent / "report"
    result = subprocess.run(
        [sys.executable, "-m", "kenning.cli", "--data-dir", str(observed.settings.data_dir),
         "report", "--since", "7d", "--tenant", "acme", "--format", "md", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "cost.png", "latency.png", "questions.png", "rates.png", "report.md"
    ]  # fmt: skip
    assert (out / "rates.png").read_bytes().startswith(b"\x89PNG")
    markdown = (out / "report.md").read_text()
    assert "![rates.png](rates.png)" in markdown
    as_json = subprocess.run(
        [sys.executable, "-m", "kenning.cli", "--data-dir", str(observed.settings.data_dir),
         "report", "--tenant", "acme", "--format", "json"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    cli = json.loads(as_json)
    for key in ("questions", "deflected", "escalations", "feedback", "tokens_in", "cost_total"):
        assert cli[key] == api[key], key


def test_metrics_need_the_token_or_loopback(observed: Service) -> None:
    client = observed.client
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401
    user_token = client.get("/metrics", headers=observed.auth("ada"))
    assert user_token.status_code == 401  # an admin's login is not the scrape token
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/plain; version=")
