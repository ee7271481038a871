"""Request and response bodies of the HTTP contract (docs/API.md), kept apart from domain events.

Built from the value types of ``api.schema_types`` (money, URNs, years, text), which follow
``domain.limits``, so the 422s and the OpenAPI document follow the domain. The awards' bodies
(issue 13) are in ``api.award_schemas``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from api.award_schemas import AwardResponse, AwardTermsBody, Number
from api.schema_types import (
    Amount,
    Day,
    LongText,
    Money2dp,
    Note,
    OptionalLongText,
    PolicyPinResponse,
    ShortText,
    Slug,
    Strict,
    Urn,
    Year,
)
from domain import limits
from domain.values import (
    CommissionedService,
    CouncilDecision,
    DeclineReasonCode,
    ProvisionCategory,
    RequestStatus,
    TopUpReason,
)

# -- reference data --------------------------------------------------------------------------------


class ClusterCreateRequest(Strict):
    cluster_id: Slug
    name: ShortText = Field(examples=["Northmere Coast"])


class ClusterResponse(BaseModel):
    cluster_id: str
    name: str
    school_urns: list[str]
    version: int


class ClusterListResponse(BaseModel):
    items: list[ClusterResponse]
    next_cursor: str | None


# -- budgets -----------------------------------------------------------------------------------------


class AllocationRequest(Strict):
    amount: Amount = Field(description="May be negative to take back unspent money; never zero")
    note: Note = ""


class CommissionRequest(Strict):
    service: CommissionedService
    provider: ShortText
    amount: Amount
    school_urns: list[Urn] = Field(min_length=1, max_length=limits.MAX_COMMISSIONED_SCHOOLS)
    description: LongText


class BudgetResponse(BaseModel):
    cluster_id: str
    financial_year: str
    allocated: Money2dp
    committed: Money2dp
    commissioned: Money2dp
    available: Money2dp
    pending: Money2dp
    escalated: Money2dp
    paid: Money2dp
    version: int
    # Since issue 13: the money after the decisions (``AFTER_DECISIONS``), and the year's close.
    forward: Money2dp = Field(description="committed ahead of any allocation, not in committed")
    released: Money2dp
    recovered: Money2dp = Field(description="recoveries received while the year was open")
    income: Money2dp = Field(description="recoveries received once the year was closed")
    carried_in: Money2dp = Field(description="carried forward into this year at the year before's close")
    carried_forward: Money2dp = Field(description="carried forward to the next year at this year's close")
    closed: bool


class BalanceTotals(BaseModel):
    allocated: Money2dp
    committed: Money2dp
    commissioned: Money2dp
    available: Money2dp
    pending: Money2dp
    escalated: Money2dp
    paid: Money2dp
    forward: Money2dp
    released: Money2dp
    recovered: Money2dp
    income: Money2dp
    carried_in: Money2dp
    carried_forward: Money2dp


class BalancesResponse(BaseModel):
    items: list[BudgetResponse]
    totals: BalanceTotals
    next_cursor: str | None


class CouncilFundResponse(BaseModel):
    financial_year: str
    allocated: Money2dp
    committed: Money2dp
    available: Money2dp
    paid: Money2dp
    version: int
    forward: Money2dp
    released: Money2dp
    recovered: Money2dp
    income: Money2dp
    carried_in: Money2dp
    carried_forward: Money2dp
    closed: bool


# -- funding requests -----------------------------------------------------------------------------------


class ProvisionLineBody(Strict):
    category: ProvisionCategory
    amount: Amount


class SubmitRequest(Strict):
    school_urn: Urn
    financial_year: Year
    amount_requested: Amount
    reason: TopUpReason
    pupil_count: int = Field(ge=limits.MIN_PUPIL_COUNT, le=limits.MAX_PUPIL_COUNT, strict=True)
    needs_summary: LongText = Field(description="Counts and needs only: never a pupil's name or identifier")
    planned_provision: list[ProvisionLineBody] = Field(min_length=1, max_length=limits.MAX_LINES)


class SpendLineBody(Strict):
    category: ProvisionCategory
    amount: Amount
    note: Note = ""


class DocumentBody(Strict):
    name: ShortText
    sha256: Annotated[str, StringConstraints(pattern=limits.SHA256_PATTERN)]


class ProvisionMapCitationBody(Strict):
    """One of the school's published provision map versions (since issue 12)."""

    school_urn: Urn
    academic_year: Annotated[str, StringConstraints(pattern=limits.ACADEMIC_YEAR_PATTERN), Field(examples=["2026/27"])]
    version: int = Field(ge=1, le=limits.MAX_PUBLISHED_VERSIONS, strict=True)
    sha256: Annotated[str, StringConstraints(pattern=limits.SHA256_PATTERN)]


class EvidenceRequest(Strict):
    notional_sen_budget: Amount
    spend: list[SpendLineBody] = Field(
        default_factory=list,
        max_length=limits.MAX_LINES,
        description="At least one line, unless provision_map is given",
    )
    documents: list[DocumentBody] = Field(default_factory=list, max_length=limits.MAX_LINES)
    provision_map: ProvisionMapCitationBody | None = Field(
        default=None,
        description="Since issue 12: cite a published version of the school's own provision map instead of "
        "typing spend; the spend is then its lines funded by the notional SEN budget",
    )

    @model_validator(mode="after")
    def _spend_or_provision_map(self) -> EvidenceRequest:
        if self.provision_map is None and not self.spend:
            raise ValueError("spend needs at least one line, unless provision_map cites a published provision map")
        if self.provision_map is not None and self.spend:
            raise ValueError("the spend comes from the cited provision map: send spend or provision_map, not both")
        return self


