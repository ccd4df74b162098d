"""The web UI's server side: the cookie session, security headers, the page itself,
and the passage route citations open."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kenning.web.headers import CSP
from kenning.web.session import COOKIE
from tests.api.conftest import PASSWORD, Service

CSRF = {"X-Kenning-CSRF": "1"}
LOGIN = {"tenant": "acme", "username": "vic", "password": PASSWORD}


def open_session(client: TestClient) -> str:
    response = client.post("/web/session", json=LOGIN, headers=CSRF)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_login_keeps_the_refresh_token_in_an_http_only_cookie(service: Service) -> None:
    response = service.client.post("/web/session", json=LOGIN, headers=CSRF)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}  # no refresh token
    cookie = response.headers["set-cookie"]
    for flag in ("HttpOnly", "Path=/web/session", "SameSite=strict"):
        assert flag.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http here; https sets Secure
    assert response.headers["cache-control"] == "no-store"
    me = service.client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["username"] == "vic"


def test_refresh_rotates_the_cookie_and_refuses_a_used_one(service: Service) -> None:
    client = service.client
    open_session(client)
    first = client.cookies[COOKIE]
    renewed = client.post("/web/session/refresh", headers=CSRF)
    assert renewed.status_code == 200
    assert client.cookies[COOKIE] != first
    client.cookies.clear()
    replay = client.post("/web/session/refresh", headers={**CSRF, "Cookie": f"{COOKIE}={first}"})
    assert replay.status_code == 401


def test_cookie_routes_need_the_custom_header(service: Service) -> None:
    client = service.client
    assert client.post("/web/session", json=LOGIN).status_code == 403
    open_session(client)
    refused = client.post("/web/session/refresh")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.post("/web/session/refresh").status_code == 403  # the cookie survives
    assert client.post("/web/session/refresh", headers=CSRF).status_code == 200


def test_wrong_password_and_missing_cookie_are_401(service: Service) -> None:
    client = service.client
    bad = client.post("/web/session", json={**LOGIN, "password": "nope"}, headers=CSRF)
    assert bad.status_code == 401
    assert COOKIE not in client.cookies
    assert client.post("/web/session/refresh", headers=CSRF).status_code == 401


def test_logout_revokes_the_session_and_drops_the_cookie(service: Service) -> None:
    client = service.client
    token = open_session(client)
    kept = client.cookies[COOKIE]
    out = client.delete("/web/session", headers={**CSRF, "Authorization": f"Bearer {token}"})
    assert out.status_code == 204
    assert COOKIE not in client.cookies
    again = client.post("/web/session/refresh", headers={**CSRF, "Cookie": f"{COOKIE}={kept}"})
    assert again.status_code == 401  # revoked


def test_the_page_and_its_assets_carry_the_strict_policy(service: Service) -> None:
    client = service.client
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js"></script>' in page.text
    asset = client.get("/static/js/app.js")
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    for response in (page, asset, client.get("/v1/healthz")):
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    # the OpenAPI pages load their assets from a CDN: no policy that would break them
    docs = client.get("/docs")
    assert "content-security-policy" not in docs.headers
    assert docs.headers["x-content-type-options"] == "nosniff"


def test_no_inline_script_or_style_in_the_page(service: Service) -> None:
    text = service.client.get("/").text
    assert "<script>" not in text
    assert "style=" not in text
    assert "<style" not in text


def test_passage_returns_the_cited_span_in_context_under_the_acl(service: Service) -> None:
    body = "# Travel\n\nBook trains for trips under 600 km. Flights need approval.\n"
    job = service.upload("ed", {"travel.md": body.encode()}, acl=["group:eng"])
    assert job["status"] == "done", job
    [doc] = service.client.get("/v1/documents", headers=service.auth("vic")).json()
    hits = service.client.post(
        "/v1/search", json={"query": "trains", "k": 1}, headers=service.auth("vic")
    ).json()["hits"]
    start, end = hits[0]["start"], hits[0]["end"]
    url = f"/v1/documents/{doc['id']}/passage"
    got = service.client.get(
        url, params={"start": start, "end": end, "context": 5}, headers=service.auth("vic")
    )
    assert got.status_code == 200, got.text
    passage = got.json()
    assert passage["text"] == hits[0]["text"]
    stored = service.comps.store.get_document("acme", doc["id"])
    assert stored is not None
    assert passage["before"] == stored.text[max(0, start - 5) : start]
    assert passage["after"] == stored.text[end : end + 5]
    assert passage["length"] == len(stored.text)
    assert passage["title"] == "Travel"
    # val is not in eng: the document does not exist for her
    hidden = service.client.get(
        url, params={"start": start, "end": end}, headers=service.auth("val")
    )
    assert hidden.status_code == 404
    outside = service.client.get(
        url, params={"start": 0, "end": passage["length"] + 1}, headers=service.auth("vic")
    )
    assert outside.status_code == 400
    backwards = service.client.get(url, params={"start": 5, "end": 2}, headers=service.auth("vic"))
    assert backwards.status_code == 400
