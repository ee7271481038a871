"""The application layer: one method per use case, on the ``eventsourcing`` library.

Every command follows one shape:
  1. check the actor's role (before reading anything, so a refused role learns nothing);
  2. parse the values (a malformed value writes nothing);
  3. under the per-aggregate locks, load, check scope and rules, and ``save()`` every touched
     aggregate in one call, which is one transaction on either store;
  4. if another process saved first (``IntegrityError``), re-read and decide again, a bounded
     number of times, so a race ends as success or a domain error, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain.clusters import Cluster, SchoolMembership
from domain.errors import (
    AlreadyExists,
    InvalidValue,
    NotFound,
    NotPermitted,
    SchoolNotInCluster,
)
from domain.funding_request import PAYABLE_STATUSES, FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.limits import SHORT_TEXT
from domain.money import Money, parse_amount
from domain.permissions import (
    check_is_the_school,
    check_leads_the_cluster,
    check_may_read_budget,
    check_may_read_request,
    check_role,
)
from domain.text import check_text
from domain.values import (
    Actor,
    ClusterId,
    CommissionedService,
    CouncilDecision,
    DeclineReasonCode,
    EvidenceDocument,
    FinancialYear,
    ProvisionLine,
    RequestStatus,
    Role,
    SchoolUrn,
    SpendLine,
    TopUpReason,
    parse_enum,
)
from funding_engine.audit import Audit
from funding_engine.base import EngineApplication
from projections import queries
from projections.reconciliation import Reconciliation, reconcile


@dataclass(frozen=True)
class FundStatement:
    """A budget's or fund's figures as read, with zeros for a year nobody has allocated yet."""

    cluster_id: ClusterId | None
    financial_year: FinancialYear
    allocated: Money
    committed: Money
    commissioned: Money
    available: Money
    paid: Money
    version: int

    @classmethod
    def of(cls, fund: Fund | None, financial_year: FinancialYear, cluster_id: ClusterId | None) -> FundStatement:
        if fund is None:
            zero = Money.zero()
            return cls(cluster_id, financial_year, zero, zero, zero, zero, zero, 0)
        return cls(cluster_id, financial_year, version=fund.version, **fund.figures().named())


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    type: str
    timestamp: datetime
    actor: Actor | None
    data: dict[str, Any]


class FundingApplication(Audit, EngineApplication):
    """The SEND top-up funding engine."""

    name = "FundingEngine"
    # Budgets and funds gather one event per approval all year, and a load replays what came after
    # the last snapshot: at 100, a budget of 10,099 events loaded in 7-9x the time of a 10-event
    # one, at 20 within 2x (bench/long_histories.py). A budget's snapshot is a few figures, so one
    # more small write every 20 approvals is cheap. Requests and clusters stay short.
    snapshotting_intervals = {ClusterBudget: 20, CouncilFund: 20, Cluster: 100, FundingRequest: 100}
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000"}

    # ==========================================================================================
    # Reference data: clusters and their schools
    # ==========================================================================================

    def register_cluster(self, actor: Actor, cluster_id: ClusterId | str, name: str) -> Cluster:
        check_role(actor, "register_cluster")
        cluster_id = ClusterId.parse(cluster_id)
        check_text(name, field="name", max_length=SHORT_TEXT)

        def decide() -> list[Aggregate]:
            if self._find(Cluster.id_for(cluster_id), Cluster) is not None:
                raise AlreadyExists(f"cluster {cluster_id} already exists")
            return [Cluster.register(cluster_id, name, actor)]

        return self._run_command(decide, Cluster.id_for(cluster_id))  # type: ignore[return-value]

    def add_school(self, actor: Actor, cluster_id: ClusterId | str, school_urn: SchoolUrn | str) -> Cluster:
        check_role(actor, "add_school")
        cluster_id, school_urn = ClusterId.parse(cluster_id), SchoolUrn.parse(school_urn)

        def decide() -> list[Aggregate]:
            cluster = self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")
            membership = self._find(SchoolMembership.id_for(school_urn), SchoolMembership)
            membership = membership or SchoolMembership.start(school_urn)
            membership.join(cluster_id, actor)
            cluster.add_school(school_urn, actor)
            return [cluster, membership]

        return self._run_command(  # type: ignore[return-value]
            decide, Cluster.id_for(cluster_id), SchoolMembership.id_for(school_urn)
        )

    def remove_school(self, actor: Actor, cluster_id: ClusterId | str, school_urn: SchoolUrn | str) -> Cluster:
        check_role(actor, "remove_school")
        cluster_id, school_urn = ClusterId.parse(cluster_id), SchoolUrn.parse(school_urn)

        def decide() -> list[Aggregate]:
            cluster = self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")
            cluster.remove_school(school_urn, actor)
            membership = self._get(SchoolMembership.id_for(school_urn), SchoolMembership, f"school {school_urn}")
            membership.leave(cluster_id, actor)
            return [cluster, membership]

        return self._run_command(  # type: ignore[return-value]
            decide, Cluster.id_for(cluster_id), SchoolMembership.id_for(school_urn)
        )

    def get_cluster(self, actor: Actor, cluster_id: ClusterId | str) -> Cluster:
        check_role(actor, "read_cluster")
        cluster_id = ClusterId.parse(cluster_id)
        return self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")

    def list_clusters(self, actor: Actor) -> list[Cluster]:
        """Every registered cluster, by id. A scan of registrations until the read models arrive."""
        check_role(actor, "read_cluster")
        topic = get_topic(Cluster.Registered)
        ids: list[UUID] = []
        start = 1
        while True:
            page = self.recorder.select_notifications(start, 500, topics=[topic])
            ids.extend(notification.originator_id for notification in page)  # type: ignore[misc]
            if len(page) < 500:
                break
            start = page[-1].id + 1
        clusters = [self.repository.get(cluster_id) for cluster_id in ids]
        return sorted(clusters, key=lambda cluster: cluster.cluster_id)

    def cluster_of_school(self, school_urn: SchoolUrn | str) -> ClusterId | None:
        membership = self._find(SchoolMembership.id_for(SchoolUrn.parse(school_urn)), SchoolMembership, to_change=False)
        return membership.cluster_id if membership else None

    # ==========================================================================================
    # Budgets and the council fund
    # ==========================================================================================

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

        def decide() -> list[Aggregate]:
            self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")
            budget = self._find(budget_id, ClusterBudget)
            self._check_version(budget, expected_version)
            budget = budget or ClusterBudget.open(cluster_id, year, actor)
            budget.allocate(amount, note, actor)
            return [budget]

        return self._run_command(decide, budget_id)  # type: ignore[return-value]

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

        def decide() -> list[Aggregate]:
            fund = self._find(fund_id, CouncilFund)
            self._check_version(fund, expected_version)
            fund = fund or CouncilFund.open(year, actor)
            fund.allocate(amount, note, actor)
            return [fund]

        return self._run_command(decide, fund_id)  # type: ignore[return-value]

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

        def decide() -> list[Aggregate]:
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
            return [budget]

        return self._run_command(decide, budget_id)  # type: ignore[return-value]

    def get_budget(
        self, actor: Actor, cluster_id: ClusterId | str, financial_year: FinancialYear | str
    ) -> FundStatement:
        check_role(actor, "read_budget")
        cluster_id, year = ClusterId.parse(cluster_id), FinancialYear.parse(financial_year)
        actors_cluster = self.cluster_of_school(actor.school_urn) if actor.school_urn else None
        check_may_read_budget(actor, cluster_id, actors_cluster)
        self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")
        budget = self._find(ClusterBudget.id_for(cluster_id, year), ClusterBudget)
        return FundStatement.of(budget, year, cluster_id)

    def get_council_fund(self, actor: Actor, financial_year: FinancialYear | str) -> FundStatement:
        check_role(actor, "read_council_fund")
        year = FinancialYear.parse(financial_year)
        return FundStatement.of(self._find(CouncilFund.id_for(year), CouncilFund), year, None)

    # ==========================================================================================
    # Funding requests
    # ==========================================================================================

    def submit_request(
        self,
        actor: Actor,
        *,
        school_urn: SchoolUrn | str,
        financial_year: FinancialYear | str,
        amount_requested: Money | str,
        reason: TopUpReason | str,
        pupil_count: int,
        needs_summary: str,
        planned_provision: Iterable[ProvisionLine | Mapping[str, Any]],
        request_id: UUID | None = None,
    ) -> FundingRequest:
        check_role(actor, "submit_request")
        school_urn, year = SchoolUrn.parse(school_urn), FinancialYear.parse(financial_year)
        amount = parse_amount(amount_requested, field="amount_requested")
        reason = parse_enum(TopUpReason, reason, field="reason")
        provision = [_provision_line(line) for line in planned_provision]
        check_is_the_school(actor, school_urn)

        def decide() -> list[Aggregate]:
            cluster_id = self.cluster_of_school(school_urn)
            if cluster_id is None:
                raise SchoolNotInCluster(f"school {school_urn} is not in a cluster, so it has nobody to apply to")
            return [
                FundingRequest.submit(
                    school_urn=school_urn,
                    cluster_id=cluster_id,
                    financial_year=year,
                    amount_requested=amount,
                    reason=reason,
                    pupil_count=pupil_count,
                    needs_summary=needs_summary,
                    planned_provision=provision,
                    actor=actor,
                    request_id=request_id,
                )
            ]

        # A new id cannot clash with another writer, so there is nothing to lock.
        return self._run_command(decide)  # type: ignore[return-value]

    def provide_evidence(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        notional_sen_budget: Money | str,
        spend: Iterable[SpendLine | Mapping[str, Any]],
        documents: Iterable[EvidenceDocument | Mapping[str, Any]] = (),
        expected_version: int | None = None,
    ) -> FundingRequest:
        check_role(actor, "provide_evidence")
        notional = parse_amount(notional_sen_budget, field="notional_sen_budget")
        spend_lines = [_spend_line(line) for line in spend]
        document_list = [_document(document) for document in documents]

        def decide() -> list[Aggregate]:
            request = self._request_for_school(actor, request_id, expected_version)
            request.provide_evidence(notional, spend_lines, document_list, actor)
            return [request]

        return self._run_command(decide, request_id)  # type: ignore[return-value]

    def request_information(
        self, actor: Actor, request_id: UUID, question: str, *, expected_version: int | None = None
    ) -> FundingRequest:
        check_role(actor, "request_information")

        def decide() -> list[Aggregate]:
            request = self._request_for_lead(actor, request_id, expected_version)
            request.request_information(question, actor)
            return [request]

        return self._run_command(decide, request_id)  # type: ignore[return-value]

    def approve(
        self,
        actor: Actor,
        request_id: UUID,
        amount: Money | str,
        reason: str,
        conditions: str = "",
        *,
        expected_version: int | None = None,
    ) -> FundingRequest:
        check_role(actor, "approve")
        amount = parse_amount(amount)
        request_cluster = self._peek_request(request_id)
        budget_id = ClusterBudget.id_for(request_cluster.cluster_id, request_cluster.financial_year)

        def decide() -> list[Aggregate]:
            request = self._request_for_lead(actor, request_id, expected_version)
            budget = self._find(budget_id, ClusterBudget) or ClusterBudget.open(
                request.cluster_id, request.financial_year, actor
            )
            request.approve(amount, reason, conditions or "", actor, budget)
            return [request, budget]

        return self._run_command(decide, request_id, budget_id)  # type: ignore[return-value]

    def decline(
        self,
        actor: Actor,
        request_id: UUID,
        reason_code: DeclineReasonCode | str,
        reason: str,
        *,
        expected_version: int | None = None,
    ) -> FundingRequest:
        check_role(actor, "decline")
        code = parse_enum(DeclineReasonCode, reason_code, field="reason_code")

        def decide() -> list[Aggregate]:
            request = self._request_for_lead(actor, request_id, expected_version)
            request.decline(code, reason, actor)
            return [request]

        return self._run_command(decide, request_id)  # type: ignore[return-value]

    def escalate(
        self,
        actor: Actor,
        request_id: UUID,
        amount: Money | str,
        exceptional_circumstances: str,
        *,
        expected_version: int | None = None,
    ) -> FundingRequest:
        check_role(actor, "escalate")
        amount = parse_amount(amount)

        def decide() -> list[Aggregate]:
            request = self._request_for_lead(actor, request_id, expected_version)
            budget = self._find(ClusterBudget.id_for(request.cluster_id, request.financial_year), ClusterBudget)
            request.escalate(amount, exceptional_circumstances, actor, budget)
            return [request]

        return self._run_command(decide, request_id)  # type: ignore[return-value]

    def decide_escalation(
        self,
        actor: Actor,
        request_id: UUID,
        decision: CouncilDecision | str,
        reason: str,
        amount: Money | str | None = None,
        *,
        expected_version: int | None = None,
    ) -> FundingRequest:
        check_role(actor, "decide_escalation")
        decision = parse_enum(CouncilDecision, decision, field="decision")
        approved_amount = None if amount is None else parse_amount(amount)
        if decision is CouncilDecision.DECLINE and approved_amount is not None:
            raise InvalidValue("a council decline carries no amount")
        fund_id = CouncilFund.id_for(self._peek_request(request_id).financial_year)

        def decide() -> list[Aggregate]:
            request = self._request(request_id, expected_version)
            if decision is CouncilDecision.DECLINE:
                request.decline_as_council(reason, actor)
                return [request]
            fund = self._find(fund_id, CouncilFund) or CouncilFund.open(request.financial_year, actor)
            request.approve_as_council(approved_amount, reason, actor, fund)
            return [request, fund]

        return self._run_command(decide, request_id, fund_id)  # type: ignore[return-value]

    def withdraw(
        self, actor: Actor, request_id: UUID, reason: str, *, expected_version: int | None = None
    ) -> FundingRequest:
        check_role(actor, "withdraw")

        def decide() -> list[Aggregate]:
            request = self._request_for_school(actor, request_id, expected_version)
            request.withdraw(reason, actor)
            return [request]

        return self._run_command(decide, request_id)  # type: ignore[return-value]

    def record_payment(
        self,
        actor: Actor,
        request_id: UUID,
        amount: Money | str,
        reference: str,
        *,
        expected_version: int | None = None,
    ) -> FundingRequest:
        check_role(actor, "record_payment")
        amount = parse_amount(amount)
        peeked = self._peek_request(request_id)
        # The fund that pays is the one that approved; lock both candidates so the choice is stable.
        budget_id = ClusterBudget.id_for(peeked.cluster_id, peeked.financial_year)
        fund_id = CouncilFund.id_for(peeked.financial_year)

        def decide() -> list[Aggregate]:
            request = self._request(request_id, expected_version)
            request.check_status_in(PAYABLE_STATUSES, "pay")
            paying_fund: Fund | None
            if request.funded_by == "council":
                paying_fund = self._find(fund_id, CouncilFund)
            else:
                paying_fund = self._find(budget_id, ClusterBudget)
            if paying_fund is None:
                raise NotFound("the fund that approved this request is missing")
            request.record_payment(amount, reference, actor, paying_fund)
            return [request, paying_fund]

        return self._run_command(decide, request_id, budget_id, fund_id)  # type: ignore[return-value]

    # -- queries ---------------------------------------------------------------------------------

    def get_request(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        as_at: datetime | None = None,
        version: int | None = None,
    ) -> FundingRequest:
        """The request now, as at a version, or as at a moment (``NotFound`` if it did not exist yet)."""
        check_role(actor, "read_request")
        current = self._request(request_id)
        check_may_read_request(actor, current)
        if as_at is not None:
            if as_at.tzinfo is None:
                raise InvalidValue("as_at must carry a time zone")
            version = 0
            for event in self.events.get(request_id):
                if event.timestamp > as_at:
                    break
                version = event.originator_version
            if version == 0:
                raise NotFound(f"request {request_id} did not exist at {as_at.isoformat()}")
        if version is not None:
            if not 1 <= version <= current.version:
                raise NotFound(f"request {request_id} has no version {version}")
            return self.repository.get(request_id, version=version)
        return current

    def request_history(self, actor: Actor, request_id: UUID) -> list[HistoryEntry]:
        check_role(actor, "read_request")
        request = self._request(request_id)
        check_may_read_request(actor, request)
        entries = []
        for event in self.events.get(request_id):
            data = {
                key: value
                for key, value in vars(event).items()
                if key not in ("originator_id", "originator_version", "timestamp", "originator_topic", "actor")
            }
            entries.append(
                HistoryEntry(
                    version=event.originator_version,
                    type=type(event).__name__,
                    timestamp=event.timestamp,
                    actor=getattr(event, "actor", None),
                    data=data,
                )
            )
        return entries

    # ==========================================================================================
    # Read models: queues, balances, the decision log, finance and audit
    # ==========================================================================================

    def balance(self, actor: Actor, cluster_id: ClusterId | str, financial_year: FinancialYear | str) -> dict[str, Any]:
        """A budget as the read model has it, with ``pending`` and ``escalated``; zeros if unallocated."""
        check_role(actor, "read_budget")
        cluster_id, year = ClusterId.parse(cluster_id), FinancialYear.parse(financial_year)
        actors_cluster = self.cluster_of_school(actor.school_urn) if actor.school_urn else None
        check_may_read_budget(actor, cluster_id, actors_cluster)
        self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")
        database = self._fresh_read_models()
        row = queries.budget_row(database, str(cluster_id), str(year))
        return row or queries.zero_budget(str(cluster_id), str(year))

    def balances(
        self, actor: Actor, financial_year: FinancialYear | str, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[queries.Page, dict[str, int]]:
        """Every cluster's budget for a year, a page at a time, with totals over all of them."""
        check_role(actor, "read_all_balances")
        year = str(FinancialYear.parse(financial_year))
        database = self._fresh_read_models()
        return queries.balances_page(database, year, limit=limit, cursor=cursor), queries.balance_totals(database, year)

    def council_fund_balance(self, actor: Actor, financial_year: FinancialYear | str) -> dict[str, Any]:
        check_role(actor, "read_council_fund")
        year = str(FinancialYear.parse(financial_year))
        return queries.council_fund_row(self._fresh_read_models(), year) or queries.zero_fund(year)

    def list_requests(
        self,
        actor: Actor,
        *,
        cluster_id: ClusterId | str | None = None,
        school_urn: SchoolUrn | str | None = None,
        status: RequestStatus | str | None = None,
        financial_year: FinancialYear | str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> queries.Page:
        """Requests the caller may read, oldest first: a school sees its own, a lead its cluster's."""
        check_role(actor, "read_request")
        filters = {
            "cluster_id": None if cluster_id is None else str(ClusterId.parse(cluster_id)),
            "school_urn": None if school_urn is None else str(SchoolUrn.parse(school_urn)),
            "status": None if status is None else parse_enum(RequestStatus, status, field="status").value,
            "financial_year": None if financial_year is None else str(FinancialYear.parse(financial_year)),
        }
        if actor.role is Role.SCHOOL:
            if filters["school_urn"] not in (None, str(actor.school_urn)):
                raise NotPermitted("a school may list only its own requests")
            filters["school_urn"] = str(actor.school_urn)
        elif actor.role is Role.CLUSTER_LEAD:
            if filters["cluster_id"] not in (None, str(actor.cluster_id)):
                raise NotPermitted("a cluster lead may list only the cluster's requests")
            filters["cluster_id"] = str(actor.cluster_id)
        return queries.requests_page(self._fresh_read_models(), **filters, limit=limit, cursor=cursor)

    def decisions(
        self,
        actor: Actor,
        *,
        cluster_id: ClusterId | str | None = None,
        decided_by: str | None = None,
        decided_from: datetime | None = None,
        decided_to: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> queries.Page:
        """The decision log, newest first, for the council's auditors.

        A bound beyond the calendar in UTC (``0001-01-01T00:00:00+14:00``) is clamped to its edge,
        which selects exactly the same decisions (see ``queries.time_bound``).
        """
        check_role(actor, "read_decisions")
        for moment in (decided_from, decided_to):
            if moment is not None and moment.tzinfo is None:
                raise InvalidValue("from and to must carry a time zone")
        return queries.decisions_page(
            self._fresh_read_models(),
            cluster_id=None if cluster_id is None else str(ClusterId.parse(cluster_id)),
            actor=None if decided_by is None else check_text(decided_by, field="actor", max_length=SHORT_TEXT),
            decided_from=None if decided_from is None else queries.time_bound(decided_from),
            decided_to=None if decided_to is None else queries.time_bound(decided_to),
            limit=limit,
            cursor=cursor,
        )

    def reconcile(self, actor: Actor, financial_year: FinancialYear | str) -> Reconciliation:
        check_role(actor, "reconcile")
        year = FinancialYear.parse(financial_year)
        database = self._fresh_read_models()
        return reconcile(database, self._read_side().projector.source, year)

    def write_ledger_csv(self, actor: Actor, financial_year: FinancialYear | str, out: TextIO) -> int:
        check_role(actor, "read_ledger")
        year = str(FinancialYear.parse(financial_year))
        return queries.write_ledger_csv(self._fresh_read_models(), year, out)

    # ==========================================================================================
    # Loading requests for a command
    # ==========================================================================================

    def _request(
        self, request_id: UUID, expected_version: int | None = None, *, to_change: bool = True
    ) -> FundingRequest:
        if not isinstance(request_id, UUID):
            raise NotFound("no such funding request")
        request = self._get(request_id, FundingRequest, f"request {request_id}", to_change=to_change)
        self._check_version(request, expected_version)
        return request

    def _peek_request(self, request_id: UUID) -> FundingRequest:
        """A first read to learn which budget or fund to lock; the decision re-reads under the lock."""
        return self._request(request_id, to_change=False)

    def _request_for_school(self, actor: Actor, request_id: UUID, expected_version: int | None) -> FundingRequest:
        request = self._request(request_id)
        # Commands answer as reads do: another school's request is not found, not forbidden.
        check_may_read_request(actor, request)
        check_is_the_school(actor, request.school_urn)
        self._check_version(request, expected_version)
        return request

    def _request_for_lead(self, actor: Actor, request_id: UUID, expected_version: int | None) -> FundingRequest:
        request = self._request(request_id)
        check_may_read_request(actor, request)
        check_leads_the_cluster(actor, request.cluster_id)
        self._check_version(request, expected_version)
        return request


def _provision_line(line: ProvisionLine | Mapping[str, Any]) -> ProvisionLine:
    if isinstance(line, ProvisionLine):
        return line
    return ProvisionLine.parse(line.get("category", ""), line.get("amount", ""))


def _spend_line(line: SpendLine | Mapping[str, Any]) -> SpendLine:
    if isinstance(line, SpendLine):
        return line
    return SpendLine.parse(line.get("category", ""), line.get("amount", ""), line.get("note", ""))


def _document(document: EvidenceDocument | Mapping[str, Any]) -> EvidenceDocument:
    if isinstance(document, EvidenceDocument):
        return document
    return EvidenceDocument(document.get("name", ""), document.get("sha256", ""))

