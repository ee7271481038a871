"""The finance ledger: one row per money movement, with the fund's available and paid balances after it.

Movements are allocations (or, negative, adjustments), commitments (each cluster or council
approval), commissions and payments; since issue 13 also forward commitments (an award's share
for a year with no allocation yet) and their covering by an allocation, releases, recoveries
received (``income`` once the year is closed), the year's close (its amount is what was carried
forward) and, on the next year's fund, the allocation the close carried in (``carry_forward_in``).
A helper table keeps each fund's running balances, so a movement's row is written without summing
the fund's history, and what the fund carried forward and in: an allocation is the carry-in when
the year before carried money forward and nothing has been carried in yet, as the close allocates
it in the same save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from operator import attrgetter
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValue
from domain.formatting import pounds
from domain.funds import ClusterBudget, CouncilFund, Fund, FundFigures
from domain.values import ClusterId, FinancialYear
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.common import hex_id, iso, of_each_fund
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
    carried_forward: int = 0  # at the close
    carried_in: int = 0  # from the year before's close

    def year_before(self) -> str | None:
        """The id of the same fund for the year before (None before the first year there is)."""
        try:
            year = FinancialYear(FinancialYear.parse(self.financial_year).start_year - 1)
        except InvalidValue:
            return None
        if self.cluster_id is None:
            return CouncilFund.id_for(year).hex
        return ClusterBudget.id_for(ClusterId(self.cluster_id), year).hex


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
            **of_each_fund(
                {
                    "FundsCommittedForward": self._committed_forward,
                    "ForwardCommitmentsCovered": self._forward_covered,
                    "FundsReleased": self._released,
                    "RecoveryReceived": self._recovery_received,
                    "YearClosed": self._year_closed,
                }
            ),
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
                paid BIGINT NOT NULL DEFAULT 0,
                carried_forward BIGINT NOT NULL DEFAULT 0,
                carried_in BIGINT NOT NULL DEFAULT 0
            )""",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        self._reset()

    def _reset(self) -> None:
        # The funds' running balances, read once per batch and written once at its end (funds
        # opened in the batch inserted with them).
        self._funds: dict[str, _RunningBalance | None] = {}  # None: no such fund
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
        moved = [
            (fund.available, fund.paid, fund.carried_forward, fund.carried_in, fund_id)
            for fund_id, fund in self._moved.items()
            if fund_id not in opened
        ]
        if moved:
            cursor.executemany(
                "UPDATE finance_ledger_funds SET available = ?, paid = ?, carried_forward = ?, carried_in = ? "
                "WHERE fund_id = ?",
                moved,
            )
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
        amount, fund = event.amount.pence, self._fund_of(cursor, event)
        movement = "allocation" if amount > 0 else "adjustment"
        if amount > 0 and not fund.carried_in:
            before = self._fund_or_none(cursor, fund.year_before())
            if before is not None and before.carried_forward:
                movement, fund.carried_in = "carry_forward_in", amount
        self._movement(notification, event, fund, movement, amount, ALLOCATION * amount, 0, None, event.note)

    def _committed(self, cursor: Cursor, notification: NotificationLike, event: Fund.FundsCommitted) -> None:
        amount, fund = event.amount.pence, self._fund_of(cursor, event)
        self._movement(notification, event, fund, "commitment", amount, COMMITMENT * amount, 0,
                       hex_id(event.request_id), "")  # fmt: skip

    def _commissioned(
        self, cursor: Cursor, notification: NotificationLike, event: ClusterBudget.ServiceCommissioned
    ) -> None:
        amount, fund = event.amount.pence, self._fund_of(cursor, event)
        reference = f"{event.service.value}: {event.provider}"
        self._movement(notification, event, fund, "commission", amount, COMMISSION * amount, 0, None, reference)

    def _paid(self, cursor: Cursor, notification: NotificationLike, event: Fund.PaymentRecorded) -> None:
        amount, fund = event.amount.pence, self._fund_of(cursor, event)
        self._movement(notification, event, fund, "payment", amount, PAYMENT * amount, amount,
                       hex_id(event.request_id), event.reference)  # fmt: skip

    def _committed_forward(
        self, cursor: Cursor, notification: NotificationLike, event: Fund.FundsCommittedForward
    ) -> None:
        # Committed ahead of any allocation: not in ``committed``, so ``available`` stays as it is.
        amount, fund = event.amount.pence, self._fund_of(cursor, event)
        self._movement(notification, event, fund, "forward_commitment", amount, 0, 0, hex_id(event.request_id), "")

    def _forward_covered(
        self, cursor: Cursor, notification: NotificationLike, event: Fund.ForwardCommitmentsCovered
    ) -> None:
        # The allocation just before it (same fund, same save) covered it; the event names nobody.
        amount, fund = event.amount.pence, self._fund_of(cursor, event)
        self._movement(notification, event, fund, "forward_covered", amount, COMMITMENT * amount, 0, None,
                       "covered by the allocation", actor_sub="")  # fmt: skip

    def _released(self, cursor: Cursor, notification: NotificationLike, event: Fund.FundsReleased) -> None:
        # The part still committed ahead (``uncovered``) was never in ``committed``.
        amount, uncovered, fund = event.amount.pence, event.uncovered.pence, self._fund_of(cursor, event)
        reference = f"{pounds(uncovered)} of it committed ahead" if uncovered else ""
        self._movement(notification, event, fund, "release", amount, -COMMITMENT * (amount - uncovered), 0,
                       hex_id(event.request_id), reference)  # fmt: skip

    def _recovery_received(self, cursor: Cursor, notification: NotificationLike, event: Fund.RecoveryReceived) -> None:
        amount, fund, request_id = event.amount.pence, self._fund_of(cursor, event), hex_id(event.request_id)
        if event.as_income:  # the year is closed: income, which moves neither balance
            self._movement(notification, event, fund, "income", amount, 0, 0, request_id, event.reference)
        else:
            self._movement(notification, event, fund, "recovery", amount, -COMMITMENT * amount, -amount, request_id,
                           event.reference)  # fmt: skip

    def _year_closed(self, cursor: Cursor, notification: NotificationLike, event: Fund.YearClosed) -> None:
        carried, fund = event.carried_forward.pence, self._fund_of(cursor, event)
        fund.carried_forward = carried
        reference = f"committed but unpaid at close: {pounds(event.committed_unpaid.pence)}"
        self._movement(notification, event, fund, "year_close", carried, -ALLOCATION * carried, 0, None, reference)

    def _movement(
        self,
        notification: NotificationLike,
        event: Aggregate.Event,
        fund: _RunningBalance,
        movement: str,
        amount: int,
        available_change: int,
        paid_change: int,
        request_id: str | None,
        reference: str,
        *,
        actor_sub: str | None = None,
    ) -> None:
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
                amount,
                fund.available,
                fund.paid,
                reference,
                event.actor.sub if actor_sub is None else actor_sub,  # type: ignore[attr-defined]
            )
        )

    def _fund_of(self, cursor: Cursor, event: Aggregate.Event) -> _RunningBalance:
        return self._fund(cursor, hex_id(event.originator_id))

    def _fund(self, cursor: Cursor, fund_id: str) -> _RunningBalance:
        fund = self._fund_or_none(cursor, fund_id)
        if fund is None:
            raise LookupError(f"the ledger has no fund {fund_id}, yet the log has an event of it")
        return fund

    def _fund_or_none(self, cursor: Cursor, fund_id: str | None) -> _RunningBalance | None:
        """A fund's running balance, read back once per batch (None: the ledger has no such fund)."""
        if fund_id is None:
            return None
        if fund_id not in self._funds:
            cursor.execute(f"SELECT {', '.join(_FUND_COLUMNS)} FROM finance_ledger_funds WHERE fund_id = ?", (fund_id,))
            row = cursor.fetchone()
            if row is None:
                self._funds[fund_id] = None
            else:
                fund_id, kind, cluster_id, year, *pence = row
                self._funds[fund_id] = _RunningBalance(fund_id, kind, cluster_id, year, *(int(p) for p in pence))
        return self._funds[fund_id]
