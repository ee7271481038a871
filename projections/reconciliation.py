"""Reconciliation: every balance from the read model beside the same figure recomputed from the log.

The recomputation does not share code with the projections: it folds the stored events into the
domain's own aggregates (``event.mutate``), exactly as the application rebuilds them, and reads
the figures off those. If a projection ever drifts (a bug, a hand edit, a half-applied batch),
the row says so and ``consistent`` is false.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund
from domain.values import FinancialYear, RequestStatus
from projections.database import ProjectionDatabase
from projections.engine import NotificationSource
from projections.queries import budget_rows, council_fund_row

BUDGET_FIGURES = ("allocated", "committed", "commissioned", "available", "pending", "escalated", "paid")
FUND_FIGURES = ("allocated", "committed", "available", "paid")
PENDING = frozenset({RequestStatus.SUBMITTED, RequestStatus.EVIDENCED, RequestStatus.INFORMATION_REQUESTED})


@dataclass
class ReconciliationRow:
    cluster_id: str | None
    projected: dict[str, int]
    recomputed: dict[str, int]

    @property
    def consistent(self) -> bool:
        return self.projected == self.recomputed


@dataclass
class Reconciliation:
    financial_year: str
    clusters: list[ReconciliationRow] = field(default_factory=list)
    council_fund: ReconciliationRow | None = None

    @property
    def consistent(self) -> bool:
        rows = [*self.clusters, *([self.council_fund] if self.council_fund else [])]
        return all(row.consistent for row in rows)


def recompute(source: NotificationSource, year: FinancialYear) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Fold the whole log into aggregates; return the year's budget figures by cluster and the fund's."""
    aggregates: dict[Any, Any] = {}
    after = 0
    while batch := source.select(after, 1000):
        for notification in batch:
            event = source.to_event(notification)
            aggregates[event.originator_id] = event.mutate(aggregates.get(event.originator_id))
        after = batch[-1].id
    budgets: dict[str, dict[str, int]] = {}
    fund = dict.fromkeys(FUND_FIGURES, 0)

    def budget(cluster_id: str) -> dict[str, int]:
        return budgets.setdefault(cluster_id, dict.fromkeys(BUDGET_FIGURES, 0))

    for aggregate in aggregates.values():
        if isinstance(aggregate, ClusterBudget) and aggregate.financial_year == year:
            figures = budget(str(aggregate.cluster_id))
            for name, amount in aggregate.figures().items():
                figures[name] = amount.pence
        elif isinstance(aggregate, CouncilFund) and aggregate.financial_year == year:
            fund = {name: amount.pence for name, amount in aggregate.figures().items() if name in FUND_FIGURES}
        elif isinstance(aggregate, FundingRequest) and aggregate.financial_year == year:
            figures = budget(str(aggregate.cluster_id))
            if aggregate.status in PENDING:
                figures["pending"] += aggregate.amount_requested.pence
            elif aggregate.status is RequestStatus.ESCALATED and aggregate.amount_escalated is not None:
                figures["escalated"] += aggregate.amount_escalated.pence
    return budgets, fund


def reconcile(database: ProjectionDatabase, source: NotificationSource, year: FinancialYear) -> Reconciliation:
    recomputed_budgets, recomputed_fund = recompute(source, year)
    projected_budgets = {row["cluster_id"]: row for row in budget_rows(database, str(year))}
    result = Reconciliation(str(year))
    for cluster_id in sorted(set(recomputed_budgets) | set(projected_budgets)):
        projected = projected_budgets.get(cluster_id)
        result.clusters.append(
            ReconciliationRow(
                cluster_id,
                {name: projected[name] for name in BUDGET_FIGURES} if projected else dict.fromkeys(BUDGET_FIGURES, 0),
                recomputed_budgets.get(cluster_id, dict.fromkeys(BUDGET_FIGURES, 0)),
            )
        )
    fund_row = council_fund_row(database, str(year))
    result.council_fund = ReconciliationRow(
        None,
        {name: fund_row[name] for name in FUND_FIGURES} if fund_row else dict.fromkeys(FUND_FIGURES, 0),
        recomputed_fund,
    )
    return result
