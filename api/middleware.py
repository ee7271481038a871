"""Cross-cutting HTTP behaviour as plain ASGI middleware: the body limit and the caller's identity.

The token is read and verified once per request, here, and the outcome put in the request's
scope: the routes' dependencies, the error handlers and the idempotency middleware all take the
caller from there. A request with two ``Authorization`` (or ``Idempotency-Key``) headers is
refused outright: different layers would otherwise read different ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from api.auth import actor_from_token, bearer_token
from api.errors import Unauthenticated, problem
from domain.values import Actor

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
IDENTITY = "funding_engine.identity"
# Headers a request may carry once; as the refusal names them.
SINGLE_HEADERS = {b"authorization": "Authorization", b"idempotency-key": "Idempotency-Key"}


def identity(scope: Scope) -> Actor | Unauthenticated:
    """The caller the ``Authentication`` middleware verified, or why there is none."""
    found = scope.get(IDENTITY)
    return found if found is not None else Unauthenticated("send Authorization: Bearer <token>")


class Authentication:
    """Verifies the bearer token once and records the caller (or the refusal) in the scope."""

    def __init__(self, app: ASGIApp, secret: str, token_max_lifetime_minutes: int) -> None:
        self.app = app
        self.secret = secret
        self.token_max_lifetime_minutes = token_max_lifetime_minutes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values: dict[bytes, list[bytes]] = {}
        for name, value in scope.get("headers") or []:
            lowered = name.lower()
            if lowered in SINGLE_HEADERS:
                values.setdefault(lowered, []).append(value)
        repeated = [(name, len(found)) for name, found in values.items() if len(found) > 1]
        if repeated:
            name, count = repeated[0]
            await problem(400, "bad-request", f"send one {SINGLE_HEADERS[name]} header, not {count}")(
                scope, receive, send
            )
            return
        authorization = values.get(b"authorization", [None])[0]
        try:
            scope[IDENTITY] = actor_from_token(
                bearer_token(authorization.decode("latin-1") if authorization is not None else None),
                self.secret,
                max_lifetime_minutes=self.token_max_lifetime_minutes,
            )
        except Unauthenticated as error:
            scope[IDENTITY] = error
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses bodies over ``MAX_BODY_BYTES`` with 413 before the route sees them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await problem(413, "payload-too-large", f"request bodies are limited to {self.limit} bytes")(
                scope, receive, send
            )
            return
        body = await read_body(receive, self.limit)
        if body is None:
            await problem(413, "payload-too-large", f"request bodies are limited to {self.limit} bytes")(
                scope, receive, send
            )
            return
        await self.app(scope, replay_receive(body, then=receive), send)


async def read_body(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay_receive(body: bytes, then: Receive | None = None) -> Receive:
    """``receive`` for the app once the body has been read: the body, then what the client does
    next (``then``; without it, a disconnect). A streamed answer (a file) waits on ``receive`` to
    learn of a disconnect, and stops sending at a false one."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
