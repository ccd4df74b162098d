"""The web UI in Chromium against a real server: the journeys of issue 8."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

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
    "<img src=x onerror=\"window.__xss='title'\">\n\n"
    "The HX-900 reset code is 4711 <script>window.__xss='script'</script> and the"
    " <img src=x onerror=\"window.__xss='img'\"> reset takes five seconds.\n"
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
    expect(page.get_by_role("log")).to_be_attached()
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


def test_markup_in_documents_and_answers_stays_text(
    page: Page, site: Site, page_problems: list[str]
) -> None:
    """A document whose title, text and (quoted) answer carry <script> and <img onerror>:
    shown literally in the chat, the citation and the document list, never run."""
    job = site.service.upload("ed", {"hx900-notes.txt": XSS.encode()})
    assert job["status"] == "done", job
    log_in(page, "ed")
    page.get_by_label("Your question").fill("What is the HX-900 reset code?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".msg.assistant").last
    expect(answer).to_have_attribute("aria-busy", "false")
    expect(answer.locator(".answer-text")).to_contain_text("<script>window.__xss='script'</script>")
    answer.locator("button.cite").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_contain_text("<img src=x onerror=")
    expect(dialog.locator(".excerpt")).to_contain_text(
        """<img src=x onerror="window.__xss='img'">"""
    )
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Documents").click()
    expect(page.get_by_role("rowheader", name=re.compile("<img src=x"))).to_be_visible()

    assert page.evaluate("window.__xss") is None
    assert page.locator("main img, dialog img, main script").count() == 0
    # and the policy itself refuses inline script, should any ever be injected
    assert page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__inline = 1'; document.body.append(s);
                   return window.__inline === undefined; }"""
    )
    blocked = [p for p in page_problems if "Content Security Policy" in p]
    assert len(blocked) == 1, page_problems  # that one, and nothing else was blocked
    page_problems.remove(blocked[0])


def test_security_headers_and_session_cookie(page: Page, site: Site) -> None:
    response = httpx.get(site.url + "/")
    csp = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(site.url + "/v1/healthz").headers["x-frame-options"] == "DENY"

    log_in(page, "vic")
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
        "kenning_refresh",
        True,
        "Strict",
        "/web/session",
    )
    assert page.evaluate("document.cookie") == ""  # the refresh token is out of script's reach
    assert page.evaluate("JSON.stringify({...localStorage, ...sessionStorage})") == "{}"
    # a reload resumes the session through the cookie alone
    page.reload()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    # without the custom header (what a cross-site form would send) the cookie is refused
    status = page.evaluate("fetch('/web/session/refresh', {method: 'POST'}).then(r => r.status)")
    assert status == 403
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.context.cookies() == []
    page.reload()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_viewer_cannot_reach_admin_pages_or_their_api(page: Page, site: Site) -> None:
    log_in(page, "vic")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Chat", "Memories"])
    for route, role in (
        ("documents", "editor"),
        ("users", "admin"),
        ("keys", "admin"),
        ("dashboard", "admin"),
    ):
        page.goto(f"/#/{route}")
        expect(page.get_by_role("alert")).to_have_text(f"This page needs the {role} role.")
        expect(page.locator("main table, main form")).to_have_count(0)
    # the API behind those pages refuses the viewer's own session token
    statuses = page.evaluate(
        """async () => {
          const s = await fetch('/web/session/refresh', {method: 'POST',
                                headers: {'X-Kenning-CSRF': '1'}}).then(r => r.json());
          const auth = {headers: {Authorization: 'Bearer ' + s.access_token}};
          const out = {};
          for (const path of ['/v1/users', '/v1/groups', '/v1/jobs', '/v1/sources', '/v1/audit'])
            out[path] = (await fetch(path, auth)).status;
          out.upload = (await fetch('/v1/documents', {method: 'POST', ...auth,
                                     body: new FormData()})).status;
          return out;
        }"""
    )
    assert statuses == {
        "/v1/users": 403,
        "/v1/groups": 403,
        "/v1/jobs": 403,
        "/v1/sources": 403,
        "/v1/audit": 403,
        "upload": 403,
    }


