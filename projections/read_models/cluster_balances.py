"""The balances read model: each cluster's budget per year, and the council fund per year.

A budget's row holds the fund's own figures (allocated, committed, commissioned, paid), what its
open requests ask for (``pending``) and what its escalated requests ask of the council
(``escalated``), and the budget's version. ``available`` is never stored: it is derived on read, by
``FundFigures``. Which request events move ``pending`` and ``escalated`` is read off the lifecycle.

Beside them, both tables keep the money after the decisions (issue 13, ``AfterDecisions``): what is
committed ahead of any allocation (``forward``), released, recovered, received as income once
closed; and the year's close: whether it is closed, what was committed but unpaid then, what was
carried forward, and (on the next year's row) what was carried in. A close names no fund but its
own, so the next year's row is found from the closed one's cluster and year.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate

from domain.funding_request import TRANSITION_OF, FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.lifecycle import AWAITING_COUNCIL, OPEN_STATUSES, enters, leaves
from domain.values import ClusterId, FinancialYear
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.balance_rows import (
    AFTER_DECISION_COLUMNS,
    AfterDecisions,
    BalanceRow,
    BalanceTotalsRow,
    CouncilFundRow,
)
from projections.read_models.common import hex_id, of_each_fund
from projections.source import NotificationLike

R = FundingRequest

__all__ = [
    "AFTER_DECISION_COLUMNS",
    "AfterDecisions",
    "BalanceRow",
    "BalanceTotalsRow",
    "ClusterBalances",
    "CouncilFundRow",
]

# The figures each table stores, in the order its UPDATE adds to them (then ``AFTER_DECISION_COLUMNS``).
CLUSTER_FIGURES = ("allocated", "committed", "commissioned", "pending", "escalated", "paid")
COUNCIL_FIGURES = ("allocated", "committed", "paid")
_CLUSTER_ADDED = (*CLUSTER_FIGURES, *AFTER_DECISION_COLUMNS)
_COUNCIL_ADDED = (*COUNCIL_FIGURES, *AFTER_DECISION_COLUMNS)
_AFTER_DECISION_DDL = ",\n".join(f"{name} BIGINT NOT NULL DEFAULT 0" for name in AFTER_DECISION_COLUMNS)
# A fund whose own events were not in the batch (only requests' pending/escalated moved) keeps its version.
CLUSTER_UPDATE = (
    f"UPDATE cluster_balances SET {', '.join(f'{f} = {f} + ?' for f in _CLUSTER_ADDED)}, "
    "version = COALESCE(?, version) WHERE fund_id = ?"
)
COUNCIL_UPDATE = (
    f"UPDATE council_fund_balances SET {', '.join(f'{f} = {f} + ?' for f in _COUNCIL_ADDED)}, "
    "version = COALESCE(?, version) WHERE fund_id = ?"
)

# The council fund's own events (the library subclasses each of ``Fund``'s events for it).
_COUNCIL_EVENTS = frozenset(
    value for value in vars(CouncilFund).values() if isinstance(value, type) and issubclass(value, Fund.Event)
)
# Request events that always take a request out of the open statuses (its amount stops being
# pending), into the council's queue, or out of it.
_LEAVES_OPEN = frozenset(cls for cls, transition in TRANSITION_OF.items() if leaves(OPEN_STATUSES, transition))
_ENTERS_COUNCIL = frozenset(cls for cls, transition in TRANSITION_OF.items() if enters(AWAITING_COUNCIL, transition))
_LEAVES_COUNCIL = frozenset(cls for cls, transition in TRANSITION_OF.items() if leaves(AWAITING_COUNCIL, transition))


class _NewBudget(NamedTuple):
    fund_id: str
    cluster_id: str
    financial_year: str


class _NewCouncilFund(NamedTuple):
    fund_id: str
    financial_year: str


class _Place(NamedTuple):
    """Which fund a row is: the council's (``cluster_id`` None) or a cluster's budget, and its year."""

    cluster_id: str | None
    financial_year: str

    @property
    def council(self) -> bool:
        return self.cluster_id is None


@dataclass(slots=True)
class _FundChange:
    """What one batch adds to a fund's figures, and the version of its last event in the batch."""

    council: bool
    allocated: int = 0
    committed: int = 0
    commissioned: int = 0
    pending: int = 0
    escalated: int = 0
    paid: int = 0
    forward: int = 0
    released: int = 0
    recovered: int = 0
    income: int = 0
    carried_in: int = 0
    carried_forward: int = 0
    unpaid_at_close: int = 0
    closed: int = 0
    version: int | None = None


