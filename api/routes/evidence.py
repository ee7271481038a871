"""The evidence review beside a request, and a cluster's needs overview (issue 12)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api import evidence
from api.deps import AppDep, allowed
from api.routes.common import path_id, request_uuid
from domain.academic_year import AcademicYear
from domain.errors import InvalidValue
from domain.limits import ACADEMIC_YEAR_PATH_PATTERN
from domain.values import Actor, ClusterId

router = APIRouter(tags=["provision maps"])


@router.get("/requests/{request_id}/evidence-review", response_model=evidence.EvidenceReviewResponse)
def evidence_review(
    request_id: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("read_request")],
    as_of: Annotated[datetime | None, Query(description="ISO 8601 time with zone: the evidence as it was then")] = None,
) -> evidence.EvidenceReviewResponse:
    """The provision map version the request's evidence cites, read back and checked, and the warnings beside it."""
    uuid = request_uuid(request_id)
    return evidence.evidence_review(str(uuid), app.evidence_review(actor, uuid, as_at=as_of))


@router.get("/clusters/{cluster_id}/needs-overview", response_model=evidence.NeedsOverviewResponse)
def needs_overview(
    cluster_id: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("read_needs_overview")],
    academic_year: Annotated[
        str,
        Query(
            pattern=ACADEMIC_YEAR_PATH_PATTERN,
            description="The academic year, as an address writes it",
            examples=["2026-27"],
        ),
    ],
) -> evidence.NeedsOverviewResponse:
    """The cluster's schools' latest published provision maps for the year, added up; counts under 5 suppressed."""
    cluster = path_id(ClusterId.parse, cluster_id, "cluster")
    try:
        year = AcademicYear.from_path(academic_year)
    except InvalidValue as error:
        raise InvalidValue(f"academic_year: {error}") from None
    return evidence.needs_overview(app.needs_overview(actor, cluster, year))
