"""Every protected route rejects missing, malformed, expired, revoked and wrong-tenant
credentials with a 401 problem document; roles and key scopes limit what passes."""

from __future__ import annotations

import re
import sqlite3
import time
from contextlib import closing

import jwt
import pytest
from sqlalchemy.exc import DBAPIError

from tests.api.conftest import Service

PUBLIC = {"/healthz", "/readyz", "/v1/auth/login", "/v1/auth/refresh"}
BOTH_DATABASES = pytest.mark.databases("sqlite", "postgres")
"""The tests of what the service repositories store, also run on PostgreSQL."""


def database_dump(service: Service) -> str:
    """Every row of every table, as text, whichever database the service uses."""
    if service.comps.db.dialect == "sqlite":
        with closing(sqlite3.connect(service.settings.store_path)) as conn:
            return "\n".join(conn.iterdump())
    tables = service.comps.db.fetchall(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    assert len(tables) > 10
    return "\n".join(
        repr(row)
        for (table,) in tables
        for row in service.comps.db.fetchall(f"SELECT * FROM {table}")
    )


def protected_routes(service: Service) -> list[tuple[str, str]]:
    """Every operation the OpenAPI document lists, path parameters filled in."""
    routes = []
    for path, operations in service.app.openapi()["paths"].items():
        if path in PUBLIC:
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        routes.extend((method.upper(), concrete) for method in sorted(operations))
    return routes


def forged(service: Service, **claims: object) -> str:
    """An access token signed with the server's real key, with chosen claims."""
    now = int(time.time())
    body = {"sub": "ada", "ten": "acme", "typ": "access", "iat": now, "exp": now + 60, "jti": "t"}
    body.update(claims)
    return jwt.encode(body, service.comps.auth._key, algorithm="HS256")


def assert_401(service: Service, headers: dict[str, str]) -> None:
    routes = protected_routes(service)
    assert len(routes) > 25  # the whole API, not a handful
    for method, path in routes:
        response = service.client.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["status"] == 401


def test_missing_credentials(service: Service) -> None:
    assert_401(service, {})


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-token",
        "Basic YWRhOnB3",
        "Bearer kn_short_x",
        "Bearer kn_0123456789ab_wrongsecret",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEifQ.",  # alg=none
    ],
)
def test_malformed_credentials(service: Service, header: str) -> None:
    assert_401(service, {"Authorization": header})


def test_expired_token(service: Service) -> None:
    token = forged(service, iat=int(time.time()) - 3600, exp=int(time.time()) - 10)
    assert_401(service, {"Authorization": f"Bearer {token}"})


def test_token_signed_with_another_key(service: Service) -> None:
    now = int(time.time())
    body = {"sub": "ada", "ten": "acme", "typ": "access", "iat": now, "exp": now + 60, "jti": "t"}
    token = jwt.encode(body, "x" * 48, algorithm="HS256")
    assert_401(service, {"Authorization": f"Bearer {token}"})


def test_refresh_token_is_not_an_access_token(service: Service) -> None:
    pair = service.client.post(
        "/v1/auth/login",
        json={"tenant": "acme", "username": "vic", "password": "correct horse battery staple"},
    ).json()
    assert_401(service, {"Authorization": f"Bearer {pair['refresh_token']}"})


def test_wrong_tenant_claim(service: Service) -> None:
    # ada exists in acme, not in globex: a token naming globex must not resolve to anyone.
    assert_401(service, {"Authorization": f"Bearer {forged(service, ten='globex')}"})


@BOTH_DATABASES
def test_revoked_api_key(service: Service) -> None:
    created = service.client.post(
        "/v1/api-keys", headers=service.auth("ada"), json={"name": "ci", "scopes": ["read"]}
    ).json()
    key = {"Authorization": f"Bearer {created['key']}"}
    assert service.client.get("/v1/users/me", headers=key).status_code == 200
    revoked = service.client.delete(f"/v1/api-keys/{created['id']}", headers=service.auth("ada"))
    assert revoked.status_code == 204
    assert_401(service, key)


@BOTH_DATABASES
def test_expired_api_key(service: Service) -> None:
    created = service.client.post(
        "/v1/api-keys", headers=service.auth("ada"), json={"name": "old", "scopes": ["read"]}
    ).json()
    with service.comps.db.write() as conn:  # travel in time: the key expired a second ago
        conn.execute(
            "UPDATE api_keys SET expires_at = ? WHERE id = ?", (time.time() - 1, created["id"])
        )
    assert_401(service, {"Authorization": f"Bearer {created['key']}"})


