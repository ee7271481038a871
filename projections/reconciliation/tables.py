"""Every read-model table reconciliation checks, and how its rows for one year are read.

People read ``cluster_balances`` and ``council_fund_balances`` (budgets, balances), ``request_index``
(queues), ``decision_log`` (the auditors' search) and ``finance_ledger`` (finance's CSV). The
projections' helper tables are checked too: nobody reads them, but later rows are computed from
them (a request's amount, a fund's running balance), so an edit there would pass every check
until it surfaced, later, as a wrong figure somewhere else.

Columns are listed here, not borrowed from the projections, and a test holds them equal to the
tables' own columns: a column added to a projection and not reconciled fails that test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    name: str
    read_model: str  # the projection that writes it (its position in the log is that one's)
    columns: tuple[str, ...]  # the key first
    money: frozenset[str]
    source: str  # FROM ... WHERE <the year is ?>, the key column qualified as in ``key_sql``
    key_sql: str
    by_position: bool = False  # keyed by log position: rows come in log order

    @property
    def key(self) -> str:
        return self.columns[0]

    def select(self, *, after_key: bool) -> str:
        columns = ", ".join(SELECTED.get((self.name, column), column) for column in self.columns)
        after = f" AND {self.key_sql} > ?" if after_key else ""
        return f"SELECT {columns} FROM {self.source}{after} ORDER BY {self.key_sql} LIMIT ?"


# Columns a table does not store but a reader is shown; ``available`` is derived on read.
SELECTED = {
    ("cluster_balances", "available"): "allocated - committed - commissioned",
    ("council_fund_balances", "available"): "allocated - committed",
    ("cluster_balances_requests", "request_id"): "r.request_id",
    ("cluster_balances_requests", "fund_id"): "r.fund_id",
    ("cluster_balances_requests", "amount_requested"): "r.amount_requested",
    ("cluster_balances_requests", "amount_escalated"): "r.amount_escalated",
}

CLUSTER_BALANCES = Table(
    "cluster_balances",
    "cluster_balances",
    ("cluster_id", "fund_id", "allocated", "committed", "commissioned", "available", "pending", "escalated",
     "paid", "version"),
    frozenset({"allocated", "committed", "commissioned", "available", "pending", "escalated", "paid"}),
    "cluster_balances WHERE financial_year = ?",
    "cluster_id",
)  # fmt: skip
COUNCIL_FUND_BALANCES = Table(
    "council_fund_balances",
    "cluster_balances",
    ("financial_year", "fund_id", "allocated", "committed", "available", "paid", "version"),
    frozenset({"allocated", "committed", "available", "paid"}),
    "council_fund_balances WHERE financial_year = ?",
    "financial_year",
)
CLUSTER_BALANCES_REQUESTS = Table(
    "cluster_balances_requests",
    "cluster_balances",
    ("request_id", "fund_id", "amount_requested", "amount_escalated"),
    frozenset({"amount_requested", "amount_escalated"}),
    # Rows carry the budget's id, not the year: the year is the budget row's.
    "cluster_balances_requests r JOIN cluster_balances b ON b.fund_id = r.fund_id WHERE b.financial_year = ?",
    "r.request_id",
)
REQUEST_INDEX = Table(
    "request_index",
    "request_index",
    ("request_id", "school_urn", "cluster_id", "financial_year", "status", "reason", "pupil_count",
     "amount_requested", "amount_escalated", "amount_approved", "amount_paid", "created_at", "updated_at",
     "status_since", "version"),
    frozenset({"amount_requested", "amount_escalated", "amount_approved", "amount_paid"}),
    "request_index WHERE financial_year = ?",
    "request_id",
)  # fmt: skip
DECISION_LOG = Table(
    "decision_log",
    "decision_log",
    ("position", "kind", "request_id", "school_urn", "cluster_id", "financial_year", "actor_sub", "actor_role",
     "decided_at", "amount", "reason_code", "reason", "details"),
    frozenset({"amount"}),
    "decision_log WHERE financial_year = ?",
    "position",
    by_position=True,
)  # fmt: skip
DECISION_LOG_REQUESTS = Table(
    "decision_log_requests",
    "decision_log",
    ("request_id", "school_urn", "cluster_id", "financial_year"),
    frozenset(),
    "decision_log_requests WHERE financial_year = ?",
    "request_id",
)
DECISION_LOG_BUDGETS = Table(
    "decision_log_budgets",
    "decision_log",
    ("fund_id", "cluster_id", "financial_year"),
    frozenset(),
    "decision_log_budgets WHERE financial_year = ?",
    "fund_id",
)
FINANCE_LEDGER = Table(
    "finance_ledger",
    "finance_ledger",
    ("position", "recorded_at", "fund", "cluster_id", "financial_year", "movement", "request_id", "amount",
     "available_after", "paid_after", "reference", "actor_sub"),
    frozenset({"amount", "available_after", "paid_after"}),
    "finance_ledger WHERE financial_year = ?",
    "position",
    by_position=True,
)  # fmt: skip
FINANCE_LEDGER_FUNDS = Table(
    "finance_ledger_funds",
    "finance_ledger",
    ("fund_id", "fund", "cluster_id", "financial_year", "available", "paid"),
    frozenset({"available", "paid"}),
    "finance_ledger_funds WHERE financial_year = ?",
    "fund_id",
)

# In the order a report lists them: each read model's own table, then its helpers.
TABLES = (
    CLUSTER_BALANCES,
    COUNCIL_FUND_BALANCES,
    CLUSTER_BALANCES_REQUESTS,
    REQUEST_INDEX,
    DECISION_LOG,
    DECISION_LOG_REQUESTS,
    DECISION_LOG_BUDGETS,
    FINANCE_LEDGER,
    FINANCE_LEDGER_FUNDS,
)
READ_MODELS = ("cluster_balances", "request_index", "decision_log", "finance_ledger")
