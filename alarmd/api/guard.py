"""The door of the HTTP API: the bearer token, then the body size, before anything parses.

An ASGI middleware rather than checks in the handlers: FastAPI reads and parses a body
before it runs a route's dependencies, so without this a caller with no token would
learn from a 400, 413 or 422 what the API thinks of its request. A body without
Content-Length (chunked) is only known to be too big once read, so it is read here, up
to the limit, and handed on from memory.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 16 * 1024
PUBLIC_PATHS = frozenset({"/healthz", "/openapi.json"})
UNAUTHORIZED = "A valid bearer token is required (Authorization: Bearer TOKEN)."


def token_matches(header: str, token: str) -> bool:
    """Authorization: Bearer TOKEN, compared in constant time."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class RequestGuard:
    def __init__(self, app: ASGIApp, token: str, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.token = token
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if scope["path"] not in PUBLIC_PATHS and not token_matches(
            headers.get(b"authorization", b"").decode("latin-1"), self.token
        ):
            await _error(send, 401, UNAUTHORIZED, [(b"www-authenticate", b"Bearer")])
            return
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _error(send, 400, "The Content-Length header is not a number.")
                return
            if int(declared) > self.limit:
                await _error(send, 413, self._too_big())
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before sending all of it: let the app see that.
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _error(send, 413, self._too_big())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    def _too_big(self) -> str:
        return f"The request body is larger than {self.limit // 1024} KiB."


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replayed


async def _error(send: Send, status: int, sentence: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": sentence}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status != 401:
        # The rest of a refused body may still be on the wire: do not read it, hang up.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
