"""Reads about a fund's year as a whole: its year-end statement, and its commitments by age.

A statement is the balance row (``cluster_balances`` or ``council_fund_balances``) with its
allocations split, from the finance ledger, into the year's first allocation and the rest. Its
figures add up: ``available = opening_allocation + allocations + carried_in - carried_forward -
commissioned - (committed - forward_commitments - released - recovered)``, where ``committed`` is
everything the awards committed on the year (ahead of any allocation included).

Commitments by age are the awards' unpaid instalments of one financial year (each fund's share of
its awards), added up by fund and by how long ago the award was approved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from projections.balance_queries import budget_row, council_fund_row, zero_budget, zero_fund
from projections.database import ProjectionDatabase
from projections.read_models.cluster_balances import BalanceRow, CouncilFundRow

# Ages, youngest first: approved within 3 months of the day asked about, 3 to 6, 6 to 12, longer ago.
AGE_BANDS = ("months_0_3", "months_3_6", "months_6_12", "months_over_12")


@dataclass(frozen=True, slots=True)
class YearEndStatement:
    """A fund's year in pence: what came in, what was committed and paid, what came back, what went on."""

    fund: str  # "cluster" or "council"
    cluster_id: str | None
    financial_year: str
    closed: bool
    opening_allocation: int  # the year's first allocation
    allocations: int  # every later allocation, less every adjustment
    carried_in: int
    committed: int  # everything awards committed on the year, before releases and recoveries
    forward_commitments: int  # of it, still committed ahead of any allocation
    commissioned: int
    paid: int  # paid out, less what recoveries brought back while the year was open
    released: int
    recovered: int  # received while the year was open
    income: int  # recoveries received once it was closed
    carried_forward: int
    unpaid_at_close: int | None  # None while the year is open
    available: int
    version: int


@dataclass(frozen=True, slots=True)
class AgeBand:
    band: str  # one of ``AGE_BANDS``
    unpaid: int  # pence committed on the fund and not yet paid, held included
    held: int
    awards: int


@dataclass(frozen=True, slots=True)
class FundCommitments:
    """One fund's unpaid commitments for the year, by the age of their awards (every band, in order)."""

    fund: str  # "cluster" or "council"
    cluster_id: str | None
    bands: list[AgeBand]

    @property
    def unpaid(self) -> int:
        return sum(band.unpaid for band in self.bands)

    @property
    def held(self) -> int:
        return sum(band.held for band in self.bands)


def _rows(database: ProjectionDatabase, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with database.reading() as cursor:
        cursor.execute(sql, tuple(params))
        return [tuple(row) for row in cursor.fetchall()]


def _allocations(database: ProjectionDatabase, where: str, params: Sequence[Any]) -> tuple[int, int]:
    """The year's first allocation, and every later allocation less every adjustment (the carry-in apart)."""
    rows = _rows(
        database,
        f"SELECT movement, amount FROM finance_ledger WHERE {where} AND movement IN ('allocation', 'adjustment') "
        "ORDER BY position",
        params,
    )
    amounts = [int(amount) for _, amount in rows]
    opening = next((int(amount) for movement, amount in rows if movement == "allocation"), 0)
    return opening, sum(amounts) - opening


def _statement(
    fund: str, cluster_id: str | None, row: BalanceRow | CouncilFundRow, allocations: tuple[int, int]
) -> YearEndStatement:
    figures, after = row.figures, row.after
    return YearEndStatement(
        fund=fund,
        cluster_id=cluster_id,
        financial_year=row.financial_year,
        closed=after.closed,
        opening_allocation=allocations[0],
        allocations=allocations[1],
        carried_in=after.carried_in,
        committed=figures.committed + after.forward + after.released + after.recovered,
        forward_commitments=after.forward,
        commissioned=figures.commissioned,
        paid=figures.paid,
        released=after.released,
        recovered=after.recovered,
        income=after.income,
        carried_forward=after.carried_forward,
        unpaid_at_close=after.unpaid_at_close if after.closed else None,
        available=figures.available,
        version=row.version,
    )


def budget_statement(database: ProjectionDatabase, cluster_id: str, year: str) -> YearEndStatement:
    row = budget_row(database, cluster_id, year) or zero_budget(cluster_id, year)
    where = "fund = 'cluster' AND cluster_id = ? AND financial_year = ?"
    return _statement("cluster", cluster_id, row, _allocations(database, where, [cluster_id, year]))


def council_fund_statement(database: ProjectionDatabase, year: str) -> YearEndStatement:
    row = council_fund_row(database, year) or zero_fund(year)
    allocations = _allocations(database, "fund = 'council' AND financial_year = ?", [year])
    return _statement("council", None, row, allocations)


def commitments_by_age(
    database: ProjectionDatabase, year: str, edges: Sequence[str], *, cluster_id: str | None = None
) -> list[FundCommitments]:
    """Each fund's unpaid commitments on ``year``, by the age of their awards.

    ``edges`` are three ISO 8601 UTC times, newest first: an award approved at or after the first
    is in the first band, at or after the second in the second, and so on. ``cluster_id`` keeps
    that cluster's budget alone (no council fund). Funds are the council's first, then clusters'.
    """
    if len(edges) != len(AGE_BANDS) - 1:
        raise ValueError(f"commitments by age need {len(AGE_BANDS) - 1} edges")
    band = "CASE " + " ".join(f"WHEN a.approved_at >= ? THEN {index}" for index in range(len(edges)))
    band += f" ELSE {len(edges)} END"
    unpaid = "i.amount - i.paid - i.released"
    where, params = ["i.financial_year = ?", f"{unpaid} > 0"], [year]
    if cluster_id is not None:
        where += ["a.funded_by = 'cluster'", "a.cluster_id = ?"]
        params.append(cluster_id)
    sql = (
        "SELECT funded_by, cluster_id, band, SUM(unpaid), SUM(held), COUNT(DISTINCT request_id) FROM ("
        f"SELECT a.funded_by AS funded_by, CASE WHEN a.funded_by = 'council' THEN NULL ELSE a.cluster_id END "
        f"AS cluster_id, a.request_id AS request_id, {band} AS band, {unpaid} AS unpaid, "
        f"CASE WHEN i.held_until <> '' THEN {unpaid} ELSE 0 END AS held "
        "FROM awards_instalments i JOIN awards a ON a.request_id = i.request_id "
        f"WHERE {' AND '.join(where)}) AS shares GROUP BY funded_by, cluster_id, band"
    )
    found: dict[tuple[str, str | None], dict[int, AgeBand]] = {}
    for funded_by, cluster, index, total, held, awards in _rows(database, sql, [*edges, *params]):
        key = (str(funded_by), None if cluster is None else str(cluster))
        found.setdefault(key, {})[int(index)] = AgeBand(AGE_BANDS[int(index)], int(total), int(held), int(awards))
    order = sorted(found, key=lambda key: (key[0] != "council", key[1] or ""))
    return [
        FundCommitments(
            funded_by,
            cluster,
            [found[(funded_by, cluster)].get(index, AgeBand(name, 0, 0, 0)) for index, name in enumerate(AGE_BANDS)],
        )
        for funded_by, cluster in order
    ]


__all__ = [
    "AGE_BANDS",
    "AgeBand",
    "FundCommitments",
    "YearEndStatement",
    "budget_statement",
    "commitments_by_age",
    "council_fund_statement",
]
