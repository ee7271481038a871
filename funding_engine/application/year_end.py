"""Closing a financial year: a cluster's budget, or the council fund.

Finance closes a year once nothing waits on it. The requests still waiting are read from the
request index, made fresh first, so a request submitted before the close was asked for is seen;
one submitted for a closed year is refused at submission (``Requests.submit_request``), so nothing
can start waiting on a closed year afterwards. Carrying money forward allocates it on the next
year's budget in the same save as the close.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.errors import InvalidValue
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.lifecycle import AWAITING_COUNCIL, OPEN_STATUSES
from domain.money import Money
from domain.permissions import check_role
from domain.values import Actor, ClusterId, FinancialYear, RequestStatus
from funding_engine.application.budgets import Budgets
from funding_engine.application.engine import Decision
from projections.queries import requests_page
from projections.read_models.request_index import RequestIndex

# The most waiting requests a refusal names: enough to start on, short enough to read.
NAMED_WAITING = 20


@dataclass(frozen=True, slots=True)
class YearEndPosition:
    """A budget's or fund's year as a close would see it: the figures its ``YearClosed`` would
    record, what is committed ahead (which refuses a close), and the requests still waiting."""

    financial_year: FinancialYear
    cluster_id: ClusterId | None
    allocated: Money
    committed: Money
    commissioned: Money
    paid: Money
    committed_unpaid: Money
    released: Money
    recovered: Money
    income: Money
    forward: Money
    available: Money
    closed: bool
    version: int
    waiting: list[str]

    @classmethod
    def of(
        cls, fund: Fund | None, year: FinancialYear, cluster_id: ClusterId | None, waiting: list[str]
    ) -> YearEndPosition:
        """A year nobody has allocated yet is all zeros, and open."""

        def figure(name: str) -> Money:
            return getattr(fund, name) if fund is not None else Money.zero()

        return cls(
            financial_year=year,
            cluster_id=cluster_id,
            allocated=figure("allocated"),
            committed=figure("committed"),
            commissioned=figure("commissioned"),
            paid=figure("paid"),
            committed_unpaid=figure("committed") - figure("paid"),
            released=figure("released"),
            recovered=figure("recovered"),
            income=figure("income"),
            forward=figure("forward"),
            available=figure("available"),
            closed=fund.closed if fund is not None else False,
            version=fund.version if fund is not None else 0,
            waiting=waiting,
        )


class YearEnd(Budgets):
    """Finance closes a cluster's budget or the council fund for a year."""

    def budget_year_end(
        self, actor: Actor, cluster_id: ClusterId | str, financial_year: FinancialYear | str
    ) -> YearEndPosition:
        """What closing the cluster's budget for the year would record, and what would refuse it."""
        check_role(actor, "close_year")
        cluster_id, year = ClusterId.parse(cluster_id), FinancialYear.parse(financial_year)
        self._check_cluster_exists(cluster_id)
        budget = self._find(ClusterBudget.id_for(cluster_id, year), ClusterBudget)
        waiting = self._waiting(cluster_id=str(cluster_id), year=year, statuses=OPEN_STATUSES)
        return YearEndPosition.of(budget, year, cluster_id, waiting)

    def council_fund_year_end(self, actor: Actor, financial_year: FinancialYear | str) -> YearEndPosition:
        """What closing the council fund for the year would record, and what would refuse it."""
        check_role(actor, "close_year")
        year = FinancialYear.parse(financial_year)
        fund = self._find(CouncilFund.id_for(year), CouncilFund)
        waiting = self._waiting(cluster_id=None, year=year, statuses=AWAITING_COUNCIL)
        return YearEndPosition.of(fund, year, None, waiting)

    def close_budget_year(
        self,
        actor: Actor,
        cluster_id: ClusterId | str,
        financial_year: FinancialYear | str,
        carry_forward: Money | str = "0",
        *,
        expected_version: int | None = None,
    ) -> ClusterBudget:
        check_role(actor, "close_year")
        cluster_id, year = ClusterId.parse(cluster_id), FinancialYear.parse(financial_year)
        carried = _carry_forward(carry_forward)
        next_year = FinancialYear(year.start_year + 1)
        budget_id, next_id = ClusterBudget.id_for(cluster_id, year), ClusterBudget.id_for(cluster_id, next_year)

        def decide() -> Decision[ClusterBudget]:
            self._check_cluster_exists(cluster_id)
            budget = self._find(budget_id, ClusterBudget) or ClusterBudget.open(cluster_id, year, actor)
            self._check_version(budget, expected_version)
            waiting = self._waiting(cluster_id=str(cluster_id), year=year, statuses=OPEN_STATUSES)
            following = self._find(next_id, ClusterBudget) or ClusterBudget.open(cluster_id, next_year, actor)
            budget.close(carried, waiting, actor, following)
            return (budget, following) if carried.is_positive else (budget,)

        return self._run_command(decide, budget_id, next_id)

    def close_council_fund_year(
        self,
        actor: Actor,
        financial_year: FinancialYear | str,
        carry_forward: Money | str = "0",
        *,
        expected_version: int | None = None,
    ) -> CouncilFund:
        check_role(actor, "close_year")
        year = FinancialYear.parse(financial_year)
        carried = _carry_forward(carry_forward)
        next_year = FinancialYear(year.start_year + 1)
        fund_id, next_id = CouncilFund.id_for(year), CouncilFund.id_for(next_year)

        def decide() -> Decision[CouncilFund]:
            fund = self._find(fund_id, CouncilFund) or CouncilFund.open(year, actor)
            self._check_version(fund, expected_version)
            waiting = self._waiting(cluster_id=None, year=year, statuses=AWAITING_COUNCIL)
            following = self._find(next_id, CouncilFund) or CouncilFund.open(next_year, actor)
            fund.close(carried, waiting, actor, following)
            return (fund, following) if carried.is_positive else (fund,)

        return self._run_command(decide, fund_id, next_id)

    def _waiting(self, *, cluster_id: str | None, year: FinancialYear, statuses: frozenset[RequestStatus]) -> list[str]:
        """The ids of requests still waiting on the year (the first ``NAMED_WAITING`` of them)."""
        database = self.fresh_read_models([RequestIndex.name])
        page = requests_page(
            database,
            cluster_id=cluster_id,
            financial_year=str(year),
            statuses=sorted(status.value for status in statuses),
            limit=NAMED_WAITING,
        )
        return [str(UUID(hex=row.request_id)) for row in page.items]


def _carry_forward(amount: Money | str) -> Money:
    carried = Money.parse(amount)
    if carried.is_negative:
        raise InvalidValue("carry_forward must not be negative")
    return carried
