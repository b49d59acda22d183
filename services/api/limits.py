"""Limits on one request: its body size (pure ASGI middleware that counts the bytes actually
received) and its time (`within_budget`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, error_bytes

logger = logging.getLogger(__name__)
T = TypeVar("T")


class BodySizeLimit:
    """Answer 413 once a request body passes `max_bytes`, whether or not Content-Length is sent.

    A declared Content-Length over the limit is refused before reading anything. Otherwise the body
    is read (never more than the limit plus one message) and then replayed to the app, so the app
    never starts on a body that turns out too large, and the 413 goes out before any response."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(send, 400, "The Content-Length header is not a number.")
                return
            if int(declared) > self.max_bytes:
                await self._refuse(send, 413, self._too_large())
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away; let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_bytes:
                await self._refuse(send, 413, self._too_large())
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)

    def _too_large(self) -> str:
        return f"The request body is larger than the limit of {self.max_bytes} bytes."

    @staticmethod
    async def _refuse(send: Send, status: int, message: str) -> None:
        body = error_bytes(status, message)
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the rest of the body is never read
            ],
        })
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that returns `messages` first, then defers to the real one."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def within_budget(seconds: float, func: Callable[[], T]) -> T:
    """Run `func` in the threadpool, or answer 504 once `seconds` have passed.

    Past the budget the request stops waiting and gives its threadpool slot back at once, so other
    requests are served; the thread finishes the (normally short) search on its own and its result
    is dropped. A Python thread cannot be killed, so a search that never returns keeps its thread."""
    with anyio.move_on_after(seconds) as scope:
        return await anyio.to_thread.run_sync(func, abandon_on_cancel=True)
    assert scope.cancelled_caught
    logger.warning("a request passed its %.3g s budget and got a 504", seconds)
    raise ApiError(504, f"The request took longer than its {seconds:g} s budget; try again.")
