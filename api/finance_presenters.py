"""Finance's reads turned into response bodies: reconciliation, year-end statements, commitments by age."""

from __future__ import annotations

from typing import Any

from api.finance_schemas import (
    AgeBandResponse,
    ColumnDifferenceResponse,
    CommitmentsByAgeResponse,
    FundCommitmentsResponse,
    InvariantCheckResponse,
    ReadModelReconciliationResponse,
    ReconciliationResponse,
    ReconciliationRowResponse,
    RowDifferenceResponse,
    VersionsResponse,
    YearEndStatementResponse,
)
from domain.formatting import pounds
from funding_engine.application.read_models import (
    CommitmentsByAge,
    Reconciliation,
    ReconciliationRow,
    TableReconciliation,
    YearEndStatement,
)

# The most failing awards or funds an invariant's answer names.
FAILURES_NAMED = 20


def _reconciliation_row(row: ReconciliationRow) -> ReconciliationRowResponse:
    return ReconciliationRowResponse(
        cluster_id=row.cluster_id,
        projected={name: None if value is None else pounds(value) for name, value in row.projected.items()},
        recomputed={name: None if value is None else pounds(value) for name, value in row.recomputed.items()},
        version=VersionsResponse(projected=row.projected_version, recomputed=row.recomputed_version),
        consistent=row.consistent,
    )


def _cell(value: Any, money: bool) -> str | int | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return pounds(value) if money else value
    return str(value)  # whatever else an edited row holds, shown as it reads


def _difference(table: TableReconciliation) -> RowDifferenceResponse | None:
    difference = table.first_difference
    if difference is None:
        return None
    money = table.table.money
    return RowDifferenceResponse(
        key_column=table.table.key,
        key=_cell(difference.key, False),
        columns={
            column: ColumnDifferenceResponse(
                projected=_cell(projected, column in money), recomputed=_cell(recomputed, column in money)
            )
            for column, (projected, recomputed) in difference.columns.items()
        },
    )


def _read_model(table: TableReconciliation) -> ReadModelReconciliationResponse:
    return ReadModelReconciliationResponse(
        name=table.name,
        read_model=table.table.read_model,
        consistent=table.consistent,
        position=table.position,
        rows_checked=table.rows_checked,
        differing=table.differing,
        missing=table.missing,
        extra=table.extra,
        first_difference=_difference(table),
    )


def reconciliation(value: Reconciliation) -> ReconciliationResponse:
    assert value.council_fund is not None
    return ReconciliationResponse(
        financial_year=value.financial_year,
        consistent=value.consistent,
        clusters=[_reconciliation_row(row) for row in value.clusters],
        council_fund=_reconciliation_row(value.council_fund),
        log_position=value.log_position,
        read_models=[_read_model(table) for table in value.tables],
        invariants=[
            InvariantCheckResponse(
                name=check.name,
                holds=check.holds,
                checked=check.checked,
                failing=len(check.failures),
                first_failures=check.failures[:FAILURES_NAMED],
            )
            for check in value.invariants
        ],
        invariants_position=value.invariants_position,
    )


def year_end_statement(value: YearEndStatement) -> YearEndStatementResponse:
    money = (
        "opening_allocation", "allocations", "carried_in", "committed", "forward_commitments", "commissioned", "paid",
        "released", "recovered", "income", "carried_forward", "available",
    )  # fmt: skip
    return YearEndStatementResponse(
        fund=value.fund,
        cluster_id=value.cluster_id,
        financial_year=value.financial_year,
        closed=value.closed,
        committed_unpaid_at_close=None if value.unpaid_at_close is None else pounds(value.unpaid_at_close),
        version=value.version,
        **{name: pounds(getattr(value, name)) for name in money},
    )


def commitments_by_age(value: CommitmentsByAge) -> CommitmentsByAgeResponse:
    return CommitmentsByAgeResponse(
        financial_year=str(value.financial_year),
        as_of=value.as_of.isoformat(),
        funds=[
            FundCommitmentsResponse(
                fund=fund.fund,
                cluster_id=fund.cluster_id,
                unpaid=pounds(fund.unpaid),
                held=pounds(fund.held),
                bands=[
                    AgeBandResponse(
                        band=band.band,
                        unpaid=pounds(band.unpaid),
                        held=pounds(band.held),
                        awards=band.awards,
                    )
                    for band in fund.bands
                ],
            )
            for fund in value.funds
        ],
    )
