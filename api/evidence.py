"""The bodies of the evidence review and the needs overview (issue 12), and how each is shown.

Kept beside ``api.schemas`` as ``api.provision_maps`` is. Money as 2-dp strings; a suppressed
figure is null with ``suppressed: true``, never a number that could be worked back.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.presenters import actor
from api.schemas import ActorResponse, Money2dp
from domain.formatting import pounds, utc_text
from domain.needs_overview import SMALLEST_SHOWN, Breakdown, Cell
from funding_engine.application import EvidenceReview, NeedsOverview


class OwnBudgetLineResponse(BaseModel):
    line_number: int
    description: str
    category: str
    tier: str
    area_of_need: str
    pupil_count: int
    total_cost: Money2dp
    status: str


class CitedMapResponse(BaseModel):
    school_urn: str
    academic_year: str
    version: int
    sha256: str = Field(description="The SHA-256 the evidence cited")
    hash_verified: bool = Field(description="Whether the stored content still hashes to the cited SHA-256")
    found: bool = Field(description="False only if the store no longer holds the cited version")
    published_at: str | None
    published_by: ActorResponse | None
    own_budget_lines: list[OwnBudgetLineResponse] = Field(
        description="The cited version's lines funded by the school's notional SEN budget"
    )
    own_budget_total: Money2dp
    content: str | None = Field(description="The cited version's frozen content: the exact text its SHA-256 is over")


class EvidenceWarningResponse(BaseModel):
    code: str = Field(examples=["own_spend_below_threshold"])
    message: str


class EvidenceReviewResponse(BaseModel):
    request_id: str
    from_provision_map: bool
    provision_map: CitedMapResponse | None
    warnings: list[EvidenceWarningResponse]


class NeedsCellResponse(BaseModel):
    key: str
    pupil_places: int | None = Field(description="Null when suppressed (fewer than 5, or hidden with one that is)")
    cost: Money2dp | None
    suppressed: bool


class NeedsIncludedResponse(BaseModel):
    school_urn: str
    version: int


class NeedsOverviewResponse(BaseModel):
    cluster_id: str
    academic_year: str
    smallest_shown: int
    schools_included: list[NeedsIncludedResponse]
    schools_without_published_map: list[str]
    by_area_of_need: list[NeedsCellResponse]
    by_tier: list[NeedsCellResponse]
    by_category: list[NeedsCellResponse]
    total: NeedsCellResponse


def _line(line: dict[str, Any]) -> OwnBudgetLineResponse:
    return OwnBudgetLineResponse(
        line_number=line["line_number"],
        description=line["description"],
        category=line["category"],
        tier=line["tier"],
        area_of_need=line["area_of_need"],
        pupil_count=line["pupil_count"],
        total_cost=pounds(line["total_cost_pence"]),
        status=line["status"],
    )


def evidence_review(request_id: str, review: EvidenceReview) -> EvidenceReviewResponse:
    cited = review.cited_map
    provision_map = None
    if cited is not None:
        version = cited.version
        provision_map = CitedMapResponse(
            school_urn=str(cited.citation.school_urn),
            academic_year=str(cited.citation.academic_year),
            version=cited.citation.version,
            sha256=cited.citation.sha256,
            hash_verified=cited.hash_holds,
            found=version is not None,
            published_at=None if version is None else utc_text(version.published_at),
            published_by=None if version is None else actor(version.published_by),
            own_budget_lines=[_line(line) for line in cited.own_budget_lines],
            own_budget_total=str(cited.own_budget_total),
            content=None if version is None else version.content,
        )
    return EvidenceReviewResponse(
        request_id=request_id,
        from_provision_map=cited is not None,
        provision_map=provision_map,
        warnings=[EvidenceWarningResponse(code=w.code, message=w.message) for w in review.warnings],
    )


def _cell(cell: Cell) -> NeedsCellResponse:
    return NeedsCellResponse(
        key=cell.key,
        pupil_places=cell.pupils,
        cost=None if cell.cost is None else str(cell.cost),
        suppressed=cell.suppressed,
    )


def _cells(breakdown: Breakdown) -> list[NeedsCellResponse]:
    return [_cell(cell) for cell in breakdown.cells]


def needs_overview(overview: NeedsOverview) -> NeedsOverviewResponse:
    figures = overview.figures
    return NeedsOverviewResponse(
        cluster_id=str(overview.cluster_id),
        academic_year=str(overview.academic_year),
        smallest_shown=SMALLEST_SHOWN,
        schools_included=[NeedsIncludedResponse(school_urn=str(urn), version=v) for urn, v in overview.included],
        schools_without_published_map=[str(urn) for urn in overview.not_published],
        by_area_of_need=_cells(figures.by_area_of_need),
        by_tier=_cells(figures.by_tier),
        by_category=_cells(figures.by_category),
        total=_cell(figures.total),
    )
