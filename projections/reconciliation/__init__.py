"""Reconciliation: every read model a person reads, row by row, against a fold of the event log.

The log is folded into the domain's own aggregates (``event.mutate``, as the application rebuilds
them) and each row a read model should hold is derived from the events and those aggregates
(``expected``), sharing no code with the projections. Each table is then compared with what its
projection has applied: rows keyed by log position (the decision log, the ledger) in step with
the fold, state tables (balances, the request index, the clusters) at their projection's position. The report
names, per table, the first differing row in key order with both values of each differing column,
and counts missing and extra rows. A damaged log stops it with ``LogUnreadable`` and a position.

Then the log is folded on to its head (the end of a transaction, where a request and the funds
it moved money on were saved together), and the awards' invariants are checked on the folded
aggregates (``projections/reconciliation/awards.py``): each award's ``committed = paid +
scheduled unpaid + held``, and each fund's figures the sum of its awards' shares.

All tables are read in one read transaction, so a command committed meanwhile cannot make a
consistent world look inconsistent: rows and positions come from one snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.values import FinancialYear
from projections.database import Cursor, ProjectionDatabase
from projections.reconciliation.awards import InvariantCheck, award_invariants
from projections.reconciliation.compare import Difference, InStep, TableReconciliation, by_key
from projections.reconciliation.expected import Expectations, Row
from projections.reconciliation.fold import LogFold
from projections.reconciliation.tables import (
    CLUSTER_BALANCES,
    COUNCIL_FUND_BALANCES,
    DECISION_LOG,
    FINANCE_LEDGER,
    READ_MODELS,
    TABLES,
    Table,
    whole,
)
from projections.source import NotificationSource
from projections.unreadable import LogUnreadable

__all__ = [
    "BUDGET_FIGURES",
    "FUND_FIGURES",
    "Difference",
    "InvariantCheck",
    "LogUnreadable",
    "Reconciliation",
    "ReconciliationRow",
    "TableReconciliation",
    "recompute",
    "reconcile",
]

# The figures a balance row of the report shows, in the order people read them: the table's money.
BUDGET_FIGURES = CLUSTER_BALANCES.money_columns
FUND_FIGURES = COUNCIL_FUND_BALANCES.money_columns


@dataclass
class ReconciliationRow:
    """One balance as its read model has it beside the same balance from the log."""

    cluster_id: str | None
    projected: dict[str, int | None]
    recomputed: dict[str, int]
    projected_version: int | None = 0
    recomputed_version: int = 0

    @property
    def consistent(self) -> bool:
        return self.projected == self.recomputed and self.projected_version == self.recomputed_version


@dataclass
class Reconciliation:
    financial_year: str
    clusters: list[ReconciliationRow] = field(default_factory=list)
    council_fund: ReconciliationRow | None = None
    tables: list[TableReconciliation] = field(default_factory=list)
    log_position: int = 0  # how far the log was folded for the tables
    invariants: list[InvariantCheck] = field(default_factory=list)  # checked at ``invariants_position``
    invariants_position: int = 0

    @property
    def consistent(self) -> bool:
        rows = [*self.clusters, *([self.council_fund] if self.council_fund else [])]
        tables = all(row.consistent for row in rows) and all(table.consistent for table in self.tables)
        return tables and all(check.holds for check in self.invariants)


def reconcile(
    database: ProjectionDatabase, source: NotificationSource, year: FinancialYear, *, batch_size: int = 1000
) -> Reconciliation:
    year_text = str(year)
    with database.reading() as cursor:
        positions = _positions(cursor)
        fold = LogFold(source, year, batch_size=batch_size)
        expectations = Expectations(year, fold.carried_in)
        decisions = InStep(cursor, DECISION_LOG, year_text, positions["decision_log"])
        ledger = InStep(cursor, FINANCE_LEDGER, year_text, positions["finance_ledger"])
        state_tables: dict[str, TableReconciliation] = {}
        # Fold to each read model's position in turn, and compare its state tables there.
        for stop in sorted(set(positions.values())):
            for step in fold.steps(stop):
                decision, movement = expectations.observe(step)
                if decision is not None and step.position <= positions["decision_log"]:
                    decisions.expect(decision)
                if movement is not None and step.position <= positions["finance_ledger"]:
                    ledger.expect(movement)
            for model in READ_MODELS:
                if positions[model] == stop:
                    for table in _state_tables(model):
                        expected = expectations.state_rows(table.name)
                        keep = table in (CLUSTER_BALANCES, COUNCIL_FUND_BALANCES)
                        state_tables[table.name] = by_key(cursor, table, year_text, stop, expected, keep=keep)
        in_step = {DECISION_LOG.name: decisions.finish(), FINANCE_LEDGER.name: ledger.finish()}
    tables = [in_step.get(table.name) or state_tables[table.name] for table in TABLES]
    result = Reconciliation(year_text, tables=tables, log_position=fold.position)
    result.invariants, result.invariants_position = _invariants(fold, expectations, source.head())
    result.clusters = sorted(
        (_balance_row(pair, CLUSTER_BALANCES) for pair in state_tables[CLUSTER_BALANCES.name].kept),
        key=lambda row: str(row.cluster_id),
    )
    fund_pairs = state_tables[COUNCIL_FUND_BALANCES.name].kept or [(None, None)]
    result.council_fund = _balance_row(fund_pairs[0], COUNCIL_FUND_BALANCES)
    result.council_fund.cluster_id = None
    return result


def _invariants(fold: LogFold, expectations: Expectations, head: int) -> tuple[list[InvariantCheck], int]:
    """The awards' invariants, with the log folded on to ``head`` (every save there is whole)."""
    for step in fold.steps(head):
        expectations.observe(step)
    funds = [*expectations.budgets.values(), *([expectations.council_fund] if expectations.council_fund else [])]
    checks = award_invariants(expectations.requests.values(), funds, fold.year, fold.requests_before.values())
    return checks, fold.position


