"""Bodies of the SEN Information Report and Local Offer endpoints (docs/API.md, since issue 12).

Apart from ``api.schemas`` only for size; built the same way, from ``domain.limits``. The public
listing's fields are stable: a field is added, never renamed or removed, because the council's
school finder reads them.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from api.schemas import Note, Strict
from domain import limits
from domain.sen_report_checklist import Rating

ReportUrl = Annotated[
    str,
    StringConstraints(max_length=limits.SEN_REPORT_URL_MAX_LENGTH),
    Field(
        description="The report on the school's own website: https only",
        examples=["https://www.example-school.org.uk/send"],
    ),
]
BrokenLinkNote = Annotated[
    str, StringConstraints(max_length=limits.BROKEN_LINK_NOTE_MAX_LENGTH, pattern=limits.OPTIONAL_TEXT_PATTERN)
]


class SenReportRequest(Strict):
    url: ReportUrl
    published_on: datetime.date = Field(examples=["2026-09-01"])
    next_review_on: datetime.date = Field(
        description="After published_on and no more than a year after it", examples=["2027-08-31"]
    )


class AssessmentRequest(Strict):
    ratings: dict[str, Rating] = Field(
        description="A rating for every checklist item (GET /local-offer/checklist), by key",
        max_length=100,
    )
    notes: dict[str, Note] = Field(default_factory=dict, max_length=100)


class BrokenLinkReportRequest(Strict):
    note: BrokenLinkNote = Field("", description="What went wrong, optionally; never a name or an email address")


class AssessmentSummary(BaseModel):
    assessed_at: str
    met: int
    partly_met: int
    not_met: int


class AssessmentResponse(BaseModel):
    kind: str
    assessed_at: str
    assessed_by: str
    report_url: str
    published_on: str
    ratings: dict[str, str]
    notes: dict[str, str]


class SenReportResponse(BaseModel):
    school_urn: str
    url: str
    published_on: str
    next_review_on: str
    overdue: bool
    self_assessment: AssessmentResponse | None
    audit: AssessmentResponse | None
    open_broken_link_reports: int
    version: int


class ListedReport(BaseModel):
    url: str
    published_on: str
    next_review_on: str
    overdue: bool


class LocalOfferSchool(BaseModel):
    school_urn: str
    name: str | None = Field(description="From the school register; null while the register does not know it")
    cluster_id: str | None
    report: ListedReport | None = Field(description="null: the school has not registered its report")


class LocalOfferSchoolList(BaseModel):
    items: list[LocalOfferSchool]
    next_cursor: str | None


class ChecklistItemResponse(BaseModel):
    key: str
    reference: str
    source: str
    title: str
    wording: str
    wording_checked: bool


class FollowUpSchool(BaseModel):
    school_urn: str
    cluster_id: str | None
    has_report: bool
    next_review_on: str | None
    overdue: bool
    self_assessment: AssessmentSummary | None
    audit: AssessmentSummary | None
    open_broken_link_reports: int


class BrokenLinkReportResponse(BaseModel):
    school_urn: str
    reported_at: str
    url: str
    note: str


class FollowUpResponse(BaseModel):
    missing: list[FollowUpSchool]
    overdue: list[FollowUpSchool]
    not_met: list[FollowUpSchool]
    broken_link_reports: list[BrokenLinkReportResponse]


class BrokenLinkReportRecorded(BaseModel):
    status: Literal["recorded"]
