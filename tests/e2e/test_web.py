"""The web UI in Chromium against a real server: the journeys of issue 8."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.api.conftest import PASSWORD
from tests.e2e.conftest import Site, log_in
from tests.fakes.openai_server import Reply

HANDBOOK = """# Leave policy

## Annual leave

Full-time employees receive 27 days of paid vacation per year. Unused vacation days
carry over until the end of March of the following year.

## Parental leave

Parents may take up to 16 weeks of paid parental leave within the first year.
"""

XSS = (
    '<img src=x onerror="window.__xss=\'title\'">\n\n'
    "The HX-900 reset code is 4711 <script>window.__xss='script'</script> and the"
    ' <img src=x onerror="window.__xss=\'img\'"> reset takes five seconds.\n'
)


def test_upload_ask_stream_cite_and_feedback(page: Page, site: Site, tmp_path: Path) -> None:
    handbook = tmp_path / "leave-policy.md"
    handbook.write_text(HANDBOOK)
    log_in(page, "ed")
    page.get_by_role("link", name="Documents").click()
    page.get_by_label("Files").set_input_files(handbook)
    page.get_by_role("button", name="Upload").click()
    row = page.locator(".uploads li", has_text="leave-policy.md")
    expect(row.locator(".status")).to_have_text(re.compile(r"^done: added 1"), timeout=60_000)
    expect(row.get_by_role("progressbar")).to_have_attribute("value", "1")
    expect(page.get_by_role("row", name=re.compile("Leave policy"))).to_be_visible()

    # the model streams its answer in small, spaced chunks: the page must show it growing
    sentence = "Full-time employees receive 27 days of paid vacation per year. [1]"
    site.llm.enqueue(Reply(sentence, chunk_size=6, delay_between_chunks=0.05))
    page.get_by_role("link", name="Chat").click()
    page.evaluate(
        """() => {
          window.__partials = [];
          new MutationObserver(() => {
            const busy = document.querySelector('.msg.assistant[aria-busy="true"] .answer-text');
            if (busy && busy.textContent) window.__partials.push(busy.textContent.length);
          }).observe(document.querySelector('.log'), {subtree: true, childList: true,
                                                     characterData: true});
        }"""
    )
    page.get_by_label("Your question").fill("How many vacation days do employees get?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".msg.assistant").last
    expect(answer).to_have_attribute("aria-busy", "false")
    expect(answer.locator(".answer-text")).to_contain_text("27 days of paid vacation")
    partials = page.evaluate("window.__partials")
    assert len(set(partials)) >= 3, partials  # several lengths seen before the end

    answer.get_by_role("button", name="Source 1: Leave policy").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text("[1] Leave policy")
    expect(dialog).to_contain_text("Annual leave")  # the section
    expect(dialog.locator("mark")).to_contain_text("27 days of paid vacation")
    expect(dialog.locator(".excerpt")).to_have_attribute("aria-busy", "false")
    expect(dialog.locator(".hint")).to_have_text("")  # offsets matched the document
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    answer.get_by_role("button", name="Not helpful").click()
    expect(answer.get_by_role("status")).to_have_text("Thanks, feedback recorded.")
    answer.get_by_label("Comment (optional)").fill("Please mention part-time staff.")
    answer.get_by_role("button", name="Send comment").click()
    expect(answer.get_by_role("status")).to_have_text("Thanks, comment recorded.")
    rows = site.service.comps.db.fetchall(
        "SELECT f.rating, f.comment, a.question FROM feedback f JOIN answers a"
        " ON a.id = f.answer_id WHERE f.username = 'ed'"
    )
    assert [tuple(r) for r in rows] == [
        (-1, "Please mention part-time staff.", "How many vacation days do employees get?")
    ]

    # the conversation is listed, and reopening it shows both messages
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".msg")).to_have_count(0)
    page.get_by_role("button", name="How many vacation days do employees get?", exact=True).click()
    expect(page.locator(".msg.user")).to_have_text("How many vacation days do employees get?")
    expect(page.locator(".msg.assistant .answer-text")).to_contain_text("27 days")
