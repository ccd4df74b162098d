"""Persistence of tenants, users, groups, API keys, refresh tokens and the audit log.

Plain, portable SQL over ``SqlDatabase`` (SQLite or PostgreSQL). The audit table is
append-only in the schema itself: triggers abort any UPDATE or DELETE.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kenning.auth.models import ApiKey, Permission, Role, User
from kenning.db.engine import IntegrityError, SqlDatabase
from kenning.errors import ConflictError, NotFoundError


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    at: float
    tenant: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    client: str


class AuthRepository:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    # -- tenants -------------------------------------------------------------------------

    def create_tenant(self, tenant_id: str, name: str) -> float:
        """Create a tenant; returns its creation time."""
        created_at = time.time()
        with self.db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)",
                    (tenant_id, name, created_at),
                )
            except IntegrityError as exc:
                raise ConflictError(f"tenant {tenant_id!r} already exists") from exc
        return created_at

    def ensure_tenant(self, tenant_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (tenant_id, tenant_id, time.time()),
            )

    def list_tenants(self) -> list[tuple[str, str, float]]:
        rows = self.db.fetchall("SELECT id, name, created_at FROM tenants ORDER BY id")
        return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]

    def tenant_exists(self, tenant_id: str) -> bool:
        return self.db.fetchone("SELECT 1 FROM tenants WHERE id = ?", (tenant_id,)) is not None

    # -- users ---------------------------------------------------------------------------

    def create_user(self, user: User, password_hash: str) -> None:
        with self.db.write() as conn:
            if (
                conn.execute("SELECT 1 FROM tenants WHERE id = ?", (user.tenant,)).fetchone()
                is None
            ):
                raise NotFoundError(f"no tenant {user.tenant!r}")
            try:
                conn.execute(
                    "INSERT INTO users (tenant, username, password_hash, role, superuser, active,"
                    " created_at) VALUES (?, ?, ?, ?, ?, 1, ?)",
                    (
                        user.tenant,
                        user.username,
                        password_hash,
                        user.role.value,
                        int(user.superuser),
                        time.time(),
                    ),
                )
            except IntegrityError as exc:
                raise ConflictError(f"user {user.username!r} already exists") from exc

    def get_user(self, tenant: str, username: str) -> tuple[User, str] | None:
        """The user with their groups, and their password hash; None if unknown."""
        row = self.db.fetchone(
            "SELECT role, superuser, active, created_at, password_hash FROM users"
            " WHERE tenant = ? AND username = ?",
            (tenant, username),
        )
        if row is None:
            return None
        groups = self._groups_of(tenant, username)
        user = User(tenant, username, Role(row[0]), groups, bool(row[1]), bool(row[2]), row[3])
        return user, str(row[4])

    def list_users(self, tenant: str) -> list[User]:
        rows = self.db.fetchall(
            "SELECT username, role, superuser, active, created_at FROM users WHERE tenant = ?"
            " ORDER BY username",
            (tenant,),
        )
        members = self._memberships(tenant)
        return [
            User(
                tenant,
                r[0],
                Role(r[1]),
                members.get(r[0], frozenset()),
                bool(r[2]),
                bool(r[3]),
                r[4],
            )
            for r in rows
        ]

    def update_user(
        self,
        tenant: str,
        username: str,
        *,
        role: Role | None = None,
        active: bool | None = None,
        password_hash: str | None = None,
    ) -> None:
        sets: list[str] = []
        params: list[object] = []
        for column, value in (("role", role), ("active", active), ("password_hash", password_hash)):
            if value is not None:
                sets.append(f"{column} = ?")
                # Booleans as 0/1: the columns are integers on SQLite and PostgreSQL alike.
                params.append(
                    value.value
                    if isinstance(value, Role)
                    else int(value)
                    if isinstance(value, bool)
                    else value
                )
        if not sets:
            return
        with self.db.write() as conn:
            cursor = conn.execute(
                f"UPDATE users SET {', '.join(sets)} WHERE tenant = ? AND username = ?",
                [*params, tenant, username],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no user {username!r}")

    def delete_user(self, tenant: str, username: str) -> None:
        with self.db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM users WHERE tenant = ? AND username = ?", (tenant, username)
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no user {username!r}")
            # a new account of the same name must not inherit what this person told Kenning
            conn.execute(
                "DELETE FROM memories WHERE tenant = ? AND username = ?", (tenant, username)
            )

    # -- groups --------------------------------------------------------------------------

    def create_group(self, tenant: str, name: str) -> None:
        with self.db.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO groups (tenant, name, created_at) VALUES (?, ?, ?)",
                    (tenant, name, time.time()),
                )
            except IntegrityError as exc:
                raise ConflictError(f"group {name!r} already exists") from exc

    def list_groups(self, tenant: str) -> dict[str, list[str]]:
        """Group name → member user names."""
        groups: dict[str, list[str]] = {
            r[0]: []
            for r in self.db.fetchall(
                "SELECT name FROM groups WHERE tenant = ? ORDER BY name", (tenant,)
            )
        }
        for username, group in self.db.fetchall(
            "SELECT username, group_name FROM memberships WHERE tenant = ? ORDER BY username",
            (tenant,),
        ):
            groups.setdefault(group, []).append(username)
        return groups

    def delete_group(self, tenant: str, name: str) -> None:
        with self.db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM groups WHERE tenant = ? AND name = ?", (tenant, name)
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no group {name!r}")

    def set_membership(self, tenant: str, group: str, username: str, member: bool) -> None:
        with self.db.write() as conn:
            if member:
                if (
                    conn.execute(
                        "SELECT 1 FROM groups WHERE tenant = ? AND name = ?", (tenant, group)
                    ).fetchone()
                    is None
                ):
                    raise NotFoundError(f"no group {group!r}")
                if (
                    conn.execute(
                        "SELECT 1 FROM users WHERE tenant = ? AND username = ?", (tenant, username)
                    ).fetchone()
                    is None
                ):
                    raise NotFoundError(f"no user {username!r}")
                conn.execute(
                    "INSERT INTO memberships (tenant, username, group_name) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (tenant, username, group),
                )
            else:
                removed = conn.execute(
                    "DELETE FROM memberships WHERE tenant = ? AND username = ? AND group_name = ?",
                    (tenant, username, group),
                ).rowcount
                if removed == 0:
                    raise NotFoundError(f"{username!r} is not a member of group {group!r}")

    def _groups_of(self, tenant: str, username: str) -> frozenset[str]:
        rows = self.db.fetchall(
            "SELECT group_name FROM memberships WHERE tenant = ? AND username = ?",
            (tenant, username),
        )
        return frozenset(r[0] for r in rows)

    def _memberships(self, tenant: str) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {}
        for username, group in self.db.fetchall(
            "SELECT username, group_name FROM memberships WHERE tenant = ?", (tenant,)
        ):
            found.setdefault(username, set()).add(group)
        return {u: frozenset(g) for u, g in found.items()}

    # -- API keys ------------------------------------------------------------------------

    def insert_key(self, key: ApiKey, secret_hash: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, tenant, username, name, secret_hash, scopes, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.id,
                    key.tenant,
                    key.username,
                    key.name,
                    secret_hash,
                    json.dumps(sorted(key.scopes)),
                    key.created_at,
                    key.expires_at,
                ),
            )

    def get_key(self, key_id: str) -> tuple[ApiKey, str] | None:
        row = self.db.fetchone(
            f"SELECT {_KEY_COLUMNS}, secret_hash FROM api_keys WHERE id = ?", (key_id,)
        )
        return None if row is None else (_key(row), str(row[-1]))

    def list_keys(self, tenant: str, username: str | None = None) -> list[ApiKey]:
        sql = f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE tenant = ?"
        params: list[str] = [tenant]
        if username is not None:
            sql += " AND username = ?"
            params.append(username)
        return [_key(r) for r in self.db.fetchall(sql + " ORDER BY created_at", params)]

    def revoke_key(self, tenant: str, key_id: str) -> None:
        with self.db.write() as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?)"
                " WHERE id = ? AND tenant = ?",
                (time.time(), key_id, tenant),
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no API key {key_id!r}")

    def touch_key(self, key_id: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (time.time(), key_id))

    # -- refresh tokens ------------------------------------------------------------------

    def insert_refresh(self, token_id: str, tenant: str, username: str, expires_at: float) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO refresh_tokens (id, tenant, username, expires_at) VALUES (?, ?, ?, ?)",
                (token_id, tenant, username, expires_at),
            )

    def use_refresh(self, token_id: str) -> tuple[str, str] | None:
        """Revoke a live refresh token and return its (tenant, user); None if not live.

        One use only (rotation): a stolen token replayed after the owner used it fails.
        """
        with self.db.write() as conn:
            row = conn.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
                " AND expires_at > ? RETURNING tenant, username",
                (time.time(), token_id, time.time()),
            ).fetchone()
        if row is None:
            return None
        tenant, username = tuple(row)
        return str(tenant), str(username)

    def revoke_refresh_for(self, tenant: str, username: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE tenant = ? AND username = ?"
                " AND revoked_at IS NULL",
                (time.time(), tenant, username),
            )

    # -- audit ---------------------------------------------------------------------------

    def append_audit(
        self,
        tenant: str,
        actor: str,
        action: str,
        target: str = "",
        detail: dict[str, Any] | None = None,
        client: str = "",
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO audit_log (at, tenant, actor, action, target, detail, client)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), tenant, actor, action, target, json.dumps(detail or {}), client),
            )

    def audit_events(
        self, tenant: str, *, after_id: int = 0, limit: int = 100, actions: Sequence[str] = ()
    ) -> list[AuditEvent]:
        sql = "SELECT id, at, tenant, actor, action, target, detail, client FROM audit_log"
        sql += " WHERE tenant = ? AND id > ?"
        params: list[object] = [tenant, after_id]
        if actions:
            sql += f" AND action IN ({','.join('?' * len(actions))})"
            params += list(actions)
        rows = self.db.fetchall(sql + " ORDER BY id LIMIT ?", [*params, limit])
        return [
            AuditEvent(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7]) for r in rows
        ]


_KEY_COLUMNS = (
    "id, tenant, username, name, scopes, created_at, expires_at, revoked_at, last_used_at"
)


def _key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        id=row[0],
        tenant=row[1],
        username=row[2],
        name=row[3],
        scopes=frozenset(Permission(s) for s in json.loads(row[4])),
        created_at=row[5],
        expires_at=row[6],
        revoked_at=row[7],
        last_used_at=row[8],
    )
