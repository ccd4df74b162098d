"""Screenshots of the web UI's main pages for docs/screenshots/ (docs/web.md, README).

Starts a real Kenning server on loopback over a temporary data directory holding the
sample documents of examples/ (extractive answers: no model server needed), a few
accounts and groups, then drives Debian's Chromium with Playwright through the pages.
The dashboard's report endpoint is answered from SAMPLE_REPORT below by Playwright's
request interception — sample data for the picture, in this script only, never in the
product.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, Route, expect, sync_playwright

from kenning.api.app import create_app
from kenning.auth.models import Permission, Role
from kenning.settings import Settings
from kenning.types import Acl
from kenning.wiring import Components

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("KENNING_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "screenshots-only-password"
QUESTION = "What does error E04 mean on the HX-200?"


def sample_report(days: int = 7) -> dict[str, object]:
    """Plausible numbers for the 7-day window in the GET /v1/report shape (notes: report_api)."""
    today = datetime.now(UTC).date()
    daily = []
    for i in range(days):
        day = today - timedelta(days=days - 1 - i)
        wave = math.sin(i / 2.0)
        questions = 18 + 4 * i + int(6 * wave)
        daily.append(
            {
                "day": day.isoformat(),
                "questions": questions,
                "deflection_rate": round(0.62 + 0.012 * i + 0.03 * wave, 3),
                "groundedness_mean": round(0.78 + 0.006 * i - 0.02 * wave, 3),
                "latency_ms_p50": round(880 - 18 * i + 60 * wave, 1),
                "cost": round(questions * 0.0011, 4),
                "negative_feedback_rate": round(max(0.0, 0.16 - 0.006 * i + 0.03 * wave), 3),
                "abstention_rate": round(max(0.0, 0.12 - 0.004 * i), 3),
            }
        )
    questions = sum(int(d["questions"]) for d in daily)  # type: ignore[call-overload]
    now = time.time()
    return {
        "tenant": "default",
        "since": now - days * 86400,
        "until": now,
        "questions": questions,
        "answered": int(questions * 0.9),
        "abstained": int(questions * 0.1),
        "extractive": int(questions * 0.25),
        "llm": int(questions * 0.65),
        "escalations": 23,
        "deflected": int(questions * 0.7),
        "deflection_rate": 0.7,
        "feedback": {"up": 141, "down": 19, "comments": 12},
        "negative_feedback_rate": 0.119,
        "groundedness_mean": 0.82,
        "latency_ms_p50": 760.0,
        "latency_ms_p95": 2140.0,
        "tokens_in": 1_480_000,
        "tokens_out": 212_000,
        "cost_total": round(questions * 0.0011, 4),
        "cost_per_answer": 0.0011,
        "minutes_saved": int(questions * 0.7) * 8.0,
        "daily": daily,
    }


@contextmanager
def server(data_dir: Path) -> Iterator[tuple[str, Components]]:
    settings = Settings(data_dir=data_dir)
    app = create_app(settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app.state.components
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def seed(comps: Components) -> None:
    auth, repo = comps.auth, comps.auth.repo
    repo.ensure_tenant("default")
    for name, role in (
        ("ada", Role.ADMIN),
        ("ed", Role.EDITOR),
        ("vic", Role.VIEWER),
        ("mira", Role.VIEWER),
    ):
        auth.create_user("screenshots", "default", name, PASSWORD, role)
    for group, members in (("support", ["vic", "mira"]), ("hr", ["ed"])):
        repo.create_group("default", group)
        for member in members:
            repo.set_membership("default", group, member, True)
    comps.indexer.ingest_paths(
        [ROOT / "examples" / "support", ROOT / "examples" / "release-notes.txt"], tenant="default"
    )
    comps.indexer.ingest_paths(
        [ROOT / "examples" / "handbook"],
        tenant="default",
        acl=Acl(public=False, groups=frozenset({"hr"})),
    )
    auth.create_key(
        "ada",
        "default",
        "ed",
        name="ci-sync",
        scopes=frozenset({Permission.READ, Permission.WRITE}),
        days=90,
    )


def log_in(page: Page, username: str) -> None:
    page.goto("/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def shoot(page: Page, out: Path, name: str) -> None:
    page.wait_for_timeout(150)  # let focus rings and transitions settle
    page.screenshot(path=out / f"{name}.png", full_page=False)
    print("wrote", out / f"{name}.png")


def pages(base: str, out: Path) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(
            base_url=base, viewport={"width": 1280, "height": 800}, device_scale_factor=1
        )
        page = ctx.new_page()
        page.goto("/")
        page.get_by_label("User name").fill("ada")
        shoot(page, out, "login")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        for question in ("How long is the warranty on the HX-200?", QUESTION):
            page.get_by_label("Your question").fill(question)
            page.get_by_role("button", name="Ask").click()
            expect(page.locator('.msg.assistant[aria-busy="false"]')).to_have_count(
                1 if question != QUESTION else 2, timeout=60_000
            )
        answer = page.locator(".msg.assistant").last
        answer.get_by_role("button", name="Helpful", exact=True).click()
        page.locator("#main").evaluate("m => window.scrollTo(0, document.body.scrollHeight)")
        shoot(page, out, "chat")
        answer.locator("button.cite").first.click()
        expect(page.locator("dialog .excerpt")).to_have_attribute("aria-busy", "false")
        shoot(page, out, "citation")
        page.keyboard.press("Escape")

        page.get_by_role("link", name="Documents").click()
        expect(page.get_by_role("heading", name="Indexed documents")).to_be_visible()
        page.get_by_label("Files").set_input_files(
            [ROOT / "examples" / "support" / "faq.md", ROOT / "README.md"]
        )
        page.get_by_role("button", name="Upload").click()
        expect(page.locator(".uploads .status.ok")).to_have_count(2, timeout=60_000)
        shoot(page, out, "documents")

        page.get_by_role("link", name="Users & groups").click()
        expect(page.locator(".groups h3").first).to_be_visible()
        shoot(page, out, "users")

        page.get_by_role("link", name="API keys").click()
        page.get_by_label("Name", exact=True).fill("grafana-export")
        page.get_by_role("button", name="Create key").click()
        expect(page.get_by_role("dialog")).to_be_visible()
        shoot(page, out, "api-key-created")
        page.keyboard.press("Escape")

        report = sample_report()

        def fulfil(route: Route) -> None:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(report))

        page.route("**/v1/report*", fulfil)
        page.get_by_role("link", name="Dashboard").click()
        expect(page.locator(".tile")).to_have_count(8)
        page.set_viewport_size({"width": 1280, "height": 1200})
        shoot(page, out, "dashboard")

        phone = browser.new_context(
            base_url=base,
            viewport={"width": 390, "height": 844},
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
        )
        mobile = phone.new_page()
        log_in(mobile, "vic")
        mobile.get_by_label("Your question").fill("What are the support hours?")
        mobile.get_by_role("button", name="Ask").click()
        expect(mobile.locator('.msg.assistant[aria-busy="false"]')).to_have_count(1, timeout=60_000)
        shoot(mobile, out, "chat-phone")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp) / "data") as (base, comps):
        seed(comps)
        pages(base, args.out)


if __name__ == "__main__":
    main()
