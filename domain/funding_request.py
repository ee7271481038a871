"""A school's application to its cluster for top-up funding, from submission to payment.

The lifecycle itself (which event may follow which status, where it leads, what it records) is
stated in ``domain/lifecycle.py``; each command here checks its named guards against it, then
records one event, and each event applies the status and decision the lifecycle gives it. Money
decisions touch a second aggregate (the cluster budget or council fund); the request calls it
here, so both events are pending together and the application saves them in one atomic ``save()``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.award_keeping import award_of_approval
from domain.awards import DEFAULT_TERMS, Award, AwardTerms, by_year, commit_award, next_year
from domain.council_decisions import CouncilDecisions, check_award_cap, no_policy, pin_of
from domain.errors import (
    AmountNotAllowed,
    EscalationNotAllowed,
    EvidenceRequired,
    InvalidValue,
)
from domain.funds import ClusterBudget
from domain.lifecycle import TRANSITIONS, Transition
from domain.limits import MAX_LINES
from domain.money import MAX_AMOUNT, Money
from domain.policy import PolicyInForce
from domain.policy_pin import PolicyPin
from domain.text import check_text
from domain.values import (
    Actor,
    ClusterId,
    Decision,
    DeclineReasonCode,
    EvidenceDocument,
    FinancialYear,
    ProvisionLine,
    ProvisionMapCitation,
    RequestStatus,
    SchoolUrn,
    SpendEvidence,
    SpendLine,
    TopUpReason,
    check_pupil_count,
)


class FundingRequest(CouncilDecisions):
    """A top-up funding request. Carries counts and a needs summary, never a pupil's identity.

    Its award (the money after an approval: instalments, payments, holds, releases, recoveries) is
    kept by ``AwardKeeping`` (``domain/award_keeping.py``).
    """

    class Submitted(Aggregate.Created):
        class_version = 1
        school_urn: SchoolUrn
        cluster_id: ClusterId
        financial_year: FinancialYear
        amount_requested: Money
        reason: TopUpReason
        pupil_count: int
        needs_summary: str
        planned_provision: list[ProvisionLine]
        actor: Actor

    class SpendEvidenceProvided(Aggregate.Event):
        # Version 2 (issue 12) adds ``provision_map``: the published map version the spend lines
        # were taken from, or None for evidence typed in. A version 1 record is typed-in evidence.
        class_version = 2
        notional_sen_budget: Money
        spend: list[SpendLine]
        documents: list[EvidenceDocument]
        actor: Actor
        provision_map: ProvisionMapCitation | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["provision_map"] = None

        def apply(self, request: FundingRequest) -> None:
            request.evidence = SpendEvidence(
                notional_sen_budget=self.notional_sen_budget,
                spend=list(self.spend),
                documents=list(self.documents),
                provided_by=self.actor,
                provided_at=self.timestamp,
                provision_map=self.provision_map,
            )
            request.moved_by(self)

    # Every decision records the policy it was taken under (issue 14): version 2 of the lead's and
    # the council's decision events (3 of the approvals) adds ``policy``; an older record has None.

    class InformationRequested(Aggregate.Event):
        class_version = 2
        question: str
        actor: Actor
        policy: PolicyPin | None

        upcast_v1_v2 = staticmethod(no_policy)

        def apply(self, request: FundingRequest) -> None:
            request.decided(self, self.actor, self.question, policy=self.policy)

    class ClusterApproved(Aggregate.Event):
        # Version 2 (issue 13) records the award: its period, schedule and instalments. A version 1
        # approval made an award of one instalment, due the day it was approved.
        class_version = 3
        amount: Money
        reason: str
        conditions: str
        actor: Actor
        award: Award | None
        policy: PolicyPin | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["award"] = None

        upcast_v2_v3 = staticmethod(no_policy)

        def apply(self, request: FundingRequest) -> None:
            request.decided(self, self.actor, self.reason, self.amount, policy=self.policy)
            request.amount_approved = self.amount
            request.conditions = self.conditions
            request.funded_by = "cluster"
            request.award = award_of_approval(self.award, self.amount, request.financial_year, self.timestamp)

    class ClusterDeclined(Aggregate.Event):
        class_version = 2
        reason_code: DeclineReasonCode
        reason: str
        actor: Actor
        policy: PolicyPin | None

        upcast_v1_v2 = staticmethod(no_policy)

        def apply(self, request: FundingRequest) -> None:
            request.decided(self, self.actor, self.reason, reason_code=self.reason_code, policy=self.policy)

    class Escalated(Aggregate.Event):
        class_version = 2
        amount: Money
        exceptional_circumstances: str
        cluster_available: Money
        actor: Actor
        policy: PolicyPin | None

        upcast_v1_v2 = staticmethod(no_policy)

        def apply(self, request: FundingRequest) -> None:
            request.decided(self, self.actor, self.exceptional_circumstances, self.amount, policy=self.policy)
            request.amount_escalated = self.amount

    class Withdrawn(Aggregate.Event):
        class_version = 1
        reason: str
        actor: Actor

        def apply(self, request: FundingRequest) -> None:
            request.decided(self, self.actor, self.reason)

    def __init__(
        self,
        school_urn: SchoolUrn,
        cluster_id: ClusterId,
        financial_year: FinancialYear,
        amount_requested: Money,
        reason: TopUpReason,
        pupil_count: int,
        needs_summary: str,
        planned_provision: list[ProvisionLine],
        actor: Actor,
    ) -> None:
        self.school_urn = school_urn
        self.cluster_id = cluster_id
        self.financial_year = financial_year
        self.amount_requested = amount_requested
        self.reason = reason
        self.pupil_count = pupil_count
        self.needs_summary = needs_summary
        self.planned_provision = list(planned_provision)
        self.submitted_by = actor
        self.status = TRANSITIONS["Submitted"].leads_to or RequestStatus.SUBMITTED
        self.evidence: SpendEvidence | None = None
        self.decisions: list[Decision] = []
        self.conditions = ""
        self.amount_escalated: Money | None = None
        self.amount_approved = Money.zero()
        self.amount_paid = Money.zero()
        self.funded_by: str | None = None
        self.award = None

    # -- what an event does, as the lifecycle says -----------------------------------------------

    def moved_by(self, event: Aggregate.Event) -> None:
        """Enter the status ``event`` leads to."""
        self.status = TRANSITION_OF[type(event)].leads_to or self.status

    def decided(
        self,
        event: Aggregate.Event,
        actor: Actor,
        reason: str,
        amount: Money | None = None,
        reason_code: DeclineReasonCode | None = None,
        policy: PolicyPin | None = None,
    ) -> None:
        """Record the decision ``event`` records, and enter the status it leads to."""
        transition = TRANSITION_OF[type(event)]
        if transition.records is not None:
            decision = Decision(transition.records, actor, event.timestamp, reason, amount, reason_code, policy)
            self.decisions = [*self.decisions, decision]
        self.status = transition.leads_to or self.status

    # -- guards --------------------------------------------------------------------------------

    def check_has_spend_evidence(self) -> None:
        if self.evidence is None:
            raise EvidenceRequired("the school has not yet shown how it spent its own SEN funding")

    def check_cites_own_map(self, citation: ProvisionMapCitation) -> None:
        if citation.school_urn != self.school_urn:
            raise InvalidValue("spend evidence may cite only the school's own provision map")

    def check_within_amount_requested(self, amount: Money, what: str) -> None:
        if amount > self.amount_requested:
            raise AmountNotAllowed(f"{what} {amount} is more than the {self.amount_requested} requested")

    def check_is_this_requests_budget(self, budget: ClusterBudget) -> None:
        self.check_is_the_clusters_budget(budget, self.financial_year)

    def check_is_the_clusters_budget(self, budget: ClusterBudget, year: FinancialYear) -> None:
        if not isinstance(budget, ClusterBudget) or budget.cluster_id != self.cluster_id:
            raise InvalidValue("that budget is not this request's cluster budget")
        if budget.financial_year != year:
            raise InvalidValue(f"that budget is not the cluster's budget for {year}")

    # -- commands ------------------------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        *,
        school_urn: SchoolUrn,
        cluster_id: ClusterId,
        financial_year: FinancialYear,
        amount_requested: Money,
        reason: TopUpReason,
        pupil_count: int,
        needs_summary: str,
        planned_provision: list[ProvisionLine],
        actor: Actor,
        request_id: UUID | None = None,
    ) -> FundingRequest:
        if not amount_requested.is_positive or amount_requested > MAX_AMOUNT:
            raise InvalidValue(f"amount_requested must be positive and at most {MAX_AMOUNT}")
        check_pupil_count(pupil_count)
        check_text(needs_summary, field="needs_summary")
        if not planned_provision:
            raise InvalidValue("planned_provision needs at least one line")
        if len(planned_provision) > MAX_LINES:
            raise InvalidValue(f"planned_provision has at most {MAX_LINES} lines")
        return cls._create(
            cls.Submitted,
            id=request_id,
            school_urn=school_urn,
            cluster_id=cluster_id,
            financial_year=financial_year,
            amount_requested=amount_requested,
            reason=reason,
            pupil_count=pupil_count,
            needs_summary=needs_summary,
            planned_provision=list(planned_provision),
            actor=actor,
        )

    def provide_evidence(
        self,
        notional_sen_budget: Money,
        spend: list[SpendLine],
        documents: list[EvidenceDocument],
        actor: Actor,
        provision_map: ProvisionMapCitation | None = None,
    ) -> None:
        """``provision_map``: the school's own published map version the ``spend`` lines come from."""
        self.check_may_follow(self.SpendEvidenceProvided, "add spend evidence to")
        if provision_map is not None:
            self.check_cites_own_map(provision_map)
        if notional_sen_budget.is_negative:
            raise InvalidValue("notional_sen_budget must not be negative")
        if not spend:
            raise InvalidValue("spend evidence needs at least one line of spend")
        if len(spend) > MAX_LINES or len(documents) > MAX_LINES:
            raise InvalidValue(f"spend and documents have at most {MAX_LINES} lines each")
        self.trigger_event(
            self.SpendEvidenceProvided,
            notional_sen_budget=notional_sen_budget,
            spend=list(spend),
            documents=list(documents),
            actor=actor,
            provision_map=provision_map,
        )

    def request_information(self, question: str, actor: Actor, policy: PolicyInForce | None = None) -> None:
        self.check_may_follow(self.InformationRequested, "request information on")
        check_text(question, field="question")
        self.trigger_event(self.InformationRequested, question=question, actor=actor, policy=pin_of(policy))

    def approve(
        self,
        amount: Money,
        reason: str,
        conditions: str,
        actor: Actor,
        budget: ClusterBudget,
        terms: AwardTerms = DEFAULT_TERMS,
        next_budget: ClusterBudget | None = None,
        policy: PolicyInForce | None = None,
    ) -> None:
        """``budget`` is the cluster's for the request's year; ``next_budget`` the next year's, for an
        award period that runs into it. ``policy``: the policy in force (None: the defaults)."""
        self.check_may_follow(self.ClusterApproved, "approve")
        self.check_has_spend_evidence()
        check_text(reason, field="reason")
        check_text(conditions, field="conditions", required=False)
        self.check_within_amount_requested(amount, "the approved amount")
        check_award_cap(amount, policy)
        award = terms.award_for(amount, self.financial_year)
        self.check_is_this_requests_budget(budget)
        if next_budget is not None:
            self.check_is_the_clusters_budget(next_budget, next_year(self.financial_year))
        commit_award(self.id, award, by_year(budget, next_budget), actor)
        self.trigger_event(
            self.ClusterApproved,
            amount=amount,
            reason=reason,
            conditions=conditions,
            actor=actor,
            award=award,
            policy=pin_of(policy),
        )

    def decline(
        self, reason_code: DeclineReasonCode, reason: str, actor: Actor, policy: PolicyInForce | None = None
    ) -> None:
        self.check_may_follow(self.ClusterDeclined, "decline")
        if not isinstance(reason_code, DeclineReasonCode):
            raise InvalidValue("a decline needs one of the decline reason codes")
        check_text(reason, field="reason")
        self.trigger_event(
            self.ClusterDeclined, reason_code=reason_code, reason=reason, actor=actor, policy=pin_of(policy)
        )

    def escalate(
        self,
        amount: Money,
        exceptional_circumstances: str,
        actor: Actor,
        budget: ClusterBudget | None,
        policy: PolicyInForce | None = None,
    ) -> None:
        """``budget`` is None when the cluster has no budget for the year yet (nothing available).
        The cluster may escalate only when its available money is below the policy's threshold
        (a percentage of the amount requested; 100 by default)."""
        self.check_may_follow(self.Escalated, "escalate")
        check_text(exceptional_circumstances, field="exceptional_circumstances")
        if not amount.is_positive:
            raise AmountNotAllowed("the escalated amount must be positive")
        self.check_within_amount_requested(amount, "the escalated amount")
        available = Money.zero()
        if budget is not None:
            self.check_is_this_requests_budget(budget)
            available = budget.available
        percent = 100 if policy is None else policy.number("escalation_threshold_percent")
        if available.pence * 100 >= self.amount_requested.pence * percent:
            of_request = "" if percent == 100 else f" (the policy's threshold is {percent}% of it)"
            raise EscalationNotAllowed(
                f"the cluster has {available} available, enough for the {self.amount_requested} requested{of_request}"
            )
        self.trigger_event(
            self.Escalated,
            amount=amount,
            exceptional_circumstances=exceptional_circumstances,
            cluster_available=available,
            actor=actor,
            policy=pin_of(policy),
        )

    def withdraw(self, reason: str, actor: Actor) -> None:
        self.check_may_follow(self.Withdrawn, "withdraw")
        check_text(reason, field="reason")
        self.trigger_event(self.Withdrawn, reason=reason, actor=actor)


# The lifecycle by event class, for whoever looks an event up by its type (the aggregate's own
# events as they apply, the read models as they catch up).
TRANSITION_OF: dict[type[Aggregate.Event], Transition] = {
    getattr(FundingRequest, name): transition for name, transition in TRANSITIONS.items()
}
