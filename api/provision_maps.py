"""The bodies of the provision map endpoints (issue 12), and how a map is shown in them.

Kept beside ``api.schemas`` rather than in it so that each file stays readable; the rules are the
same: limits and patterns from ``domain.limits``, money as 2-dp strings, request bodies refuse
unknown fields. A published version's ``content`` is the exact text its ``sha256`` is over.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from api.presenters import actor
from api.schemas import ActorResponse, Money2dp, Note, ShortText, Strict
from domain import limits
from domain.formatting import pounds, utc_text
from domain.provision_lines import AreaOfNeed, CostBasis, FundingSource, Impact, LineStatus, ProvisionMapLine, Tier
from domain.provision_maps import PublishedVersion
from domain.values import CommissionedService, ProvisionCategory
from funding_engine.application.provision_maps import DraftLine, ProvisionMapSummary, ProvisionMapView

Cost = Annotated[
    str,
    StringConstraints(pattern=limits.COST_PATTERN, max_length=limits.MONEY_TEXT_LENGTH),
    Field(description="Pounds as a string, at most 2 decimal places; zero allowed", examples=["120.50"]),
]
Hours = Annotated[
    str, StringConstraints(pattern=limits.HOURS_PATTERN), Field(description="Hours a week", examples=["2.5"])
]
IsoDate = Annotated[str, StringConstraints(pattern=limits.ISO_DATE_PATTERN), Field(examples=["2026-09-01"])]


class ProvisionMapLineRequest(Strict):
    description: ShortText = Field(examples=["Speech and language group"])
    category: ProvisionCategory
    tier: Tier
    area_of_need: AreaOfNeed
    pupil_count: int = Field(
        ge=1, le=limits.MAX_PROVISION_PUPILS, strict=True, description="A count of pupils: never names"
    )
    hours_per_week: Hours | None = None
    weeks: int | None = Field(default=None, ge=1, le=limits.MAX_WEEKS, strict=True)
    staff_or_provider: ShortText = Field(examples=["Teaching assistant"])
    cost_basis: CostBasis = Field(description="per_pupil: cost is for each pupil; total: cost is the line's total")
    cost: Cost
    funded_by: FundingSource
    commissioned_service: CommissionedService | None = Field(
        default=None, description="Required when funded_by is school_commissioned, and only then"
    )
    starts_on: IsoDate
    ends_on: IsoDate = Field(examples=["2027-07-21"])
    status: LineStatus = Field(description="planned: for pupils expected to join; in_place: running now")


class ProvisionMapReviewRequest(Strict):
    impact: Impact
    note: Note = ""
    reviewed_on: IsoDate | None = Field(default=None, description="Default: today in England")


class ReviewResponse(BaseModel):
    reviewed_on: str
    impact: str
    note: str


class ProvisionMapLineResponse(BaseModel):
    line_number: int
    description: str
    category: str
    tier: str
    area_of_need: str
    pupil_count: int
    hours_per_week: str | None
    weeks: int | None
    staff_or_provider: str
    cost_basis: str
    cost: Money2dp
    total_cost: Money2dp
    funded_by: str
    commissioned_service: str | None
    starts_on: str
    ends_on: str
    status: str
    reviews: list[ReviewResponse]


class DraftResponse(BaseModel):
    version: int = Field(description="The number the draft will have when published")
    changed_since_published: bool
    lines: list[ProvisionMapLineResponse]
    total_cost: Money2dp


class PublishedVersionSummaryResponse(BaseModel):
    version: int
    sha256: str
    published_at: str
    published_by: ActorResponse


class PublishedVersionResponse(PublishedVersionSummaryResponse):
    school_urn: str
    academic_year: str
    content: str = Field(description="The frozen canonical JSON text, exactly as hashed (UTF-8)")


class ProvisionMapResponse(BaseModel):
    school_urn: str
    academic_year: str
    version: int
    draft: DraftResponse | None = Field(description="Only the school itself sees its draft")
    published_versions: list[PublishedVersionSummaryResponse]


class ProvisionMapSummaryResponse(BaseModel):
    academic_year: str
    draft_version: int | None
    latest_published_version: int | None
    published_at: str | None
    sha256: str | None


class ProvisionMapListResponse(BaseModel):
    school_urn: str
    items: list[ProvisionMapSummaryResponse]


# -- presenters ----------------------------------------------------------------------------------------


def line(entry: DraftLine) -> ProvisionMapLineResponse:
    value: ProvisionMapLine = entry.line
    return ProvisionMapLineResponse(
        line_number=entry.line_number,
        description=value.description,
        category=value.category.value,
        tier=value.tier.value,
        area_of_need=value.area_of_need.value,
        pupil_count=value.pupil_count,
        hours_per_week=None if value.hours_per_week is None else f"{value.hours_per_week:.2f}",
        weeks=value.weeks,
        staff_or_provider=value.staff_or_provider,
        cost_basis=value.cost_basis.value,
        cost=str(value.cost),
        total_cost=str(value.total_cost),
        funded_by=value.funded_by.value,
        commissioned_service=value.commissioned_service.value if value.commissioned_service else None,
        starts_on=value.starts_on.isoformat(),
        ends_on=value.ends_on.isoformat(),
        status=value.status.value,
        reviews=[
            ReviewResponse(reviewed_on=review.reviewed_on.isoformat(), impact=review.impact.value, note=review.note)
            for review in entry.reviews
        ],
    )


def published_summary(value: PublishedVersion) -> PublishedVersionSummaryResponse:
    return PublishedVersionSummaryResponse(
        version=value.version,
        sha256=value.sha256,
        published_at=utc_text(value.published_at),
        published_by=actor(value.published_by),
    )


def published_version(value: PublishedVersion) -> PublishedVersionResponse:
    return PublishedVersionResponse(
        **published_summary(value).model_dump(),
        school_urn=str(value.school_urn),
        academic_year=str(value.academic_year),
        content=value.content,
    )


def provision_map(view: ProvisionMapView) -> ProvisionMapResponse:
    draft = None
    if view.draft is not None and view.draft_version is not None:
        draft = DraftResponse(
            version=view.draft_version,
            changed_since_published=bool(view.changed_since_published),
            lines=[line(entry) for entry in view.draft],
            total_cost=pounds(sum(entry.line.total_cost.pence for entry in view.draft)),
        )
    return ProvisionMapResponse(
        school_urn=str(view.school_urn),
        academic_year=str(view.academic_year),
        version=view.version,
        draft=draft,
        published_versions=[published_summary(version) for version in view.published],
    )


def summaries(school_urn: str, items: list[ProvisionMapSummary]) -> ProvisionMapListResponse:
    return ProvisionMapListResponse(
        school_urn=school_urn,
        items=[
            ProvisionMapSummaryResponse(
                academic_year=str(item.academic_year),
                draft_version=item.draft_version,
                latest_published_version=item.latest_published_version,
                published_at=utc_text(item.published_at) if item.published_at else None,
                sha256=item.sha256,
            )
            for item in items
        ],
    )
