"""Reconciliation of a damaged event log: a clear answer with the log position, never a traceback or a 500.

The log is damaged straight in the event table, as someone with database access (or a faulty
writer) would: state that is not JSON, a topic naming no class, an event out of its aggregate's
sequence, an event moved onto an aggregate it cannot apply to, a deleted Created event, and an
unreadable event after the read models' position. ``finance reconcile`` exits 1 with one line on
stderr; ``GET /finance/reconciliation`` answers 409 ``log-unreadable``. ``audit verify``, which
hashes the stored bytes and never decodes them, still answers on every one of these logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.funds import ClusterBudget
from domain.values import ClusterId, FinancialYear
from funding_engine.application import FundingApplication
from tests.api.conftest import assert_problem, auth, client_for
from tests.integration.tampering import Intruder
from tests.integration.test_read_models import Busy, build_busy_year, run_cli
from tests.support import CLUSTER, COUNCIL, FINANCE, YEAR


class EventTable:
    """The store's event table, edited directly: no application, no library."""

    def __init__(self, database_url: str) -> None:
        self.intruder = Intruder(database_url)

    def record(self, position: int) -> tuple[UUID, int, str]:
        [(originator_id, version, topic)] = self.intruder.execute(
            "SELECT originator_id, originator_version, topic FROM {events} WHERE {position} = ?", (position,)
        )
        return UUID(str(originator_id)), int(version), str(topic)

    def positions_of(self, originator_id: UUID) -> list[int]:
        rows = self.intruder.execute(
            "SELECT {position} FROM {events} WHERE originator_id = ? ORDER BY {position}",
            (self.intruder.id_param(originator_id),),
        )
        return [int(row[0]) for row in rows]

    def _change(self, sql: str, params: tuple[Any, ...]) -> None:
        with self.intruder.cursor() as cursor:
            cursor.execute(sql, params)
            assert cursor.rowcount == 1

    def update(self, position: int, column: str, value: Any) -> None:
        self._change(f"UPDATE {{events}} SET {column} = ? WHERE {{position}} = ?", (value, position))

    def move(self, position: int, originator_id: UUID, version: int) -> None:
        self._change(
            "UPDATE {events} SET originator_id = ?, originator_version = ? WHERE {position} = ?",
            (self.intruder.id_param(originator_id), version, position),
        )

    def delete(self, position: int) -> None:
        self._change("DELETE FROM {events} WHERE {position} = ?", (position,))

    def append(self, originator_id: UUID, version: int, topic: str, state: bytes) -> None:
        self._change(
            "INSERT INTO {events} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
            (self.intruder.id_param(originator_id), version, topic, state),
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
