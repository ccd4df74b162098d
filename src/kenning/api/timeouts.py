"""A deadline for answering a request: 503 with Retry-After instead of a hung client.

The clock measures the server's own time, not the client's: it starts when the request
arrives and restarts with every body chunk received, so a slow 100 MB upload is not cut
off while it is still streaming in. It stops as soon as the response starts: a streamed
answer (SSE) is bounded by the LLM client's own timeouts, not by this one.

A synchronous route runs in a worker thread that Python cannot interrupt; on timeout the
client is answered and the request's task cancelled, and the thread finishes its current
step on its own. That is why the bound exists (a client never waits forever) and also why
it is generous by default (``api.request_timeout_s``, 120 s).
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kenning.api.problems import problem


class RequestTimeout:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        last_activity = time.monotonic()
        started = False

        async def receiving() -> Message:
            nonlocal last_activity
            message = await receive()
            last_activity = time.monotonic()
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receiving, sending))
        while True:
            remaining = last_activity + self.seconds - time.monotonic()
            done, _ = await asyncio.wait({task}, timeout=max(remaining, 0.0))
            if done:
                task.result()
                return
            if started:  # streaming: the response's own pace from here on
                await task
                return
            if last_activity + self.seconds <= time.monotonic():
                break
        task.cancel()
        response = problem(
            503,
            f"the request took longer than {self.seconds:g} s; try again later",
            headers={"Retry-After": "5"},
        )
        await response(scope, receive, send)
