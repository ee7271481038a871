"""Finance's payment runs and the bank's remittance (issue 13): what is due, runs, their files, remittances."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from api import payment_runs
from api.deps import AppDep, ExpectedVersion, allowed
from api.routes.common import Cursor, Limit, with_etag
from domain.limits import CLUSTER_ID_MAX_LENGTH, DEFAULT_PAGE_SIZE, FINANCIAL_YEAR_PATTERN, ISO_DATE_PATTERN
from domain.values import Actor
from funding_engine.application.calendar import today_in_england

router = APIRouter(prefix="/finance", tags=["payment runs"])

CSV_BODY = {
    "required": True,
    "content": {"text/csv": {"schema": {"type": "string"}, "example": "reference,amount,date\n"
                                                                       "PR-000012-0003,400.00,2026-09-07\n"}},
}  # fmt: skip


@router.get("/instalments-due", response_model=payment_runs.InstalmentDueListResponse)
def instalments_due(
    app: AppDep,
    actor: Annotated[Actor, allowed("read_payment_runs")],
    due_by: Annotated[str | None, Query(pattern=ISO_DATE_PATTERN, description="YYYY-MM-DD; default today")] = None,
    funded_by: Annotated[payment_runs.Funder | None, Query()] = None,
    cluster_id: Annotated[str | None, Query(max_length=CLUSTER_ID_MAX_LENGTH)] = None,
    financial_year: Annotated[
        str | None, Query(pattern=FINANCIAL_YEAR_PATTERN, description="The instalment's fund's year")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> payment_runs.InstalmentDueListResponse:
    """Instalments due by a date that are unpaid, not held and in no open run, earliest first."""
    page = app.instalments_due(
        actor,
        due_by or today_in_england(),
        funded_by=funded_by,
        cluster_id=cluster_id,
        financial_year=financial_year,
        limit=limit,
        cursor=cursor,
    )
    return payment_runs.InstalmentDueListResponse(
        items=[payment_runs.instalment_due(row) for row in page.items], next_cursor=page.next_cursor
    )


@router.post("/payment-runs", status_code=status.HTTP_201_CREATED, response_model=payment_runs.PaymentRunResponse)
def create_payment_run(
    body: payment_runs.PaymentRunCreateRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("create_payment_run")],
    response: Response,
) -> payment_runs.PaymentRunResponse:
    """A run of every instalment due by `due_by` (as `GET /finance/instalments-due` lists them); 409 if none."""
    run = app.create_payment_run(
        actor, body.due_by, funded_by=body.funded_by, cluster_id=body.cluster_id, financial_year=body.financial_year
    )
    with_etag(response, run.version)
    response.headers["Location"] = f"/finance/payment-runs/{run.number}"
    return payment_runs.payment_run(run)


@router.get("/payment-runs", response_model=payment_runs.PaymentRunListResponse)
def list_payment_runs(
    app: AppDep,
    actor: Annotated[Actor, allowed("read_payment_runs")],
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> payment_runs.PaymentRunListResponse:
    """Every payment run, newest first."""
    page = app.payment_runs(actor, limit=limit, cursor=cursor)
    return payment_runs.PaymentRunListResponse(
        items=[payment_runs.payment_run_summary(run) for run in page.items], next_cursor=page.next_cursor
    )


@router.get("/payment-runs/{number}", response_model=payment_runs.PaymentRunResponse)
def get_payment_run(
    number: str, app: AppDep, actor: Annotated[Actor, allowed("read_payment_runs")], response: Response
) -> payment_runs.PaymentRunResponse:
    """One run, line by line: what each pays, and whether the bank has paid it."""
    run = app.payment_run(actor, number)
    with_etag(response, run.version)
    return payment_runs.payment_run(run)


@router.get(
    "/payment-runs/{number}/file.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The run as the finance system imports it"}},
)
def payment_run_file(number: str, app: AppDep, actor: Annotated[Actor, allowed("read_payment_runs")]) -> Response:
    """The run's file for the council's finance system: the configured columns, a line per run line."""
    buffer = io.StringIO()
    run = app.write_payment_run_file(actor, number, buffer)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{app.payment_run_file_name(run)}"'},
    )


@router.post("/payment-runs/{number}/cancel", response_model=payment_runs.PaymentRunResponse)
def cancel_payment_run(
    number: str,
    body: payment_runs.PaymentRunCancelRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("cancel_payment_run")],
    expected_version: ExpectedVersion,
    response: Response,
) -> payment_runs.PaymentRunResponse:
    """Withdraw a run's unpaid lines; their instalments are due again. 409 if nothing is left to withdraw."""
    run = app.cancel_payment_run(actor, number, body.reason, expected_version=expected_version)
    with_etag(response, run.version)
    return payment_runs.payment_run(run)


@router.post(
    "/remittances", response_model=payment_runs.RemittanceReportResponse, openapi_extra={"requestBody": CSV_BODY}
)
def import_remittance(
    app: AppDep,
    actor: Annotated[Actor, allowed("import_remittance")],
    body: Annotated[bytes, Body(media_type="text/csv")] = b"",
) -> payment_runs.RemittanceReportResponse:
    """The bank's remittance (CSV: reference, amount, date): each matching line is paid, the rest reported."""
    return payment_runs.remittance_report(app.import_remittance(actor, body))
