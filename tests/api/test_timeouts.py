"""Request deadlines on a real uvicorn server: a stuck answer becomes a 503 with
Retry-After; a streamed answer and a slow but steady upload are not cut off."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kenning.settings import LLMSettings
from tests.api.conftest import Service, make_settings, running_service, serve_in_thread
from tests.fakes.openai_server import FakeOpenAIServer, Hang, Reply

TIMEOUT_S = 1.0
POLICY = b"# Travel policy\n\nTrain travel is booked in second class for trips under four hours.\n"


@pytest.fixture
def slow_service(tmp_path: Path, openai_server: FakeOpenAIServer) -> Iterator[tuple[Service, str]]:
    settings = make_settings(tmp_path / "data", request_timeout_s=TIMEOUT_S).model_copy(
        update={
            "llm": LLMSettings(
                base_url=openai_server.url, read_timeout_s=10, max_retries=0, connect_timeout_s=2
            )
        }
    )
    with running_service(settings) as svc:
        svc.upload("ed", {"travel.md": POLICY})
        with serve_in_thread(svc.app) as url:
            yield svc, url


def test_a_stuck_request_is_answered_with_503_and_retry_after(
    slow_service: tuple[Service, str], openai_server: FakeOpenAIServer
) -> None:
    svc, url = slow_service
    openai_server.enqueue(Hang(4))
    started = time.monotonic()
    response = httpx.post(
        f"{url}/v1/chat",
        headers=svc.auth("vic"),
        json={"question": "In which class is train travel booked?"},
        timeout=30,
    )
    waited = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert "longer than 1 s" in response.json()["detail"]
    assert waited < 4  # answered at the deadline, not when the LLM gave up


def test_a_streamed_answer_may_outlast_the_deadline(
    slow_service: tuple[Service, str], openai_server: FakeOpenAIServer
) -> None:
    svc, url = slow_service
    text = "Train travel is booked in second class [1]."
    openai_server.enqueue(Reply(text, chunk_size=10, delay_between_chunks=0.4))
    events = []
    with httpx.stream(
        "POST",
        f"{url}/v1/chat",
        headers=svc.auth("vic"),
        json={"question": "In which class is train travel booked?", "stream": True},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        events = [
            json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")
        ]
    answer = events[-1]
    assert answer["mode"] == "llm"
    assert answer["text"] == text


def test_a_slow_but_steady_upload_is_not_cut_off(slow_service: tuple[Service, str]) -> None:
    svc, url = slow_service

    def trickle() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="slow.md"\r\n\r\n'
        yield b"# Slow upload\n\n"
        for _ in range(6):  # 6 x 0.3 s: well past the 1 s deadline, never idle that long
            time.sleep(0.3)
            yield b"Expense reports are filed within thirty days. "
        yield b"\r\n--b--\r\n"

    response = httpx.post(
        f"{url}/v1/documents",
        headers={**svc.auth("ed"), "Content-Type": "multipart/form-data; boundary=b"},
        content=trickle(),
        timeout=30,
    )
    assert response.status_code == 202, response.text
    assert svc.wait("ed", response.json()["id"])["report"]["added"] == 1