_CLUSTER_DELTAS = attrgetter(*_CLUSTER_ADDED, "version")
_COUNCIL_DELTAS = attrgetter(*_COUNCIL_ADDED, "version")


@dataclass(slots=True)
class _BalanceRequest:
    """A request's row of ``cluster_balances_requests``; ``new`` if submitted in this batch (not yet written)."""

    request_id: str
    fund_id: str
    amount_requested: int
    amount_escalated: int = 0
    new: bool = True


class ClusterBalances(Projection):
    """Per cluster and year: the budget's figures, pending and escalated; and the council fund per year."""

    name = "cluster_balances"
    tables = ("cluster_balances", "council_fund_balances", "cluster_balances_requests")

    def __init__(self) -> None:
        request_moves = _LEAVES_OPEN | _ENTERS_COUNCIL | _LEAVES_COUNCIL
        self._handlers: dict[type, Callable[[Cursor, Any], None]] = {
            ClusterBudget.Opened: self._budget_opened,
            CouncilFund.Opened: self._council_fund_opened,
            ClusterBudget.FundsAllocated: self._allocated,
            CouncilFund.FundsAllocated: self._allocated,
            ClusterBudget.FundsCommitted: self._committed,
            CouncilFund.FundsCommitted: self._committed,
            ClusterBudget.PaymentRecorded: self._paid,
            CouncilFund.PaymentRecorded: self._paid,
            ClusterBudget.ServiceCommissioned: self._commissioned,
            **of_each_fund(
                {
                    "FundsCommittedForward": self._committed_forward,
                    "ForwardCommitmentsCovered": self._forward_covered,
                    "FundsReleased": self._released,
                    "RecoveryReceived": self._recovery_received,
                    "YearClosed": self._year_closed,
                }
            ),
            R.Submitted: self._submitted,
            **dict.fromkeys(request_moves, self._request_moved),
        }
        self._reset()

    def create_statements(self) -> list[str]:
        return [
            f"""CREATE TABLE IF NOT EXISTS cluster_balances (
                fund_id TEXT PRIMARY KEY,
                cluster_id TEXT NOT NULL,
                financial_year TEXT NOT NULL,
                allocated BIGINT NOT NULL DEFAULT 0,
                committed BIGINT NOT NULL DEFAULT 0,
                commissioned BIGINT NOT NULL DEFAULT 0,
                pending BIGINT NOT NULL DEFAULT 0,
                escalated BIGINT NOT NULL DEFAULT 0,
                paid BIGINT NOT NULL DEFAULT 0,
                version BIGINT NOT NULL DEFAULT 0,
                {_AFTER_DECISION_DDL}
            )""",
            (
                "CREATE UNIQUE INDEX IF NOT EXISTS cluster_balances_by_cluster ON cluster_balances "
                "(cluster_id, financial_year)"
            ),
            "CREATE INDEX IF NOT EXISTS cluster_balances_by_year ON cluster_balances (financial_year, cluster_id)",
            f"""CREATE TABLE IF NOT EXISTS council_fund_balances (
                fund_id TEXT PRIMARY KEY,
                financial_year TEXT NOT NULL UNIQUE,
                allocated BIGINT NOT NULL DEFAULT 0,
                committed BIGINT NOT NULL DEFAULT 0,
                paid BIGINT NOT NULL DEFAULT 0,
                version BIGINT NOT NULL DEFAULT 0,
                {_AFTER_DECISION_DDL}
            )""",
            """CREATE TABLE IF NOT EXISTS cluster_balances_requests (
                request_id TEXT PRIMARY KEY,
                fund_id TEXT NOT NULL,
                amount_requested BIGINT NOT NULL,
                amount_escalated BIGINT NOT NULL DEFAULT 0
            )""",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        self._reset()

    def _reset(self) -> None:
        # Requests seen this batch; those submitted in it are also in _new_requests, written once at
        # the end with their final escalated amount.
        self._requests: dict[str, _BalanceRequest] = {}
        self._new_requests: list[_BalanceRequest] = []
        self._escalations: dict[str, int] = {}
        # Fund rows to create (if absent) and what changed in each, one UPDATE per fund at the end:
        # every change is an addition, so their order within the batch does not matter; the
        # version is the fund's last event's.
        self._new_budgets: dict[str, _NewBudget] = {}
        self._new_council_funds: dict[str, _NewCouncilFund] = {}
        self._changes: dict[str, _FundChange] = {}
        self._places: dict[str, _Place] = {}

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(cursor, event)

    def end_batch(self, cursor: Cursor) -> None:
        if self._new_budgets:
            cursor.executemany(
                "INSERT INTO cluster_balances (fund_id, cluster_id, financial_year) VALUES (?, ?, ?) "
                "ON CONFLICT (fund_id) DO NOTHING",
                list(self._new_budgets.values()),
            )
        if self._new_council_funds:
            cursor.executemany(
                "INSERT INTO council_fund_balances (fund_id, financial_year) VALUES (?, ?) "
                "ON CONFLICT (fund_id) DO NOTHING",
                list(self._new_council_funds.values()),
            )
        cursor.insert_rows(
            "cluster_balances_requests",
            ("request_id", "fund_id", "amount_requested", "amount_escalated"),
            [
                (request.request_id, request.fund_id, request.amount_requested, request.amount_escalated)
                for request in self._new_requests
            ],
        )
        if self._escalations:
            cursor.executemany(
                "UPDATE cluster_balances_requests SET amount_escalated = ? WHERE request_id = ?",
                [(amount, request_id) for request_id, amount in self._escalations.items()],
            )
        budgets = [(*_CLUSTER_DELTAS(c), f) for f, c in self._changes.items() if not c.council]
        funds = [(*_COUNCIL_DELTAS(c), f) for f, c in self._changes.items() if c.council]
        if budgets:
            cursor.executemany(CLUSTER_UPDATE, budgets)
        if funds:
            cursor.executemany(COUNCIL_UPDATE, funds)
        self._reset()

    # -- the funds' own events ------------------------------------------------------------------

    def _budget_opened(self, cursor: Cursor, event: ClusterBudget.Opened) -> None:
        fund_id = hex_id(event.originator_id)
        self._budget_row(fund_id, str(event.cluster_id), str(event.financial_year))
        self._change(fund_id).version = event.originator_version

    def _council_fund_opened(self, cursor: Cursor, event: CouncilFund.Opened) -> None:
        fund_id = hex_id(event.originator_id)
        self._new_council_funds.setdefault(fund_id, _NewCouncilFund(fund_id, str(event.financial_year)))
        self._change(fund_id, council=True).version = event.originator_version

    def _allocated(self, cursor: Cursor, event: Fund.FundsAllocated) -> None:
        self._fund_change(event).allocated += event.amount.pence

    def _committed(self, cursor: Cursor, event: Fund.FundsCommitted) -> None:
        self._fund_change(event).committed += event.amount.pence

    def _paid(self, cursor: Cursor, event: Fund.PaymentRecorded) -> None:
        self._fund_change(event).paid += event.amount.pence

    def _commissioned(self, cursor: Cursor, event: ClusterBudget.ServiceCommissioned) -> None:
        self._fund_change(event).commissioned += event.amount.pence

    # -- the money after the decisions, and the year's close ----------------------------------------
    # (What each does to the figures is the aggregate's ``apply``, in pence.)

    def _committed_forward(self, cursor: Cursor, event: Fund.FundsCommittedForward) -> None:
        self._fund_change(event).forward += event.amount.pence

    def _forward_covered(self, cursor: Cursor, event: Fund.ForwardCommitmentsCovered) -> None:
        change = self._fund_change(event)
        change.forward -= event.amount.pence
        change.committed += event.amount.pence

    def _released(self, cursor: Cursor, event: Fund.FundsReleased) -> None:
        change = self._fund_change(event)
        change.forward -= event.uncovered.pence
        change.committed -= event.amount.pence - event.uncovered.pence
        change.released += event.amount.pence

    def _recovery_received(self, cursor: Cursor, event: Fund.RecoveryReceived) -> None:
        change = self._fund_change(event)
        if event.as_income:
            change.income += event.amount.pence
        else:
            change.committed -= event.amount.pence
            change.paid -= event.amount.pence
            change.recovered += event.amount.pence

    def _year_closed(self, cursor: Cursor, event: Fund.YearClosed) -> None:
        change = self._fund_change(event)
        carried = event.carried_forward.pence
        change.allocated -= carried
        change.carried_forward += carried
        change.unpaid_at_close += event.committed_unpaid.pence
        change.closed += 1
        if carried:
            # The same save allocates it on the next year's fund (opening it if need be).
            place = self._place(cursor, hex_id(event.originator_id))
            following = FinancialYear(FinancialYear.parse(place.financial_year).start_year + 1)
            if place.cluster_id is None:
                fund_id = CouncilFund.id_for(following).hex
                self._new_council_funds.setdefault(fund_id, _NewCouncilFund(fund_id, str(following)))
            else:
                fund_id = ClusterBudget.id_for(ClusterId(place.cluster_id), following).hex
                self._budget_row(fund_id, place.cluster_id, str(following))
            self._change(fund_id, council=place.council).carried_in += carried

    # -- requests: pending and escalated ----------------------------------------------------------

    def _submitted(self, cursor: Cursor, event: FundingRequest.Submitted) -> None:
        # A new request is open: its amount is pending on its budget, opened or not.
        fund_id = ClusterBudget.id_for(event.cluster_id, event.financial_year).hex
        self._budget_row(fund_id, str(event.cluster_id), str(event.financial_year))
        request = _BalanceRequest(hex_id(event.originator_id), fund_id, event.amount_requested.pence)
        self._requests[request.request_id] = request
        self._new_requests.append(request)
        self._change(fund_id).pending += request.amount_requested

    def _request_moved(self, cursor: Cursor, event: FundingRequest.Event) -> None:
        request = self._request(cursor, event)
        change = self._change(request.fund_id)
        cls = type(event)
        if cls in _LEAVES_OPEN:
            change.pending -= request.amount_requested
        if cls in _LEAVES_COUNCIL:
            change.escalated -= request.amount_escalated
        if isinstance(event, R.Escalated):  # the lifecycle's one way into the council's queue
            change.escalated += event.amount.pence
            request.amount_escalated = event.amount.pence
            if not request.new:
                self._escalations[request.request_id] = event.amount.pence

    # -- what the batch holds --------------------------------------------------------------------

    def _budget_row(self, fund_id: str, cluster_id: str, year: str) -> None:
        # Created by whichever comes first, the budget or a request against it (ON CONFLICT DO NOTHING).
        self._new_budgets.setdefault(fund_id, _NewBudget(fund_id, cluster_id, year))

    def _change(self, fund_id: str, *, council: bool = False) -> _FundChange:
        change = self._changes.get(fund_id)
        if change is None:
            change = self._changes[fund_id] = _FundChange(council)
        return change

    def _fund_change(self, event: Aggregate.Event) -> _FundChange:
        change = self._change(hex_id(event.originator_id), council=type(event) in _COUNCIL_EVENTS)
        change.version = event.originator_version
        return change

    def _place(self, cursor: Cursor, fund_id: str) -> _Place:
        """Which fund ``fund_id`` is: from this batch, or read back from its row once per batch."""
        place = self._places.get(fund_id)
        if place is not None:
            return place
        budget, fund = self._new_budgets.get(fund_id), self._new_council_funds.get(fund_id)
        if budget is not None:
            place = _Place(budget.cluster_id, budget.financial_year)
        elif fund is not None:
            place = _Place(None, fund.financial_year)
        else:
            cursor.execute("SELECT cluster_id, financial_year FROM cluster_balances WHERE fund_id = ?", (fund_id,))
            row = cursor.fetchone()
            if row is not None:
                place = _Place(str(row[0]), str(row[1]))
            else:
                cursor.execute("SELECT financial_year FROM council_fund_balances WHERE fund_id = ?", (fund_id,))
                (year,) = cursor.fetchone()
                place = _Place(None, str(year))
        self._places[fund_id] = place
        return place

    def _request(self, cursor: Cursor, event: FundingRequest.Event) -> _BalanceRequest:
        request_id = hex_id(event.originator_id)
        request = self._requests.get(request_id)
        if request is None:
            cursor.execute(
                "SELECT fund_id, amount_requested, amount_escalated FROM cluster_balances_requests "
                "WHERE request_id = ?",
                (request_id,),
            )
            fund_id, requested, escalated = cursor.fetchone()
            request = _BalanceRequest(request_id, fund_id, int(requested), int(escalated), new=False)
            self._requests[request_id] = request
        return request
