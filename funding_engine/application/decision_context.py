"""A decision in its context, as an auditor, a complaint or a tribunal asks for it years later.

``decision_context`` gives, for the decision recorded at a log position: the request exactly as it
stood just before it; the budget or fund as the decision found it (an approval's, the version before
it committed; an escalation's, the one whose available money it recorded; otherwise the budget as it
stood at that moment); the policy it pinned, with every value and where each came from; the evidence
it relied on, with whether the provision map it cited still matches the hash it cited; and the
audit chain's proof, recomputed from the stored log now, that none of it has changed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import NotFound
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.permissions import check_role
from domain.policy import PolicyInForce
from domain.values import Actor
from funding_engine.application.audit import Audit
from funding_engine.application.evidence import Evidence, EvidenceReview
from funding_engine.application.replay import Replay
from projections.audit_chain import verify


@dataclass(frozen=True)
class ChainProof:
    ok: bool
    events_checked: int
    head: str
    decision_link: str | None  # the chain's link at the decision's position, recomputed from the log
    first_bad_position: int | None


@dataclass(frozen=True)
class DecisionContext:
    position: int
    kind: str
    decision: Any  # the stored event
    request: FundingRequest  # as it stood just before the decision
    fund: Fund | None  # the budget or fund the decision read (None: there was none yet)
    policy: PolicyInForce
    policy_recorded: bool  # False: decided before policy was recorded, read by the defaults
    evidence: EvidenceReview
    proof: ChainProof

    @property
    def decided_at(self) -> datetime:
        return self.decision.timestamp  # type: ignore[no-any-return]


class DecisionContexts(Replay, Evidence, Audit):
    def decision_context(self, actor: Actor, position: int) -> DecisionContext:
        check_role(actor, "read_decisions")
        found = list(self._decision_notifications(position))
        if not found:
            raise NotFound(f"no decision at log position {position}")
        event: Any = self.mapper.to_domain_event(found[0])
        request: FundingRequest = self._at(event.originator_id, event.originator_version - 1)
        council = isinstance(event, FundingRequest.CouncilApproved | FundingRequest.CouncilDeclined)
        pin = event.policy
        if pin is None:
            policy = PolicyInForce.defaults(event.timestamp.date())
        else:
            policy = self.policy_as_pinned(pin, None if council else request.cluster_id)
        return DecisionContext(
            position=position,
            kind=type(event).__name__,
            decision=event,
            request=request,
            fund=self._fund_as_read(request, event, council=council),
            policy=policy,
            policy_recorded=pin is not None,
            evidence=self.evidence_review_of(request, policy),
            proof=self._proof(position),
        )

    def _fund_as_read(self, request: FundingRequest, event: Any, *, council: bool) -> Fund | None:
        if isinstance(event, FundingRequest.ClusterApproved):
            return self._funds_before(request, event, ClusterBudget)[0]  # type: ignore[no-any-return]
        if isinstance(event, FundingRequest.CouncilApproved):
            return self._funds_before(request, event, CouncilFund)[0]  # type: ignore[no-any-return]
        if isinstance(event, FundingRequest.Escalated):
            return self._budget_as_read(request, event)
        fund_id = (
            CouncilFund.id_for(request.financial_year)
            if council
            else ClusterBudget.id_for(request.cluster_id, request.financial_year)
        )
        fund: Fund | None = self._state_at(fund_id, event.timestamp)
        return fund

    def _state_at(self, aggregate_id: UUID, moment: datetime) -> Any:
        version = 0
        for stored in self.events.get(aggregate_id):
            if stored.timestamp > moment:  # type: ignore[attr-defined]
                break
            version = stored.originator_version
        return self._at(aggregate_id, version) if version else None

    def _proof(self, position: int) -> ChainProof:
        database = self.fresh_read_models(["audit_chain"])
        chain = verify(database, self.read_side.projector.source, self.read_side.audit_key, watch={position})
        link = chain.links_at.get(position)
        return ChainProof(chain.ok, chain.events_checked, chain.head, link, chain.first_bad_position)
