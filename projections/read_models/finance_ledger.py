"""The finance ledger: one row per money movement, with the fund's available and paid balances after it.

Movements are allocations (or, negative, adjustments), commitments (each cluster or council
approval), commissions and payments. A helper table keeps each fund's running balances, so a
movement's row is written without summing the fund's history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from operator import attrgetter
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate

from domain.funds import ClusterBudget, CouncilFund, Fund, FundFigures
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.common import hex_id, iso
from projections.source import NotificationLike


class LedgerRow(NamedTuple):
    """A row of the ledger (and of finance's CSV), keyed by the log position of its event."""

    position: int
    recorded_at: str
    fund: str  # "cluster" or "council"
    cluster_id: str | None
    financial_year: str
    movement: str
    request_id: str | None  # 32 hex digits: the request a commitment or payment is for
    amount: int  # pence
    available_after: int
    paid_after: int
    reference: str
    actor_sub: str


# Every column of the table, in the order the row has them.
FINANCE_LEDGER_COLUMNS = LedgerRow._fields

# How one penny of a movement moves a fund's available balance, read off ``FundFigures`` (where
# ``available`` is worked out) rather than written out again here.
_NOTHING = FundFigures(0, 0, 0, 0)
ALLOCATION = replace(_NOTHING, allocated=1).available
COMMITMENT = replace(_NOTHING, committed=1).available
COMMISSION = replace(_NOTHING, commissioned=1).available
PAYMENT = replace(_NOTHING, paid=1).available


@dataclass(slots=True)
class _RunningBalance:
    """A fund's row of ``finance_ledger_funds``: its balances after the last movement applied."""

    fund_id: str
    fund: str
    cluster_id: str | None
    financial_year: str
    available: int = 0
    paid: int = 0


_FUND_COLUMNS = tuple(field.name for field in fields(_RunningBalance))
_FUND_ROW = attrgetter(*_FUND_COLUMNS)


class FinanceLedger(Projection):
    """One row per money movement, with the fund's available and paid balances after it."""

    name = "finance_ledger"
    tables = ("finance_ledger", "finance_ledger_funds")

    def __init__(self) -> None:
        self._handlers: dict[type, Callable[[Cursor, NotificationLike, Any], None]] = {
            ClusterBudget.Opened: self._fund_opened,
            CouncilFund.Opened: self._fund_opened,
            ClusterBudget.FundsAllocated: self._allocated,
            CouncilFund.FundsAllocated: self._allocated,
            ClusterBudget.FundsCommitted: self._committed,
            CouncilFund.FundsCommitted: self._committed,
            ClusterBudget.ServiceCommissioned: self._commissioned,
            ClusterBudget.PaymentRecorded: self._paid,
            CouncilFund.PaymentRecorded: self._paid,
        }
        self._reset()

    def create_statements(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS finance_ledger (
                position BIGINT PRIMARY KEY,
                recorded_at TEXT NOT NULL,
                fund TEXT NOT NULL,
                cluster_id TEXT,
                financial_year TEXT NOT NULL,
                movement TEXT NOT NULL,
                request_id TEXT,
                amount BIGINT NOT NULL,
                available_after BIGINT NOT NULL,
                paid_after BIGINT NOT NULL,
                reference TEXT NOT NULL,
                actor_sub TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS finance_ledger_by_year ON finance_ledger (financial_year, position)",
            """CREATE TABLE IF NOT EXISTS finance_ledger_funds (
                fund_id TEXT PRIMARY KEY,
                fund TEXT NOT NULL,
                cluster_id TEXT,
                financial_year TEXT NOT NULL,
                available BIGINT NOT NULL DEFAULT 0,
                paid BIGINT NOT NULL DEFAULT 0
            )""",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        self._reset()

    def _reset(self) -> None:
        # The funds' running balances, read once per batch and written once at its end (funds
        # opened in the batch inserted with them).
        self._funds: dict[str, _RunningBalance] = {}
        self._opened: list[_RunningBalance] = []
        self._moved: dict[str, _RunningBalance] = {}  # ordered: funds' rows are updated in a stable order
        self._entries: list[LedgerRow] = []

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(cursor, notification, event)

    def end_batch(self, cursor: Cursor) -> None:
        cursor.insert_rows("finance_ledger_funds", _FUND_COLUMNS, [_FUND_ROW(fund) for fund in self._opened])
        opened = {fund.fund_id for fund in self._opened}
        moved = [(fund.available, fund.paid, fund_id) for fund_id, fund in self._moved.items() if fund_id not in opened]
        if moved:
            cursor.executemany("UPDATE finance_ledger_funds SET available = ?, paid = ? WHERE fund_id = ?", moved)
        cursor.insert_rows("finance_ledger", FINANCE_LEDGER_COLUMNS, self._entries)
        self._reset()

    # -- movements ------------------------------------------------------------------------------

    def _fund_opened(
        self, cursor: Cursor, notification: NotificationLike, event: ClusterBudget.Opened | CouncilFund.Opened
    ) -> None:
        fund_id = hex_id(event.originator_id)
        if isinstance(event, ClusterBudget.Opened):
            fund = _RunningBalance(fund_id, "cluster", str(event.cluster_id), str(event.financial_year))
        else:
            fund = _RunningBalance(fund_id, "council", None, str(event.financial_year))
        self._funds[fund_id] = fund
        self._opened.append(fund)

    def _allocated(self, cursor: Cursor, notification: NotificationLike, event: Fund.FundsAllocated) -> None:
        movement = "allocation" if event.amount.pence > 0 else "adjustment"
        self._movement(cursor, notification, event, movement, ALLOCATION * event.amount.pence, 0, None, event.note)

    def _committed(self, cursor: Cursor, notification: NotificationLike, event: Fund.FundsCommitted) -> None:
        change = COMMITMENT * event.amount.pence
        self._movement(cursor, notification, event, "commitment", change, 0, hex_id(event.request_id), "")

    def _commissioned(
        self, cursor: Cursor, notification: NotificationLike, event: ClusterBudget.ServiceCommissioned
    ) -> None:
        change, reference = COMMISSION * event.amount.pence, f"{event.service.value}: {event.provider}"
        self._movement(cursor, notification, event, "commission", change, 0, None, reference)

    def _paid(self, cursor: Cursor, notification: NotificationLike, event: Fund.PaymentRecorded) -> None:
        change, paid = PAYMENT * event.amount.pence, event.amount.pence
        self._movement(cursor, notification, event, "payment", change, paid, hex_id(event.request_id), event.reference)

    def _movement(
        self,
        cursor: Cursor,
        notification: NotificationLike,
        event: Fund.FundsAllocated | Fund.FundsCommitted | Fund.PaymentRecorded | ClusterBudget.ServiceCommissioned,
        movement: str,
        available_change: int,
        paid_change: int,
        request_id: str | None,
        reference: str,
    ) -> None:
        fund = self._fund(cursor, hex_id(event.originator_id))
        fund.available += available_change
        fund.paid += paid_change
        self._moved[fund.fund_id] = fund
        self._entries.append(
            LedgerRow(
                notification.id,
                iso(event.timestamp),
                fund.fund,
                fund.cluster_id,
                fund.financial_year,
                movement,
                request_id,
                event.amount.pence,
                fund.available,
                fund.paid,
                reference,
                event.actor.sub,
            )
        )

    def _fund(self, cursor: Cursor, fund_id: str) -> _RunningBalance:
        fund = self._funds.get(fund_id)
        if fund is None:
            cursor.execute(f"SELECT {', '.join(_FUND_COLUMNS)} FROM finance_ledger_funds WHERE fund_id = ?", (fund_id,))
            fund_id, kind, cluster_id, year, available, paid = cursor.fetchone()
            fund = self._funds[fund_id] = _RunningBalance(fund_id, kind, cluster_id, year, int(available), int(paid))
        return fund
