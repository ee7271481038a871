"""The web and browser tests' copies of the demo year (tests/demo_copies.py) are the demo as loaded.

A copy must hold what ``demo.load`` leaves on a store (the same log, read models that agree with a
real load's and reconcile with its own log, an audit chain that verifies), must be the test's own
(what one test writes, no other copy sees), and must come from one load per worker, not a new load.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from domain.values import RequestStatus
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.dev_mode import DEV_YEAR
from funding_engine.settings import Settings, SQLiteStore, parse_database_url
from tests.conftest import _drop_schema, postgres_base_url
from tests.demo_copies import DemoCopies


def kind_of(url: str) -> str:
    return "sqlite" if isinstance(parse_database_url(url), SQLiteStore) else "postgres"


@contextmanager
def another_store(kind: str, folder: Path) -> Iterator[str]:
    """A URL for a second empty store of ``kind``, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'other-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    base = postgres_base_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        yield f"{base}{'&' if '?' in base else '?'}schema={schema}"
    finally:
        _drop_schema(base, schema)


@contextmanager
def opened(url: str) -> Iterator[FundingApplication]:
    app = bootstrap(Settings(database_url=url))
    try:
        yield app
    finally:
        app.close()


def logged(app: FundingApplication) -> list[tuple[int, str]]:
    """The log as positions and event topics (ids and times differ between two loads)."""
    return [(n.id, n.topic) for n in app.recorder.select_notifications(1, 10_000)]


def requests(app: FundingApplication) -> list[tuple[Any, ...]]:
    """The request index without ids and times."""
    rows = app.read_models.list_requests(demo.COUNCIL, limit=100).items
    return sorted(
        (row.school_urn, row.status, row.amount_requested, row.amount_approved, row.amount_paid, row.version)
        for row in rows
    )


def balances(app: FundingApplication) -> Any:
    page, totals = app.read_models.balances(demo.FINANCE, DEV_YEAR, limit=100)
    return page.items, totals


def test_a_copy_holds_what_a_real_load_leaves(demo_app, database_url, tmp_path):
    with another_store(kind_of(database_url), tmp_path) as url, opened(url) as real:
        demo.load(real, DEV_YEAR, say=lambda _: None)

        assert len(logged(demo_app)) > 100
        assert logged(demo_app) == logged(real)
        assert requests(demo_app) == requests(real)
        assert balances(demo_app) == balances(real)
    assert {row[1] for row in requests(demo_app)} == {status.value for status in RequestStatus}
    assert demo_app.read_models.reconcile(demo.FINANCE, DEV_YEAR).consistent
    assert demo_app.verify_audit_chain(demo.COUNCIL).ok


def test_what_a_test_writes_on_its_copy_no_other_copy_sees(demo_app, database_url, demo_copies: DemoCopies, tmp_path):
    loads = demo_copies.loads
    before = demo_app.recorder.max_notification_id()
    demo_app.register_cluster(demo.COUNCIL, "only-on-this-copy", "Written by this test")
    assert demo_app.recorder.max_notification_id() == before + 1

    with another_store(kind_of(database_url), tmp_path) as url:
        demo_copies.copy_into(url)
        with opened(url) as other:
            assert other.recorder.max_notification_id() == before
            assert "only-on-this-copy" not in {row.cluster_id for row in other.read_models.list_clusters(demo.COUNCIL)}
            # The copy's log goes on from the demo's end, as the demo's own would.
            other.register_cluster(demo.COUNCIL, "only-on-the-other", "Written on the other copy")
            assert other.recorder.max_notification_id() == before + 1
    assert demo_copies.loads == loads, "the demo was loaded again instead of copied"
