"""Baseline 1 for scenario 2: a bare FastAPI route on the same server stack doing the library save.

    BENCH_SERVER_DATABASE_URL=sqlite:///... python -m bench.servers.bare_library --port P [--workers W]

``POST /requests`` and ``POST /requests/{id}/approve`` take the same JSON bodies as ours (so the
same prepared request files drive both; the Authorization header is ignored) and do what
``bench.baseline.BareApplication`` does: bare aggregates, snapshots and the aggregate cache,
optimistic retries, and on approval the same in-process lock on the hot budget that ours holds
(as in ``bench.command_path``). No auth, no validation beyond FastAPI's JSON parsing, no read
models, no middleware: what ours costs beyond this is what our own code costs over HTTP.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Annotated, Any

from eventsourcing.domain import Aggregate
from fastapi import Body, FastAPI

from bench.baseline import BareApplication, BareBudget, BareMembership, BareRequest, bare_application
from bench.servers import DATABASE_URL_VARIABLE, serve
from funding_engine.settings import parse_database_url

BATCH = 250
JsonBody = Annotated[dict[str, Any], Body()]


def pence(amount: str) -> int:
    return int(Decimal(amount) * 100)


def year_number(financial_year: str) -> int:
    """The bare aggregates keep a year as its first calendar year: "2026-27" is 2026."""
    return int(financial_year[:4])


def open_application(database_url: str) -> BareApplication:
    return bare_application(parse_database_url(database_url).library_env())


def create_from_environment() -> FastAPI:
    """The uvicorn factory: every worker process opens its own application."""
    app = open_application(os.environ[DATABASE_URL_VARIABLE])
    locks: dict[uuid.UUID, threading.Lock] = {}
    guard = threading.Lock()

    def lock_for(key: uuid.UUID) -> threading.Lock:
        with guard:
            return locks.setdefault(key, threading.Lock())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        app.close()

    api = FastAPI(title="bare library baseline", lifespan=lifespan)

    @api.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Plain ``def`` routes, as ours: FastAPI runs them on its thread pool.
    @api.post("/requests", status_code=201)
    def submit(body: JsonBody) -> dict[str, str]:
        actor = {"role": "school", "sub": "bench-school", "school_urn": body["school_urn"]}
        provision = [
            {"category": line["category"], "amount": pence(line["amount"])} for line in body["planned_provision"]
        ]
        request_id = app.submit(
            body["school_urn"], year_number(body["financial_year"]), pence(body["amount_requested"]), provision, actor
        )
        return {"id": str(request_id), "status": "submitted"}

    @api.post("/requests/{request_id}/approve")
    def approve(request_id: str, body: JsonBody) -> dict[str, str]:
        key = uuid.UUID(request_id)
        # Which budget to lock: read without the cache's deep copy, as ours peeks.
        request: BareRequest = app.repository.get(key, deepcopy_from_cache=False)
        budget_id = BareBudget.create_id(request.cluster_id, request.financial_year)
        actor = {"role": "cluster_lead", "sub": "bench-lead", "cluster_id": request.cluster_id}
        with lock_for(budget_id):
            app.approve(key, pence(body["amount"]), actor)
        return {"id": request_id, "status": "cluster_approved"}

    return api


def prepare(
    database_url: str,
    *,
    cluster_id: str,
    schools: Sequence[str],
    financial_year: str,
    allocation_pence: int,
    evidenced: int,
) -> list[str]:
    """Before the server starts: a budget, the schools' memberships, and ``evidenced`` requests
    ready to approve (saved in batches: preparing one by one would take longer than measuring)."""
    app = open_application(database_url)
    try:
        actor = {"role": "council", "sub": "bench-council"}
        year = year_number(financial_year)
        budget = BareBudget(cluster_id, year, actor)
        budget.allocate(allocation_pence, "bench allocation", actor)
        memberships = []
        for urn in schools:
            membership = BareMembership(urn)
            membership.join(cluster_id, actor)
            memberships.append(membership)
        app.save(budget, *memberships)
        ids: list[str] = []
        batch: list[Aggregate] = []
        for index in range(evidenced):
            urn = schools[index % len(schools)]
            school = {"role": "school", "sub": "bench-school", "school_urn": urn}
            request = BareRequest(
                urn,
                cluster_id,
                year,
                500_00,
                "complex_needs",
                1,
                "needs summary",
                [{"category": "therapies", "amount": 500_00}],
                school,
            )
            request.provide_evidence(
                6000_00,
                [{"category": "therapies", "amount": 1000_00, "note": "sessions"}],
                [{"name": "evidence.pdf", "sha256": "0" * 64}],
                school,
            )
            batch.append(request)
            ids.append(str(request.id))
            if len(batch) == BATCH:
                app.save(*batch)
                batch = []
        if batch:
            app.save(*batch)
        return ids
    finally:
        app.close()


if __name__ == "__main__":
    serve("bench.servers.bare_library:create_from_environment")