def _positions(cursor: Cursor) -> dict[str, int]:
    marks = ", ".join("?" for _ in READ_MODELS)
    cursor.execute(f"SELECT name, position FROM projection_tracking WHERE name IN ({marks})", READ_MODELS)
    found = {str(name): int(position) for name, position in cursor.fetchall()}
    return {model: found.get(model, 0) for model in READ_MODELS}


def _state_tables(model: str) -> Iterable[Table]:
    return (table for table in TABLES if table.read_model == model and not table.by_position)


def _balance_row(pair: tuple[Row | None, Row | None], table: Table) -> ReconciliationRow:
    projected, expected = pair
    index = {column: position for position, column in enumerate(table.columns)}

    # A figure someone overwrote with something that is not a whole number (SQLite stores text in
    # a BIGINT column) is reported as None: it differs from the log, and the row says so.
    def money(row: Row | None) -> dict[str, int | None]:
        return {name: (0 if row is None else whole(row[index[name]])) for name in table.money_columns}

    def version(row: Row | None) -> int | None:
        return 0 if row is None else whole(row[index["version"]])

    # What the log says is always whole numbers.
    recomputed = {name: (0 if expected is None else int(expected[index[name]])) for name in table.money_columns}
    recomputed_version = 0 if expected is None else int(expected[index["version"]])
    key = (projected or expected or (None,))[0]
    return ReconciliationRow(key, money(projected), recomputed, version(projected), recomputed_version)


def recompute(source: NotificationSource, year: FinancialYear) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """The year's balances from the log alone: each cluster's figures, and the council fund's."""
    fold = LogFold(source, year)
    expectations = Expectations(year, fold.carried_in)
    for step in fold.steps(source.head()):
        expectations.observe(step)
    budgets = {
        key: _balance_row((None, row), CLUSTER_BALANCES).recomputed
        for key, row in expectations.state_rows(CLUSTER_BALANCES.name).items()
    }
    funds: list[Row | None] = [*expectations.state_rows(COUNCIL_FUND_BALANCES.name).values()] or [None]
    return budgets, _balance_row((None, funds[0]), COUNCIL_FUND_BALANCES).recomputed
