"""Reconciliation of a damaged event log: a clear answer with the log position, never a traceback or a 500.

The log is damaged straight in the event table, as someone with database access (or a faulty
writer) would: state that is not JSON, a topic naming no class, an event out of its aggregate's
sequence, an event moved onto an aggregate it cannot apply to, a deleted Created event, and an
unreadable event after the read models' position. ``finance reconcile`` exits 1 with one line on
stderr; ``GET /finance/reconciliation`` answers 409 ``log-unreadable``. ``audit verify``, which
hashes the stored bytes and never decodes them, still answers on every one of these logs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.funds import ClusterBudget
from domain.values import ClusterId, FinancialYear
from funding_engine.application import FundingApplication
from funding_engine.settings import SQLiteStore, parse_database_url
from tests.api.conftest import assert_problem, auth, client_for
from tests.integration.test_read_models import Busy, build_busy_year, run_cli
from tests.support import CLUSTER, COUNCIL, FINANCE, YEAR


class EventTable:
    """The store's event table, edited directly: no application, no library."""

    def __init__(self, database_url: str) -> None:
        self.store = parse_database_url(database_url)

    @contextmanager
    def _cursor(self) -> Iterator[tuple[Any, str, str, str]]:
        """A cursor, the table, the position column and the placeholder; commits when the block ends."""
        if isinstance(self.store, SQLiteStore):
            connection = sqlite3.connect(self.store.path)
            try:
                with connection:
                    yield connection.cursor(), "stored_events", "rowid", "?"
            finally:
                connection.close()
            return
        import psycopg

        with psycopg.connect(self.store.conninfo(), options=f"-c search_path={self.store.schema}") as connection:
            with connection.cursor() as cursor:
                yield cursor, "fundingengine_events", "notification_id", "%s"

    def _id(self, originator_id: UUID) -> Any:
        return originator_id.hex if isinstance(self.store, SQLiteStore) else originator_id

    def record(self, position: int) -> tuple[UUID, int, str]:
        with self._cursor() as (cursor, table, key, mark):
            cursor.execute(
                f"SELECT originator_id, originator_version, topic FROM {table} WHERE {key} = {mark}", (position,)
            )
            originator_id, version, topic = cursor.fetchone()
        return UUID(str(originator_id)), int(version), str(topic)

    def positions_of(self, originator_id: UUID) -> list[int]:
        with self._cursor() as (cursor, table, key, mark):
            cursor.execute(
                f"SELECT {key} FROM {table} WHERE originator_id = {mark} ORDER BY {key}", (self._id(originator_id),)
            )
            return [int(row[0]) for row in cursor.fetchall()]

    def update(self, position: int, column: str, value: Any) -> None:
        with self._cursor() as (cursor, table, key, mark):
            cursor.execute(f"UPDATE {table} SET {column} = {mark} WHERE {key} = {mark}", (value, position))
            assert cursor.rowcount == 1

    def move(self, position: int, originator_id: UUID, version: int) -> None:
        with self._cursor() as (cursor, table, key, mark):
            cursor.execute(
                f"UPDATE {table} SET originator_id = {mark}, originator_version = {mark} WHERE {key} = {mark}",
                (self._id(originator_id), version, position),
            )
            assert cursor.rowcount == 1

    def delete(self, position: int) -> None:
        with self._cursor() as (cursor, table, key, mark):
            cursor.execute(f"DELETE FROM {table} WHERE {key} = {mark}", (position,))
            assert cursor.rowcount == 1

    def append(self, originator_id: UUID, version: int, topic: str, state: bytes) -> None:
        with self._cursor() as (cursor, table, _, mark):
            cursor.execute(
                f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES ({mark}, {mark}, {mark}, {mark})",
                (self._id(originator_id), version, topic, state),
            )


@dataclass(frozen=True)
class Damage:
    position: int  # where reconciliation must say the log cannot be read
    problem: str  # words its message must hold
    # What ``audit verify`` must answer: the first bad position, or None for a chain that verifies
    # (an event appended, and chained, after the others is not an edit of the chained log).
    first_bad_position: int | None


