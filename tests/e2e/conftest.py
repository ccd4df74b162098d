"""Browser tests: Debian's Chromium, driven by Playwright, against a real Kenning server.

One server per module (uvicorn on loopback, a temporary data directory, the accounts of
``tests/api/conftest.py``), answering with a scripted OpenAI-compatible model server
(``tests/fakes``) so answers stream token by token. Each test gets a fresh browser
context (cookies and storage of its own). Chromium comes from ``apt`` via
``scripts/install-browser.sh`` (``make test`` runs it); Playwright's own browser
downloads are never used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from kenning.settings import ApiSettings, LLMSettings, Settings
from tests.api.conftest import PASSWORD, Service, running_service, serve_in_thread
from tests.fakes.openai_server import FakeOpenAIServer

CHROMIUM = Path(os.environ.get("KENNING_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SOURCE = re.compile(r'<source id="(\d+)"[^>]*>\n(.*?)\n</source>', re.DOTALL)
WORD = re.compile(r"[a-z0-9-]{3,}")


def quoting_model(request: dict[str, Any]) -> str:
    """A model that answers with the source sentence sharing most words with the
    question, cited: what a faithful LLM would say, derived from the real prompt."""
    prompt = str(request["messages"][-1]["content"])
    question = set(WORD.findall(prompt.rsplit("Question:", 1)[-1].lower()))
    best = (0, "", "")
    for number, text in SOURCE.findall(prompt):
        for sentence in re.split(r"(?<=[.!?])\s+", text.replace("\n", " ")):
            overlap = len(question & set(WORD.findall(sentence.lower())))
            if overlap > best[0]:
                best = (overlap, sentence.strip(), number)
    if not best[1]:
        return "I don't know based on the available documents."
    return f"{best[1]} [{best[2]}]"


@dataclass
class Site:
    url: str
    service: Service
    llm: FakeOpenAIServer
    shares: Path
    """The server folder that folder sources may point into (``api.source_roots``)."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("e2e")
    (base / "shares").mkdir()
    with FakeOpenAIServer(responder=quoting_model) as llm:
        settings = Settings(
            data_dir=base / "data",
            api=ApiSettings(
                rate_limit="10000/minute",
                login_rate_limit="1000/minute",
                source_roots=[base / "shares"],
            ),
            llm=LLMSettings(base_url=llm.url, max_retries=0, read_timeout_s=20),
        )
        with running_service(settings) as svc, serve_in_thread(svc.app) as url:
            yield Site(url, svc, llm, base / "shares")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run scripts/install-browser.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        # launch() gives every run a fresh temporary profile (user data dir)
        found = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield found
        found.close()


@pytest.fixture
def context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page_problems() -> list[str]:
    """Script errors and console errors of ``page``; a test expecting one removes it."""
    return []


@pytest.fixture
def page(context: BrowserContext, page_problems: list[str]) -> Iterator[Page]:
    """A page that fails the test on any script error, console error or CSP violation."""
    found = context.new_page()
    problems = page_problems
    found.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    found.on(
        "console",
        lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    yield found
    expected = [p for p in problems if "status of 40" not in p]  # 401/403/404 are tested
    assert not expected, expected


def log_in(page: Page, username: str, tenant: str = "acme") -> None:
    page.goto("/")
    page.get_by_label("Workspace (tenant)").fill(tenant)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
