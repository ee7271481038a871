"""Cross-cutting HTTP behaviour, as plain ASGI middleware: body size limit and idempotency keys.

Idempotency: a POST or PUT with ``Idempotency-Key`` is recorded (caller, method, path, key, body
hash) before it runs and its response after; a repeat with the same body replays the recorded
status, headers and body without acting again; the same key with another body is a 422. Keys are
kept in the same database as the event log, so they survive restarts and are shared by every API
process. A request that ended in a 5xx is forgotten, so the client may retry it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.auth import actor_from_token, bearer_token
from api.errors import Unauthenticated, problem
from funding_engine.bootstrap import schema_lock_key
from projections.database import ProjectionDatabase

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
MAX_KEY_LENGTH = 200
# A key whose request never finished (the process died) is taken over after this long.
ABANDONED_AFTER_SECONDS = 120
REPLAYED_HEADERS = ("content-type", "etag", "location")


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
        await self.app(scope, replay_receive(body), send)


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


def replay_receive(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


IDEMPOTENCY_TABLE = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    completed BIGINT NOT NULL DEFAULT 0,
    status BIGINT,
    headers TEXT,
    body TEXT,
    started_at DOUBLE PRECISION NOT NULL
)
"""


class IdempotencyStore:
    def __init__(self, database: ProjectionDatabase) -> None:
        self.database = database
        with database.transaction() as cursor:
            if database.kind == "postgres":
                # Workers starting together would race on CREATE TABLE IF NOT EXISTS (see bootstrap).
                cursor.execute("SELECT pg_advisory_xact_lock(?)", (schema_lock_key(database.schema),))  # type: ignore[attr-defined]
            cursor.execute(IDEMPOTENCY_TABLE)

    def begin(self, scope: str, body_hash: str) -> tuple[str, Any]:
        """("new", None), ("replay", (status, headers, body)), ("reused", None) or ("busy", None)."""
        now = time.time()
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO idempotency_keys (scope, body_hash, started_at) VALUES (?, ?, ?) "
                "ON CONFLICT (scope) DO NOTHING",
                (scope, body_hash, now),
            )
            if cursor.rowcount == 1:
                return "new", None
            cursor.execute(
                "SELECT body_hash, completed, status, headers, body, started_at FROM idempotency_keys WHERE scope = ?",
                (scope,),
            )
            row = cursor.fetchone()
            if row is None:  # forgotten between the two statements: start afresh
                cursor.execute(
                    "INSERT INTO idempotency_keys (scope, body_hash, started_at) VALUES (?, ?, ?)",
                    (scope, body_hash, now),
                )
                return "new", None
            stored_hash, completed, status, headers, body, started_at = row
            if stored_hash != body_hash:
                return "reused", None
            if completed:
                return "replay", (int(status), json.loads(headers), body)
            if now - float(started_at) > ABANDONED_AFTER_SECONDS:
                cursor.execute("UPDATE idempotency_keys SET started_at = ? WHERE scope = ?", (now, scope))
                return "new", None
            return "busy", None

    def complete(self, scope: str, status: int, headers: list[tuple[str, str]], body: str) -> None:
        with self.database.transaction() as cursor:
            cursor.execute(
                "UPDATE idempotency_keys SET completed = 1, status = ?, headers = ?, body = ? WHERE scope = ?",
                (status, json.dumps(headers), body, scope),
            )

    def forget(self, scope: str) -> None:
        with self.database.transaction() as cursor:
            cursor.execute("DELETE FROM idempotency_keys WHERE scope = ?", (scope,))


class Idempotency:
    def __init__(self, app: ASGIApp, store: IdempotencyStore, secret: str, token_max_lifetime_minutes: int) -> None:
        self.app = app
        self.store = store
        self.secret = secret
        self.token_max_lifetime_minutes = token_max_lifetime_minutes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        key = headers.get("idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            await problem(422, "validation-error", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")(
                scope, receive, send
            )
            return
        try:
            sub = actor_from_token(
                bearer_token(headers.get("authorization")),
                self.secret,
                max_lifetime_minutes=self.token_max_lifetime_minutes,
            ).sub
        except Unauthenticated:
            # Unauthenticated calls change nothing; the route answers 401 as usual.
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, MAX_BODY_BYTES) or b""
        key_scope = hashlib.sha256(
            json.dumps([sub, scope["method"], scope["path"], key]).encode()
        ).hexdigest()
        body_hash = hashlib.sha256(body).hexdigest()
        outcome, stored = await run_in_threadpool(self.store.begin, key_scope, body_hash)
        if outcome == "reused":
            await problem(422, "idempotency-key-reused", "this Idempotency-Key was used with a different body")(
                scope, receive, send
            )
            return
        if outcome == "busy":
            await problem(409, "conflict", "a request with this Idempotency-Key is still being processed")(
                scope, receive, send
            )
            return
        if outcome == "replay":
            status, stored_headers, stored_body = stored
            raw_headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in stored_headers]
            raw_headers.append((b"idempotent-replayed", b"true"))
            payload = stored_body.encode()
            raw_headers.append((b"content-length", str(len(payload)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": raw_headers})
            await send({"type": "http.response.body", "body": payload})
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    (name.decode("latin-1").lower(), value.decode("latin-1"))
                    for name, value in message.get("headers", [])
                    if name.decode("latin-1").lower() in REPLAYED_HEADERS
                ]
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive(body), capture)
        except BaseException:
            await run_in_threadpool(self.store.forget, key_scope)
            raise
        if captured["status"] >= 500:
            await run_in_threadpool(self.store.forget, key_scope)
        else:
            text = b"".join(captured["body"]).decode("utf-8", errors="replace")
            await run_in_threadpool(self.store.complete, key_scope, captured["status"], captured["headers"], text)
