"""Reads of the balances: each cluster budget's and the council fund's row, a year's totals, and
which years have any, from ``cluster_balances`` and ``council_fund_balances``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.funds import FundFigures
from projections.database import ProjectionDatabase
from projections.queries import TEXT_KEY, Page, _page, _rows, check_limit, decode_cursor
from projections.read_models.cluster_balances import (
    AFTER_DECISION_COLUMNS,
    CLUSTER_FIGURES,
    AfterDecisions,
    BalanceRow,
    BalanceTotalsRow,
    CouncilFundRow,
)

_AFTER = ", ".join(AFTER_DECISION_COLUMNS)
_BUDGET_SELECT = (
    f"SELECT cluster_id, financial_year, {', '.join(CLUSTER_FIGURES)}, {_AFTER}, version FROM cluster_balances"
)


def _budget_figures(stored: Sequence[Any]) -> tuple[FundFigures[int], int, int]:
    """A budget's figures, pending and escalated, from its stored figures (``CLUSTER_FIGURES`` order)."""
    value = {name: int(pence) for name, pence in zip(CLUSTER_FIGURES, stored, strict=True)}
    figures = FundFigures(value["allocated"], value["committed"], value["commissioned"], value["paid"])
    return figures, value["pending"], value["escalated"]


def _after(stored: Sequence[Any]) -> AfterDecisions:
    """The money after the decisions, from its stored columns (``AFTER_DECISION_COLUMNS`` order)."""
    forward, released, recovered, income, carried_in, carried_forward, unpaid, closed = (int(v) for v in stored)
    return AfterDecisions(forward, released, recovered, income, carried_in, carried_forward, unpaid, closed > 0)


def _budget(row: tuple[Any, ...]) -> BalanceRow:
    cluster_id, year, *stored, version = row
    figures, pending, escalated = _budget_figures(stored[: len(CLUSTER_FIGURES)])
    after = _after(stored[len(CLUSTER_FIGURES) :])
    return BalanceRow(cluster_id, year, figures, pending, escalated, int(version), after)


def zero_budget(cluster_id: str, year: str) -> BalanceRow:
    """A cluster's budget for a year nobody has allocated yet reads as zeros, version 0."""
    return BalanceRow(cluster_id, year, FundFigures(0, 0, 0, 0), 0, 0, 0)


def zero_fund(year: str) -> CouncilFundRow:
    return CouncilFundRow(year, FundFigures(0, 0, 0, 0), 0)


def budget_rows(database: ProjectionDatabase, year: str, *, cluster_id: str | None = None) -> list[BalanceRow]:
    sql, params = f"{_BUDGET_SELECT} WHERE financial_year = ?", [year]
    if cluster_id is not None:
        sql += " AND cluster_id = ?"
        params.append(cluster_id)
    return [_budget(row) for row in _rows(database, sql + " ORDER BY cluster_id", params)]


def budget_row(database: ProjectionDatabase, cluster_id: str, year: str) -> BalanceRow | None:
    rows = budget_rows(database, year, cluster_id=cluster_id)
    return rows[0] if rows else None


def balances_page(
    database: ProjectionDatabase, year: str, *, limit: int = 50, cursor: str | None = None
) -> Page[BalanceRow]:
    check_limit(limit)
    sql, params = f"{_BUDGET_SELECT} WHERE financial_year = ?", [year]
    if cursor:
        (after,) = decode_cursor(cursor, TEXT_KEY)
        sql += " AND cluster_id > ?"
        params.append(after)
    rows = [_budget(row) for row in _rows(database, sql + " ORDER BY cluster_id LIMIT ?", [*params, limit + 1])]
    return _page(rows, limit, lambda row: [row.cluster_id])


def balance_totals(database: ProjectionDatabase, year: str) -> BalanceTotalsRow:
    """Every budget of the year added up; ``closed`` when every one of them is (and there is one)."""
    sums = ", ".join(f"COALESCE(SUM({name}), 0)" for name in (*CLUSTER_FIGURES, *AFTER_DECISION_COLUMNS[:-1]))
    (row,) = _rows(database, f"SELECT {sums}, COUNT(*), COALESCE(SUM(closed), 0) FROM cluster_balances "
                   "WHERE financial_year = ?", [year])  # fmt: skip
    *stored, budgets, closed = row
    after = _after([*stored[len(CLUSTER_FIGURES) :], int(budgets) > 0 and int(closed) == int(budgets)])
    return BalanceTotalsRow(*_budget_figures(stored[: len(CLUSTER_FIGURES)]), after)


def council_fund_row(database: ProjectionDatabase, year: str) -> CouncilFundRow | None:
    sql = (
        f"SELECT financial_year, allocated, committed, paid, {_AFTER}, version FROM council_fund_balances "
        "WHERE financial_year = ?"
    )
    rows = _rows(database, sql, [year])
    if not rows:
        return None
    financial_year, allocated, committed, paid, *after, version = rows[0]
    figures = FundFigures(int(allocated), int(committed), 0, int(paid))
    return CouncilFundRow(financial_year, figures, int(version), _after(after))


def funded_years(database: ProjectionDatabase) -> list[str]:
    """Every financial year some cluster's budget or the council fund has a row for, newest first."""
    sql = (
        "SELECT financial_year FROM cluster_balances UNION SELECT financial_year FROM council_fund_balances "
        "ORDER BY financial_year DESC"
    )
    return [str(year) for (year,) in _rows(database, sql, [])]
