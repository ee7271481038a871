"""The awards read model: one row per approved request, with its money after the decision.

An award's row says whose it is (school, cluster, the fund that approved it, the financial years
it commits on), when it was approved, and its figures as the domain's ``Award`` works them out:
approved, paid out, released, recovered (received), held and scheduled but unpaid. Finance reads
it for "commitments by age": the unpaid money of each fund by how long ago it was approved.

Two helper tables: where each request belongs (written at submission, so an approval's row names
its school without reading the aggregate), and each award's instalments (number, financial year,
due date, amount, paid, released, the condition it is held until), from which every figure is
worked out, and which a payment, hold or release changes. An award's figures and instalments are
read back once per batch, changed in memory as its events say, and written at the batch's end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate

from domain.award_keeping import award_of_approval
from domain.awards import Award, Instalment
from domain.funding_request import FundingRequest
from domain.money import Money
from domain.schedules import ScheduleKind
from domain.values import FinancialYear
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.common import hex_id, iso
from projections.source import NotificationLike

R = FundingRequest


class AwardRow(NamedTuple):
    """A row of ``awards``: money in pence, ``approved_at`` as ISO 8601 UTC text."""

    request_id: str  # 32 hex digits
    school_urn: str
    cluster_id: str
    financial_year: str  # the request's
    funded_by: str  # "cluster" or "council"
    financial_years: str  # the years it commits on, comma-separated: "2026-27,2027-28"
    approved_at: str
    approved: int
    paid_out: int
    released: int
    recovered: int
    held: int
    scheduled_unpaid: int


AWARDS_COLUMNS = AwardRow._fields
INSTALMENT_COLUMNS = (
    "instalment_ref", "request_id", "number", "financial_year", "due_on", "amount", "paid", "released", "held_until"
)  # fmt: skip
FIGURE_COLUMNS = AWARDS_COLUMNS[7:]
_UPDATE_AWARD = f"UPDATE awards SET {', '.join(f'{c} = ?' for c in FIGURE_COLUMNS)} WHERE request_id = ?"
_UPDATE_INSTALMENT = "UPDATE awards_instalments SET paid = ?, released = ?, held_until = ? WHERE instalment_ref = ?"


def instalment_ref(request_id: str, number: int) -> str:
    """An instalment's key: its request and number, in an order that sorts as the schedule does."""
    return f"{request_id}/{number:03d}"


class _Request(NamedTuple):
    request_id: str
    school_urn: str
    cluster_id: str
    financial_year: str


@dataclass(slots=True)
class _Instalment:
    number: int
    financial_year: str
    due_on: str
    amount: int
    paid: int = 0
    released: int = 0
    held_until: str = ""
    changed: bool = False

    def domain(self) -> Instalment:
        return Instalment(
            self.number,
            date.fromisoformat(self.due_on),
            FinancialYear.parse(self.financial_year),
            Money(self.amount),
            Money(self.paid),
            Money(self.released),
            self.held_until,
        )


@dataclass(slots=True)
class _Award:
    """An award as this batch has it; ``new`` if approved in it (its rows not yet written)."""

    request: _Request
    funded_by: str
    approved_at: str
    instalments: dict[int, _Instalment]
    recovered: int = 0
    new: bool = True
    changed: bool = field(default=True)

    def domain(self) -> Award:
        """The award as the domain has it, for its figures and its rule for unnamed payments."""
        return Award(None, ScheduleKind.SINGLE, [i.domain() for i in self.instalments.values()], [])

    def row(self) -> AwardRow:
        award = self.domain()
        years = sorted({i.financial_year for i in self.instalments.values()})
        return AwardRow(
            *self.request,
            self.funded_by,
            ",".join(years),
            self.approved_at,
            award.approved.pence,
            award.paid_out.pence,
            award.released.pence,
            self.recovered,
            award.held.pence,
            award.scheduled_unpaid.pence,
        )


