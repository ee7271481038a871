"""The read models: balances, the request index, the decision log and the finance ledger.

Each projection owns its tables outright (helper tables included) so any one of them can be
dropped and rebuilt from the log alone. Money is stored as BIGINT pence, times as ISO 8601 UTC
text (``2026-11-27T20:06:44.123456Z``) so both stores sort and print them identically.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.values import Actor, DecisionKind, RequestStatus
from projections.database import Cursor
from projections.engine import NotificationLike, Projection

R = FundingRequest


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hex_id(value: Any) -> str:
    return value.hex if hasattr(value, "hex") else str(value)


# Nested event classes inherit ``Aggregate.Event``, so "is this a council fund event" is asked by class.
COUNCIL_FUND_EVENTS = (
    CouncilFund.Opened,
    CouncilFund.FundsAllocated,
    CouncilFund.FundsCommitted,
    CouncilFund.PaymentRecorded,
)

REQUEST_EVENTS = (
    R.Submitted,
    R.SpendEvidenceProvided,
    R.InformationRequested,
    R.ClusterApproved,
    R.ClusterDeclined,
    R.Escalated,
    R.CouncilApproved,
    R.CouncilDeclined,
    R.Withdrawn,
    R.PaymentRecorded,
)

STATUS_AFTER: dict[type, RequestStatus] = {
    R.SpendEvidenceProvided: RequestStatus.EVIDENCED,
    R.InformationRequested: RequestStatus.INFORMATION_REQUESTED,
    R.ClusterApproved: RequestStatus.CLUSTER_APPROVED,
    R.ClusterDeclined: RequestStatus.CLUSTER_DECLINED,
    R.Escalated: RequestStatus.ESCALATED,
    R.CouncilApproved: RequestStatus.COUNCIL_APPROVED,
    R.CouncilDeclined: RequestStatus.COUNCIL_DECLINED,
    R.Withdrawn: RequestStatus.WITHDRAWN,
}


# =============================================================================================
# cluster_balances
# =============================================================================================


class ClusterBalances(Projection):
    """Per cluster and year: allocated, committed, commissioned, pending, escalated, paid; and the
    council fund per year. ``available`` is derived on read, never stored twice."""

    name = "cluster_balances"
    tables = ("cluster_balances", "council_fund_balances", "cluster_balances_requests")

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
            "CREATE UNIQUE INDEX IF NOT EXISTS cluster_balances_by_cluster ON cluster_balances "
            "(cluster_id, financial_year)",
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
        self._requests: dict[str, dict[str, Any]] = {}

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Any) -> None:
        if isinstance(event, ClusterBudget.Opened):
            self._budget_row(cursor, hex_id(event.originator_id), str(event.cluster_id), str(event.financial_year))
            self._fund_version(cursor, event)
        elif isinstance(event, CouncilFund.Opened):
            cursor.execute(
                "INSERT INTO council_fund_balances (fund_id, financial_year) VALUES (?, ?) "
                "ON CONFLICT (fund_id) DO NOTHING",
                (hex_id(event.originator_id), str(event.financial_year)),
            )
            self._fund_version(cursor, event)
        elif isinstance(event, Fund.FundsAllocated):
            self._fund_add(cursor, event, "allocated", event.amount.pence)
        elif isinstance(event, Fund.FundsCommitted):
            self._fund_add(cursor, event, "committed", event.amount.pence)
        elif isinstance(event, Fund.PaymentRecorded):
            self._fund_add(cursor, event, "paid", event.amount.pence)
        elif isinstance(event, ClusterBudget.ServiceCommissioned):
            self._fund_add(cursor, event, "commissioned", event.amount.pence)
        elif isinstance(event, R.Submitted):
            fund_id = ClusterBudget.id_for(event.cluster_id, event.financial_year).hex
            self._budget_row(cursor, fund_id, str(event.cluster_id), str(event.financial_year))
            request_id = hex_id(event.originator_id)
            cursor.execute(
                "INSERT INTO cluster_balances_requests (request_id, fund_id, amount_requested) VALUES (?, ?, ?)",
                (request_id, fund_id, event.amount_requested.pence),
            )
            self._requests[request_id] = {
                "fund_id": fund_id,
                "amount_requested": event.amount_requested.pence,
                "amount_escalated": 0,
            }
            cursor.execute(
                "UPDATE cluster_balances SET pending = pending + ? WHERE fund_id = ?",
                (event.amount_requested.pence, fund_id),
            )
        elif type(event) in (R.ClusterApproved, R.ClusterDeclined, R.Withdrawn, R.Escalated):
            request = self._request(cursor, event)
            pending_delta, escalated_delta = -request["amount_requested"], 0
            if isinstance(event, R.Escalated):
                escalated_delta = event.amount.pence
                request["amount_escalated"] = event.amount.pence
                cursor.execute(
                    "UPDATE cluster_balances_requests SET amount_escalated = ? WHERE request_id = ?",
                    (event.amount.pence, hex_id(event.originator_id)),
                )
            cursor.execute(
                "UPDATE cluster_balances SET pending = pending + ?, escalated = escalated + ? WHERE fund_id = ?",
                (pending_delta, escalated_delta, request["fund_id"]),
            )
        elif type(event) in (R.CouncilApproved, R.CouncilDeclined):
            request = self._request(cursor, event)
            cursor.execute(
                "UPDATE cluster_balances SET escalated = escalated - ? WHERE fund_id = ?",
                (request["amount_escalated"], request["fund_id"]),
            )

    @staticmethod
    def _budget_row(cursor: Cursor, fund_id: str, cluster_id: str, year: str) -> None:
        cursor.execute(
            "INSERT INTO cluster_balances (fund_id, cluster_id, financial_year) VALUES (?, ?, ?) "
            "ON CONFLICT (fund_id) DO NOTHING",
            (fund_id, cluster_id, year),
        )

    @staticmethod
    def _fund_table(event: Any) -> str:
        return "council_fund_balances" if isinstance(event, COUNCIL_FUND_EVENTS) else "cluster_balances"

    def _fund_version(self, cursor: Cursor, event: Any) -> None:
        cursor.execute(
            f"UPDATE {self._fund_table(event)} SET version = ? WHERE fund_id = ?",
            (event.originator_version, hex_id(event.originator_id)),
        )

    def _fund_add(self, cursor: Cursor, event: Any, column: str, amount: int) -> None:
        cursor.execute(
            f"UPDATE {self._fund_table(event)} SET {column} = {column} + ?, version = ? WHERE fund_id = ?",
            (amount, event.originator_version, hex_id(event.originator_id)),
        )

    def _request(self, cursor: Cursor, event: Any) -> dict[str, Any]:
        request_id = hex_id(event.originator_id)
        if request_id not in self._requests:
            cursor.execute(
                "SELECT fund_id, amount_requested, amount_escalated FROM cluster_balances_requests "
                "WHERE request_id = ?",
                (request_id,),
            )
            row = cursor.fetchone()
            self._requests[request_id] = {
                "fund_id": row[0],
                "amount_requested": int(row[1]),
                "amount_escalated": int(row[2]),
            }
        return self._requests[request_id]


# =============================================================================================
# request_index
# =============================================================================================


class RequestIndex(Projection):
    """One row per funding request, for queues and searches."""

    name = "request_index"
    tables = ("request_index",)

    def create_statements(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS request_index (
                request_id TEXT PRIMARY KEY,
                school_urn TEXT NOT NULL,
                cluster_id TEXT NOT NULL,
                financial_year TEXT NOT NULL,
                status TEXT NOT NULL,
                reason TEXT NOT NULL,
                pupil_count BIGINT NOT NULL,
                amount_requested BIGINT NOT NULL,
                amount_escalated BIGINT,
                amount_approved BIGINT NOT NULL DEFAULT 0,
                amount_paid BIGINT NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                status_since TEXT NOT NULL,
                version BIGINT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS request_index_by_cluster ON request_index (cluster_id, created_at, request_id)",
            "CREATE INDEX IF NOT EXISTS request_index_by_school ON request_index (school_urn, created_at, request_id)",
            "CREATE INDEX IF NOT EXISTS request_index_by_status ON request_index (status, created_at, request_id)",
            "CREATE INDEX IF NOT EXISTS request_index_by_created ON request_index (created_at, request_id)",
        ]

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Any) -> None:
        if not isinstance(event, REQUEST_EVENTS):
            return
        request_id, at = hex_id(event.originator_id), iso(event.timestamp)
        if isinstance(event, R.Submitted):
            cursor.execute(
                "INSERT INTO request_index (request_id, school_urn, cluster_id, financial_year, status, reason, "
                "pupil_count, amount_requested, created_at, updated_at, status_since, version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request_id,
                    str(event.school_urn),
                    str(event.cluster_id),
                    str(event.financial_year),
                    RequestStatus.SUBMITTED.value,
                    event.reason.value,
                    event.pupil_count,
                    event.amount_requested.pence,
                    at,
                    at,
                    at,
                    event.originator_version,
                ),
            )
            return
        if isinstance(event, R.PaymentRecorded):
            cursor.execute(
                "UPDATE request_index SET amount_paid = amount_paid + ?, updated_at = ?, version = ?, "
                "status = CASE WHEN amount_paid + ? = amount_approved THEN ? ELSE status END, "
                "status_since = CASE WHEN amount_paid + ? = amount_approved THEN ? ELSE status_since END "
                "WHERE request_id = ?",
                (
                    event.amount.pence,
                    at,
                    event.originator_version,
                    event.amount.pence,
                    RequestStatus.PAID.value,
                    event.amount.pence,
                    at,
                    request_id,
                ),
            )
            return
        status = STATUS_AFTER.get(type(event))
        extra, params = "", []
        if isinstance(event, (R.ClusterApproved, R.CouncilApproved)):
            extra, params = ", amount_approved = ?", [event.amount.pence]
        elif isinstance(event, R.Escalated):
            extra, params = ", amount_escalated = ?", [event.amount.pence]
        if status is None:
            cursor.execute(
                "UPDATE request_index SET updated_at = ?, version = ? WHERE request_id = ?",
                (at, event.originator_version, request_id),
            )
            return
        # Evidence given again while already evidenced keeps the clock of the evidenced state running.
        cursor.execute(
            f"UPDATE request_index SET status_since = CASE WHEN status = ? THEN status_since ELSE ? END, "
            f"status = ?, updated_at = ?, version = ?{extra} WHERE request_id = ?",
            (status.value, at, status.value, at, event.originator_version, *params, request_id),
        )


# =============================================================================================
# decision_log
# =============================================================================================

DECISION_KINDS: dict[type, str] = {
    R.InformationRequested: DecisionKind.INFORMATION_REQUEST.value,
    R.ClusterApproved: DecisionKind.CLUSTER_APPROVAL.value,
    R.ClusterDeclined: DecisionKind.CLUSTER_DECLINE.value,
    R.Escalated: DecisionKind.ESCALATION.value,
    R.CouncilApproved: DecisionKind.COUNCIL_APPROVAL.value,
    R.CouncilDeclined: DecisionKind.COUNCIL_DECLINE.value,
    ClusterBudget.ServiceCommissioned: "commission",
}


class DecisionLog(Projection):
    """Every decision, with who, when, how much and why: what the council's auditors search."""

    name = "decision_log"
    tables = ("decision_log", "decision_log_requests", "decision_log_budgets")

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
        self._places: dict[str, tuple[Any, ...]] = {}

    def _place(self, cursor: Cursor, sql: str, key: str) -> tuple[Any, ...]:
        if key not in self._places:
            cursor.execute(sql, (key,))
            self._places[key] = tuple(cursor.fetchone())
        return self._places[key]

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Any) -> None:
        if isinstance(event, ClusterBudget.Opened):
            self._places[hex_id(event.originator_id)] = (str(event.cluster_id), str(event.financial_year))
            cursor.execute(
                "INSERT INTO decision_log_budgets (fund_id, cluster_id, financial_year) VALUES (?, ?, ?)",
                (hex_id(event.originator_id), str(event.cluster_id), str(event.financial_year)),
            )
            return
        if isinstance(event, R.Submitted):
            self._places[hex_id(event.originator_id)] = (
                str(event.school_urn),
                str(event.cluster_id),
                str(event.financial_year),
            )
            cursor.execute(
                "INSERT INTO decision_log_requests (request_id, school_urn, cluster_id, financial_year) "
                "VALUES (?, ?, ?, ?)",
                (hex_id(event.originator_id), str(event.school_urn), str(event.cluster_id), str(event.financial_year)),
            )
            return
        kind = DECISION_KINDS.get(type(event))
        if kind is None:
            return
        actor: Actor = event.actor
        if isinstance(event, ClusterBudget.ServiceCommissioned):
            cluster_id, year = self._place(
                cursor,
                "SELECT cluster_id, financial_year FROM decision_log_budgets WHERE fund_id = ?",
                hex_id(event.originator_id),
            )
            request_id = school_urn = reason_code = None
            amount, reason = event.amount.pence, event.description
            schools = ", ".join(str(urn) for urn in event.school_urns)
            details = f"{event.service.value}; provider: {event.provider}; schools: {schools}"
        else:
            school_urn, cluster_id, year = self._place(
                cursor,
                "SELECT school_urn, cluster_id, financial_year FROM decision_log_requests WHERE request_id = ?",
                hex_id(event.originator_id),
            )
            request_id = hex_id(event.originator_id)
            amount = event.amount.pence if hasattr(event, "amount") else None
            reason_code = event.reason_code.value if isinstance(event, R.ClusterDeclined) else None
            reason = (
                event.question
                if isinstance(event, R.InformationRequested)
                else event.exceptional_circumstances
                if isinstance(event, R.Escalated)
                else event.reason
            )
            details = event.conditions if isinstance(event, R.ClusterApproved) else None
        cursor.execute(
            "INSERT INTO decision_log (position, kind, request_id, school_urn, cluster_id, financial_year, actor_sub, "
            "actor_role, decided_at, amount, reason_code, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                notification.id,
                kind,
                request_id,
                school_urn,
                cluster_id,
                year,
                actor.sub,
                actor.role.value,
                iso(event.timestamp),
                amount,
                reason_code,
                reason,
                details,
            ),
        )


