"""The Memories page in Chromium: "remember that" in the chat shows up there; add, forget
one, forget all; another user's memories never appear."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Site, log_in


def test_remember_in_chat_then_manage_on_the_memories_page(page: Page, site: Site) -> None:
    svc = site.service
    other = svc.client.post(
        "/v1/memories", headers=svc.auth("ada"), json={"text": "I manage the Berlin team"}
    )
    assert other.status_code == 201, other.text
    log_in(page, "vic")
    page.get_by_role("link", name="Chat").click()
    page.get_by_label("Your question").fill("Remember that I work in the Lyon office")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".msg.assistant").last
    expect(answer).to_have_attribute("aria-busy", "false")
    expect(answer.locator(".answer-text")).to_have_text(
        "I'll remember that: I work in the Lyon office"
    )
    expect(answer.get_by_role("button", name="Helpful")).to_have_count(0)

    page.get_by_role("link", name="Memories").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("I work in the Lyon office")
    expect(page.get_by_text("I manage the Berlin team")).to_have_count(0)  # ada's

    page.get_by_label("Remember").fill("I prefer short answers")
    page.get_by_role("button", name="Add").click()
    expect(rows).to_have_count(2)
    page.get_by_role("button", name="Forget: I work in the Lyon office").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("I prefer short answers")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Forget everything").click()
    expect(page.get_by_text("Nothing remembered yet.")).to_be_visible()
    mine = svc.client.get("/v1/memories", headers=svc.auth("vic")).json()
    assert mine == []
    theirs = svc.client.get("/v1/memories", headers=svc.auth("ada")).json()
    assert [m["text"] for m in theirs] == ["I manage the Berlin team"]
