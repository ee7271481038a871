"""``Idempotency-Key`` over HTTP: a repeat of a POST or PUT gets the first answer and acts no more.

The promise itself is kept by the application (``funding_engine.idempotency``): a command run
under a claim records the key in the same transaction as its events. This middleware builds the
claim from the verified caller and the request, answers a repeat from a recorded answer, runs
everything else under the claim, and records the answer it gave (a 5xx is not recorded: the
client may retry, and whatever the command committed is found by the retry).

Authorisation comes first: a request without a valid token, or from a role the route never
allows, passes straight to the route (which refuses it) and is never recorded or replayed.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Match

from api.deps import route_commands
from api.errors import problem
from api.middleware import MAX_BODY_BYTES, ASGIApp, Message, Receive, Scope, Send, identity, read_body, replay_receive
from domain.errors import NotPermitted
from domain.limits import MAX_IDEMPOTENCY_KEY_LENGTH
from domain.permissions import check_role
from domain.values import Actor
from funding_engine.application import Answer, FundingApplication, IdempotencyClaim
from funding_engine.application.errors import AlreadyAnswered

REPLAYED_HEADERS = ("content-type", "etag", "location")


class Idempotency:
    def __init__(self, app: ASGIApp, application: FundingApplication, router: APIRouter) -> None:
        self.app = app
        self.application = application
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            detail = f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters"
            await problem(422, "validation-error", detail)(scope, receive, send)
            return
        actor = identity(scope)
        if not isinstance(actor, Actor) or not self._role_allows(actor, scope):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, MAX_BODY_BYTES) or b""
        claim = IdempotencyClaim.of(actor, scope["method"], scope["path"], key, body)
        record = await run_in_threadpool(self.application.idempotency_record, claim)
        if record is not None and record.fingerprint != claim.fingerprint:
            await problem(422, "idempotency-key-reused", "this Idempotency-Key was used with a different body")(
                scope, receive, send
            )
            return
        if record is not None and record.answer is not None:
            await answer_again(record.answer)(scope, receive, send)
            return

        # The answer is held back until it is recorded: a client that has the answer can count on
        # a repeat getting the same one, and one that does not (the process died) retries safely.
        messages: list[Message] = []

        async def hold(message: Message) -> None:
            messages.append(message)

        with self.application.idempotently(claim) as in_force:
            await self.app(scope, replay_receive(body), hold)
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        if start is not None and in_force.committed_earlier:
            # Answered again from an earlier commit (its process died before answering).
            start["headers"] = [*start.get("headers", []), (b"idempotent-replayed", b"true")]
        if start is not None and start["status"] < 500:
            headers = [
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in start.get("headers", [])
                if name.decode("latin-1").lower() in REPLAYED_HEADERS
            ]
            body_text = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
            answer = Answer(start["status"], headers, body_text.decode("utf-8", errors="replace"))
            await run_in_threadpool(self.application.record_answer, claim, answer)
        for message in messages:
            await send(message)

    def _role_allows(self, actor: Actor, scope: Scope) -> bool:
        for route in self.router.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                try:
                    for command in route_commands(route):
                        check_role(actor, command)
                except NotPermitted:
                    return False
                return True
        return False


def answer_again(answer: Answer) -> Response:
    """The recorded answer, marked as a replay."""
    headers = {**dict(answer.headers), "idempotent-replayed": "true"}
    return Response(answer.body.encode(), status_code=answer.status, headers=headers)


async def answer_recorded_first(request: Any, error: Exception) -> Response:
    """A concurrent repeat was refused and recorded first: every repeat gets that answer."""
    if not isinstance(error, AlreadyAnswered):  # pragma: no cover - registered for this type only
        raise error
    return answer_again(error.answer)


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope.get("headers") or []:
        if header.lower() == name:
            text: str = value.decode("latin-1")
            return text
    return None