class Awards(Projection):
    """One row per approved request, and its instalments."""

    name = "awards"
    tables = ("awards", "awards_instalments", "awards_requests")

    def __init__(self) -> None:
        self._handlers: dict[type, Callable[[Cursor, Any], None]] = {
            R.Submitted: self._submitted,
            R.ClusterApproved: self._approved,
            R.CouncilApproved: self._approved,
            R.PaymentRecorded: self._paid,
            R.InstalmentHeld: self._held,
            R.InstalmentHoldLifted: self._hold_lifted,
            R.AwardReleased: self._released,
            R.RecoveryReceived: self._recovery_received,
        }
        self._reset()

    def create_statements(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS awards (
                request_id TEXT PRIMARY KEY,
                school_urn TEXT NOT NULL,
                cluster_id TEXT NOT NULL,
                financial_year TEXT NOT NULL,
                funded_by TEXT NOT NULL,
                financial_years TEXT NOT NULL,
                approved_at TEXT NOT NULL,
                approved BIGINT NOT NULL,
                paid_out BIGINT NOT NULL,
                released BIGINT NOT NULL,
                recovered BIGINT NOT NULL,
                held BIGINT NOT NULL,
                scheduled_unpaid BIGINT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS awards_by_year ON awards (financial_year, request_id)",
            """CREATE TABLE IF NOT EXISTS awards_instalments (
                instalment_ref TEXT PRIMARY KEY,
                request_id TEXT NOT NULL,
                number BIGINT NOT NULL,
                financial_year TEXT NOT NULL,
                due_on TEXT NOT NULL,
                amount BIGINT NOT NULL,
                paid BIGINT NOT NULL,
                released BIGINT NOT NULL,
                held_until TEXT NOT NULL
            )""",
            # Commitments by age read one financial year's instalments (an award's share of a fund).
            (
                "CREATE INDEX IF NOT EXISTS awards_instalments_by_year ON awards_instalments "
                "(financial_year, request_id)"
            ),
            """CREATE TABLE IF NOT EXISTS awards_requests (
                request_id TEXT PRIMARY KEY,
                school_urn TEXT NOT NULL,
                cluster_id TEXT NOT NULL,
                financial_year TEXT NOT NULL
            )""",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        self._reset()

    def _reset(self) -> None:
        self._requests: dict[str, _Request] = {}
        self._new_requests: list[_Request] = []
        self._awards: dict[str, _Award] = {}  # those this batch touched, read back or approved in it

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(cursor, event)

    def end_batch(self, cursor: Cursor) -> None:
        cursor.insert_rows("awards_requests", _Request._fields, self._new_requests)
        new = [award for award in self._awards.values() if award.new]
        cursor.insert_rows("awards", AWARDS_COLUMNS, [award.row() for award in new])
        cursor.insert_rows(
            "awards_instalments",
            INSTALMENT_COLUMNS,
            [_instalment_row(award.request.request_id, i) for award in new for i in award.instalments.values()],
        )
        older = [award for award in self._awards.values() if not award.new and award.changed]
        if older:
            cursor.executemany(_UPDATE_AWARD, [(*award.row()[7:], award.request.request_id) for award in older])
            changed = [
                (i.paid, i.released, i.held_until, instalment_ref(award.request.request_id, i.number))
                for award in older
                for i in award.instalments.values()
                if i.changed
            ]
            if changed:
                cursor.executemany(_UPDATE_INSTALMENT, changed)
        self._reset()

    # -- events --------------------------------------------------------------------------------------

    def _submitted(self, cursor: Cursor, event: FundingRequest.Submitted) -> None:
        request = _Request(
            hex_id(event.originator_id), str(event.school_urn), str(event.cluster_id), str(event.financial_year)
        )
        self._requests[request.request_id] = request
        self._new_requests.append(request)

    def _approved(self, cursor: Cursor, event: FundingRequest.ClusterApproved | FundingRequest.CouncilApproved) -> None:
        request = self._request(cursor, hex_id(event.originator_id))
        # An approval recorded before awards had periods made the award the domain says it made.
        year = FinancialYear.parse(request.financial_year)
        award = award_of_approval(event.award, event.amount, year, event.timestamp)
        instalments = {
            i.number: _Instalment(
                i.number,
                str(i.financial_year),
                i.due_on.isoformat(),
                i.amount.pence,
                i.paid.pence,
                i.released.pence,
                i.held_until,
            )
            for i in award.instalments
        }
        funded_by = "council" if isinstance(event, R.CouncilApproved) else "cluster"
        self._awards[request.request_id] = _Award(request, funded_by, iso(event.timestamp), instalments)

    def _paid(self, cursor: Cursor, event: FundingRequest.PaymentRecorded) -> None:
        award = self._award(cursor, event)
        # A payment recorded before issue 13 paid the unheld instalments in order, as the domain says.
        parts = event.instalments
        if parts is None:
            parts = award.domain().payment_parts(event.amount, None)
        for part in parts:
            instalment = self._instalment(award, part.number)
            instalment.paid += part.amount.pence

    def _held(self, cursor: Cursor, event: FundingRequest.InstalmentHeld) -> None:
        self._instalment(self._award(cursor, event), event.number).held_until = event.condition

    def _hold_lifted(self, cursor: Cursor, event: FundingRequest.InstalmentHoldLifted) -> None:
        self._instalment(self._award(cursor, event), event.number).held_until = ""

    def _released(self, cursor: Cursor, event: FundingRequest.AwardReleased) -> None:
        award = self._award(cursor, event)
        for part in event.instalments:
            self._instalment(award, part.number).released += part.amount.pence

    def _recovery_received(self, cursor: Cursor, event: FundingRequest.RecoveryReceived) -> None:
        self._award(cursor, event).recovered += event.amount.pence

    # -- what the batch holds ------------------------------------------------------------------------

    @staticmethod
    def _instalment(award: _Award, number: int) -> _Instalment:
        instalment = award.instalments[number]
        instalment.changed = award.changed = True
        return instalment

    def _request(self, cursor: Cursor, request_id: str) -> _Request:
        request = self._requests.get(request_id)
        if request is None:
            columns = ", ".join(_Request._fields)
            cursor.execute(f"SELECT {columns} FROM awards_requests WHERE request_id = ?", (request_id,))
            request = self._requests[request_id] = _Request(*(str(value) for value in cursor.fetchone()))
        return request

    def _award(self, cursor: Cursor, event: Aggregate.Event) -> _Award:
        request_id = hex_id(event.originator_id)
        award = self._awards.get(request_id)
        if award is None:
            cursor.execute(f"SELECT {', '.join(AWARDS_COLUMNS)} FROM awards WHERE request_id = ?", (request_id,))
            row = AwardRow._make(cursor.fetchone())
            cursor.execute(
                "SELECT number, financial_year, due_on, amount, paid, released, held_until FROM awards_instalments "
                "WHERE request_id = ? ORDER BY number",
                (request_id,),
            )
            instalments = {
                int(number): _Instalment(int(number), str(year), str(due_on), int(amount), int(paid), int(released),
                                         str(held_until))
                for number, year, due_on, amount, paid, released, held_until in cursor.fetchall()
            }  # fmt: skip
            request = _Request(row.request_id, row.school_urn, row.cluster_id, row.financial_year)
            award = _Award(request, row.funded_by, row.approved_at, instalments, int(row.recovered), new=False,
                           changed=False)  # fmt: skip
            self._awards[request_id] = award
        award.changed = True
        return award


def _instalment_row(request_id: str, instalment: _Instalment) -> tuple[Any, ...]:
    return (
        instalment_ref(request_id, instalment.number),
        request_id,
        instalment.number,
        instalment.financial_year,
        instalment.due_on,
        instalment.amount,
        instalment.paid,
        instalment.released,
        instalment.held_until,
    )
