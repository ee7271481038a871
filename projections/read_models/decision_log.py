"""The decision log: every decision about a request or a budget, with who, when, how much and why.

It is what the council's auditors search. Which events are decisions, and of which kind, is the
lifecycle's to say (``domain/lifecycle.py``); a withdrawal is the school's own act, not logged.
Two helper tables remember where each request and budget belongs, so a decision row names its
school, cluster and year without reading the aggregate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeAlias

from eventsourcing.domain import Aggregate

from domain.funding_request import TRANSITION_OF, FundingRequest
from domain.funds import ClusterBudget
from domain.lifecycle import BUDGET_DECISIONS, LOGGED_DECISIONS
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.common import hex_id, iso
from projections.source import NotificationLike

R = FundingRequest


class DecisionRow(NamedTuple):
    """A row of the decision log, keyed by the log position of the event that recorded it."""

    position: int
    kind: str  # a DecisionKind's value
    request_id: str | None  # 32 hex digits; None for a decision about a budget (a commission)
    school_urn: str | None
    cluster_id: str
    financial_year: str
    actor_sub: str
    actor_role: str
    decided_at: str
    amount: int | None  # pence
    reason_code: str | None
    reason: str
    details: str | None


# Every column of the table, in the order the row has them.
DECISION_LOG_COLUMNS = DecisionRow._fields

# The kind each decision event records, by its class.
DECISION_KINDS: dict[type[Aggregate.Event], str] = {
    **{
        cls: transition.records.value
        for cls, transition in TRANSITION_OF.items()
        if transition.records is not None and transition.records in LOGGED_DECISIONS
    },
    **{getattr(ClusterBudget, name): kind.value for name, kind in BUDGET_DECISIONS.items()},
}


# The request events the log records as decisions.
_RequestDecision: TypeAlias = (
    R.InformationRequested | R.ClusterApproved | R.ClusterDeclined | R.Escalated | R.CouncilApproved | R.CouncilDeclined
)


class _BudgetPlace(NamedTuple):
    fund_id: str
    cluster_id: str
    financial_year: str


class _RequestPlace(NamedTuple):
    request_id: str
    school_urn: str
    cluster_id: str
    financial_year: str


class DecisionLog(Projection):
    """Every decision, with who, when, how much and why: what the council's auditors search."""

    name = "decision_log"
    tables = ("decision_log", "decision_log_requests", "decision_log_budgets")

    def __init__(self) -> None:
        self._handlers: dict[type, Callable[[Cursor, NotificationLike, Any], None]] = {
            ClusterBudget.Opened: self._budget_opened,
            R.Submitted: self._submitted,
            **{
                cls: self._commissioned if cls is ClusterBudget.ServiceCommissioned else self._request_decision
                for cls in DECISION_KINDS
            },
        }
        self._reset()

    def create_statements(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS decision_log (
                position BIGINT PRIMARY KEY,
                kind TEXT NOT NULL,
                request_id TEXT,
                school_urn TEXT,
                cluster_id TEXT NOT NULL,
                financial_year TEXT NOT NULL,
                actor_sub TEXT NOT NULL,
                actor_role TEXT NOT NULL,
                decided_at TEXT NOT NULL,
                amount BIGINT,
                reason_code TEXT,
                reason TEXT NOT NULL,
                details TEXT
            )""",
            "CREATE INDEX IF NOT EXISTS decision_log_by_cluster ON decision_log (cluster_id, position)",
            "CREATE INDEX IF NOT EXISTS decision_log_by_actor ON decision_log (actor_sub, position)",
            "CREATE INDEX IF NOT EXISTS decision_log_by_time ON decision_log (decided_at, position)",
            """CREATE TABLE IF NOT EXISTS decision_log_requests (
                request_id TEXT PRIMARY KEY,
                school_urn TEXT NOT NULL,
                cluster_id TEXT NOT NULL,
                financial_year TEXT NOT NULL
            )""",
            """CREATE TABLE IF NOT EXISTS decision_log_budgets (
                fund_id TEXT PRIMARY KEY,
                cluster_id TEXT NOT NULL,
                financial_year TEXT NOT NULL
            )""",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        self._reset()

    def _reset(self) -> None:
        # Where each budget and request belongs, as read or first written in this batch; rows are
        # written at the end, so what this batch added is only ever read back from here.
        self._budget_places: dict[str, _BudgetPlace] = {}
        self._request_places: dict[str, _RequestPlace] = {}
        self._new_budgets: list[_BudgetPlace] = []
        self._new_requests: list[_RequestPlace] = []
        self._decisions: list[DecisionRow] = []

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(cursor, notification, event)

    def end_batch(self, cursor: Cursor) -> None:
        cursor.insert_rows("decision_log_budgets", _BudgetPlace._fields, self._new_budgets)
        cursor.insert_rows("decision_log_requests", _RequestPlace._fields, self._new_requests)
        cursor.insert_rows("decision_log", DECISION_LOG_COLUMNS, self._decisions)
        self._reset()

    # -- where budgets and requests belong ---------------------------------------------------------

    def _budget_opened(self, cursor: Cursor, notification: NotificationLike, event: ClusterBudget.Opened) -> None:
        place = _BudgetPlace(hex_id(event.originator_id), str(event.cluster_id), str(event.financial_year))
        self._budget_places[place.fund_id] = place
        self._new_budgets.append(place)

    def _submitted(self, cursor: Cursor, notification: NotificationLike, event: FundingRequest.Submitted) -> None:
        place = _RequestPlace(
            hex_id(event.originator_id), str(event.school_urn), str(event.cluster_id), str(event.financial_year)
        )
        self._request_places[place.request_id] = place
        self._new_requests.append(place)

    def _budget_place(self, cursor: Cursor, fund_id: str) -> _BudgetPlace:
        place = self._budget_places.get(fund_id)
        if place is None:
            cursor.execute(
                f"SELECT {', '.join(_BudgetPlace._fields)} FROM decision_log_budgets WHERE fund_id = ?", (fund_id,)
            )
            place = self._budget_places[fund_id] = _BudgetPlace(*cursor.fetchone())
        return place

    def _request_place(self, cursor: Cursor, request_id: str) -> _RequestPlace:
        place = self._request_places.get(request_id)
        if place is None:
            cursor.execute(
                f"SELECT {', '.join(_RequestPlace._fields)} FROM decision_log_requests WHERE request_id = ?",
                (request_id,),
            )
            place = self._request_places[request_id] = _RequestPlace(*cursor.fetchone())
        return place

    # -- decisions ----------------------------------------------------------------------------------

    def _commissioned(
        self, cursor: Cursor, notification: NotificationLike, event: ClusterBudget.ServiceCommissioned
    ) -> None:
        place = self._budget_place(cursor, hex_id(event.originator_id))
        schools = ", ".join(str(urn) for urn in event.school_urns)
        self._decisions.append(
            DecisionRow(
                notification.id,
                DECISION_KINDS[type(event)],
                None,
                None,
                place.cluster_id,
                place.financial_year,
                event.actor.sub,
                event.actor.role.value,
                iso(event.timestamp),
                event.amount.pence,
                None,
                event.description,
                f"{event.service.value}; provider: {event.provider}; schools: {schools}",
            )
        )

    def _request_decision(self, cursor: Cursor, notification: NotificationLike, event: _RequestDecision) -> None:
        place = self._request_place(cursor, hex_id(event.originator_id))
        amount: int | None = None
        reason_code = details = None
        if isinstance(event, R.InformationRequested):
            reason = event.question
        elif isinstance(event, R.Escalated):
            reason, amount = event.exceptional_circumstances, event.amount.pence
        elif isinstance(event, (R.ClusterApproved, R.CouncilApproved)):
            reason, amount = event.reason, event.amount.pence
            details = event.conditions if isinstance(event, R.ClusterApproved) else None
        elif isinstance(event, R.ClusterDeclined):
            reason, reason_code = event.reason, event.reason_code.value
        else:
            reason = event.reason
        actor = event.actor
        self._decisions.append(
            DecisionRow(
                notification.id,
                DECISION_KINDS[type(event)],
                place.request_id,
                place.school_urn,
                place.cluster_id,
                place.financial_year,
                actor.sub,
                actor.role.value,
                iso(event.timestamp),
                amount,
                reason_code,
                reason,
                details,
            )
        )
