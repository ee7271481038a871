"""Cluster budgets and the council fund: allocations, joint commissioning, and who may read them.

Every budget read, from the aggregate here or from the read model (``ReadModels.balance``), passes
through ``budget_in_reach``, the one statement of who may see a cluster's budget; the council
fund's reads pass through ``council_fund_in_reach``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from domain.clusters import Cluster
from domain.funds import ClusterBudget, CouncilFund, Fund, FundFigures
from domain.money import Money, parse_amount
from domain.permissions import check_leads_the_cluster, check_may_read_budget, check_role
from domain.values import Actor, ClusterId, CommissionedService, FinancialYear, SchoolUrn, parse_enum
from funding_engine.application.clusters import Clusters
from funding_engine.application.engine import Decision


@dataclass(frozen=True, slots=True)
class FundStatement(FundFigures[Money]):
    """A budget's or fund's figures as its aggregate has them, with zeros for a year nobody has
    allocated yet; ``available`` is worked out by ``FundFigures``, as everywhere."""

    cluster_id: ClusterId | None
    financial_year: FinancialYear
    version: int

    @classmethod
    def of(cls, fund: Fund | None, financial_year: FinancialYear, cluster_id: ClusterId | None) -> FundStatement:
        zero = Money.zero()
        figures = fund.figures() if fund is not None else FundFigures(zero, zero, zero, zero)
        stored = {field.name: getattr(figures, field.name) for field in fields(FundFigures)}
        version = fund.version if fund is not None else 0
        return cls(**stored, cluster_id=cluster_id, financial_year=financial_year, version=version)


class Budgets(Clusters):
    """Finance allocates; a cluster's lead commissions services from its budget."""

    def allocate_budget(
        self,
        actor: Actor,
        cluster_id: ClusterId | str,
        financial_year: FinancialYear | str,
        amount: Money | str,
        note: str = "",
        *,
        expected_version: int | None = None,
    ) -> ClusterBudget:
        check_role(actor, "allocate_budget")
        cluster_id, year = ClusterId.parse(cluster_id), FinancialYear.parse(financial_year)
        amount = parse_amount(amount, allow_negative=True)
        budget_id = ClusterBudget.id_for(cluster_id, year)

        def decide() -> Decision[ClusterBudget]:
            self._check_cluster_exists(cluster_id)
            budget = self._find(budget_id, ClusterBudget)
            self._check_version(budget, expected_version)
            budget = budget or ClusterBudget.open(cluster_id, year, actor)
            budget.allocate(amount, note, actor)
            return (budget,)

        return self._run_command(decide, budget_id)

    def allocate_council_fund(
        self,
        actor: Actor,
        financial_year: FinancialYear | str,
        amount: Money | str,
        note: str = "",
        *,
        expected_version: int | None = None,
    ) -> CouncilFund:
        check_role(actor, "allocate_council_fund")
        year = FinancialYear.parse(financial_year)
        amount = parse_amount(amount, allow_negative=True)
        fund_id = CouncilFund.id_for(year)

        def decide() -> Decision[CouncilFund]:
            fund = self._find(fund_id, CouncilFund)
            self._check_version(fund, expected_version)
            fund = fund or CouncilFund.open(year, actor)
            fund.allocate(amount, note, actor)
            return (fund,)

        return self._run_command(decide, fund_id)

    def commission_service(
        self,
        actor: Actor,
        cluster_id: ClusterId | str,
        financial_year: FinancialYear | str,
        *,
        service: CommissionedService | str,
        provider: str,
        amount: Money | str,
        school_urns: Sequence[SchoolUrn | str],
        description: str,
        expected_version: int | None = None,
    ) -> ClusterBudget:
        check_role(actor, "commission_service")
        cluster_id, year = ClusterId.parse(cluster_id), FinancialYear.parse(financial_year)
        service = parse_enum(CommissionedService, service, field="service")
        amount = parse_amount(amount)
        urns = [SchoolUrn.parse(urn) for urn in school_urns]
        check_leads_the_cluster(actor, cluster_id)
        budget_id = ClusterBudget.id_for(cluster_id, year)

        def decide() -> Decision[ClusterBudget]:
            cluster = self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")
            budget = self._find(budget_id, ClusterBudget)
            self._check_version(budget, expected_version)
            # A cluster with no budget yet has nothing available; commissioning then fails on funds.
            budget = budget or ClusterBudget.open(cluster_id, year, actor)
            budget.commission(
                service=service,
                provider=provider,
                amount=amount,
                school_urns=urns,
                description=description,
                members=cluster.school_urns,
                actor=actor,
            )
            return (budget,)

        return self._run_command(decide, budget_id)

    # -- reads ----------------------------------------------------------------------------------------

    def budget_in_reach(
        self, actor: Actor, cluster_id: ClusterId | str, financial_year: FinancialYear | str
    ) -> tuple[ClusterId, FinancialYear]:
        """The cluster and year of a budget ``actor`` may read, or why not (every budget read starts here).

        The role first, on the actor alone; then the scope, which for a school needs the cluster
        it belongs to now; then the cluster itself, so an unknown one is not found.
        """
        check_role(actor, "read_budget")
        cluster_id, year = ClusterId.parse(cluster_id), FinancialYear.parse(financial_year)
        actors_cluster = self.cluster_of_school(actor.school_urn) if actor.school_urn else None
        check_may_read_budget(actor, cluster_id, actors_cluster)
        self._check_cluster_exists(cluster_id)
        return cluster_id, year

    def council_fund_in_reach(self, actor: Actor, financial_year: FinancialYear | str) -> FinancialYear:
        """The year of the council fund ``actor`` may read, or why not (every council-fund read starts here)."""
        check_role(actor, "read_council_fund")
        return FinancialYear.parse(financial_year)

    def get_budget(
        self, actor: Actor, cluster_id: ClusterId | str, financial_year: FinancialYear | str
    ) -> FundStatement:
        """The budget as its aggregate stands: what the next command on it decides against.

        People read budgets from the read model (``read_models.balance``), which adds the pending
        and escalated figures; this is the same budget, as the commands see it.
        """
        cluster_id, year = self.budget_in_reach(actor, cluster_id, financial_year)
        budget = self._find(ClusterBudget.id_for(cluster_id, year), ClusterBudget)
        return FundStatement.of(budget, year, cluster_id)

    def get_council_fund(self, actor: Actor, financial_year: FinancialYear | str) -> FundStatement:
        """The council fund as its aggregate stands (people read it as ``read_models.council_fund_balance``)."""
        year = self.council_fund_in_reach(actor, financial_year)
        return FundStatement.of(self._find(CouncilFund.id_for(year), CouncilFund), year, None)
