"""The council's decision on an escalated request: approve (committing on the council fund, and
counting against the council's per-term cap) or decline.

``FundingRequest`` inherits this, as it does ``AwardKeeping``: the events are the request's own
(the library names them ``FundingRequest.CouncilApproved`` and so on). Kept apart so the request's
own module stays readable; also where a decision's policy is checked and pinned.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.award_keeping import AwardKeeping, award_of_approval
from domain.awards import DEFAULT_TERMS, Award, AwardTerms, by_year, commit_award, next_year
from domain.council_terms import CouncilTermAwards
from domain.errors import AmountNotAllowed, InvalidValue, PolicyLimitExceeded
from domain.funds import CouncilFund
from domain.money import Money
from domain.policy import PolicyInForce
from domain.policy_pin import PolicyPin
from domain.text import check_text
from domain.values import Actor, DeclineReasonCode


def no_policy(state: dict[str, Any]) -> None:
    """The upcaster of a decision recorded before policy was: it names no policy (None)."""
    state["policy"] = None


def pin_of(policy: PolicyInForce | None) -> PolicyPin | None:
    return None if policy is None else policy.pin


def check_award_cap(amount: Money, policy: PolicyInForce | None) -> None:
    if policy is not None and amount > policy.award_cap:
        raise PolicyLimitExceeded(
            f"{amount} is more than the largest single award of {policy.award_cap} ({policy.source_text('award_cap')})"
        )


class CouncilDecisions(AwardKeeping):
    """The council's part of a funding request."""

    amount_requested: Money
    amount_escalated: Money | None
    amount_approved: Money

    if TYPE_CHECKING:

        def decided(
            self,
            event: Aggregate.Event,
            actor: Actor,
            reason: str,
            amount: Money | None = None,
            reason_code: DeclineReasonCode | None = None,
            policy: PolicyPin | None = None,
        ) -> None: ...

    class CouncilApproved(Aggregate.Event):
        # Version 2 (issue 13) records the award, as ``ClusterApproved`` does.
        class_version = 3
        amount: Money
        reason: str
        actor: Actor
        award: Award | None
        policy: PolicyPin | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["award"] = None

        upcast_v2_v3 = staticmethod(no_policy)

        def apply(self, request: CouncilDecisions) -> None:
            request.decided(self, self.actor, self.reason, self.amount, policy=self.policy)
            request.amount_approved = self.amount
            request.funded_by = "council"
            request.award = award_of_approval(self.award, self.amount, request.financial_year, self.timestamp)

    class CouncilDeclined(Aggregate.Event):
        class_version = 2
        reason: str
        actor: Actor
        policy: PolicyPin | None

        upcast_v1_v2 = staticmethod(no_policy)

        def apply(self, request: CouncilDecisions) -> None:
            request.decided(self, self.actor, self.reason, policy=self.policy)

    def approve_as_council(
        self,
        amount: Money | None,
        reason: str,
        actor: Actor,
        fund: CouncilFund,
        terms: AwardTerms = DEFAULT_TERMS,
        next_fund: CouncilFund | None = None,
        policy: PolicyInForce | None = None,
        term_awards: CouncilTermAwards | None = None,
    ) -> None:
        """``fund`` is the council fund for the request's year; ``next_fund`` the next year's, for an
        award period that runs into it."""
        self.check_may_follow(self.CouncilApproved, "decide")
        check_text(reason, field="reason")
        escalated = self.amount_escalated or self.amount_requested
        amount = escalated if amount is None else amount
        if amount > escalated:
            raise AmountNotAllowed(f"the council may approve at most the {escalated} escalated")
        check_award_cap(amount, policy)
        award = terms.award_for(amount, self.financial_year)
        years = (self.financial_year, next_year(self.financial_year))
        for expected, given in zip(years, (fund, next_fund), strict=True):
            if given is not None and (not isinstance(given, CouncilFund) or given.financial_year != expected):
                raise InvalidValue("a council approval commits on the council fund for each year of its award")
        if term_awards is not None:
            cap = (policy or PolicyInForce.defaults(date.min)).council_term_cap
            source = "the default" if policy is None else policy.source_text("council_term_cap")
            term_awards.count(self.id, amount, cap, source, actor)
        commit_award(self.id, award, by_year(fund, next_fund), actor)
        self.trigger_event(
            self.CouncilApproved, amount=amount, reason=reason, actor=actor, award=award, policy=pin_of(policy)
        )

    def decline_as_council(self, reason: str, actor: Actor, policy: PolicyInForce | None = None) -> None:
        self.check_may_follow(self.CouncilDeclined, "decide")
        check_text(reason, field="reason")
        self.trigger_event(self.CouncilDeclined, reason=reason, actor=actor, policy=pin_of(policy))
