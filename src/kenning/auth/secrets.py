"""Password hashing (argon2id), API-key secrets and the token-signing secret.

- Passwords: argon2id via argon2-cffi with its RFC 9106 low-memory profile; hashes are
  re-computed on login when the parameters change (``needs_rehash``).
- API keys: ``kn_<id>_<secret>`` with a 256-bit random secret. Only SHA-256 of the secret
  is stored: a slow hash protects low-entropy passwords, a 256-bit secret cannot be
  brute-forced, and keys are checked on every request, so a fast hash is right here.
- Unknown users: login verifies against a dummy hash so it takes as long as for a known
  user, and timing does not reveal which user names exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kenning.errors import AuthenticationError, ConfigurationError

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("kenning: constant-time work for unknown users")
KEY_PREFIX = "kn"
MIN_PASSWORD_LENGTH = 10
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "kenning", "password"})


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        from kenning.errors import InvalidInputError

        raise InvalidInputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; with no stored hash, burns the same time and fails."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


def new_api_key() -> tuple[str, str, str]:
    """A fresh key: ``(key_id, full key shown once, hash of the secret to store)``."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secret}", hash_secret(secret)


def split_api_key(key: str) -> tuple[str, str]:
    """``(key_id, secret)`` of a presented key; ``AuthenticationError`` if malformed."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or len(key_id) != 12 or not secret:
        raise AuthenticationError("malformed API key")
    return key_id, secret


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def signing_secret(configured: str | None, data_dir: Path) -> str:
    """The JWT secret: the configured one (never a placeholder), else one kept on disk."""
    if configured is not None:
        if configured.lower() in PLACEHOLDER_SECRETS or len(configured) < 32:
            raise ConfigurationError(
                "KENNING_AUTH__JWT_SECRET must be a random string of at least 32 characters"
            )
        return configured
    path = data_dir / "secrets" / "jwt.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f"jwt.key.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        # A concurrent first start may have won the race; keep whichever landed first.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
