"""The money after a decision (since issue 13): holds, releases, recoveries and the year-end close.

Payments against instalments, and an approval's period and schedule, are on the request's own
routes (``api.routes.requests``). An instalment or recovery in the path that the award does not
have names nothing: 404, as a malformed number does.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Response, status

from api import award_presenters, presenters
from api.award_schemas import (
    HoldRequest,
    LiftHoldRequest,
    RecoveryReceiptRequest,
    RecoveryRequest,
    ReleaseRequest,
    YearCloseRequest,
    YearCloseResponse,
    YearNotClosableProblem,
)
from api.deps import AppDep, ExpectedVersion, allowed
from api.routes.common import path_id, request_uuid, with_etag
from api.schemas import FundingRequestResponse
from domain.errors import NotFound
from domain.funding_request import FundingRequest
from domain.money import Money
from domain.values import Actor, ClusterId, FinancialYear
from funding_engine.application import FundingApplication

router = APIRouter(tags=["awards"])

_NUMBER = re.compile(r"^[1-9][0-9]{0,3}$")
CLOSE_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {
        "model": YearNotClosableProblem,
        "content": {"application/problem+json": {}},
        "description": "Requests still wait on the year (`request_ids`), the year is closed, or money is "
        "committed on it ahead of its allocation (`insufficient-funds`)",
    }
}


def _number(value: str, what: str) -> int:
    if not _NUMBER.match(value):
        raise NotFound(f"no {what} {value!r}")
    return int(value)


def _answer(response: Response, request: FundingRequest) -> FundingRequestResponse:
    with_etag(response, request.version)
    return presenters.funding_request(request)


def _check_award_has(app: FundingApplication, actor: Actor, request_id: UUID, what: str, number: int) -> None:
    """404 for an instalment or recovery the award lacks (the command would call it invalid input).

    Read as the caller, so a request they may not see is the same 404 as an unknown one. A request
    with no award yet is left to the command, which refuses it as a conflict.
    """
    award = app.get_request(actor, request_id).award
    if award is None:
        return
    numbers = {i.number for i in award.instalments} if what == "instalment" else {r.number for r in award.recoveries}
    if number not in numbers:
        raise NotFound(f"the award of request {request_id} has no {what} {number}")


@router.post("/requests/{request_id}/instalments/{number}/hold", response_model=FundingRequestResponse)
def hold_instalment(
    request_id: str,
    number: str,
    body: HoldRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("hold_instalment")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """Hold an unpaid instalment until a condition is met (whoever made the award: its lead, or the council)."""
    request_id_, instalment = request_uuid(request_id), _number(number, "instalment")
    _check_award_has(app, actor, request_id_, "instalment", instalment)
    request = app.hold_instalment(actor, request_id_, instalment, body.condition, expected_version=expected_version)
    return _answer(response, request)


@router.post("/requests/{request_id}/instalments/{number}/lift-hold", response_model=FundingRequestResponse)
def lift_hold(
    request_id: str,
    number: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("lift_hold")],
    expected_version: ExpectedVersion,
    response: Response,
    body: Annotated[LiftHoldRequest | None, Body()] = None,
) -> FundingRequestResponse:
    """The condition is met: the held instalment can be paid. The body (a note) is optional."""
    request_id_, instalment = request_uuid(request_id), _number(number, "instalment")
    _check_award_has(app, actor, request_id_, "instalment", instalment)
    note = body.note if body is not None else ""
    request = app.lift_hold(actor, request_id_, instalment, note, expected_version=expected_version)
    return _answer(response, request)


@router.post("/requests/{request_id}/release", response_model=FundingRequestResponse)
def release_award(
    request_id: str,
    body: ReleaseRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("release_award")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """Give back the unpaid part of an award (or `amount` of it, from the last instalment back) to the
    budgets it was committed on; the instalments it takes are cancelled."""
    request = app.release_award(
        actor, request_uuid(request_id), body.reason_code, body.note, body.amount, expected_version=expected_version
    )
    return _answer(response, request)


@router.post(
    "/requests/{request_id}/recoveries", status_code=status.HTTP_201_CREATED, response_model=FundingRequestResponse
)
def raise_recovery(
    request_id: str,
    body: RecoveryRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("raise_recovery")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """Finance claims back money paid on an award for a financial year; nothing moves until it comes in."""
    request = app.raise_recovery(
        actor,
        request_uuid(request_id),
        body.financial_year,
        body.amount,
        body.reason_code,
        body.note,
        expected_version=expected_version,
    )
    return _answer(response, request)


@router.post(
    "/requests/{request_id}/recoveries/{number}/receipts",
    status_code=status.HTTP_201_CREATED,
    response_model=FundingRequestResponse,
)
def receive_recovery(
    request_id: str,
    number: str,
    body: RecoveryReceiptRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("receive_recovery")],
    expected_version: ExpectedVersion,
    response: Response,
) -> FundingRequestResponse:
    """Money came in against a recovery: back to the budget it was paid from (its income, once closed)."""
    request_id_, recovery = request_uuid(request_id), _number(number, "recovery")
    _check_award_has(app, actor, request_id_, "recovery", recovery)
    request = app.receive_recovery(
        actor,
        request_id_,
        recovery,
        body.amount,
        body.reference,
        received_on=body.received_on,
        expected_version=expected_version,
    )
    return _answer(response, request)


def _year(fy: str) -> FinancialYear:
    return path_id(FinancialYear.parse, fy, "financial year")


def _carry_forward(body: YearCloseRequest | None) -> Money:
    return Money.parse(body.carry_forward if body is not None else "0")


@router.post(
    "/clusters/{cluster_id}/budgets/{fy}/close",
    response_model=YearCloseResponse,
    responses=CLOSE_REFUSED,
    tags=["year end"],
)
def close_budget_year(
    cluster_id: str,
    fy: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("close_year")],
    expected_version: ExpectedVersion,
    response: Response,
    body: Annotated[YearCloseRequest | None, Body()] = None,
) -> YearCloseResponse:
    """Finance closes a cluster's budget for a year, carrying `carry_forward` to the next year's budget."""
    cluster, year = path_id(ClusterId, cluster_id, "cluster"), _year(fy)
    carried = _carry_forward(body)
    budget = app.close_budget_year(actor, cluster, year, carried, expected_version=expected_version)
    with_etag(response, budget.version)
    return award_presenters.year_close(budget, carried)


@router.post(
    "/council/budgets/{fy}/close",
    response_model=YearCloseResponse,
    responses=CLOSE_REFUSED,
    tags=["year end"],
)
def close_council_fund_year(
    fy: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("close_year")],
    expected_version: ExpectedVersion,
    response: Response,
    body: Annotated[YearCloseRequest | None, Body()] = None,
) -> YearCloseResponse:
    """Finance closes the council fund for a year, carrying `carry_forward` to the next year's fund."""
    year = _year(fy)
    carried = _carry_forward(body)
    fund = app.close_council_fund_year(actor, year, carried, expected_version=expected_version)
    with_etag(response, fund.version)
    return award_presenters.year_close(fund, carried)
