"""Every read-model table reconciliation checks, and how its rows for one year are read.

People read ``cluster_balances`` and ``council_fund_balances`` (budgets, balances, year-end
statements), ``request_index`` (queues), ``decision_log`` (the auditors' search), ``finance_ledger``
(finance's CSV), ``awards`` (commitments by age) and ``clusters`` (the listing of clusters),
``schools`` (the register), and ``sen_reports`` and ``sen_report_broken_links`` (the Local Offer),
which belong to no year and are checked whole, and ``instalments`` (what finance pays next, and
which payment run takes it), checked by the year of the request they belong to. The
projections' helper tables are checked too: nobody reads them, but later rows are computed from
them (a request's amount, a fund's running balance), so an edit there would pass every check
until it surfaced, later, as a wrong figure somewhere else.

Columns are listed here, not borrowed from the projections, and a test holds them equal to the
tables' own columns: a column added to a projection and not reconciled fails that test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.funds import FundFigures

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Table:
    name: str
    read_model: str  # the projection that writes it (its position in the log is that one's)
    columns: tuple[str, ...]  # the key first
    money: frozenset[str]
    source: str  # the FROM clause; the key column qualified as in ``key_sql``
    key_sql: str
    year_sql: str | None = "financial_year = ?"  # None: one row set for every year (the clusters)
    by_position: bool = False  # keyed by log position: rows come in log order
    # Columns a reader is shown but the table does not store, worked out from a stored row's columns.
    derived: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = ()

    @property
    def key(self) -> str:
        return self.columns[0]

    @property
    def money_columns(self) -> tuple[str, ...]:
        """The money columns, in column order."""
        return tuple(column for column in self.columns if column in self.money)

    @property
    def stored_columns(self) -> tuple[str, ...]:
        derived = {name for name, _ in self.derived}
        return tuple(column for column in self.columns if column not in derived)

    def select(self, *, after_key: bool) -> str:
        columns = ", ".join(QUALIFIED.get((self.name, column), column) for column in self.stored_columns)
        conditions = [condition for condition in (self.year_sql, after_key and f"{self.key_sql} > ?") if condition]
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return f"SELECT {columns} FROM {self.source}{where} ORDER BY {self.key_sql} LIMIT ?"

    def params(self, year: str, after: Any = None, *, after_key: bool, page: int) -> tuple[Any, ...]:
        return (*((year,) if self.year_sql else ()), *((after,) if after_key else ()), page)

    def as_shown(self, stored: Row) -> Row:
        """A stored row with the derived columns put in their places."""
        if not self.derived:
            return stored
        values = dict(zip(self.stored_columns, stored, strict=True))
        for name, derive in self.derived:
            values[name] = derive(values)
        return tuple(values[column] for column in self.columns)


def whole(value: object) -> int | None:
    """A stored figure as a whole number, or None where someone wrote something else over it
    (SQLite keeps text written into a BIGINT column)."""
    if type(value) is int:
        return value
    try:
        return int(str(value)) if str(value).lstrip("-").isdigit() else None
    except ValueError:
        return None


def _available(stored: dict[str, Any]) -> int | None:
    """``available`` of a stored balance, as ``FundFigures`` works it out (a council fund commissions nothing)."""
    allocated, committed = whole(stored["allocated"]), whole(stored["committed"])
    commissioned = whole(stored.get("commissioned", 0))
    if allocated is None or committed is None or commissioned is None:
        return None  # a figure that is not a number: what is left of it is not one either
    return FundFigures(allocated, committed, commissioned, 0).available


# The source's columns qualified by its alias, where the source joins another table.
QUALIFIED = {
    **{
        ("awards_instalments", column): f"i.{column}"
        for column in (
            "instalment_ref",
            "request_id",
            "number",
            "financial_year",
            "due_on",
            "amount",
            "paid",
            "released",
            "held_until",
        )
    },
    ("cluster_balances_requests", "request_id"): "r.request_id",
    ("cluster_balances_requests", "fund_id"): "r.fund_id",
    ("cluster_balances_requests", "amount_requested"): "r.amount_requested",
    ("cluster_balances_requests", "amount_escalated"): "r.amount_escalated",
}

# Both balance tables keep the money after the decisions, and whether the year is closed (0 or 1).
AFTER_DECISIONS = ("forward", "released", "recovered", "income", "carried_in", "carried_forward", "unpaid_at_close")

CLUSTER_BALANCES = Table(
    "cluster_balances",
    "cluster_balances",
    ("cluster_id", "fund_id", "allocated", "committed", "commissioned", "available", "pending", "escalated",
     "paid", *AFTER_DECISIONS, "closed", "version"),
    frozenset({"allocated", "committed", "commissioned", "available", "pending", "escalated", "paid",
               *AFTER_DECISIONS}),
    "cluster_balances",
    "cluster_id",
    derived=(("available", _available),),
)  # fmt: skip
COUNCIL_FUND_BALANCES = Table(
    "council_fund_balances",
    "cluster_balances",
    ("financial_year", "fund_id", "allocated", "committed", "available", "paid", *AFTER_DECISIONS, "closed",
     "version"),
    frozenset({"allocated", "committed", "available", "paid", *AFTER_DECISIONS}),
    "council_fund_balances",
    "financial_year",
    derived=(("available", _available),),
)  # fmt: skip
CLUSTER_BALANCES_REQUESTS = Table(
    "cluster_balances_requests",
    "cluster_balances",
    ("request_id", "fund_id", "amount_requested", "amount_escalated"),
    frozenset({"amount_requested", "amount_escalated"}),
    # Rows carry the budget's id, not the year: the year is the budget row's.
    "cluster_balances_requests r JOIN cluster_balances b ON b.fund_id = r.fund_id",
    "r.request_id",
    year_sql="b.financial_year = ?",
)
REQUEST_INDEX = Table(
    "request_index",
    "request_index",
    ("request_id", "school_urn", "cluster_id", "financial_year", "status", "reason", "pupil_count",
     "amount_requested", "amount_escalated", "amount_approved", "amount_paid", "created_at", "updated_at",
     "status_since", "version", "amount_released"),
    frozenset({"amount_requested", "amount_escalated", "amount_approved", "amount_paid", "amount_released"}),
    "request_index",
    "request_id",
)  # fmt: skip
DECISION_LOG = Table(
    "decision_log",
    "decision_log",
    ("position", "kind", "request_id", "school_urn", "cluster_id", "financial_year", "actor_sub", "actor_role",
     "decided_at", "amount", "reason_code", "reason", "details"),
    frozenset({"amount"}),
    "decision_log",
    "position",
    by_position=True,
)  # fmt: skip
DECISION_LOG_REQUESTS = Table(
    "decision_log_requests",
    "decision_log",
    ("request_id", "school_urn", "cluster_id", "financial_year"),
    frozenset(),
    "decision_log_requests",
    "request_id",
)
DECISION_LOG_BUDGETS = Table(
    "decision_log_budgets",
    "decision_log",
    ("fund_id", "cluster_id", "financial_year"),
    frozenset(),
    "decision_log_budgets",
    "fund_id",
)
FINANCE_LEDGER = Table(
    "finance_ledger",
    "finance_ledger",
    ("position", "recorded_at", "fund", "cluster_id", "financial_year", "movement", "request_id", "amount",
     "available_after", "paid_after", "reference", "actor_sub"),
    frozenset({"amount", "available_after", "paid_after"}),
    "finance_ledger",
    "position",
    by_position=True,
)  # fmt: skip
FINANCE_LEDGER_FUNDS = Table(
    "finance_ledger_funds",
    "finance_ledger",
    ("fund_id", "fund", "cluster_id", "financial_year", "available", "paid", "carried_forward", "carried_in"),
    frozenset({"available", "paid", "carried_forward", "carried_in"}),
    "finance_ledger_funds",
    "fund_id",
)
AWARDS = Table(
    "awards",
    "awards",
    ("request_id", "school_urn", "cluster_id", "financial_year", "funded_by", "financial_years", "approved_at",
     "approved", "paid_out", "released", "recovered", "held", "scheduled_unpaid"),
    frozenset({"approved", "paid_out", "released", "recovered", "held", "scheduled_unpaid"}),
    "awards",
    "request_id",
)  # fmt: skip
AWARDS_INSTALMENTS = Table(
    "awards_instalments",
    "awards",
    ("instalment_ref", "request_id", "number", "financial_year", "due_on", "amount", "paid", "released",
     "held_until"),
    frozenset({"amount", "paid", "released"}),
    # An instalment's own year is the fund it is paid from; the award's (the request's) selects it.
    "awards_instalments i JOIN awards a ON a.request_id = i.request_id",
    "i.instalment_ref",
    year_sql="a.financial_year = ?",
)  # fmt: skip
AWARDS_REQUESTS = Table(
    "awards_requests",
    "awards",
    ("request_id", "school_urn", "cluster_id", "financial_year"),
    frozenset(),
    "awards_requests",
    "request_id",
)

CLUSTERS = Table(
    "clusters",
    "clusters",
    ("cluster_id", "aggregate_id", "name", "school_urns", "version"),
    frozenset(),
    "clusters",
    "cluster_id",
    year_sql=None,  # a cluster belongs to no year: every reconciliation checks every cluster
)

SCHOOLS = Table(
    "schools",
    "schools",
    ("urn", "name", "phase", "cluster_id", "version", "school_id", "membership_id"),
    frozenset(),
    "schools",
    "urn",
    year_sql=None,  # the register belongs to no year either
)
SEN_REPORTS = Table(
    "sen_reports",
    "sen_reports",
    ("school_urn", "membership_id", "report_id", "cluster_id", "url", "published_on", "next_review_on",
     "self_assessed_at", "self_met", "self_partly_met", "self_not_met",
     "audit_assessed_at", "audit_met", "audit_partly_met", "audit_not_met", "open_broken_links", "version"),
    frozenset(),
    "sen_reports",
    "school_urn",
    year_sql=None,  # a school's report belongs to no financial year: every reconciliation checks them all
)  # fmt: skip
SEN_REPORT_BROKEN_LINKS = Table(
    "sen_report_broken_links",
    "sen_reports",
    ("report_ref", "school_urn", "reported_at", "url", "note", "cleared_at"),
    frozenset(),
    "sen_report_broken_links",
    "report_ref",
    year_sql=None,
)

INSTALMENTS = Table(
    "instalments",
    "instalments",
    ("instalment_id", "request_id", "school_urn", "cluster_id", "funded_by", "request_year", "financial_year",
     "number", "due_on", "amount", "paid", "released", "held_until", "payment_run"),
    frozenset({"amount", "paid", "released"}),
    "instalments",
    "instalment_id",
    # By the request's year: an award's instalments may fall in the next year, its request does not.
    year_sql="request_year = ?",
)  # fmt: skip
INSTALMENT_REQUESTS = Table(
    "instalment_requests",
    "instalments",
    ("request_id", "school_urn", "cluster_id", "financial_year"),
    frozenset(),
    "instalment_requests",
    "request_id",
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
    CLUSTERS,
    SCHOOLS,
    SEN_REPORTS,
    SEN_REPORT_BROKEN_LINKS,
    INSTALMENTS,
    INSTALMENT_REQUESTS,
    AWARDS,
    AWARDS_INSTALMENTS,
    AWARDS_REQUESTS,
)
READ_MODELS = (
    "cluster_balances",
    "request_index",
    "decision_log",
    "finance_ledger",
    "clusters",
    "schools",
    "sen_reports",
    "instalments",
    "awards",
)