@BOTH_DATABASES
def test_deactivated_user_is_locked_out_at_once(service: Service) -> None:
    headers = service.auth("val")
    assert service.client.get("/v1/users/me", headers=headers).status_code == 200
    patched = service.client.patch(
        "/v1/users/val", headers=service.auth("ada"), json={"active": False}
    )
    assert patched.status_code == 200
    assert service.client.get("/v1/users/me", headers=headers).status_code == 401


def test_roles_gate_routes(service: Service) -> None:
    client = service.client
    assert client.get("/v1/users", headers=service.auth("ada")).status_code == 200
    for user in ("ed", "vic"):
        denied = client.get("/v1/users", headers=service.auth(user))
        assert denied.status_code == 403
        assert denied.json()["title"] == "Forbidden"
    upload = client.post(
        "/v1/documents", headers=service.auth("vic"), files=[("files", ("a.md", b"# A\n\ntext"))]
    )
    assert upload.status_code == 403
    assert client.get("/v1/tenants", headers=service.auth("ada")).status_code == 403


@BOTH_DATABASES
def test_group_membership_changes(service: Service) -> None:
    client, admin = service.client, service.auth("ada")
    assert client.put("/v1/groups/eng/members/val", headers=admin).status_code in (200, 204)
    assert client.delete("/v1/groups/eng/members/val", headers=admin).status_code == 204
    again = client.delete("/v1/groups/eng/members/val", headers=admin)
    assert again.status_code == 404
    assert "not a member" in again.json()["detail"]
    assert client.delete("/v1/groups/eng/members/nobody", headers=admin).status_code == 404
    assert client.put("/v1/groups/nope/members/val", headers=admin).status_code == 404


def test_key_scopes_narrow_the_role(service: Service) -> None:
    created = service.client.post(
        "/v1/api-keys", headers=service.auth("ada"), json={"name": "ro", "scopes": ["read"]}
    ).json()
    key = {"Authorization": f"Bearer {created['key']}"}
    assert service.client.post("/v1/search", headers=key, json={"query": "x"}).status_code == 200
    assert service.client.get("/v1/users", headers=key).status_code == 403
    # A viewer cannot mint a key with more than the viewer has.
    escalate = service.client.post(
        "/v1/api-keys", headers=service.auth("vic"), json={"name": "x", "scopes": ["admin"]}
    )
    assert escalate.status_code == 403


@BOTH_DATABASES
def test_api_key_shown_once_and_stored_hashed(service: Service) -> None:
    created = service.client.post(
        "/v1/api-keys", headers=service.auth("vic"), json={"name": "mine"}
    ).json()
    secret = created["key"].split("_", 2)[2]
    listed = service.client.get("/v1/api-keys", headers=service.auth("vic")).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    dump = database_dump(service)
    assert "mine" in dump  # the key's row is in the dump
    assert secret not in dump
    assert created["key"] not in dump


@BOTH_DATABASES
def test_passwords_are_argon2_hashed(service: Service) -> None:
    row = service.comps.db.fetchone(
        "SELECT password_hash FROM users WHERE tenant = 'acme' AND username = 'ada'"
    )
    assert row is not None
    assert row[0].startswith("$argon2id$")


def test_login_failures_look_the_same(service: Service) -> None:
    def attempt(username: str) -> tuple[int, str]:
        r = service.client.post(
            "/v1/auth/login",
            json={"tenant": "acme", "username": username, "password": "wrong password"},
        )
        return r.status_code, r.json()["detail"]

    assert attempt("ada") == attempt("nobody-here") == (401, "invalid user name or password")


@BOTH_DATABASES
def test_refresh_rotates_and_logout_revokes(service: Service) -> None:
    client = service.client
    pair = client.post(
        "/v1/auth/login",
        json={"tenant": "acme", "username": "ed", "password": "correct horse battery staple"},
    ).json()
    fresh = client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert fresh.status_code == 200
    replay = client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert replay.status_code == 401  # one use only
    headers = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    assert client.post("/v1/auth/logout", headers=headers).status_code == 204
    after = client.post("/v1/auth/refresh", json={"refresh_token": fresh.json()["refresh_token"]})
    assert after.status_code == 401


@BOTH_DATABASES
def test_audit_log_records_and_cannot_be_rewritten(service: Service) -> None:
    service.client.post("/v1/api-keys", headers=service.auth("ed"), json={"name": "k"})
    events = service.client.get("/v1/audit", headers=service.auth("ada")).json()
    actions = [e["action"] for e in events]
    assert "login" in actions
    assert "api_key.create" in actions
    with (
        pytest.raises(DBAPIError, match="append-only"),
        service.comps.db.write() as conn,
    ):
        conn.execute("DELETE FROM audit_log")
    # Another tenant's admin sees none of it.
    theirs = service.client.get("/v1/audit", headers=service.auth("gus")).json()
    assert all(e["actor"] in ("gus", "test") for e in theirs)
