"""Domain objects and read-model rows turned into response bodies (money as 2-dp strings)."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID

from api import award_presenters
from api.schemas import (
    ActorResponse,
    AnchorCheckResponse,
    BadSnapshotResponse,
    BalanceTotals,
    BudgetResponse,
    ClusterResponse,
    CouncilFundResponse,
    DecisionLogItemResponse,
    DecisionResponse,
    DocumentResponse,
    EvidenceResponse,
    FundingRequestResponse,
    HistoryItemResponse,
    PolicyPinResponse,
    ProvisionLineResponse,
    ProvisionMapCitationResponse,
    RequestSummaryResponse,
    SpendLineResponse,
    VerifyResponse,
)
from domain.academic_year import AcademicYear
from domain.clusters import Cluster
from domain.formatting import pounds, utc_text
from domain.funding_request import FundingRequest
from domain.funds import FundFigures
from domain.money import Money
from domain.policy_pin import PolicyPin
from domain.values import Actor, ClusterId, FinancialYear, ProvisionMapCitation, RequestStatus, SchoolUrn
from funding_engine.application import AuditReport, HistoryEntry
from funding_engine.application.read_models import (
    AfterDecisions,
    BalanceRow,
    BalanceTotalsRow,
    ClusterRow,
    CouncilFundRow,
    DecisionRow,
    RequestRow,
)


def actor(value: Actor) -> ActorResponse:
    return ActorResponse(sub=value.sub, role=value.role.value)


def cluster(value: Cluster) -> ClusterResponse:
    return ClusterResponse(
        cluster_id=str(value.cluster_id),
        name=value.name,
        school_urns=[str(urn) for urn in value.school_urns],
        version=value.version,
    )


def cluster_listed(row: ClusterRow) -> ClusterResponse:
    """A cluster as the clusters read model lists it."""
    return ClusterResponse(
        cluster_id=row.cluster_id, name=row.name, school_urns=list(row.school_urns), version=row.version
    )


def _figures(figures: FundFigures[int]) -> dict[str, str]:
    return {name: pounds(pence) for name, pence in figures.named().items()}


# The money after the decisions each balance answer shows (the statement shows the rest).
AFTER_DECISIONS_SHOWN = ("forward", "released", "recovered", "income", "carried_in", "carried_forward")


def _after(after: AfterDecisions) -> dict[str, str]:
    return {name: pounds(getattr(after, name)) for name in AFTER_DECISIONS_SHOWN}


def budget(row: BalanceRow) -> BudgetResponse:
    return BudgetResponse(
        cluster_id=row.cluster_id,
        financial_year=row.financial_year,
        version=row.version,
        pending=pounds(row.pending),
        escalated=pounds(row.escalated),
        closed=row.after.closed,
        **_figures(row.figures),
        **_after(row.after),
    )


def totals(row: BalanceTotalsRow) -> BalanceTotals:
    return BalanceTotals(
        pending=pounds(row.pending), escalated=pounds(row.escalated), **_figures(row.figures), **_after(row.after)
    )


def council_fund(row: CouncilFundRow) -> CouncilFundResponse:
    figures = row.figures  # a council fund commissions nothing, and its answer has no such figure
    return CouncilFundResponse(
        financial_year=row.financial_year,
        version=row.version,
        allocated=pounds(figures.allocated),
        committed=pounds(figures.committed),
        available=pounds(figures.available),
        paid=pounds(figures.paid),
        closed=row.after.closed,
        **_after(row.after),
    )


def _money(value: Money | None) -> str | None:
    return None if value is None else str(value)


def citation(value: ProvisionMapCitation | None) -> ProvisionMapCitationResponse | None:
    if value is None:
        return None
    return ProvisionMapCitationResponse(
        school_urn=str(value.school_urn),
        academic_year=str(value.academic_year),
        version=value.version,
        sha256=value.sha256,
    )


def funding_request(value: FundingRequest) -> FundingRequestResponse:
    evidence = None
    if value.evidence is not None:
        evidence = EvidenceResponse(
            notional_sen_budget=str(value.evidence.notional_sen_budget),
            spend=[
                SpendLineResponse(category=line.category.value, amount=str(line.amount), note=line.note)
                for line in value.evidence.spend
            ],
            documents=[DocumentResponse(name=doc.name, sha256=doc.sha256) for doc in value.evidence.documents],
            total_spent=str(value.evidence.total_spent),
            provided_by=actor(value.evidence.provided_by),
            provided_at=utc_text(value.evidence.provided_at),
            provision_map=citation(value.evidence.provision_map),
        )
    return FundingRequestResponse(
        id=str(value.id),
        school_urn=str(value.school_urn),
        cluster_id=str(value.cluster_id),
        financial_year=str(value.financial_year),
        status=value.status,
        amount_requested=str(value.amount_requested),
        amount_approved=str(value.amount_approved),
        amount_paid=str(value.amount_paid),
        amount_escalated=_money(value.amount_escalated),
        amount_released=str(value.award.released if value.award is not None else Money.zero()),
        award=None if value.award is None else award_presenters.award(value.award),
        reason=value.reason,
        pupil_count=value.pupil_count,
        needs_summary=value.needs_summary,
        planned_provision=[
            ProvisionLineResponse(category=line.category.value, amount=str(line.amount))
            for line in value.planned_provision
        ],
        evidence=evidence,
        decisions=[
            DecisionResponse(
                kind=decision.kind.value,
                actor=actor(decision.actor),
                decided_at=utc_text(decision.decided_at),
                reason=decision.reason,
                amount=_money(decision.amount),
                reason_code=None if decision.reason_code is None else decision.reason_code.value,
                policy=None if decision.policy is None else pin(decision.policy),
            )
            for decision in value.decisions
        ],
        conditions=value.conditions,
        created_at=utc_text(value.created_on),
        updated_at=utc_text(value.modified_on),
        version=value.version,
    )


def pin(policy: PolicyPin) -> PolicyPinResponse:
    return PolicyPinResponse(
        council_version=policy.council_version, cluster_version=policy.cluster_version, on=policy.on.isoformat()
    )


def request_summary(row: RequestRow) -> RequestSummaryResponse:
    escalated = row.amount_escalated
    return RequestSummaryResponse(
        id=str(UUID(row.request_id)),
        school_urn=row.school_urn,
        cluster_id=row.cluster_id,
        financial_year=row.financial_year,
        status=RequestStatus(row.status),
        reason=row.reason,
        pupil_count=int(row.pupil_count),
        amount_requested=pounds(row.amount_requested),
        amount_escalated=None if escalated is None else pounds(escalated),
        amount_approved=pounds(row.amount_approved),
        amount_paid=pounds(row.amount_paid),
        amount_released=pounds(row.amount_released),
        created_at=row.created_at,
        updated_at=row.updated_at,
        status_since=row.status_since,
        version=int(row.version),
    )


def _uuid_text(hex_value: str | None) -> str | None:
    if hex_value is None:
        return None
    return str(UUID(hex_value))


def decision_item(row: DecisionRow) -> DecisionLogItemResponse:
    return DecisionLogItemResponse(
        position=int(row.position),
        kind=row.kind,
        request_id=_uuid_text(row.request_id),
        school_urn=row.school_urn,
        cluster_id=row.cluster_id,
        financial_year=row.financial_year,
        actor=ActorResponse(sub=row.actor_sub, role=row.actor_role),
        decided_at=row.decided_at,
        amount=None if row.amount is None else pounds(row.amount),
        reason_code=row.reason_code,
        reason=row.reason,
        details=row.details,
    )


def _plain(value: Any) -> Any:
    """Event data for the history endpoint: JSON-friendly, money as 2-dp strings."""
    if isinstance(value, (Money, SchoolUrn, ClusterId, FinancialYear, AcademicYear)):
        return str(value)  # as everywhere else in the API: "1500.00", "900001", "northmere-coast", "2026-27", "2026/27"
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()  # an instalment's due date, a payment's paid_on: "2026-09-01"
    if isinstance(value, UUID):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def history_item(entry: HistoryEntry) -> HistoryItemResponse:
    return HistoryItemResponse(
        version=entry.version,
        type=entry.type,
        timestamp=utc_text(entry.timestamp),
        actor=None if entry.actor is None else actor(entry.actor),
        data=_plain(entry.data),
    )


def audit_report(report: AuditReport) -> VerifyResponse:
    chain = report.chain
    return VerifyResponse(
        ok=report.ok,
        events_checked=chain.events_checked,
        head=chain.head,
        first_bad_position=chain.first_bad_position,
        snapshots_checked=report.snapshots.checked,
        bad_snapshots=[
            BadSnapshotResponse(aggregate_id=str(bad.aggregate_id), version=bad.version, problem=bad.problem)
            for bad in report.snapshots.bad
        ],
        anchors=[
            AnchorCheckResponse(
                source=Path(check.source).name,
                position=check.anchor.position if check.anchor else None,
                ok=check.ok,
                problem=check.problem,
            )
            for check in report.anchors
        ],
    )
