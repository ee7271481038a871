"""The read models: balances, the request index, the decision log and the finance ledger.

Each projection owns its tables outright (helper tables included) so any one of them can be
dropped and rebuilt from the log alone. Money is stored as BIGINT pence, times as ISO 8601 UTC
text (``2026-11-27T20:06:44.123456Z``) so both stores sort and print them identically.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.formatting import utc_text
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.values import Actor, DecisionKind, RequestStatus
from projections.database import Cursor
from projections.engine import NotificationLike, Projection

R = FundingRequest

# The moment ``iso`` last formatted, and its text: the read models ask in turn for the same event's
# timestamp. One tuple, replaced whole, so threads catching up side by side never see half of one.
_last_iso: tuple[datetime | None, str] = (None, "")


def iso(moment: datetime) -> str:
    global _last_iso
    last_moment, last_text = _last_iso
    if moment is last_moment:
        return last_text
    text = utc_text(moment)
    _last_iso = (moment, text)
    return text


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
        self._fund_rows: dict[str, dict[str, tuple[Any, ...]]] = {CLUSTER_TABLE: {}, COUNCIL_TABLE: {}}
        self._changes: dict[str, dict[str, _FundChange]] = {CLUSTER_TABLE: {}, COUNCIL_TABLE: {}}

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Any) -> None:
        if isinstance(event, ClusterBudget.Opened):
            fund_id = hex_id(event.originator_id)
            self._budget_row(fund_id, str(event.cluster_id), str(event.financial_year))
            self._change(CLUSTER_TABLE, fund_id).version = event.originator_version
        elif isinstance(event, CouncilFund.Opened):
            fund_id = hex_id(event.originator_id)
            self._fund_rows[COUNCIL_TABLE].setdefault(fund_id, (fund_id, str(event.financial_year)))
            self._change(COUNCIL_TABLE, fund_id).version = event.originator_version
        elif isinstance(event, Fund.FundsAllocated):
            self._fund_add(event, "allocated", event.amount.pence)
        elif isinstance(event, Fund.FundsCommitted):
            self._fund_add(event, "committed", event.amount.pence)
        elif isinstance(event, Fund.PaymentRecorded):
            self._fund_add(event, "paid", event.amount.pence)
        elif isinstance(event, ClusterBudget.ServiceCommissioned):
            self._fund_add(event, "commissioned", event.amount.pence)
        elif isinstance(event, R.Submitted):
            fund_id = ClusterBudget.id_for(event.cluster_id, event.financial_year).hex
            self._budget_row(fund_id, str(event.cluster_id), str(event.financial_year))
            request = _BalanceRequest(hex_id(event.originator_id), fund_id, event.amount_requested.pence)
            self._requests[request.request_id] = request
            self._new_requests.append(request)
            self._change(CLUSTER_TABLE, fund_id).add("pending", request.amount_requested)
        elif type(event) in (R.ClusterApproved, R.ClusterDeclined, R.Withdrawn, R.Escalated):
            request = self._request(cursor, event)
            change = self._change(CLUSTER_TABLE, request.fund_id)
            change.add("pending", -request.amount_requested)
            if isinstance(event, R.Escalated):
                change.add("escalated", event.amount.pence)
                request.amount_escalated = event.amount.pence
                if not request.new:
                    self._escalations[request.request_id] = event.amount.pence
        elif type(event) in (R.CouncilApproved, R.CouncilDeclined):
            request = self._request(cursor, event)
            self._change(CLUSTER_TABLE, request.fund_id).add("escalated", -request.amount_escalated)

    def end_batch(self, cursor: Cursor) -> None:
        for table, rows in self._fund_rows.items():
            if rows:
                cursor.executemany(FUND_ROW_INSERTS[table], list(rows.values()))
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
        for table, changes in self._changes.items():
            if changes:
                cursor.executemany(FUND_UPDATES[table], [change.params(fund_id) for fund_id, change in changes.items()])
        self._reset()

    def _budget_row(self, fund_id: str, cluster_id: str, year: str) -> None:
        # Created by whichever comes first, the budget or a request against it (ON CONFLICT DO NOTHING).
        self._fund_rows[CLUSTER_TABLE].setdefault(fund_id, (fund_id, cluster_id, year))

    def _change(self, table: str, fund_id: str) -> _FundChange:
        changes = self._changes[table]
        change = changes.get(fund_id)
        if change is None:
            change = changes[fund_id] = _FundChange(table)
        return change

    def _fund_add(self, event: Any, column: str, amount: int) -> None:
        table = COUNCIL_TABLE if isinstance(event, COUNCIL_FUND_EVENTS) else CLUSTER_TABLE
        change = self._change(table, hex_id(event.originator_id))
        change.add(column, amount)
        change.version = event.originator_version

    def _request(self, cursor: Cursor, event: Any) -> _BalanceRequest:
        request_id = hex_id(event.originator_id)
        request = self._requests.get(request_id)
        if request is None:
            cursor.execute(
                "SELECT fund_id, amount_requested, amount_escalated FROM cluster_balances_requests "
                "WHERE request_id = ?",
                (request_id,),
            )
            row = cursor.fetchone()
            request = _BalanceRequest(request_id, row[0], int(row[1]), int(row[2]), new=False)
            self._requests[request_id] = request
        return request


CLUSTER_TABLE, COUNCIL_TABLE = "cluster_balances", "council_fund_balances"
FUND_FIGURES: dict[str, tuple[str, ...]] = {
    CLUSTER_TABLE: ("allocated", "committed", "commissioned", "pending", "escalated", "paid"),
    COUNCIL_TABLE: ("allocated", "committed", "paid"),
}
FUND_ROW_INSERTS: dict[str, str] = {
    CLUSTER_TABLE: "INSERT INTO cluster_balances (fund_id, cluster_id, financial_year) VALUES (?, ?, ?) "
    "ON CONFLICT (fund_id) DO NOTHING",
    COUNCIL_TABLE: "INSERT INTO council_fund_balances (fund_id, financial_year) VALUES (?, ?) "
    "ON CONFLICT (fund_id) DO NOTHING",
}
# A fund whose own events were not in the batch (only requests' pending/escalated moved) keeps its version.
FUND_UPDATES: dict[str, str] = {
    table: f"UPDATE {table} SET {', '.join(f'{f} = {f} + ?' for f in figures)}, version = COALESCE(?, version) "
    "WHERE fund_id = ?"
    for table, figures in FUND_FIGURES.items()
}


class _FundChange:
    """What one batch adds to a fund's figures, and the version of its last event in the batch."""

    __slots__ = ("deltas", "version")

    def __init__(self, table: str) -> None:
        self.deltas = dict.fromkeys(FUND_FIGURES[table], 0)
        self.version: int | None = None

    def add(self, figure: str, amount: int) -> None:
        self.deltas[figure] += amount

    def params(self, fund_id: str) -> tuple[Any, ...]:
        """The parameters of the table's ``FUND_UPDATES`` statement (deltas are in ``FUND_FIGURES`` order)."""
        return (*self.deltas.values(), self.version, fund_id)


class _BalanceRequest:
    """A request's row of ``cluster_balances_requests``; ``new`` if submitted in this batch (not yet written)."""

    __slots__ = ("amount_escalated", "amount_requested", "fund_id", "new", "request_id")

    def __init__(
        self, request_id: str, fund_id: str, amount_requested: int, amount_escalated: int = 0, *, new: bool = True
    ) -> None:
        self.request_id = request_id
        self.fund_id = fund_id
        self.amount_requested = amount_requested
        self.amount_escalated = amount_escalated
        self.new = new


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
            # A cluster lead's queue (one cluster, one status, oldest first): without it PostgreSQL
            # walked the cluster's whole history for the few open requests, 1.8x slower at a
            # million events than at ten thousand (bench/growth.py, "open queue").
            "CREATE INDEX IF NOT EXISTS request_index_by_cluster_status ON request_index "
            "(cluster_id, status, created_at, request_id)",
            "CREATE INDEX IF NOT EXISTS request_index_by_created ON request_index (created_at, request_id)",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        self._reset()

    def _reset(self) -> None:
        # Rows of requests submitted in this batch: later events of theirs in the batch change them
        # here, and each is written once, final, at the end. Older rows are updated in place.
        self._new: dict[str, list[Any]] = {}
        # Every row to insert, in order: a request submitted twice still fails on its key.
        self._inserts: list[list[Any]] = []

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Any) -> None:
        if not isinstance(event, REQUEST_EVENTS):
            return
        request_id, at = hex_id(event.originator_id), iso(event.timestamp)
        if isinstance(event, R.Submitted):
            row: list[Any] = [
                request_id,
                str(event.school_urn),
                str(event.cluster_id),
                str(event.financial_year),
                RequestStatus.SUBMITTED.value,
                event.reason.value,
                event.pupil_count,
                event.amount_requested.pence,
                None,
                0,
                0,
                at,
                at,
                at,
                event.originator_version,
            ]
            self._new[request_id] = row
            self._inserts.append(row)
            return
        new_row = self._new.get(request_id)
        if new_row is not None:
            self._change_new_row(new_row, event, at)
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

    @staticmethod
    def _change_new_row(row: list[Any], event: Any, at: str) -> None:
        """What the UPDATEs in ``apply`` do to a row, done to one not yet written."""
        row[_UPDATED_AT], row[_VERSION] = at, event.originator_version
        if isinstance(event, R.PaymentRecorded):
            # As in SQL, the condition reads the amount paid before this payment adds to it.
            if row[_AMOUNT_PAID] + event.amount.pence == row[_AMOUNT_APPROVED]:
                row[_STATUS], row[_STATUS_SINCE] = RequestStatus.PAID.value, at
            row[_AMOUNT_PAID] += event.amount.pence
            return
        status = STATUS_AFTER.get(type(event))
        if status is None:
            return
        if row[_STATUS] != status.value:
            row[_STATUS_SINCE] = at
        row[_STATUS] = status.value
        if isinstance(event, (R.ClusterApproved, R.CouncilApproved)):
            row[_AMOUNT_APPROVED] = event.amount.pence
        elif isinstance(event, R.Escalated):
            row[_AMOUNT_ESCALATED] = event.amount.pence

    def end_batch(self, cursor: Cursor) -> None:
        cursor.insert_rows("request_index", REQUEST_INDEX_COLUMNS, self._inserts)
        self._reset()


REQUEST_INDEX_COLUMNS = (
    "request_id",
    "school_urn",
    "cluster_id",
    "financial_year",
    "status",
    "reason",
    "pupil_count",
    "amount_requested",
    "amount_escalated",
    "amount_approved",
    "amount_paid",
    "created_at",
    "updated_at",
    "status_since",
    "version",
)
_STATUS = REQUEST_INDEX_COLUMNS.index("status")
_AMOUNT_ESCALATED = REQUEST_INDEX_COLUMNS.index("amount_escalated")
_AMOUNT_APPROVED = REQUEST_INDEX_COLUMNS.index("amount_approved")
_AMOUNT_PAID = REQUEST_INDEX_COLUMNS.index("amount_paid")
_UPDATED_AT = REQUEST_INDEX_COLUMNS.index("updated_at")
_STATUS_SINCE = REQUEST_INDEX_COLUMNS.index("status_since")
_VERSION = REQUEST_INDEX_COLUMNS.index("version")


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
        self._reset()

    def _reset(self) -> None:
        # Where each budget and request belongs, as read or first written in this batch; rows are
        # written at the end, so what this batch added is only ever read back from here.
        self._places: dict[str, tuple[Any, ...]] = {}
        self._budgets: list[tuple[Any, ...]] = []
        self._requests: list[tuple[Any, ...]] = []
        self._decisions: list[tuple[Any, ...]] = []

    def end_batch(self, cursor: Cursor) -> None:
        cursor.insert_rows("decision_log_budgets", ("fund_id", "cluster_id", "financial_year"), self._budgets)
        cursor.insert_rows(
            "decision_log_requests", ("request_id", "school_urn", "cluster_id", "financial_year"), self._requests
        )
        cursor.insert_rows("decision_log", DECISION_LOG_COLUMNS, self._decisions)
        self._reset()

    def _place(self, cursor: Cursor, sql: str, key: str) -> tuple[Any, ...]:
        if key not in self._places:
            cursor.execute(sql, (key,))
            self._places[key] = tuple(cursor.fetchone())
        return self._places[key]

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Any) -> None:
        if isinstance(event, ClusterBudget.Opened):
            budget = (str(event.cluster_id), str(event.financial_year))
            self._places[hex_id(event.originator_id)] = budget
            self._budgets.append((hex_id(event.originator_id), *budget))
            return
        if isinstance(event, R.Submitted):
            request = (str(event.school_urn), str(event.cluster_id), str(event.financial_year))
            self._places[hex_id(event.originator_id)] = request
            self._requests.append((hex_id(event.originator_id), *request))
            return
        kind = DECISION_KINDS.get(type(event))
        if kind is None:
            return
        actor: Actor = event.actor
        amount: int | None
        details: str | None
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
        self._decisions.append(
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
            )
        )


DECISION_LOG_COLUMNS = (
    "position",
    "kind",
    "request_id",
    "school_urn",
    "cluster_id",
    "financial_year",
    "actor_sub",
    "actor_role",
    "decided_at",
    "amount",
    "reason_code",
    "reason",
    "details",
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
        self._reset()

    def _reset(self) -> None:
        # fund id -> [fund, cluster_id, financial_year, available, paid]: the running totals, read
        # once per batch and written once at its end (funds opened in the batch inserted with them).
        self._funds: dict[str, list[Any]] = {}
        self._opened: list[str] = []
        self._moved: dict[str, None] = {}  # an ordered set: funds' rows are updated in a stable order
        self._entries: list[tuple[Any, ...]] = []

    def _fund(self, cursor: Cursor, fund_id: str) -> list[Any]:
        figures = self._funds.get(fund_id)
        if figures is None:
            cursor.execute(
                "SELECT fund, cluster_id, financial_year, available, paid FROM finance_ledger_funds WHERE fund_id = ?",
                (fund_id,),
            )
            fund, cluster_id, year, available, paid = cursor.fetchone()
            figures = self._funds[fund_id] = [fund, cluster_id, year, int(available), int(paid)]
        return figures

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Any) -> None:
        if isinstance(event, (ClusterBudget.Opened, CouncilFund.Opened)):
            fund_id = hex_id(event.originator_id)
            fund = "cluster" if isinstance(event, ClusterBudget.Opened) else "council"
            cluster_id = str(event.cluster_id) if isinstance(event, ClusterBudget.Opened) else None
            self._funds[fund_id] = [fund, cluster_id, str(event.financial_year), 0, 0]
            self._opened.append(fund_id)
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
        fund_id = hex_id(event.originator_id)
        figures = self._fund(cursor, fund_id)
        figures[3] += available_delta
        figures[4] += paid_delta
        self._moved[fund_id] = None
        fund, cluster_id, year, available, paid = figures
        self._entries.append(
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
            )
        )

    def end_batch(self, cursor: Cursor) -> None:
        opened = set(self._opened)
        cursor.insert_rows(
            "finance_ledger_funds",
            ("fund_id", "fund", "cluster_id", "financial_year", "available", "paid"),
            [(fund_id, *self._funds[fund_id]) for fund_id in self._opened],
        )
        moved = [(self._funds[f][3], self._funds[f][4], f) for f in self._moved if f not in opened]
        if moved:
            cursor.executemany("UPDATE finance_ledger_funds SET available = ?, paid = ? WHERE fund_id = ?", moved)
        cursor.insert_rows("finance_ledger", FINANCE_LEDGER_COLUMNS, self._entries)
        self._reset()


FINANCE_LEDGER_COLUMNS = (
    "position",
    "recorded_at",
    "fund",
    "cluster_id",
    "financial_year",
    "movement",
    "request_id",
    "amount",
    "available_after",
    "paid_after",
    "reference",
    "actor_sub",
)


def read_models() -> list[Projection]:
    return [ClusterBalances(), RequestIndex(), DecisionLog(), FinanceLedger()]
