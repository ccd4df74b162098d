"""One exception tree for Kenning; the API maps it to HTTP statuses in one place.

KenningError
├── InvalidInputError          the caller sent something unusable (400)
│   ├── UnsupportedFormatError a file type no parser handles
│   ├── FileTooLargeError      over the configured size limit
│   └── InvalidFilterError     a filter that does not fit the grammar
├── ParseError                 a file that claims a format but cannot be read
│   └── EncryptedFileError     password-protected
├── NotFoundError              no such document / resource (404)
├── ConflictError              the resource already exists or changed meanwhile (409)
├── AuthenticationError        missing, malformed, expired or revoked credentials (401)
├── PermissionDeniedError      authenticated, but the role or scope does not allow it (403)
├── RateLimitedError           too many requests; carries retry_after seconds (429)
├── StoreError                 the store is unusable (corrupt, wrong schema)
├── FetchError                 a URL could not be fetched (network, HTTP status) (502)
├── ModelError                 an embedding or generation model failed
│   └── RemoteModelError       an OpenAI-compatible server answered badly or not at all
├── ToolError                  an agent tool failed; its message goes back to the model (502)
│   ├── ToolTimeoutError       an attempt took longer than the tool's timeout
│   └── CircuitOpenError       the tool failed repeatedly and is not called for a while
└── ConfigurationError         settings that cannot work (missing extra, bad path)
"""

from __future__ import annotations


class KenningError(Exception):
    """Base of every error Kenning raises on purpose."""


class InvalidInputError(KenningError):
    pass


class UnsupportedFormatError(InvalidInputError):
    pass


class FileTooLargeError(InvalidInputError):
    pass


class InvalidFilterError(InvalidInputError):
    pass


class ParseError(KenningError):
    pass


class EncryptedFileError(ParseError):
    pass


class NotFoundError(KenningError):
    pass


class ConflictError(KenningError):
    pass


class AuthenticationError(KenningError):
    pass


class PermissionDeniedError(KenningError):
    pass


class RateLimitedError(KenningError):
    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreError(KenningError):
    pass


class FetchError(KenningError):
    pass


class ModelError(KenningError):
    pass


class RemoteModelError(ModelError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ToolError(KenningError):
    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
        """Worth another attempt (connection, timeout, HTTP 5xx/429)."""


class ToolTimeoutError(ToolError):
    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


class CircuitOpenError(ToolError):
    pass


class ConfigurationError(KenningError):
    pass
