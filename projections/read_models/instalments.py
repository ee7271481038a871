"""The instalments read model: one row per instalment of every award, for what finance pays next.

Rows are made when a request is approved: its award's instalments, or for an approval recorded
before awards had periods (its ``award`` is None), the one instalment due the day it was approved,
as the aggregate itself reads it (``award_of_approval``). They then move with the request's
payments (a payment recorded before payments named instalments pays them in order, again as the
aggregate does), holds and releases, and with the payment runs that take them in: ``payment_run``
is the number of the run an instalment is in, kept once the line is paid, cleared if the run is
cancelled before paying it.

Money is in pence. ``request_year`` is the request's financial year, which reconciliation selects a
year's rows by; ``financial_year`` is the instalment's own, the fund it is paid from. An approval
event carries neither the school nor the cluster, so each request's are kept from its submission in
``instalment_requests``. A batch reads each touched request's rows once, moves them in memory and
writes each changed row once at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import date
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate

from domain.award_keeping import award_of_approval
from domain.awards import Award, Instalment, InstalmentAmount
from domain.funding_request import FundingRequest
from domain.money import Money
from domain.payment_runs import PaymentRun
from domain.schedules import ScheduleKind
from domain.values import FinancialYear
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.common import hex_id
from projections.source import NotificationLike

R = FundingRequest


class InstalmentRow(NamedTuple):
    """One instalment of an award, money in pence, dates as ``YYYY-MM-DD``."""

    instalment_id: str  # the request's 32 hex digits, a dash, the number in 4 digits
    request_id: str
    school_urn: str
    cluster_id: str
    funded_by: str  # "cluster" or "council"
    request_year: str
    financial_year: str  # the instalment's: the fund it is paid from
    number: int
    due_on: str
    amount: int
    paid: int
    released: int
    held_until: str  # "" when not held
    payment_run: int | None

    @property
    def unpaid(self) -> int:
        return self.amount - self.paid - self.released

    @property
    def held(self) -> bool:
        return bool(self.held_until) and self.unpaid > 0


INSTALMENT_COLUMNS = InstalmentRow._fields
REQUEST_COLUMNS = ("request_id", "school_urn", "cluster_id", "financial_year")
_UPDATE = "UPDATE instalments SET paid = ?, released = ?, held_until = ?, payment_run = ? WHERE instalment_id = ?"


def instalment_id(request_hex: str, number: int) -> str:
    return f"{request_hex}-{number:04d}"


@dataclass(slots=True)
class _Row:
    """A row as this batch leaves it; ``new`` if the table has none yet, ``changed`` if it must be written."""

    instalment_id: str
    request_id: str
    school_urn: str
    cluster_id: str
    funded_by: str
    request_year: str
    financial_year: str
    number: int
    due_on: str
    amount: int
    paid: int
    released: int
    held_until: str
    payment_run: int | None
    new: bool = False
    changed: bool = False

    def values(self) -> tuple[Any, ...]:
        return astuple(self)[: len(INSTALMENT_COLUMNS)]

    def instalment(self) -> Instalment:
        return Instalment(
            self.number,
            date.fromisoformat(self.due_on),
            FinancialYear.parse(self.financial_year),
            Money(self.amount),
            Money(self.paid),
            Money(self.released),
            self.held_until,
        )


class _Request(NamedTuple):
    request_id: str
    school_urn: str
    cluster_id: str
    financial_year: str


class Instalments(Projection):
    """One row per instalment of every award (and each request's school, cluster and year)."""

    name = "instalments"
    tables = ("instalments", "instalment_requests")

    def __init__(self) -> None:
        self._handlers: dict[type, Callable[[Cursor, Any], None]] = {
            R.Submitted: self._submitted,
            R.ClusterApproved: self._approved,
            R.CouncilApproved: self._approved,
            R.PaymentRecorded: self._paid,
            R.InstalmentHeld: self._held,
            R.InstalmentHoldLifted: self._hold_lifted,
            R.AwardReleased: self._released,
            PaymentRun.Opened: self._run_opened,
            PaymentRun.Cancelled: self._run_cancelled,
        }
        self._reset()

    def create_statements(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS instalments (
                instalment_id TEXT PRIMARY KEY,
                request_id TEXT NOT NULL,
                school_urn TEXT NOT NULL,
                cluster_id TEXT NOT NULL,
                funded_by TEXT NOT NULL,
                request_year TEXT NOT NULL,
                financial_year TEXT NOT NULL,
                number BIGINT NOT NULL,
                due_on TEXT NOT NULL,
                amount BIGINT NOT NULL,
                paid BIGINT NOT NULL DEFAULT 0,
                released BIGINT NOT NULL DEFAULT 0,
                held_until TEXT NOT NULL DEFAULT '',
                payment_run BIGINT
            )""",
            # Finance asks what is due by a date, earliest first.
            "CREATE INDEX IF NOT EXISTS instalments_by_due_date ON instalments (due_on, instalment_id)",
            "CREATE INDEX IF NOT EXISTS instalments_by_request ON instalments (request_id, number)",
            """CREATE TABLE IF NOT EXISTS instalment_requests (
                request_id TEXT PRIMARY KEY,
                school_urn TEXT NOT NULL,
                cluster_id TEXT NOT NULL,
                financial_year TEXT NOT NULL
            )""",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        self._reset()

    def _reset(self) -> None:
        self._new_requests: list[_Request] = []
        self._requests: dict[str, _Request] = {}
        # Every row of each request touched this batch, in number order.
        self._rows: dict[str, list[_Row]] = {}

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(cursor, event)

    def end_batch(self, cursor: Cursor) -> None:
        cursor.insert_rows("instalment_requests", REQUEST_COLUMNS, self._new_requests)
        rows = [row for rows in self._rows.values() for row in rows]
        cursor.insert_rows("instalments", INSTALMENT_COLUMNS, [row.values() for row in rows if row.new])
        changed = [
            (row.paid, row.released, row.held_until, row.payment_run, row.instalment_id)
            for row in rows
            if row.changed and not row.new
        ]
        if changed:
            cursor.executemany(_UPDATE, changed)
        self._reset()

    # -- the request's events -----------------------------------------------------------------------

    def _submitted(self, cursor: Cursor, event: FundingRequest.Submitted) -> None:
        request = _Request(
            hex_id(event.originator_id), str(event.school_urn), str(event.cluster_id), str(event.financial_year)
        )
        self._requests[request.request_id] = request
        self._new_requests.append(request)

    def _approved(self, cursor: Cursor, event: FundingRequest.ClusterApproved | FundingRequest.CouncilApproved) -> None:
        request = self._request(cursor, hex_id(event.originator_id))
        year = FinancialYear.parse(request.financial_year)
        award = award_of_approval(event.award, event.amount, year, event.timestamp)
        funded_by = "council" if isinstance(event, R.CouncilApproved) else "cluster"
        self._rows[request.request_id] = [
            _Row(
                instalment_id(request.request_id, instalment.number),
                request.request_id,
                request.school_urn,
                request.cluster_id,
                funded_by,
                request.financial_year,
                str(instalment.financial_year),
                instalment.number,
                instalment.due_on.isoformat(),
                instalment.amount.pence,
                instalment.paid.pence,
                instalment.released.pence,
                instalment.held_until,
                None,
                new=True,
            )
            for instalment in award.instalments
        ]

    def _paid(self, cursor: Cursor, event: FundingRequest.PaymentRecorded) -> None:
        rows = self._rows_of(cursor, hex_id(event.originator_id))
        parts = event.instalments
        if parts is None:
            # A payment recorded before payments named instalments paid them in order, as the
            # request itself reads it: the award's own rule, on the award these rows are.
            award = Award(None, ScheduleKind.SINGLE, [row.instalment() for row in rows], [])
            parts = award.payment_parts(event.amount, None)
        for part in parts:
            row = self._numbered(rows, part)
            row.paid += part.amount.pence
            row.changed = True

    def _held(self, cursor: Cursor, event: FundingRequest.InstalmentHeld) -> None:
        row = self._row(cursor, hex_id(event.originator_id), event.number)
        row.held_until, row.changed = event.condition, True

    def _hold_lifted(self, cursor: Cursor, event: FundingRequest.InstalmentHoldLifted) -> None:
        row = self._row(cursor, hex_id(event.originator_id), event.number)
        row.held_until, row.changed = "", True

    def _released(self, cursor: Cursor, event: FundingRequest.AwardReleased) -> None:
        rows = self._rows_of(cursor, hex_id(event.originator_id))
        for part in event.instalments:
            row = self._numbered(rows, part)
            row.released += part.amount.pence
            row.changed = True

    # -- payment runs ---------------------------------------------------------------------------------

    def _run_opened(self, cursor: Cursor, event: PaymentRun.Opened) -> None:
        for line in event.lines:
            row = self._row(cursor, line.request_id.hex, line.instalment)
            row.payment_run, row.changed = event.number, True

    def _run_cancelled(self, cursor: Cursor, event: PaymentRun.Cancelled) -> None:
        for key in event.withdrawn:
            row = self._row(cursor, key.request_id.hex, key.number)
            row.payment_run, row.changed = None, True

    # -- finding rows: this batch's first, then the tables' ---------------------------------------------

    def _request(self, cursor: Cursor, request_id: str) -> _Request:
        request = self._requests.get(request_id)
        if request is None:
            cursor.execute(
                f"SELECT {', '.join(REQUEST_COLUMNS)} FROM instalment_requests WHERE request_id = ?", (request_id,)
            )
            found = cursor.fetchone()
            if found is None:
                raise LookupError(f"no request {request_id}: its Submitted event was never applied")
            request = self._requests[request_id] = _Request(*found)
        return request

    def _rows_of(self, cursor: Cursor, request_id: str) -> list[_Row]:
        rows = self._rows.get(request_id)
        if rows is None:
            cursor.execute(
                f"SELECT {', '.join(INSTALMENT_COLUMNS)} FROM instalments WHERE request_id = ? ORDER BY number",
                (request_id,),
            )
            rows = self._rows[request_id] = [self._stored(found) for found in cursor.fetchall()]
        return rows

    def _row(self, cursor: Cursor, request_id: str, number: int) -> _Row:
        for row in self._rows_of(cursor, request_id):
            if row.number == number:
                return row
        raise LookupError(f"no instalment {number} of request {request_id}: its approval was never applied")

    @staticmethod
    def _numbered(rows: list[_Row], part: InstalmentAmount) -> _Row:
        for row in rows:
            if row.number == part.number:
                return row
        raise LookupError(f"no instalment {part.number} of request {rows[0].request_id if rows else '?'}")

    @staticmethod
    def _stored(found: Any) -> _Row:
        (key, request_id, urn, cluster_id, funded_by, request_year, year, number, due_on, amount, paid, released,
         held_until, payment_run) = found  # fmt: skip
        return _Row(
            key, request_id, urn, cluster_id, funded_by, request_year, year, int(number), due_on, int(amount),
            int(paid), int(released), held_until, None if payment_run is None else int(payment_run),
        )  # fmt: skip
