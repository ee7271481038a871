"""The balances read model: each cluster's budget per year, and the council fund per year.

A budget's row holds the fund's own figures (allocated, committed, commissioned, paid), what its
open requests ask for (``pending``) and what its escalated requests ask of the council
(``escalated``), and the budget's version. ``available`` is never stored: it is derived on read, by
``FundFigures``. Which request events move ``pending`` and ``escalated`` is read off the lifecycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate

from domain.funding_request import TRANSITION_OF, FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund, FundFigures
from domain.lifecycle import AWAITING_COUNCIL, OPEN_STATUSES, enters, leaves
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.common import hex_id
from projections.source import NotificationLike

R = FundingRequest


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """A cluster's budget for one year, as people read it."""

    cluster_id: str
    financial_year: str
    figures: FundFigures[int]  # in pence
    pending: int
    escalated: int
    version: int


@dataclass(frozen=True, slots=True)
class BalanceTotalsRow:
    """Every cluster's budgets for one year, added up."""

    figures: FundFigures[int]
    pending: int
    escalated: int


@dataclass(frozen=True, slots=True)
class CouncilFundRow:
    """The council's fund for one year (it commissions nothing: ``commissioned`` is zero)."""

    financial_year: str
    figures: FundFigures[int]
    version: int


# The figures each table stores, in the order its UPDATE adds to them.
CLUSTER_FIGURES = ("allocated", "committed", "commissioned", "pending", "escalated", "paid")
COUNCIL_FIGURES = ("allocated", "committed", "paid")
# A fund whose own events were not in the batch (only requests' pending/escalated moved) keeps its version.
CLUSTER_UPDATE = (
    f"UPDATE cluster_balances SET {', '.join(f'{f} = {f} + ?' for f in CLUSTER_FIGURES)}, "
    "version = COALESCE(?, version) WHERE fund_id = ?"
)
COUNCIL_UPDATE = (
    f"UPDATE council_fund_balances SET {', '.join(f'{f} = {f} + ?' for f in COUNCIL_FIGURES)}, "
    "version = COALESCE(?, version) WHERE fund_id = ?"
)

_COUNCIL_EVENTS = frozenset({CouncilFund.FundsAllocated, CouncilFund.FundsCommitted, CouncilFund.PaymentRecorded})
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
    version: int | None = None


_CLUSTER_DELTAS = attrgetter(*CLUSTER_FIGURES, "version")
_COUNCIL_DELTAS = attrgetter(*COUNCIL_FIGURES, "version")


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
            R.Submitted: self._submitted,
            **dict.fromkeys(request_moves, self._request_moved),
        }
        self._reset()

    def create_statements(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS cluster_balances (
                fund_id TEXT PRIMARY KEY,
                cluster_id TEXT NOT NULL,
                financial_year TEXT NOT NULL,
                allocated BIGINT NOT NULL DEFAULT 0,
                committed BIGINT NOT NULL DEFAULT 0,
                commissioned BIGINT NOT NULL DEFAULT 0,
                pending BIGINT NOT NULL DEFAULT 0,
                escalated BIGINT NOT NULL DEFAULT 0,
                paid BIGINT NOT NULL DEFAULT 0,
                version BIGINT NOT NULL DEFAULT 0
            )""",
            (
                "CREATE UNIQUE INDEX IF NOT EXISTS cluster_balances_by_cluster ON cluster_balances "
                "(cluster_id, financial_year)"
            ),
            "CREATE INDEX IF NOT EXISTS cluster_balances_by_year ON cluster_balances (financial_year, cluster_id)",
            """CREATE TABLE IF NOT EXISTS council_fund_balances (
                fund_id TEXT PRIMARY KEY,
                financial_year TEXT NOT NULL UNIQUE,
                allocated BIGINT NOT NULL DEFAULT 0,
                committed BIGINT NOT NULL DEFAULT 0,
                paid BIGINT NOT NULL DEFAULT 0,
                version BIGINT NOT NULL DEFAULT 0
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
