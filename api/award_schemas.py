"""Bodies of the award endpoints (since issue 13): an approval's period and schedule, holds,
releases, recoveries and the year-end close, and the award as a request shows it.

Apart from ``api.schemas`` only for size; built the same way, from ``api.schema_types``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from api.schema_types import Amount, Day, LongText, Money2dp, OptionalLongText, ShortText, Strict, Year
from domain import limits
from domain.awards import RecoveryReason, ReleaseReason
from domain.schedules import ScheduleKind

# No award has nearly so many instalments (a monthly one over a year has 13) or recoveries; the
# bound keeps a number a number, as the path's pattern does (``api.routes.awards``).
Number = Annotated[int, Field(ge=1, le=limits.MAX_INSTALMENT_NUMBER, strict=True, examples=[1])]


# -- what an approval says about its money ---------------------------------------------------------


class AwardPeriodBody(Strict):
    starts_on: Day = Field(description="In the request's financial year")
    ends_on: Day = Field(description="On or after starts_on, and less than a year after it")


class HeldInstalmentBody(Strict):
    number: Number
    condition: ShortText = Field(examples=["a reviewed provision plan"])


class AwardTermsBody(Strict):
    """The optional award fields of an approval (cluster or council); absent, the award runs over
    the request's whole financial year, termly, with nothing held."""

    award_period: AwardPeriodBody | None = Field(
        default=None, description="Since issue 13: the days the award pays for; default the request's financial year"
    )
    schedule: ScheduleKind | None = Field(
        default=None, description="Since issue 13: how the award is paid; default termly"
    )
    held_instalments: list[HeldInstalmentBody] = Field(
        default_factory=list,
        max_length=limits.MAX_LINES,
        description="Since issue 13: instalments held from the start, each until its condition is met",
    )


# -- commands on an award ----------------------------------------------------------------------------


class HoldRequest(Strict):
    condition: ShortText = Field(examples=["a reviewed provision plan"])


class LiftHoldRequest(Strict):
    note: OptionalLongText = ""


class ReleaseRequest(Strict):
    reason_code: ReleaseReason
    note: LongText
    amount: Amount | None = Field(default=None, description="Default: all that is unpaid")


class RecoveryRequest(Strict):
    financial_year: Year = Field(description="The year whose payments are claimed back")
    amount: Amount
    reason_code: RecoveryReason
    note: LongText


class RecoveryReceiptRequest(Strict):
    amount: Amount
    reference: ShortText = Field(examples=["REMIT-0001"])
    received_on: Day | None = Field(default=None, description="Default: today, in England")


class YearCloseRequest(Strict):
    # A factory, not a default: the schema states limits only from ``domain.limits``, and says 0.00 in words.
    carry_forward: Amount = Field(
        default_factory=lambda: "0.00",
        description="Moved to the next year's budget as an allocation; at most what is available; default 0.00",
    )


# -- the award, as a request shows it ------------------------------------------------------------------


class AwardPeriodResponse(BaseModel):
    starts_on: str
    ends_on: str


class InstalmentResponse(BaseModel):
    number: int
    due_on: str
    financial_year: str
    amount: Money2dp
    paid: Money2dp
    released: Money2dp
    unpaid: Money2dp
    held_until: str | None = Field(description="The condition an unpaid instalment is held until; null: not held")


class RecoveryResponse(BaseModel):
    number: int
    financial_year: str
    amount: Money2dp
    reason_code: RecoveryReason
    note: str
    received: Money2dp
    outstanding: Money2dp


class AwardTotalsResponse(BaseModel):
    approved: Money2dp
    paid_out: Money2dp = Field(description="Everything paid, before any recovery")
    paid: Money2dp = Field(description="Paid out less recovered")
    released: Money2dp
    recovered: Money2dp = Field(description="Received back by recoveries (not just claimed)")
    held: Money2dp
    scheduled_unpaid: Money2dp
    committed: Money2dp = Field(description="approved - released - recovered = paid + scheduled_unpaid + held")


class AwardResponse(BaseModel):
    period: AwardPeriodResponse | None = Field(
        description="null for an approval recorded before issue 13: one instalment, due the day it was approved"
    )
    schedule: ScheduleKind
    instalments: list[InstalmentResponse]
    recoveries: list[RecoveryResponse]
    totals: AwardTotalsResponse


# -- the year-end close ------------------------------------------------------------------------------


class YearCloseResponse(BaseModel):
    cluster_id: str | None = Field(description="null for the council fund")
    financial_year: str
    closed: bool
    committed_unpaid: Money2dp = Field(description="Committed on the year and not paid when it closed")
    released: Money2dp = Field(description="What releases gave back to the year")
    available_before: Money2dp
    carried_forward: Money2dp
    carried_to: str | None = Field(description="The year the carried money was allocated to; null: none carried")
    available: Money2dp = Field(description="After the close (and the carry-forward)")
    version: int


class YearNotClosableProblem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    request_ids: list[str] = Field(
        default_factory=list,
        description="Only when requests still wait on the year: their ids (the first 20)",
    )
