"""Shared test vocabulary: fictional actors, and a world with a cluster, schools and budgets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from domain.funding_request import FundingRequest
from domain.values import Actor
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings

YEAR = "2026-27"
CLUSTER = "northmere-coast"
OTHER_CLUSTER = "fenwick-broads"
SCHOOL = "900001"
SECOND_SCHOOL = "900002"
OTHER_SCHOOL = "900101"  # in OTHER_CLUSTER
CLUSTER_NAMES = {CLUSTER: "Northmere Coast", OTHER_CLUSTER: "Fenwick Broads"}

COUNCIL = Actor.council("council-officer-1")
FINANCE = Actor.finance("finance-officer-1")
LEAD = Actor.cluster_lead("lead-northmere", CLUSTER)
OTHER_LEAD = Actor.cluster_lead("lead-fenwick", OTHER_CLUSTER)
HEAD = Actor.school("senco-900001", SCHOOL)
SECOND_HEAD = Actor.school("senco-900002", SECOND_SCHOOL)
OTHER_HEAD = Actor.school("senco-900101", OTHER_SCHOOL)


def set_up_world(app: FundingApplication, *, budget: str | None = "5000.00", council_fund: str | None = None) -> None:
    """Two clusters with their schools; the first with a budget (and the council fund, if given)."""
    for cluster_id, name in CLUSTER_NAMES.items():
        app.register_cluster(COUNCIL, cluster_id, name)
    app.add_school(COUNCIL, CLUSTER, SCHOOL)
    app.add_school(COUNCIL, CLUSTER, SECOND_SCHOOL)
    app.add_school(COUNCIL, OTHER_CLUSTER, OTHER_SCHOOL)
    if budget is not None:
        app.allocate_budget(FINANCE, CLUSTER, YEAR, budget, "initial allocation")
    if council_fund is not None:
        app.allocate_council_fund(FINANCE, YEAR, council_fund, "exceptional circumstances fund")


def submission(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "school_urn": SCHOOL,
        "financial_year": YEAR,
        "amount_requested": "1000.00",
        "reason": "complex_needs",
        "pupil_count": 2,
        "needs_summary": "Two pupils with complex communication needs need daily small-group support.",
        "planned_provision": [{"category": "one_to_one_and_small_group_support", "amount": "1000.00"}],
    }
    fields.update(overrides)
    return fields


EVIDENCE: dict[str, Any] = {
    "notional_sen_budget": "12000.00",
    "spend": [
        {"category": "one_to_one_and_small_group_support", "amount": "9000.00", "note": "two TAs"},
        {"category": "therapies", "amount": "3000.00", "note": "speech and language"},
    ],
    "documents": [{"name": "sen-spend-2026.pdf", "sha256": "ab" * 32}],
}


def submit(app: FundingApplication, actor: Actor = HEAD, **overrides: Any) -> FundingRequest:
    return app.submit_request(actor, **submission(**overrides))


def evidenced_request(app: FundingApplication, actor: Actor = HEAD, **overrides: Any) -> FundingRequest:
    request = submit(app, actor, **overrides)
    return app.provide_evidence(actor, request.id, **EVIDENCE)


def log_position(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def request_id(request: FundingRequest) -> UUID:
    return request.id


# -- added for the integration suite -------------------------------------------------------------


@contextmanager
def writes_nothing(app: FundingApplication) -> Iterator[None]:
    """Asserts the block appends nothing to the event log (put ``pytest.raises`` inside it)."""
    before = log_position(app)
    yield
    assert log_position(app) == before, "a refused or failed command wrote to the event log"


def escalated_request(
    app: FundingApplication, amount: str = "1000.00", actor: Actor = HEAD, **overrides: Any
) -> FundingRequest:
    """An evidenced request escalated by the lead (the cluster must have less available than asked)."""
    request = evidenced_request(app, actor, **overrides)
    return app.escalate(LEAD, request.id, amount, "Three new pupils with EHCPs arrived mid-year.")


def approved_request(app: FundingApplication, amount: str = "1000.00", **overrides: Any) -> FundingRequest:
    request = evidenced_request(app, **overrides)
    return app.approve(LEAD, request.id, amount, "Spend evidence shows the school's own funds are used.")


@contextmanager
def store_factory(kind: str, folder: Path) -> Iterator[Callable[[], FundingApplication]]:
    """Makes applications on one fresh store of ``kind`` ("sqlite" or "postgres"), for module-scoped worlds.

    Tests that only read, or that assert they wrote nothing, can share one world per store instead
    of paying for a new store each (a new PostgreSQL schema costs about a quarter of a second).
    Every application made is closed, and a PostgreSQL schema dropped, on exit.
    """
    from tests.conftest import _drop_schema, postgres_base_url

    if kind == "sqlite":
        url, cleanup = f"sqlite:///{folder / 'funding.sqlite3'}", None
    else:
        base = postgres_base_url()
        schema = f"test_{uuid4().hex[:16]}"
        url, cleanup = f"{base}{'&' if '?' in base else '?'}schema={schema}", (base, schema)
    apps: list[FundingApplication] = []

    def make() -> FundingApplication:
        app = bootstrap(Settings(database_url=url))
        apps.append(app)
        return app

    try:
        yield make
    finally:
        for app in apps:
            app.close()
        if cleanup is not None:
            _drop_schema(*cleanup)


@contextmanager
def store_app(kind: str, folder: Path) -> Iterator[FundingApplication]:
    """One application on a fresh store of ``kind``; see ``store_factory``."""
    with store_factory(kind, folder) as make:
        yield make()