# =============================================================================================
# finance_ledger
# =============================================================================================


class FinanceLedger(Projection):
    """One row per money movement, with the fund's available and paid balances after it."""

    name = "finance_ledger"
    tables = ("finance_ledger", "finance_ledger_funds")

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
        # fund id -> [fund, cluster_id, financial_year, available, paid]
        self._funds: dict[str, list[Any]] = {}

    def _fund(self, cursor: Cursor, fund_id: str) -> list[Any]:
        if fund_id not in self._funds:
            cursor.execute(
                "SELECT fund, cluster_id, financial_year, available, paid FROM finance_ledger_funds WHERE fund_id = ?",
                (fund_id,),
            )
            fund, cluster_id, year, available, paid = cursor.fetchone()
            self._funds[fund_id] = [fund, cluster_id, year, int(available), int(paid)]
        return self._funds[fund_id]

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Any) -> None:
        fund_id = hex_id(getattr(event, "originator_id", ""))
        if isinstance(event, (ClusterBudget.Opened, CouncilFund.Opened)):
            fund = "cluster" if isinstance(event, ClusterBudget.Opened) else "council"
            cluster_id = str(event.cluster_id) if isinstance(event, ClusterBudget.Opened) else None
            cursor.execute(
                "INSERT INTO finance_ledger_funds (fund_id, fund, cluster_id, financial_year) VALUES (?, ?, ?, ?)",
                (fund_id, fund, cluster_id, str(event.financial_year)),
            )
            self._funds[fund_id] = [fund, cluster_id, str(event.financial_year), 0, 0]
            return
        if isinstance(event, Fund.FundsAllocated):
            movement = "allocation" if event.amount.pence > 0 else "adjustment"
            available_delta, paid_delta, request_id, reference = event.amount.pence, 0, None, event.note
        elif isinstance(event, Fund.FundsCommitted):
            movement, available_delta, paid_delta = "commitment", -event.amount.pence, 0
            request_id, reference = hex_id(event.request_id), ""
        elif isinstance(event, ClusterBudget.ServiceCommissioned):
            movement, available_delta, paid_delta = "commission", -event.amount.pence, 0
            request_id, reference = None, f"{event.service.value}: {event.provider}"
        elif isinstance(event, Fund.PaymentRecorded):
            movement, available_delta, paid_delta = "payment", 0, event.amount.pence
            request_id, reference = hex_id(event.request_id), event.reference
        else:
            return
        figures = self._fund(cursor, fund_id)
        figures[3] += available_delta
        figures[4] += paid_delta
        fund, cluster_id, year, available, paid = figures
        cursor.execute(
            "UPDATE finance_ledger_funds SET available = ?, paid = ? WHERE fund_id = ?",
            (available, paid, fund_id),
        )
        cursor.execute(
            "INSERT INTO finance_ledger (position, recorded_at, fund, cluster_id, financial_year, movement, request_id, "
            "amount, available_after, paid_after, reference, actor_sub) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                notification.id,
                iso(event.timestamp),
                fund,
                cluster_id,
                year,
                movement,
                request_id,
                event.amount.pence,
                available,
                paid,
                reference,
                event.actor.sub,
            ),
        )


def read_models() -> list[Projection]:
    return [ClusterBalances(), RequestIndex(), DecisionLog(), FinanceLedger()]

