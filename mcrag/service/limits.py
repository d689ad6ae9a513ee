"""Request bodies are counted as they arrive: one over the limit is refused (413) before it is held.

The check runs before any route reads the body, on the declared ``Content-Length`` first and then on
the bytes actually received (chunked uploads declare none), so no route, multipart parsing
included, ever buffers more than the limit.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART_SLACK = 64 * 1024
"""Room for form fields and part headers around an upload of the maximum size."""


class BodyLimit:
    """Pure ASGI middleware: 413 for a body over ``limit`` bytes, whatever the route."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit + MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _plain(send, 400, "Content-Length is not a number")
                return
            if size > self.limit:
                await _plain(send, 413, f"request body of {size} bytes is over the {self.limit}-byte limit")
                return
        state: dict[str, Any] = {"seen": 0, "over": False, "started": False}

        async def counted_receive() -> Message:
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > self.limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                if state["over"]:
                    return
                state["started"] = True
            elif state["over"] and not state["started"]:
                return
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await _plain(send, 413, f"request body over the {self.limit}-byte limit")


async def _plain(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