def test_admin_manages_access_users_and_keys(page: Page, site: Site) -> None:
    job = site.service.upload("ada", {"salaries.md": b"# Salaries\n\nBands are reviewed in May.\n"})
    assert job["status"] == "done", job
    log_in(page, "ada")
    page.get_by_role("link", name="Documents").click()
    page.get_by_role("button", name="Access to Salaries").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Everyone in the workspace").uncheck()
    dialog.get_by_label("Users").fill("ada")  # ACLs bind admins too: keep access
    dialog.get_by_label("Groups").fill("eng")
    dialog.get_by_role("button", name="Save access").click()
    expect(page.get_by_role("row", name=re.compile("Salaries"))).to_contain_text(
        "user:ada, group:eng"
    )
    svc = site.service
    titles = {
        user: {d["title"] for d in svc.client.get("/v1/documents", headers=svc.auth(user)).json()}
        for user in ("vic", "val")
    }
    assert "Salaries" in titles["vic"]
    assert "Salaries" not in titles["val"]

    page.get_by_role("button", name="Delete Salaries").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("row", name=re.compile("Salaries"))).to_have_count(0)
    listed = svc.client.get("/v1/documents", headers=svc.auth("ada")).json()
    assert "Salaries" not in {d["title"] for d in listed}

    page.get_by_role("link", name="Users & groups").click()
    expect(page.get_by_role("heading", name="Users & groups")).to_be_visible()
    page.get_by_label("User name").fill("nora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Role", exact=True).select_option("editor")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("row", name=re.compile("^nora"))).to_be_visible()
    page.get_by_label("User to add to eng").select_option("nora")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator(".groups li", has_text="eng").locator(".members")).to_contain_text("nora")
    nora = svc.client.get("/v1/users/nora", headers=svc.auth("ada")).json()
    assert (nora["role"], nora["groups"]) == ("editor", ["eng"])

    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("nightly-export")
    page.get_by_label("Owner").fill("nora")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_role("dialog").get_by_label("API key").input_value()
    page.keyboard.press("Escape")
    assert key.startswith("kn_")
    me = httpx.get(site.url + "/v1/users/me", headers={"Authorization": f"Bearer {key}"})
    assert me.json()["username"] == "nora"
    expect(page.get_by_role("row", name=re.compile("nightly-export"))).to_be_visible()
    assert key not in page.content()  # shown once: gone with its dialog


def test_dashboard_draws_the_report_or_explains_its_absence(page: Page, site: Site) -> None:
    svc = site.service
    available = svc.client.get("/v1/report", headers=svc.auth("ada")).status_code == 200
    log_in(page, "ada")
    page.get_by_role("link", name="Dashboard").click()
    if available:  # once the observability branch is merged
        expect(page.locator(".tile")).to_have_count(8)
    else:
        expect(page.locator(".dashboard .notice")).to_contain_text("not available on this server")


def test_keyboard_only_on_a_phone_sized_screen(browser: Browser, site: Site) -> None:
    job = site.service.upload("ed", {"leave-policy.md": HANDBOOK.encode()})  # same as above
    assert job["status"] == "done", job
    ctx = browser.new_context(base_url=site.url, viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    try:
        page.goto("/")
        expect(page.get_by_label("User name")).to_be_focused()
        page.keyboard.press("Shift+Tab")
        expect(page.get_by_label("Workspace (tenant)")).to_be_focused()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.type("acme")
        page.keyboard.press("Tab")
        page.keyboard.type("val")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")  # submits the form
        question = page.get_by_label("Your question")
        expect(question).to_be_focused()
        page.keyboard.type("How many vacation days do employees get?")
        page.keyboard.press("Enter")
        answer = page.locator(".msg.assistant").last
        expect(answer).to_have_attribute("aria-busy", "false")
        expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")
        answer.locator("button.cite").first.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog")
        expect(dialog.locator("mark")).to_be_visible()
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        for route in ("chat",):
            page.goto(f"/#/{route}")
            expect(page.locator(".conversations li").first).to_be_visible()
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{route} scrolls sideways by {overflow}px"
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea, button')]
                 .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                               && !el.textContent.trim()).map(el => el.outerHTML)"""
        )
        assert unlabelled == []
    finally:
        ctx.close()


def test_folder_source_synced_and_removed(page: Page, site: Site) -> None:
    folder = site.shares / "policies"
    folder.mkdir()
    (folder / "travel.md").write_text("# Travel\n\nTrains for trips under 600 km.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    log_in(page, "ed")
    page.get_by_role("link", name="Documents").click()
    page.get_by_label("Folder or URL").fill(str(folder))
    page.get_by_role("button", name="Add source").click()
    page.get_by_role("button", name=f"Sync {folder}").click()
    row = page.get_by_role("row", name=re.compile("policies"))
    # one file indexed, the other reported with its reason: per-file errors
    expect(row.locator(".status")).to_contain_text("broken.pdf:", timeout=60_000)
    expect(row.locator(".status")).to_contain_text("added 1")
    expect(page.get_by_role("rowheader", name="Travel")).to_be_visible()
    page.get_by_role("button", name=f"Remove source {folder}").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    expect(page.get_by_role("rowheader", name="Travel")).to_have_count(0)
    svc = site.service
    assert svc.client.get("/v1/sources", headers=svc.auth("ed")).json() == []