def head(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def payment_position(app: FundingApplication) -> int:
    """The first payment out of the first cluster's budget: an event of the year, mid-log."""
    with app.read_side.database.reading() as cursor:
        cursor.execute("SELECT position FROM finance_ledger WHERE reference = 'PAY-0001'")
        return int(cursor.fetchone()[0])


def state_that_is_not_json(busy: Busy, events: EventTable) -> Damage:
    position = payment_position(busy.app)
    events.update(position, "state", b'{"amount": {"_type_": "money", "_data_": 30000')
    return Damage(position, "cannot be decoded", position)


def a_topic_naming_no_class(busy: Busy, events: EventTable) -> Damage:
    position = payment_position(busy.app)
    events.update(position, "topic", "domain.funds:ClusterBudget.PaymentForged")
    return Damage(position, "cannot be decoded", position)


def an_event_out_of_sequence(busy: Busy, events: EventTable) -> Damage:
    position = payment_position(busy.app)
    _, version, _ = events.record(position)
    events.update(position, "originator_version", version + 5)
    return Damage(position, f"has version {version + 5}", position)


def an_event_its_aggregate_cannot_apply(busy: Busy, events: EventTable) -> Damage:
    # The log's last event (a council decision on a request) moved onto a cluster budget as its
    # next version: it decodes, and is in sequence, but a budget has no decisions to record it in.
    last = head(busy.app)
    budget = ClusterBudget.id_for(ClusterId(CLUSTER), FinancialYear.parse(YEAR))
    events.move(last, budget, len(events.positions_of(budget)) + 1)
    return Damage(last, "cannot be applied", last)


def a_missing_created_event(busy: Busy, events: EventTable) -> Damage:
    created, following, *_ = events.positions_of(busy.declined)
    events.delete(created)
    return Damage(following, "no Created event", created)


def an_unreadable_event_after_the_read_models(busy: Busy, events: EventTable) -> Damage:
    position = head(busy.app) + 1
    events.append(uuid4(), 1, "domain.funding_request:FundingRequest.Submitted", b"\x00\xffnot an event")
    return Damage(position, "cannot be decoded", None)


DAMAGE: list[Callable[[Busy, EventTable], Damage]] = [
    state_that_is_not_json,
    a_topic_naming_no_class,
    an_event_out_of_sequence,
    an_event_its_aggregate_cannot_apply,
    a_missing_created_event,
    an_unreadable_event_after_the_read_models,
]


@pytest.fixture
def busy(app: FundingApplication, database_url: str) -> Busy:
    busy = build_busy_year(app, database_url)
    app.read_side.make_fresh()  # the read models (and the audit chain) have every event before the damage
    return busy


@pytest.mark.parametrize("damage", DAMAGE, ids=[damage.__name__ for damage in DAMAGE])
def test_reconciling_a_damaged_log_names_the_position_on_the_command_line(busy, database_url, damage):
    expected = damage(busy, EventTable(database_url))

    result = run_cli(["finance", "reconcile", "--year", YEAR], database_url)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"funding-engine: the event log cannot be read at position {expected.position}: "), line
    assert expected.problem in line


@pytest.mark.parametrize("damage", DAMAGE, ids=[damage.__name__ for damage in DAMAGE])
def test_reconciling_a_damaged_log_over_http_is_a_log_unreadable_problem(busy, database_url, damage):
    expected = damage(busy, EventTable(database_url))

    with client_for(busy.app) as client:
        response = client.get("/finance/reconciliation", params={"financial_year": YEAR}, headers=auth(FINANCE))

    problem = assert_problem(response, 409, "log-unreadable")
    assert problem["title"] == "The event log cannot be read"
    assert f"at position {expected.position}: " in problem["detail"]
    assert expected.problem in problem["detail"]


@pytest.mark.parametrize("damage", DAMAGE, ids=[damage.__name__ for damage in DAMAGE])
def test_audit_verify_still_answers_on_a_damaged_log(busy, database_url, damage):
    expected = damage(busy, EventTable(database_url))

    with client_for(busy.app) as client:
        response = client.get("/audit/verify", headers=auth(COUNCIL))
    printed = run_cli(["audit", "verify"], database_url)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["ok"], body["first_bad_position"]) == (
        expected.first_bad_position is None,
        expected.first_bad_position,
    )
    assert printed.returncode == (0 if expected.first_bad_position is None else 1), printed.stderr
    assert "Traceback" not in printed.stderr
    assert f"first_bad_position: {body['first_bad_position'] or 'null'}" in printed.stdout.splitlines()
