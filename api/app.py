"""The FastAPI application: routes, error mapping, idempotency and body limits around the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api import docs, errors
from api.idempotency import Idempotency, answer_recorded_first
from api.middleware import Authentication, BodyLimit
from api.routes import (
    audit,
    awards,
    budgets,
    evidence,
    local_offer,
    payment_runs,
    policy,
    provision_maps,
    reference,
    requests,
    schools,
)
from api.schemas import HealthResponse, ProblemResponse
from funding_engine.application import FundingApplication
from funding_engine.application.errors import AlreadyAnswered
from funding_engine.settings import DEFAULT_TOKEN_MAX_LIFETIME_MINUTES

DESCRIPTION = """
The HTTP contract of the SEND top-up funding engine (v1).

* Authenticate with `Authorization: Bearer <JWT>` (HS256; claims `sub`, `role`, `school_urn` or
  `cluster_id`, `exp`, optionally `iat` and `nbf`). `exp` is a number and is checked strictly;
  a token may last at most `FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES` (default 720), and `iat` or
  `nbf` up to 30 s ahead of the server's clock is accepted. `funding-engine token --role ...`
  prints one.
* Money is a JSON **string** with at most 2 decimal places (`"1500.00"`); a JSON number is refused.
* Every error is `application/problem+json` with `type`, `title`, `status` and `detail`.
* Commands answer with `version` and an `ETag`; send `If-Match` to refuse a stale write (412).
* `Idempotency-Key` on POST/PUT replays the first answer to a repeat of the same request by the same
  caller, and a command acts once whatever moment a server died.
"""

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ProblemResponse, "content": {"application/problem+json": {}}, "description": description}
    for status, description in (
        (401, "No valid bearer token"),
        (403, "The caller may not do this"),
        (404, "No such resource (or one the caller may not see)"),
        (409, "The state does not allow it, insufficient funds, or the event log cannot be read"),
        (412, "If-Match names an older version"),
        (422, "Invalid input, or an Idempotency-Key reused with another body"),
    )
}


def create_app(
    application: FundingApplication,
    *,
    jwt_secret: str,
    token_max_lifetime_minutes: int = DEFAULT_TOKEN_MAX_LIFETIME_MINUTES,
    close_on_shutdown: bool = False,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # Uvicorn has stopped taking requests and let running ones finish (SIGTERM) by now.
        if close_on_shutdown:
            application.close()

    api = FastAPI(
        title="SEND top-up funding engine",
        version="1.0.0",
        description=DESCRIPTION,
        responses=ERROR_RESPONSES,
        lifespan=lifespan,
        docs_url=None,  # served by api.docs, without a CDN
        redoc_url=None,
    )
    api.state.application = application
    api.state.jwt_secret = jwt_secret
    errors.install(api)
    api.add_exception_handler(AlreadyAnswered, answer_recorded_first)
    _document_problems_as_problem_json(api)

    @api.get("/healthz", response_model=HealthResponse, tags=["operations"])
    def healthz() -> HealthResponse:
        """Liveness: the process answers (no authentication)."""
        return HealthResponse(status="ok")

    for router in (
        reference.router,
        schools.router,
        budgets.router,
        requests.router,
        awards.router,
        audit.router,
        provision_maps.router,
        local_offer.router,
        evidence.router,
        payment_runs.router,
        policy.router,
    ):
        api.include_router(router)
    docs.install(api)  # after the API's routes, which every request is matched against first

    # Added innermost first: the body limit, then the caller's identity, then idempotency.
    api.add_middleware(Idempotency, application=application, router=api.router)
    api.add_middleware(Authentication, secret=jwt_secret, token_max_lifetime_minutes=token_max_lifetime_minutes)
    api.add_middleware(BodyLimit)
    return api


def _document_problems_as_problem_json(api: FastAPI) -> None:
    """Errors are sent as application/problem+json; FastAPI documents a response ``model`` under the
    route's own media type (application/json), so move each problem schema to where it is sent."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = generate()
            for path_item in schema.get("paths", {}).values():
                for operation in path_item.values():
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        problem = str(status).startswith(("4", "5")) and errors.PROBLEM_JSON in content
                        if problem and "application/json" in content:
                            content[errors.PROBLEM_JSON] = content.pop("application/json")
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
