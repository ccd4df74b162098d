"""Who may do what: roles, permissions, API-key scopes, and the authenticated caller.

A role grants a set of permissions; an API key carries scopes, which can only narrow
its owner's role (a viewer's key with the ``write`` scope still cannot write). Every
request is made by a ``Caller``, whose ``principal`` is what retrieval filters by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kenning.types import Principal


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"
    """Search, chat, read and download documents the ACL admits; own conversations."""
    WRITE = "write"
    """Upload, sync sources, delete documents, change document ACLs."""
    ADMIN = "admin"
    """Users, groups, API keys of others, the audit log."""


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.EDITOR: frozenset({Permission.READ, Permission.WRITE}),
    Role.ADMIN: frozenset({Permission.READ, Permission.WRITE, Permission.ADMIN}),
}


@dataclass(frozen=True, slots=True)
class User:
    tenant: str
    username: str
    role: Role
    groups: frozenset[str] = frozenset()
    superuser: bool = False
    """Operates the installation: may manage tenants (a platform role, not a tenant one)."""
    active: bool = True
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: never the secret, only its hash (kept by the repository)."""

    id: str
    tenant: str
    username: str
    name: str
    scopes: frozenset[Permission]
    created_at: float
    expires_at: float
    revoked_at: float | None = None
    last_used_at: float | None = None


class CredentialKind(StrEnum):
    TOKEN = "token"  # noqa: S105 - a credential kind, not a password
    API_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request's identity and what it may do."""

    user: User
    kind: CredentialKind
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    key_id: str | None = None

    @property
    def principal(self) -> Principal:
        return Principal(
            tenant=self.user.tenant, user_id=self.user.username, groups=self.user.groups
        )

    @property
    def rate_key(self) -> str:
        """Rate limits apply per API key, and per user for token logins."""
        if self.key_id is not None:
            return f"key:{self.key_id}"
        return f"user:{self.user.tenant}:{self.user.username}"

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions
