"""Funding requests: the whole lifecycle, history and the queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from api import presenters
from api.award_schemas import AwardTermsBody
from api.deps import AppDep, ExpectedVersion, allowed
from api.routes.common import Cursor, Limit, request_uuid, with_etag
from api.schemas import (
    ApproveRequest,
    CouncilDecisionRequest,
    DeclineRequest,
    EscalateRequest,
    EvidenceRequest,
    FundingRequestResponse,
    HistoryResponse,
    InformationRequestRequest,
    PaymentRequest,
    RequestListResponse,
    SubmitRequest,
    WithdrawRequest,
)
from domain.funding_request import FundingRequest
from domain.limits import DEFAULT_PAGE_SIZE
from domain.values import Actor, RequestStatus

router = APIRouter(prefix="/requests", tags=["funding requests"])


def answer(response: Response, request: FundingRequest) -> FundingRequestResponse:
    with_etag(response, request.version)
    return presenters.funding_request(request)


def award_terms(body: AwardTermsBody) -> dict[str, Any]:
    """An approval's award fields as the application takes them; absent ones keep its defaults."""
    return {
        "award_period": None if body.award_period is None else body.award_period.model_dump(),
        "schedule": body.schedule,
        "held_instalments": [hold.model_dump() for hold in body.held_instalments],
    }


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FundingRequestResponse)
def submit(
    body: SubmitRequest, app: AppDep, actor: Annotated[Actor, allowed("submit_request")], response: Response
) -> FundingRequestResponse:
    """A school asks its cluster for top-up funding. Counts and a needs summary only, never names."""
    request = app.submit_request(
        actor,
        school_urn=body.school_urn,
        financial_year=body.financial_year,
        amount_requested=body.amount_requested,
        reason=body.reason,
        pupil_count=body.pupil_count,
        needs_summary=body.needs_summary,
        planned_provision=[line.model_dump() for line in body.planned_provision],
    )
    response.headers["Location"] = f"/requests/{request.id}"
    return answer(response, request)


@router.post("/{request_id}/evidence", response_model=FundingRequestResponse)
def provide_evidence(
    request_id: str,
    body: EvidenceRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("provide_evidence")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """The school shows how it spent its own SEN money (the school): typed, or from its published provision map."""
    request = app.provide_evidence(
        actor,
        request_uuid(request_id),
        notional_sen_budget=body.notional_sen_budget,
        spend=[line.model_dump() for line in body.spend],
        documents=[document.model_dump() for document in body.documents],
        provision_map=None if body.provision_map is None else body.provision_map.model_dump(),
        expected_version=expected_version,
    )
    return answer(response, request)


@router.post("/{request_id}/information-requests", response_model=FundingRequestResponse)
def request_information(
    request_id: str,
    body: InformationRequestRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("request_information")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """The cluster lead asks the school a question."""
    request = app.request_information(actor, request_uuid(request_id), body.question, expected_version=expected_version)
    return answer(response, request)


@router.post("/{request_id}/approve", response_model=FundingRequestResponse)
def approve(
    request_id: str,
    body: ApproveRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("approve")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """The cluster lead approves, committing the award on the cluster budget of each year its period
    touches. 409 insufficient-funds."""
    request = app.approve(
        actor,
        request_uuid(request_id),
        body.amount,
        body.reason,
        body.conditions or "",
        **award_terms(body),
        expected_version=expected_version,
    )
    return answer(response, request)


@router.post("/{request_id}/decline", response_model=FundingRequestResponse)
def decline(
    request_id: str,
    body: DeclineRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("decline")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """The cluster lead declines, with a reason code and a reason. Final."""
    request = app.decline(
        actor, request_uuid(request_id), body.reason_code, body.reason, expected_version=expected_version
    )
    return answer(response, request)


@router.post("/{request_id}/escalate", response_model=FundingRequestResponse)
def escalate(
    request_id: str,
    body: EscalateRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("escalate")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """The cluster lead escalates to the council; only when the cluster cannot afford the request."""
    request = app.escalate(
        actor, request_uuid(request_id), body.amount, body.exceptional_circumstances, expected_version=expected_version
    )
    return answer(response, request)


@router.post("/{request_id}/council-decision", response_model=FundingRequestResponse)
def council_decision(
    request_id: str,
    body: CouncilDecisionRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("decide_escalation")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """The council approves (from its fund) or declines an escalated request."""
    request = app.decide_escalation(
        actor,
        request_uuid(request_id),
        body.decision,
        body.reason,
        body.amount,
        **award_terms(body),
        expected_version=expected_version,
    )
    return answer(response, request)


@router.post("/{request_id}/withdraw", response_model=FundingRequestResponse)
def withdraw(
    request_id: str,
    body: WithdrawRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("withdraw")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """The school withdraws its request. Final."""
    request = app.withdraw(actor, request_uuid(request_id), body.reason, expected_version=expected_version)
    return answer(response, request)


@router.post("/{request_id}/payments", status_code=status.HTTP_201_CREATED, response_model=FundingRequestResponse)
def record_payment(
    request_id: str,
    body: PaymentRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("record_payment")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """Finance records a payment, of one instalment or of the unheld ones in order; the request is
    `paid` once nothing of its award is left to pay."""
    request = app.record_payment(
        actor,
        request_uuid(request_id),
        body.amount,
        body.reference,
        instalment=body.instalment,
        paid_on=body.paid_on,
        expected_version=expected_version,
    )
    return answer(response, request)


@router.get("/{request_id}", response_model=FundingRequestResponse)
def get_request(
    request_id: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("read_request")],
    response: Response,
    as_of: Annotated[datetime | None, Query(description="ISO 8601 time with zone: the request as it was then")] = None,
) -> FundingRequestResponse:
    """A request now, or as it was at `as_of` (404 if it did not exist yet)."""
    return answer(response, app.get_request(actor, request_uuid(request_id), as_at=as_of))


@router.get("/{request_id}/history", response_model=HistoryResponse)
def request_history(request_id: str, app: AppDep, actor: Annotated[Actor, allowed("read_request")]) -> HistoryResponse:
    """Every event of the request: version, type, time, actor and data."""
    entries = app.request_history(actor, request_uuid(request_id))
    return HistoryResponse(items=[presenters.history_item(entry) for entry in entries])


@router.get("", response_model=RequestListResponse)
def list_requests(
    app: AppDep,
    actor: Annotated[Actor, allowed("read_request")],
    cluster_id: str | None = None,
    school_urn: str | None = None,
    status: RequestStatus | None = None,
    financial_year: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> RequestListResponse:
    """The requests the caller may read, oldest first: a school its own, a lead its cluster's."""
    page = app.read_models.list_requests(
        actor,
        cluster_id=cluster_id,
        school_urn=school_urn,
        status=status,
        financial_year=financial_year,
        limit=limit,
        cursor=cursor,
    )
    return RequestListResponse(
        items=[presenters.request_summary(row) for row in page.items], next_cursor=page.next_cursor
    )
