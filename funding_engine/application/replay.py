"""Any decision, replayed: the recorded decisions run again through today's domain rules.

Each decision event (an information request, a cluster approval or decline, an escalation, a
council approval or decline) is decided again on copies of what it read: the request as it stood
just before, the budget or fund as the decision found it, and the policy it pinned (the defaults,
for a decision made before policy was recorded). The replay says whether the rules reproduce the
recorded outcome (the same event, the same amount, the same award to the penny) and, decided again
under the policy in force today, whether today's policy would refuse it. Nothing is saved: the
copies are thrown away.

Which state a decision read is known exactly from the log. The request's is its version before the
decision. An approval's budget (or fund, and the council's term tally) is the version before the
event that committed this award in the same save. An escalation locks only the request, so the
budget it read is found by the figure it recorded (``cluster_available``) among the budget's states
up to the decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.awards import AwardTerms, next_year
from domain.council_terms import CouncilTermAwards, SchoolTerm
from domain.errors import FundingError, NotFound
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.permissions import check_role
from domain.policy import PolicyInForce
from domain.values import Actor
from funding_engine.application.policies import Policies

R = FundingRequest
DECISIONS: tuple[type[Aggregate.Event], ...] = (
    R.InformationRequested,
    R.ClusterApproved,
    R.ClusterDeclined,
    R.Escalated,
    R.CouncilApproved,
    R.CouncilDeclined,
)
DECISION_TOPICS = [get_topic(cls) for cls in DECISIONS]
BATCH = 500
A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class ReplayedDecision:
    position: int
    request_id: UUID
    kind: str
    pinned: str  # the policy it was decided under, as people read it
    reproduced: bool
    problem: str | None  # why the rules of its time do not reproduce it
    refused_today: str | None  # why today's policy would refuse it; None: it would stand


@dataclass(frozen=True)
class ReplayReport:
    decisions: list[ReplayedDecision]

    @property
    def reproduced(self) -> int:
        return sum(1 for decision in self.decisions if decision.reproduced)

    @property
    def not_reproduced(self) -> list[ReplayedDecision]:
        return [decision for decision in self.decisions if not decision.reproduced]

    @property
    def refused_today(self) -> list[ReplayedDecision]:
        return [decision for decision in self.decisions if decision.refused_today is not None]


class Replay(Policies):
    """``replay_decisions``: the council's check that the rules reproduce what was decided."""

    def replay_decisions(self, actor: Actor, position: int | None = None) -> ReplayReport:
        """Every recorded decision in log order, or the one at ``position`` (404 if none is there)."""
        check_role(actor, "verify_audit")
        found = [self._replayed(notification) for notification in self._decision_notifications(position)]
        if position is not None and not found:
            raise NotFound(f"no decision at log position {position}")
        return ReplayReport(found)

    def _decision_notifications(self, position: int | None) -> Iterator[Notification]:
        if position is not None:
            yield from self.recorder.select_notifications(position, 1, stop=position, topics=DECISION_TOPICS)
            return
        start = 1
        while True:
            batch = self.recorder.select_notifications(start, BATCH, topics=DECISION_TOPICS)
            yield from batch
            if len(batch) < BATCH:
                return
            start = batch[-1].id + 1

    def _replayed(self, notification: Notification) -> ReplayedDecision:
        event: Any = self.mapper.to_domain_event(notification)
        request_id = event.originator_id
        before: FundingRequest = self._at(request_id, event.originator_version - 1)
        pin = event.policy
        then = self.policy_as_pinned(pin, before.cluster_id) if pin is not None else None
        if then is None:
            then = PolicyInForce.defaults(event.timestamp.date())
        council_decision = isinstance(event, R.CouncilApproved | R.CouncilDeclined)
        today = self.policy_in_force(None if council_decision else before.cluster_id)
        problem = self._decide_again(event, before, then, compare=True)
        refused = self._decide_again(event, before, today, compare=False)
        return ReplayedDecision(
            position=notification.id,
            request_id=request_id,
            kind=type(event).__name__,
            pinned="the defaults (decided before policy was recorded)" if pin is None else str(pin),
            reproduced=problem is None,
            problem=problem,
            refused_today=refused,
        )

    def _decide_again(self, event: Any, before: FundingRequest, policy: PolicyInForce, *, compare: bool) -> str | None:
        """Decide ``event`` again on copies of what it read; why it differs (or is refused), or None."""
        request: FundingRequest = self._at(event.originator_id, event.originator_version - 1)
        try:
            if isinstance(event, R.InformationRequested):
                request.request_information(event.question, event.actor, policy)
            elif isinstance(event, R.ClusterDeclined):
                request.decline(event.reason_code, event.reason, event.actor, policy)
            elif isinstance(event, R.CouncilDeclined):
                request.decline_as_council(event.reason, event.actor, policy)
            elif isinstance(event, R.Escalated):
                budget = self._budget_as_read(before, event)
                request.escalate(event.amount, event.exceptional_circumstances, event.actor, budget, policy)
            elif isinstance(event, R.ClusterApproved):
                first, later = self._funds_before(before, event, ClusterBudget)
                terms = self._terms_of(event, policy)
                request.approve(event.amount, event.reason, event.conditions, event.actor, first, terms, later, policy)
            elif isinstance(event, R.CouncilApproved):
                first, later = self._funds_before(before, event, CouncilFund)
                tally = self._tally_before(event)
                terms = self._terms_of(event, policy)
                request.approve_as_council(event.amount, event.reason, event.actor, first, terms, later, policy, tally)
        except FundingError as error:
            return f"refused: {error}"
        if not compare:
            return None
        produced: Any = request.collect_events()[-1]
        return _difference(event, produced)

    # -- what the decision read ----------------------------------------------------------------------

    def _at(self, aggregate_id: UUID, version: int) -> Any:
        return self.repository.get(aggregate_id, version=version)

    def _funds_before(self, request: FundingRequest, event: Any, kind: type[Fund]) -> tuple[Any, Any]:
        """The fund of each year the award committed on, as the approval found it (a fund opened by
        the approval itself is opened again)."""
        years = [request.financial_year]
        award = event.award
        if award is not None and next_year(request.financial_year) in award.financial_years():
            years.append(next_year(request.financial_year))
        funds: list[Any] = []
        for year in years:
            fund_id = (
                ClusterBudget.id_for(request.cluster_id, year) if kind is ClusterBudget else CouncilFund.id_for(year)
            )
            version = self._version_before_commit(fund_id, request.id, event)
            if version:
                funds.append(self._at(fund_id, version))
            elif kind is ClusterBudget:
                funds.append(ClusterBudget.open(request.cluster_id, year, event.actor))
            else:
                funds.append(CouncilFund.open(year, event.actor))
        return funds[0], (funds[1] if len(funds) > 1 else None)

    def _version_before_commit(self, fund_id: UUID, request_id: UUID, event: Any) -> int:
        """The fund's version before the event that committed this award (0: the approval opened it)."""
        version = 0
        stored: Any
        for stored in self.events.get(fund_id):
            committing = isinstance(stored, Fund.FundsCommitted | Fund.FundsCommittedForward)
            if committing and stored.request_id == request_id and stored.timestamp <= event.timestamp:
                return int(stored.originator_version) - 1
            if stored.timestamp > event.timestamp:
                break
            version = stored.originator_version
        return version

    def _tally_before(self, event: Any) -> CouncilTermAwards | None:
        """The council's term tally as the approval found it; None for an approval made before the
        tally existed (it counted against no cap)."""
        if event.policy is None:
            return None
        term = SchoolTerm.containing(event.policy.on)
        tally_id = CouncilTermAwards.id_for(term)
        stored: Any
        for stored in self.events.get(tally_id):
            counted = isinstance(stored, CouncilTermAwards.AwardCounted) and stored.request_id == event.originator_id
            if counted and stored.timestamp <= event.timestamp:
                version = stored.originator_version - 1
                return self._at(tally_id, version) if version else CouncilTermAwards.open(term)
        return CouncilTermAwards.open(term)

    def _budget_as_read(self, request: FundingRequest, event: Any) -> ClusterBudget | None:
        """The budget whose available money the escalation recorded, among its states up to it."""
        budget_id = ClusterBudget.id_for(request.cluster_id, request.financial_year)
        states: list[ClusterBudget] = []
        stored: Any
        for stored in self.events.get(budget_id):
            if stored.timestamp > event.timestamp:
                break
            states.append(self._at(budget_id, stored.originator_version))
        matching = [state for state in states if state.available == event.cluster_available]
        if matching:
            return matching[-1]
        return states[-1] if states else None

    @staticmethod
    def _terms_of(event: Any, policy: PolicyInForce) -> AwardTerms:
        award = event.award
        if award is None or award.period is None:
            return AwardTerms(shares=policy.instalment_shares)
        holds = tuple((i.number, i.held_until) for i in award.instalments if i.held_until)
        return AwardTerms(award.period, award.schedule, holds, policy.instalment_shares)


def _difference(stored: Any, produced: Any) -> str | None:
    """What the replayed decision does differently from the recorded one, or None if nothing."""
    if type(produced) is not type(stored):
        return f"the rules now record {type(produced).__name__}, not {type(stored).__name__}"
    for field in ("amount", "cluster_available", "reason_code"):
        if hasattr(stored, field) and getattr(stored, field) != getattr(produced, field):
            return f"{field}: recorded {getattr(stored, field)}, replayed {getattr(produced, field)}"
    award = getattr(stored, "award", None)
    if award is not None and award.instalments != produced.award.instalments:
        return "the award's instalments differ from those recorded"
    return None
