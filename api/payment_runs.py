"""The bodies of payment runs, instalments due and remittance reports (issue 13), and how each is shown.

Kept beside ``api.schemas`` as ``api.evidence`` is. Money travels as 2-dp strings, dates as
``YYYY-MM-DD``, a request's id as a UUID with dashes (the award reference the run's file carries).
"""

from __future__ import annotations

from typing import Literal, cast
from uuid import UUID

from pydantic import BaseModel, Field

from api.presenters import actor
from api.schemas import ActorResponse, Money2dp, ShortText, Slug, Strict, Year
from domain.formatting import pounds, utc_text
from domain.limits import ISO_DATE_PATTERN
from domain.payment_runs import PaymentRun, RunLine
from funding_engine.application import InstalmentRow, RemittanceReport

Funder = Literal["cluster", "council"]
LineStatus = Literal["awaiting", "paid", "withdrawn"]


# -- requests ------------------------------------------------------------------------------------------


class PaymentRunCreateRequest(Strict):
    due_by: str = Field(
        description="Instalments due on or before this date", examples=["2026-09-30"], pattern=ISO_DATE_PATTERN
    )
    funded_by: Funder | None = Field(default=None, description="Only awards the cluster, or the council, made")
    cluster_id: Slug | None = Field(default=None, description="Only this cluster's awards (the council's among them)")
    financial_year: Year | None = Field(default=None, description="Only instalments paid from this year's fund")


class PaymentRunCancelRequest(Strict):
    reason: ShortText = Field(examples=["The bank returned the file."])


# -- responses -----------------------------------------------------------------------------------------


class InstalmentDueResponse(BaseModel):
    request_id: str
    number: int
    school_urn: str
    cluster_id: str
    funded_by: str
    request_year: str = Field(description="The request's financial year")
    financial_year: str = Field(description="The instalment's: the fund it is paid from")
    due_on: str
    amount: Money2dp
    paid: Money2dp
    released: Money2dp
    unpaid: Money2dp
    payment_run: int | None = Field(description="The number of the open run it is in (none, in this list)")


class InstalmentDueListResponse(BaseModel):
    items: list[InstalmentDueResponse]
    next_cursor: str | None


class PaymentRunLineResponse(BaseModel):
    line: int
    reference: str = Field(description="What the bank quotes back in its remittance", examples=["PR-000012-0003"])
    request_id: str
    instalment: int
    award_reference: str
    school_urn: str
    school_name: str = Field(description="As the register named the school when the run was made")
    cost_centre: str
    funded_by: str
    cluster_id: str
    financial_year: str
    amount: Money2dp
    due_on: str
    status: LineStatus
    paid_on: str | None


class PaymentRunSummaryResponse(BaseModel):
    number: int
    reference: str = Field(examples=["PR-000012"])
    status: Literal["open", "paid", "cancelled"]
    due_by: str
    funded_by: str | None
    cluster_id: str | None
    financial_year: str | None
    created_at: str
    created_by: ActorResponse
    line_count: int
    paid_count: int
    total: Money2dp
    cancel_reason: str | None
    version: int


class PaymentRunResponse(PaymentRunSummaryResponse):
    lines: list[PaymentRunLineResponse]


class PaymentRunListResponse(BaseModel):
    items: list[PaymentRunSummaryResponse]
    next_cursor: str | None


class RemittancePaidResponse(BaseModel):
    line: int = Field(description="The remittance file's line (its header is line 1)")
    reference: str
    amount: Money2dp
    paid_on: str
    request_id: str
    instalment: int


class RemittanceReportedResponse(BaseModel):
    line: int = Field(description="The remittance file's line (its header is line 1)")
    reference: str
    reason: str


class RemittanceReportResponse(BaseModel):
    lines_read: int
    total_paid: Money2dp
    paid: list[RemittancePaidResponse]
    reported: list[RemittanceReportedResponse] = Field(description="Lines that recorded nothing, and why")
    remittance_id: str | None = Field(description="The record of the import; null when nothing was paid")


# -- presenters ----------------------------------------------------------------------------------------


def instalment_due(row: InstalmentRow) -> InstalmentDueResponse:
    return InstalmentDueResponse(
        request_id=str(UUID(hex=row.request_id)),
        number=row.number,
        school_urn=row.school_urn,
        cluster_id=row.cluster_id,
        funded_by=row.funded_by,
        request_year=row.request_year,
        financial_year=row.financial_year,
        due_on=row.due_on,
        amount=pounds(row.amount),
        paid=pounds(row.paid),
        released=pounds(row.released),
        unpaid=pounds(row.unpaid),
        payment_run=row.payment_run,
    )


def _line(run: PaymentRun, line: RunLine) -> PaymentRunLineResponse:
    paid_on = run.paid_on(line.line)
    status = cast(LineStatus, run.line_status(line.line))
    return PaymentRunLineResponse(
        line=line.line,
        reference=run.line_reference(line.line),
        request_id=str(line.request_id),
        instalment=line.instalment,
        award_reference=line.award_reference,
        school_urn=str(line.school_urn),
        school_name=line.school_name,
        cost_centre=line.cost_centre,
        funded_by=line.funded_by,
        cluster_id=str(line.cluster_id),
        financial_year=str(line.financial_year),
        amount=pounds(line.amount.pence),
        due_on=line.due_on.isoformat(),
        status=status,
        paid_on=None if paid_on is None else paid_on.isoformat(),
    )


def _summary_fields(run: PaymentRun) -> dict[str, object]:
    selection = run.selection
    return {
        "number": run.number,
        "reference": run.reference,
        "status": run.status,
        "due_by": selection.due_by.isoformat(),
        "funded_by": selection.funded_by,
        "cluster_id": None if selection.cluster_id is None else str(selection.cluster_id),
        "financial_year": None if selection.financial_year is None else str(selection.financial_year),
        "created_at": utc_text(run.created_on),
        "created_by": actor(run.created_by),
        "line_count": len(run.lines),
        "paid_count": len(run.payments),
        "total": pounds(run.total.pence),
        "cancel_reason": run.cancel_reason or None,
        "version": run.version,
    }


def payment_run_summary(run: PaymentRun) -> PaymentRunSummaryResponse:
    return PaymentRunSummaryResponse.model_validate(_summary_fields(run))


def payment_run(run: PaymentRun) -> PaymentRunResponse:
    lines = [_line(run, line) for line in run.lines]
    return PaymentRunResponse.model_validate({**_summary_fields(run), "lines": lines})


def remittance_report(report: RemittanceReport) -> RemittanceReportResponse:
    return RemittanceReportResponse(
        lines_read=report.lines_read,
        total_paid=pounds(report.total_paid.pence),
        paid=[
            RemittancePaidResponse(
                line=line.line,
                reference=line.reference,
                amount=pounds(line.amount.pence),
                paid_on=line.paid_on.isoformat(),
                request_id=str(line.request_id),
                instalment=line.instalment,
            )
            for line in report.paid
        ],
        reported=[
            RemittanceReportedResponse(line=problem.line, reference=problem.reference, reason=problem.reason)
            for problem in report.reported
        ],
        remittance_id=None if report.remittance_id is None else str(report.remittance_id),
    )
