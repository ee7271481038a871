"""The body of ``GET /audit/decisions/{position}/context`` (issue 14), and how a context is shown."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api import presenters
from api.evidence import EvidenceReviewResponse, evidence_review
from api.policy import ParameterResponse, parameters
from api.schemas import ActorResponse, FundingRequestResponse, Money2dp, PolicyPinResponse
from domain.formatting import utc_text
from domain.funds import ClusterBudget
from domain.money import Money
from funding_engine.application import DecisionContext


class FundAsReadResponse(BaseModel):
    fund: str = Field(description='"cluster" (a cluster budget) or "council" (the council fund)')
    cluster_id: str | None
    financial_year: str
    version: int
    allocated: Money2dp
    committed: Money2dp
    commissioned: Money2dp
    paid: Money2dp
    available: Money2dp


class PolicyAsPinnedResponse(BaseModel):
    recorded: bool = Field(description="False for a decision made before policy was recorded: read by the defaults")
    pin: PolicyPinResponse
    parameters: list[ParameterResponse]


class ChainProofResponse(BaseModel):
    ok: bool = Field(description="The whole stored log rehashes to the recorded chain, now")
    events_checked: int
    head: str
    decision_link: str | None = Field(description="The chain's link at the decision's position, recomputed")
    first_bad_position: int | None


class DecisionContextResponse(BaseModel):
    position: int
    kind: str
    request_id: str
    decided_at: str
    actor: ActorResponse
    amount: Money2dp | None
    reason: str
    request: FundingRequestResponse = Field(description="The request as it stood just before the decision")
    fund: FundAsReadResponse | None = Field(description="The budget or fund as the decision found it; null if none")
    policy: PolicyAsPinnedResponse
    evidence_review: EvidenceReviewResponse = Field(description="Its evidence, read by the pinned policy")
    proof: ChainProofResponse


def _text(money: Money) -> str:
    return str(money)


def decision_context(context: DecisionContext) -> DecisionContextResponse:
    event = context.decision
    reason = getattr(event, "reason", None) or getattr(event, "question", None) or event.exceptional_circumstances
    fund = context.fund
    fund_body = None
    if fund is not None:
        fund_body = FundAsReadResponse(
            fund="cluster" if isinstance(fund, ClusterBudget) else "council",
            cluster_id=str(fund.cluster_id) if isinstance(fund, ClusterBudget) else None,
            financial_year=str(fund.financial_year),
            version=fund.version,
            allocated=_text(fund.allocated),
            committed=_text(fund.committed),
            commissioned=_text(fund.commissioned),
            paid=_text(fund.paid),
            available=_text(fund.allocated - fund.committed - fund.commissioned),
        )
    proof = context.proof
    amount = getattr(event, "amount", None)
    return DecisionContextResponse(
        position=context.position,
        kind=context.kind,
        request_id=str(event.originator_id),
        decided_at=utc_text(event.timestamp),
        actor=presenters.actor(event.actor),
        amount=None if amount is None else str(amount),
        reason=reason,
        request=presenters.funding_request(context.request),
        fund=fund_body,
        policy=PolicyAsPinnedResponse(
            recorded=context.policy_recorded,
            pin=presenters.pin(context.policy.pin),
            parameters=parameters(context.policy),
        ),
        evidence_review=evidence_review(str(event.originator_id), context.evidence),
        proof=ChainProofResponse(
            ok=proof.ok,
            events_checked=proof.events_checked,
            head=proof.head,
            decision_link=proof.decision_link,
            first_bad_position=proof.first_bad_position,
        ),
    )
