"""Request body size limits, enforced while the body streams in.

A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked
body is counted as it arrives and cut off at the limit. Either way the client gets a 413
problem document and nothing is stored: uploads are written to a temporary file first
and only moved into place once complete.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kenning.api.problems import problem


class BodySizeLimit:
    def __init__(
        self, app: ASGIApp, *, default: int, uploads: int, upload_paths: tuple[str, ...]
    ) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope)
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = problem(413, f"request body over the limit of {limit:,} bytes")
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException passes through FastAPI's body parsing unchanged.
                    raise HTTPException(413, f"request body over the limit of {limit:,} bytes")
            return message

        await self.app(scope, counted, send)

    def _limit_for(self, scope: Scope) -> int:
        path = str(scope.get("path", ""))
        if scope.get("method") in ("POST", "PUT") and path in self.upload_paths:
            return self.uploads
        return self.default