class InformationRequestRequest(Strict):
    question: LongText


class ApproveRequest(AwardTermsBody):
    amount: Amount
    reason: LongText
    conditions: OptionalLongText | None = None


class DeclineRequest(Strict):
    reason_code: DeclineReasonCode
    reason: LongText


class EscalateRequest(Strict):
    amount: Amount
    exceptional_circumstances: LongText


class CouncilDecisionRequest(AwardTermsBody):
    """The award fields go with an approval only; a decline carrying any of them is a 422."""

    decision: CouncilDecision
    amount: Amount | None = None
    reason: LongText


class WithdrawRequest(Strict):
    reason: LongText


class PaymentRequest(Strict):
    amount: Amount
    reference: ShortText
    instalment: Number | None = Field(
        default=None,
        description="Since issue 13: the instalment paid (or part paid); default the unheld instalments in order",
    )
    paid_on: Day | None = Field(default=None, description="Since issue 13: the day the money went")


class ActorResponse(BaseModel):
    sub: str
    role: str


class ProvisionLineResponse(BaseModel):
    category: str
    amount: Money2dp


class SpendLineResponse(ProvisionLineResponse):
    note: str


class DocumentResponse(BaseModel):
    name: str
    sha256: str


class ProvisionMapCitationResponse(BaseModel):
    school_urn: str
    academic_year: str
    version: int
    sha256: str


class EvidenceResponse(BaseModel):
    notional_sen_budget: Money2dp
    spend: list[SpendLineResponse]
    documents: list[DocumentResponse]
    total_spent: Money2dp
    provided_by: ActorResponse
    provided_at: str
    provision_map: ProvisionMapCitationResponse | None = Field(
        description="The published provision map version the spend comes from; null: typed in, not from a provision map"
    )


class DecisionResponse(BaseModel):
    kind: str
    actor: ActorResponse
    decided_at: str
    reason: str
    amount: Money2dp | None
    reason_code: str | None
    policy: PolicyPinResponse | None = Field(
        default=None, description="The policy the decision was taken under (null: decided before issue 14)"
    )


class FundingRequestResponse(BaseModel):
    id: str
    school_urn: str
    cluster_id: str
    financial_year: str
    status: RequestStatus
    amount_requested: Money2dp
    amount_approved: Money2dp
    amount_paid: Money2dp
    amount_escalated: Money2dp | None
    amount_released: Money2dp = Field(description="Since issue 13: what releases gave back of the award")
    award: AwardResponse | None = Field(description="Since issue 13: the approval's award; null until approved")
    reason: TopUpReason
    pupil_count: int
    needs_summary: str
    planned_provision: list[ProvisionLineResponse]
    evidence: EvidenceResponse | None
    decisions: list[DecisionResponse]
    conditions: str
    created_at: str
    updated_at: str
    version: int


class RequestSummaryResponse(BaseModel):
    id: str
    school_urn: str
    cluster_id: str
    financial_year: str
    status: RequestStatus
    reason: str
    pupil_count: int
    amount_requested: Money2dp
    amount_escalated: Money2dp | None
    amount_approved: Money2dp
    amount_paid: Money2dp
    amount_released: Money2dp = Field(description="Since issue 13")
    created_at: str
    updated_at: str
    status_since: str
    version: int


class RequestListResponse(BaseModel):
    items: list[RequestSummaryResponse]
    next_cursor: str | None


class HistoryItemResponse(BaseModel):
    version: int
    type: str
    timestamp: str
    actor: ActorResponse | None
    data: dict[str, Any]


class HistoryResponse(BaseModel):
    items: list[HistoryItemResponse]


# -- audit and finance -----------------------------------------------------------------------------------


class DecisionLogItemResponse(BaseModel):
    position: int
    kind: str
    request_id: str | None
    school_urn: str | None
    cluster_id: str
    financial_year: str
    actor: ActorResponse
    decided_at: str
    amount: Money2dp | None
    reason_code: str | None
    reason: str
    details: str | None


class DecisionLogResponse(BaseModel):
    items: list[DecisionLogItemResponse]
    next_cursor: str | None


class BadSnapshotResponse(BaseModel):
    aggregate_id: str
    version: int
    problem: str


class AnchorCheckResponse(BaseModel):
    source: str
    position: int | None
    ok: bool
    problem: str | None


class VerifyResponse(BaseModel):
    ok: bool
    events_checked: int
    head: str
    first_bad_position: int | None
    snapshots_checked: int = Field(description="Stored snapshots compared with a fold of their events")
    bad_snapshots: list[BadSnapshotResponse]
    anchors: list[AnchorCheckResponse] = Field(description="The anchors in FUNDING_ENGINE_AUDIT_ANCHOR_DIR, if set")


class HealthResponse(BaseModel):
    status: Literal["ok"]


class ProblemResponse(BaseModel):
    type: str
    title: str
    status: int
    detail: str
