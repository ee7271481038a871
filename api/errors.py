"""Every error becomes ``application/problem+json``, mapped here and nowhere else.

The statuses and ``type`` values are fixed by the HTTP contract: integrators switch on ``type``.
A client mistake is never a 500: domain errors, malformed JSON, unknown paths and methods, bodies
that are too large all map to a 4xx here.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    Conflict,
    FundingError,
    InsufficientFunds,
    InvalidValue,
    NotFound,
    NotPermitted,
    PolicyLimitExceeded,
    StaleVersion,
    YearNotClosable,
)
from domain.limits import TEXT_RULES
from funding_engine.application.errors import (
    IdempotencyKeyReused,
    InvalidQuery,
    LogUnreadable,
    ProjectionTimeout,
    RateLimited,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("funding_engine.api")


class Unauthenticated(Exception):
    """No valid bearer token."""


class PayloadTooLarge(Exception):
    """The request body is over the limit."""


TITLES = {
    "validation-error": "The request is not valid",
    "unauthenticated": "A valid bearer token is needed",
    "forbidden": "Not allowed for this caller",
    "not-found": "Not found",
    "conflict": "The current state does not allow this",
    "insufficient-funds": "Not enough funds available",
    "policy-limit": "Refused by a limit of the policy in force",
    "precondition-failed": "The resource has changed",
    "idempotency-key-reused": "Idempotency-Key reused with a different request",
    "method-not-allowed": "Method not allowed",
    "payload-too-large": "The request body is too large",
    # Answered by the HTTP protocol itself (api/http_protocol.py), before the application sees a request.
    "request-header-too-large": "The request headers are too large",
    "request-timeout": "The request headers did not arrive in time",
    "bad-request": "Bad request",
    "service-unavailable": "The service cannot answer yet",
    "log-unreadable": "The event log cannot be read",
    "too-many-requests": "Too many requests",
    "internal-error": "Internal error",
}


def problem(
    status: int,
    type_: str,
    detail: str,
    headers: dict[str, str] | None = None,
    extensions: dict[str, object] | None = None,
) -> JSONResponse:
    """A problem+json answer; ``extensions`` are members beyond the four every problem has (RFC 9457)."""
    body = {"type": type_, "title": TITLES.get(type_, type_), "status": status, "detail": detail}
    body.update(extensions or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_extensions(error: BaseException) -> dict[str, object] | None:
    """What a client needs beyond the detail to act on the refusal: the requests a close waits on."""
    if isinstance(error, YearNotClosable):
        return {"request_ids": list(error.request_ids)}
    return None


def classify(error: BaseException) -> tuple[int, str]:
    """The status and problem type for an error; the order matters (most specific first)."""
    if isinstance(error, Unauthenticated):
        return 401, "unauthenticated"
    if isinstance(error, InsufficientFunds):
        return 409, "insufficient-funds"
    if isinstance(error, PolicyLimitExceeded):
        return 409, "policy-limit"
    if isinstance(error, RateLimited):
        return 429, "too-many-requests"
    if isinstance(error, StaleVersion):
        return 412, "precondition-failed"
    if isinstance(error, (InvalidValue, InvalidQuery)):
        return 422, "validation-error"
    if isinstance(error, IdempotencyKeyReused):
        return 422, "idempotency-key-reused"
    if isinstance(error, NotPermitted):
        return 403, "forbidden"
    if isinstance(error, NotFound):
        return 404, "not-found"
    if isinstance(error, Conflict):
        return 409, "conflict"
    if isinstance(error, PayloadTooLarge):
        return 413, "payload-too-large"
    if isinstance(error, ProjectionTimeout):
        return 503, "service-unavailable"
    if isinstance(error, LogUnreadable):
        # The request is sound; the state of the stored log keeps it from being answered, which is
        # what 409 says. Not 503: asking again later gives the same answer until the log is
        # repaired. Not 500: nothing crashed, and the detail names the damaged position.
        return 409, "log-unreadable"
    return 500, "internal-error"


def _message(item: dict[str, object]) -> str:
    context = item.get("ctx")
    pattern = context.get("pattern") if isinstance(context, dict) else None
    if item.get("type") == "string_pattern_mismatch" and pattern in TEXT_RULES:
        return TEXT_RULES[str(pattern)]
    return str(item.get("msg", "invalid"))


def _validation_detail(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:10]:
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        parts.append(f"{location or 'body'}: {_message(item)}")
    return "; ".join(parts) or "invalid request"


def _refusal_before_the_body(request: Request) -> JSONResponse | None:
    """The 401 or 403 due before a 422 for a body FastAPI could not parse.

    The contract checks the token, then the role, then the input. FastAPI parses the JSON body
    before it runs the route's dependencies, so a body that is not JSON at all would otherwise be a
    422 even with no token or the wrong role; here the route's role dependency is run first.
    """
    from api.deps import route_commands
    from api.middleware import identity
    from domain.permissions import check_role

    commands = route_commands(request.scope.get("route"))
    if not commands:
        return None
    try:
        actor = identity(request.scope)
        if isinstance(actor, Unauthenticated):
            raise actor
        for command in commands:
            check_role(actor, command)
    except (Unauthenticated, NotPermitted) as error:
        status, type_ = classify(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return problem(status, type_, str(error) or TITLES[type_], headers)
    return None


def install(app: FastAPI) -> None:
    async def known_error(request: Request, error: Exception) -> JSONResponse:
        status, type_ = classify(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(error, RateLimited):
            headers = {"Retry-After": str(error.retry_after)}
        return problem(status, type_, str(error) or TITLES[type_], headers, problem_extensions(error))

    async def validation_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        if any(item.get("type") == "json_invalid" for item in error.errors()):
            return _refusal_before_the_body(request) or problem(422, "validation-error", "the body is not valid JSON")
        return problem(422, "validation-error", _validation_detail(error))

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400:
            # FastAPI's "error parsing the body" (e.g. bytes that are not UTF-8): malformed input,
            # a 422 validation-error like any other body that is not JSON (API.md lists no 400).
            return _refusal_before_the_body(request) or problem(422, "validation-error", "the body is not valid JSON")
        type_ = {
            400: "bad-request",
            401: "unauthenticated",
            403: "forbidden",
            404: "not-found",
            405: "method-not-allowed",
            413: "payload-too-large",
            422: "validation-error",
        }.get(error.status_code, "bad-request" if error.status_code < 500 else "internal-error")
        detail = error.detail if isinstance(error.detail, str) else TITLES[type_]
        return problem(error.status_code, type_, detail, dict(error.headers or {}))

    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        # Outside an ``except`` block here, so the error is handed to the log, not looked up.
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
        return problem(500, "internal-error", "something went wrong on our side; it has been logged")

    for error_class in (
        FundingError,
        Unauthenticated,
        PayloadTooLarge,
        InvalidQuery,
        ProjectionTimeout,
        LogUnreadable,
    ):
        app.add_exception_handler(error_class, known_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
