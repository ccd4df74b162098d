"""Authentication and account management: logins, tokens, API keys, users, groups.

Tokens: a login returns a short-lived JWT access token (HS256, ``typ=access``) and a
refresh token (a JWT whose id is stored server-side, one use only: each refresh rotates
it, and logout or a password change revokes them all). Every request re-reads the user,
so deactivating a user or changing their groups takes effect immediately, not when the
token expires. Every change to accounts and keys is written to the audit log.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

import jwt

from kenning.auth.models import (
    ROLE_PERMISSIONS,
    ApiKey,
    Caller,
    CredentialKind,
    Permission,
    Role,
    User,
)
from kenning.auth.repository import AuthRepository
from kenning.auth.secrets import (
    hash_password,
    needs_rehash,
    new_api_key,
    secret_matches,
    split_api_key,
    verify_password,
)
from kenning.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from kenning.settings import AuthSettings

_ALGORITHM = "HS256"
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_KEY_TOUCH_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type


class AuthService:
    def __init__(self, repo: AuthRepository, settings: AuthSettings, signing_key: str) -> None:
        self.repo = repo
        self.settings = settings
        self._key = signing_key

    # -- login and tokens ----------------------------------------------------------------

    def login(self, tenant: str, username: str, password: str, *, client: str = "") -> TokenPair:
        """Tokens for valid credentials; the same work and error for every failure."""
        found = self.repo.get_user(tenant, username)
        stored_hash = found[1] if found else None
        ok = verify_password(stored_hash, password)
        if not ok or found is None or not found[0].active:
            if found is not None:
                self.repo.append_audit(tenant, username, "login.failed", client=client)
            raise AuthenticationError("invalid user name or password")
        user, stored = found
        if needs_rehash(stored):
            self.repo.update_user(tenant, username, password_hash=hash_password(password))
        self.repo.append_audit(tenant, username, "login", client=client)
        return self._issue(user)

    def refresh(self, refresh_token: str) -> TokenPair:
        claims = self._decode(refresh_token, "refresh")
        owner = self.repo.use_refresh(str(claims["jti"]))
        if owner is None:
            raise AuthenticationError("refresh token expired, used or revoked")
        user = self._active_user(*owner)
        return self._issue(user)

    def logout(self, caller: Caller) -> None:
        self.repo.revoke_refresh_for(caller.user.tenant, caller.user.username)
        self.repo.append_audit(caller.user.tenant, caller.user.username, "logout")

    def authenticate(self, credential: str) -> Caller:
        """The caller behind a bearer credential: an API key (``kn_…``) or an access token."""
        if credential.startswith("kn_"):
            return self._authenticate_key(credential)
        claims = self._decode(credential, "access")
        user = self._active_user(str(claims["ten"]), str(claims["sub"]))
        return Caller(user, CredentialKind.TOKEN, ROLE_PERMISSIONS[user.role])

    def _issue(self, user: User) -> TokenPair:
        now = int(time.time())
        access_ttl = self.settings.access_token_minutes * 60
        refresh_ttl = self.settings.refresh_token_days * 86400
        refresh_id = secrets.token_urlsafe(16)
        self.repo.insert_refresh(refresh_id, user.tenant, user.username, now + refresh_ttl)
        base = {"sub": user.username, "ten": user.tenant, "iat": now}
        access = {**base, "typ": "access", "exp": now + access_ttl, "jti": secrets.token_hex(8)}
        refresh = {**base, "typ": "refresh", "exp": now + refresh_ttl, "jti": refresh_id}
        return TokenPair(
            access_token=jwt.encode(access, self._key, algorithm=_ALGORITHM),
            refresh_token=jwt.encode(refresh, self._key, algorithm=_ALGORITHM),
            expires_in=access_ttl,
        )

    def _decode(self, token: str, kind: str) -> dict[str, object]:
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                options={"require": ["exp", "iat", "sub", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError("invalid token") from exc
        if claims.get("typ") != kind or not isinstance(claims.get("ten"), str):
            raise AuthenticationError("invalid token")
        return claims

    def _active_user(self, tenant: str, username: str) -> User:
        found = self.repo.get_user(tenant, username)
        if found is None or not found[0].active:
            raise AuthenticationError("user unknown or deactivated")
        return found[0]

    # -- API keys ------------------------------------------------------------------------

    def _authenticate_key(self, presented: str) -> Caller:
        key_id, secret = split_api_key(presented)
        found = self.repo.get_key(key_id)
        if found is None or not secret_matches(secret, found[1]):
            raise AuthenticationError("invalid API key")
        key = found[0]
        now = time.time()
        if key.revoked_at is not None:
            raise AuthenticationError("API key revoked")
        if key.expires_at <= now:
            raise AuthenticationError("API key expired")
        user = self._active_user(key.tenant, key.username)
        if key.last_used_at is None or now - key.last_used_at > _KEY_TOUCH_EVERY_S:
            self.repo.touch_key(key.id)
        permissions = ROLE_PERMISSIONS[user.role] & key.scopes
        return Caller(user, CredentialKind.API_KEY, permissions, key_id=key.id)

    def create_key(
        self,
        actor: str,
        tenant: str,
        username: str,
        *,
        name: str,
        scopes: frozenset[Permission],
        days: int,
        client: str = "",
    ) -> tuple[ApiKey, str]:
        """A new key for ``username``; the full key is returned once and never stored."""
        if not 1 <= days <= self.settings.api_key_max_days:
            raise InvalidInputError(f"expiry must be 1 to {self.settings.api_key_max_days} days")
        if not scopes:
            raise InvalidInputError("an API key needs at least one scope")
        found = self.repo.get_user(tenant, username)
        if found is None or not found[0].active:
            raise NotFoundError(f"no active user {username!r}")
        key_id, full, secret_hash = new_api_key()
        now = time.time()
        key = ApiKey(key_id, tenant, username, name, scopes, now, now + days * 86400)
        self.repo.insert_key(key, secret_hash)
        detail = {"key_id": key_id, "scopes": sorted(scopes), "days": days}
        self.repo.append_audit(tenant, actor, "api_key.create", username, detail, client)
        return key, full

    def revoke_key(self, caller: Caller, key_id: str, *, client: str = "") -> None:
        """Revoke a key of the caller's tenant: their own, or anyone's for admins."""
        found = self.repo.get_key(key_id)
        if found is None or found[0].tenant != caller.user.tenant:
            raise NotFoundError(f"no API key {key_id!r}")
        if found[0].username != caller.user.username and not caller.can(Permission.ADMIN):
            raise PermissionDeniedError("only admins may revoke other users' keys")
        self.repo.revoke_key(caller.user.tenant, key_id)
        self.repo.append_audit(
            caller.user.tenant,
            caller.user.username,
            "api_key.revoke",
            found[0].username,
            {"key_id": key_id},
            client,
        )

    # -- accounts ------------------------------------------------------------------------

    def create_user(
        self,
        actor: str,
        tenant: str,
        username: str,
        password: str,
        role: Role,
        *,
        superuser: bool = False,
        client: str = "",
    ) -> User:
        if not USERNAME.fullmatch(username):
            raise InvalidInputError("a user name is 1-64 letters, digits, '.', '-', '_' or '@'")
        user = User(tenant, username, role, superuser=superuser)
        self.repo.create_user(user, hash_password(password))
        detail = {"role": role.value, "superuser": superuser}
        self.repo.append_audit(tenant, actor, "user.create", username, detail, client)
        return user

    def update_user(
        self,
        actor: str,
        tenant: str,
        username: str,
        *,
        role: Role | None = None,
        active: bool | None = None,
        password: str | None = None,
        client: str = "",
    ) -> None:
        password_hash = hash_password(password) if password is not None else None
        self.repo.update_user(
            tenant, username, role=role, active=active, password_hash=password_hash
        )
        if password is not None or active is False:
            self.repo.revoke_refresh_for(tenant, username)
        detail = {
            "role": role.value if role else None,
            "active": active,
            "password": password is not None,
        }
        self.repo.append_audit(tenant, actor, "user.update", username, detail, client)

    def delete_user(self, actor: str, tenant: str, username: str, *, client: str = "") -> None:
        self.repo.delete_user(tenant, username)
        self.repo.append_audit(tenant, actor, "user.delete", username, client=client)
