"""What each read-model row should be, derived from the events and the folded aggregates alone.

Nothing here calls projection code. Each row is read off the domain: a ledger row's balances are
the fund aggregate's ``available`` and ``paid`` right after its event, a decision row is the
request's newest ``Decision``, a request's row is the request aggregate as folded, and the time it
entered its status is the time of the last event that changed its status. If a projection and
this module ever disagree, one of them is wrong, and the report says which row. (The lifecycle's
status sets and decision kinds, and ``FundFigures``, are the domain's, shared by both sides.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.clusters import Cluster, SchoolMembership
from domain.formatting import utc_text
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund, FundFigures
from domain.lifecycle import AWAITING_COUNCIL, BUDGET_DECISIONS, LOGGED_DECISIONS, OPEN_STATUSES
from domain.money import Money
from domain.payment_runs import PaymentRun
from domain.schools import School
from domain.sen_reports import SenInformationReport
from domain.values import DecisionKind, FinancialYear
from projections.reconciliation.awards import award_rows, instalment_rows
from projections.reconciliation.fold import CarriedIn, Step
from projections.reconciliation.instalments import InstalmentExpectations
from projections.reconciliation.sen_reports import SenReportExpectations

Row = tuple[Any, ...]


def _pence(amount: Money | None) -> int | None:
    return None if amount is None else amount.pence


class Expectations:
    """Follows the year's folded events; gives each event's log rows and, on demand, the state rows."""

    def __init__(self, year: FinancialYear, carried_in: Mapping[UUID, CarriedIn] | None = None) -> None:
        self.year = year
        # What the year before's funds carried into this year's at their close (the fold keeps it
        # up to date as it goes), and the carry-ins seen arrive, as each fund's allocation.
        self.carried_in: Mapping[UUID, CarriedIn] = {} if carried_in is None else carried_in
        self.arrived: dict[UUID, int] = {}
        self.closes: dict[UUID, Fund.YearClosed] = {}
        # The folded aggregates themselves (the fold mutates them in place), by id.
        self.requests: dict[UUID, FundingRequest] = {}
        self.budgets: dict[UUID, ClusterBudget] = {}
        self.council_fund: CouncilFund | None = None
        self.clusters: dict[UUID, Cluster] = {}
        self.schools: dict[UUID, School] = {}
        self.memberships: dict[UUID, SchoolMembership] = {}
        self.status_since: dict[UUID, datetime] = {}
        self.sen_reports = SenReportExpectations()
        self.instalments = InstalmentExpectations()

    # -- rows keyed by log position, one event at a time ------------------------------------------

    def observe(self, step: Step) -> tuple[Row | None, Row | None]:
        """The decision-log row and the finance-ledger row this event should have produced, if any."""
        aggregate, event = step.aggregate, step.event
        if isinstance(aggregate, Cluster):
            self.clusters.setdefault(aggregate.id, aggregate)
            return None, None
        if isinstance(aggregate, School):
            self.schools.setdefault(aggregate.id, aggregate)
            return None, None
        if isinstance(aggregate, SchoolMembership):
            self.memberships.setdefault(aggregate.id, aggregate)
            self.sen_reports.observe(step)
            return None, None
        if isinstance(aggregate, SenInformationReport):
            self.sen_reports.observe(step)
            return None, None
        if isinstance(aggregate, PaymentRun):
            self.instalments.observe(step)
            return None, None
        if isinstance(aggregate, FundingRequest):
            self.requests.setdefault(aggregate.id, aggregate)
            if aggregate.status != step.status_before:
                self.status_since[aggregate.id] = event.timestamp
            return self._request_decision(step, aggregate), None
        if isinstance(aggregate, ClusterBudget):
            self.budgets.setdefault(aggregate.id, aggregate)
        elif isinstance(aggregate, CouncilFund):
            self.council_fund = aggregate
        if isinstance(event, Fund.YearClosed):
            self.closes[aggregate.id] = event
        decision = self._commission(step, aggregate) if isinstance(event, ClusterBudget.ServiceCommissioned) else None
        return decision, self._movement(step, aggregate)

    def _request_decision(self, step: Step, request: FundingRequest) -> Row | None:
        if len(request.decisions) <= step.decisions_before:
            return None
        decision = request.decisions[-1]
        if decision.kind not in LOGGED_DECISIONS:
            return None  # a withdrawal: the school's own act, kept on the request, not a decision about it
        details = request.conditions if decision.kind is DecisionKind.CLUSTER_APPROVAL else None
        return (
            step.position,
            decision.kind.value,
            request.id.hex,
            str(request.school_urn),
            str(request.cluster_id),
            str(request.financial_year),
            decision.actor.sub,
            decision.actor.role.value,
            utc_text(decision.decided_at),
            _pence(decision.amount),
            None if decision.reason_code is None else decision.reason_code.value,
            decision.reason,
            details,
        )

    @staticmethod
    def _commission(step: Step, budget: ClusterBudget) -> Row:
        event = step.event
        schools = ", ".join(str(urn) for urn in event.school_urns)
        return (
            step.position,
            BUDGET_DECISIONS[type(event).__name__].value,
            None,
            None,
            str(budget.cluster_id),
            str(budget.financial_year),
            event.actor.sub,
            event.actor.role.value,
            utc_text(event.timestamp),
            event.amount.pence,
            None,
            event.description,
            f"{event.service.value}; provider: {event.provider}; schools: {schools}",
        )

    def _movement(self, step: Step, fund: Fund) -> Row | None:
        event = step.event
        request_id: str | None = None
        actor = getattr(event, "actor", None)
        reference = ""
        if isinstance(event, Fund.FundsAllocated):
            movement = "allocation" if event.amount.pence > 0 else "adjustment"
            reference = event.note
            carried = self.carried_in.get(fund.id)
            if movement == "allocation" and carried is not None and fund.id not in self.arrived:
                movement, self.arrived[fund.id] = "carry_forward_in", event.amount.pence
        elif isinstance(event, Fund.FundsCommitted):
            movement, request_id = "commitment", event.request_id.hex
        elif isinstance(event, ClusterBudget.ServiceCommissioned):
            movement, reference = "commission", f"{event.service.value}: {event.provider}"
        elif isinstance(event, Fund.PaymentRecorded):
            movement, request_id, reference = "payment", event.request_id.hex, event.reference
        elif isinstance(event, Fund.FundsCommittedForward):
            movement, request_id = "forward_commitment", event.request_id.hex
        elif isinstance(event, Fund.ForwardCommitmentsCovered):
            movement, reference = "forward_covered", "covered by the allocation"
        elif isinstance(event, Fund.FundsReleased):
            movement, request_id = "release", event.request_id.hex
            if event.uncovered.is_positive:
                reference = f"{event.uncovered} of it committed ahead"
        elif isinstance(event, Fund.RecoveryReceived):
            movement = "income" if event.as_income else "recovery"
            request_id, reference = event.request_id.hex, event.reference
        elif isinstance(event, Fund.YearClosed):
            movement, reference = "year_close", f"committed but unpaid at close: {event.committed_unpaid}"
        else:
            return None
        if isinstance(fund, ClusterBudget):
            kind, cluster_id = "cluster", str(fund.cluster_id)
        elif isinstance(fund, CouncilFund):
            kind, cluster_id = "council", None
        else:
            return None
        amount = event.carried_forward if isinstance(event, Fund.YearClosed) else event.amount
        return (
            step.position,
            utc_text(event.timestamp),
            kind,
            cluster_id,
            str(fund.financial_year),
            movement,
            request_id,
            amount.pence,
            fund.available.pence,
            fund.paid.pence,
            reference,
            "" if actor is None else actor.sub,
        )

    # -- rows of state: what each table holds once the log up to here is applied ---------------------

    def state_rows(self, table: str) -> dict[Any, Row]:
        """The rows ``table`` should hold now, by key."""
        rows = {
            "clusters": self._clusters,
            "schools": self._schools,
            "cluster_balances": self._cluster_balances,
            "council_fund_balances": self._council_fund_balances,
            "cluster_balances_requests": self._cluster_balances_requests,
            "request_index": self._request_index,
            "decision_log_requests": self._decision_log_requests,
            "decision_log_budgets": self._decision_log_budgets,
            "finance_ledger_funds": self._finance_ledger_funds,
            "awards": lambda: award_rows(self.requests.values()),
            "awards_instalments": lambda: instalment_rows(self.requests.values()),
            "awards_requests": self._decision_log_requests,  # the same facts: where each request belongs
            "sen_reports": self.sen_reports.sen_reports,
            "sen_report_broken_links": self.sen_reports.sen_report_broken_links,
            "instalments": lambda: self.instalments.instalments(self.requests.values()),
            "instalment_requests": lambda: self.instalments.instalment_requests(self.requests.values()),
        }[table]()
        return {row[0]: row for row in rows}

    def _after(self, fund: Fund) -> tuple[int, ...]:
        """The money after the decisions, as the balance tables keep it, then whether it is closed."""
        close = self.closes.get(fund.id)
        carried = self.carried_in.get(fund.id)
        return (
            fund.forward.pence, fund.released.pence, fund.recovered.pence, fund.income.pence,
            0 if carried is None else carried.amount.pence,
            0 if close is None else close.carried_forward.pence,
            0 if close is None else close.committed_unpaid.pence,
            int(fund.closed),
        )  # fmt: skip

    def _carried_in_only(self, council: bool) -> dict[UUID, CarriedIn]:
        """Funds the year before carried into whose own events are not folded yet (the same save follows)."""
        return {
            fund_id: carried
            for fund_id, carried in self.carried_in.items()
            if (carried.cluster_id is None) == council
            and fund_id not in self.budgets
            and (self.council_fund is None or self.council_fund.id != fund_id)
        }

    def _cluster_balances(self) -> list[Row]:
        balances: dict[str, _BudgetBalance] = {
            str(budget.cluster_id): _BudgetBalance(
                budget.id.hex, budget.figures(), budget.version, after=self._after(budget)
            )
            for budget in self.budgets.values()
        }
        for fund_id, carried in self._carried_in_only(council=False).items():
            after = (0, 0, 0, 0, carried.amount.pence, 0, 0, 0)
            balances[str(carried.cluster_id)] = _BudgetBalance(fund_id.hex, after=after)
        for request in self.requests.values():
            # A request against a budget nobody has opened yet still has its cluster's row, all zeros.
            balance = balances.setdefault(
                str(request.cluster_id),
                _BudgetBalance(ClusterBudget.id_for(request.cluster_id, request.financial_year).hex),
            )
            if request.status in OPEN_STATUSES:
                balance.pending += request.amount_requested.pence
            elif request.status in AWAITING_COUNCIL and request.amount_escalated is not None:
                balance.escalated += request.amount_escalated.pence
        return [balance.row(cluster_id) for cluster_id, balance in balances.items()]

    def _council_fund_balances(self) -> list[Row]:
        fund = self.council_fund
        if fund is None:
            return [
                (str(self.year), fund_id.hex, 0, 0, 0, 0, 0, 0, 0, 0, carried.amount.pence, 0, 0, 0, 0)
                for fund_id, carried in self._carried_in_only(council=True).items()
            ]
        figures = fund.figures()
        return [
            (
                str(fund.financial_year),
                fund.id.hex,
                figures.allocated.pence,
                figures.committed.pence,
                figures.available.pence,
                figures.paid.pence,
                *self._after(fund),
                fund.version,
            )
        ]

    def _cluster_balances_requests(self) -> list[Row]:
        return [
            (
                request.id.hex,
                ClusterBudget.id_for(request.cluster_id, request.financial_year).hex,
                request.amount_requested.pence,
                _pence(request.amount_escalated) or 0,
            )
            for request in self.requests.values()
        ]

    def _request_index(self) -> list[Row]:
        return [
            (
                request.id.hex,
                str(request.school_urn),
                str(request.cluster_id),
                str(request.financial_year),
                request.status.value,
                request.reason.value,
                request.pupil_count,
                request.amount_requested.pence,
                _pence(request.amount_escalated),
                request.amount_approved.pence,
                request.amount_paid.pence,
                utc_text(request.created_on),
                utc_text(request.modified_on),
                utc_text(self.status_since[request.id]),
                request.version,
                0 if request.award is None else request.award.released.pence,
            )
            for request in self.requests.values()
        ]

    def _decision_log_requests(self) -> list[Row]:
        return [
            (request.id.hex, str(request.school_urn), str(request.cluster_id), str(request.financial_year))
            for request in self.requests.values()
        ]

    def _decision_log_budgets(self) -> list[Row]:
        return [(budget.id.hex, str(budget.cluster_id), str(budget.financial_year)) for budget in self.budgets.values()]

    def _finance_ledger_funds(self) -> list[Row]:
        funds: list[tuple[Fund, str, str | None]] = [
            (budget, "cluster", str(budget.cluster_id)) for budget in self.budgets.values()
        ]
        if self.council_fund is not None:
            funds.append((self.council_fund, "council", None))
        return [
            (fund.id.hex, kind, cluster_id, str(fund.financial_year), fund.available.pence, fund.paid.pence,
             self._after(fund)[5], self.arrived.get(fund.id, 0))
            for fund, kind, cluster_id in funds
        ]  # fmt: skip

    def _clusters(self) -> list[Row]:
        return [
            (str(cluster.cluster_id), cluster.id.hex, cluster.name,
             ",".join(str(urn) for urn in cluster.school_urns), cluster.version)
            for cluster in self.clusters.values()
        ]  # fmt: skip

    def _schools(self) -> list[Row]:
        """A row per URN with a register entry, a membership or both; the version is the entry's."""
        entries = {str(school.school_urn): school for school in self.schools.values()}
        members = {str(member.school_urn): member for member in self.memberships.values()}
        rows: list[Row] = []
        for urn in sorted(entries.keys() | members.keys()):
            school, member = entries.get(urn), members.get(urn)
            rows.append(
                (
                    urn,
                    None if school is None else school.name,
                    None if school is None else school.phase.value,
                    None if member is None or member.cluster_id is None else str(member.cluster_id),
                    0 if school is None else school.version,
                    None if school is None else school.id.hex,
                    None if member is None else member.id.hex,
                )
            )
        return rows


@dataclass
class _BudgetBalance:
    """A budget's row of ``cluster_balances`` as the log says it should be."""

    fund_id: str
    figures: FundFigures[Money] = field(default_factory=lambda: FundFigures(*[Money.zero()] * 4))
    version: int = 0
    pending: int = 0
    escalated: int = 0
    after: tuple[int, ...] = (0,) * 8  # the money after the decisions, and closed (``Expectations._after``)

    def row(self, cluster_id: str) -> Row:
        figures = self.figures
        return (
            cluster_id,
            self.fund_id,
            figures.allocated.pence,
            figures.committed.pence,
            figures.commissioned.pence,
            figures.available.pence,
            self.pending,
            self.escalated,
            figures.paid.pence,
            *self.after,
            self.version,
        )
