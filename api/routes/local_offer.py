"""SEN Information Reports and the public Local Offer listing (since issue 12).

``/local-offer/...`` answers anyone, with no token: the listing of schools and their reports, one
school, the checklist, and reporting a broken link (rate-limited per client address; 429 with
``Retry-After`` beyond it). ``/schools/{urn}/sen-information-report`` is the school's own (its
cluster's lead and the council read it; the council audits it), and the council's follow-up list
is ``/sen-information-reports/follow-up``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from api.deps import AppDep, ExpectedVersion, allowed
from api.local_offer_schemas import (
    AssessmentRequest,
    AssessmentResponse,
    AssessmentSummary,
    BrokenLinkReportRecorded,
    BrokenLinkReportRequest,
    BrokenLinkReportResponse,
    ChecklistItemResponse,
    FollowUpResponse,
    FollowUpSchool,
    ListedReport,
    LocalOfferSchool,
    LocalOfferSchoolList,
    SenReportRequest,
    SenReportResponse,
)
from api.routes.common import Cursor, Limit, path_id, with_etag
from api.schemas import ProblemResponse
from domain.formatting import utc_text
from domain.limits import DEFAULT_PAGE_SIZE, LOCAL_OFFER_SEARCH_MAX_LENGTH
from domain.sen_report_checklist import CHECKLIST, AssessmentKind, source_of
from domain.sen_reports import Assessment, SenInformationReport
from domain.values import Actor, ClusterId, SchoolUrn
from funding_engine.application.local_offer import ListedSchool
from funding_engine.application.sen_reports import SenReports

router = APIRouter(tags=["local offer"])

Search = Annotated[
    str | None,
    Query(
        max_length=LOCAL_OFFER_SEARCH_MAX_LENGTH,
        description="A URN (or its start), or part of a school's name or of a cluster's id or name",
    ),
]
ClusterFilter = Annotated[str | None, Query(description="Only this cluster's schools (its id)")]


def _assessment(assessment: Assessment | None) -> AssessmentResponse | None:
    if assessment is None:
        return None
    return AssessmentResponse(
        kind=assessment.kind.value,
        assessed_at=utc_text(assessment.assessed_at),
        assessed_by=assessment.assessed_by.sub,
        report_url=assessment.report_url,
        published_on=assessment.published_on.isoformat(),
        ratings={key: rating.value for key, rating in assessment.ratings.items()},
        notes=assessment.notes,
    )


def _report(app: SenReports, report: SenInformationReport) -> SenReportResponse:
    return SenReportResponse(
        school_urn=str(report.school_urn),
        url=report.url,
        published_on=report.published_on.isoformat(),
        next_review_on=report.next_review_on.isoformat(),
        overdue=report.is_overdue(app.today()),
        self_assessment=_assessment(report.latest.get(AssessmentKind.SELF_ASSESSMENT)),
        audit=_assessment(report.latest.get(AssessmentKind.AUDIT)),
        open_broken_link_reports=report.open_broken_links,
        version=report.version,
    )


def _listed(school: ListedSchool) -> LocalOfferSchool:
    row = school.row
    report = None
    if row.url is not None and row.published_on is not None and row.next_review_on is not None:
        report = ListedReport(
            url=row.url, published_on=row.published_on, next_review_on=row.next_review_on, overdue=school.overdue
        )
    return LocalOfferSchool(school_urn=row.school_urn, name=school.name, cluster_id=row.cluster_id, report=report)


def _follow_up(school: ListedSchool) -> FollowUpSchool:
    row = school.row

    def summary(counts: object) -> AssessmentSummary | None:
        return None if counts is None else AssessmentSummary(**counts._asdict())  # type: ignore[attr-defined]

    return FollowUpSchool(
        school_urn=row.school_urn,
        cluster_id=row.cluster_id,
        has_report=school.has_report,
        next_review_on=row.next_review_on,
        overdue=school.overdue,
        self_assessment=summary(row.self_assessment),
        audit=summary(row.audit),
        open_broken_link_reports=row.open_broken_links,
    )


# -- public ------------------------------------------------------------------------------------------


@router.get("/local-offer/schools", response_model=LocalOfferSchoolList)
def list_local_offer_schools(
    app: AppDep,
    q: Search = None,
    cluster_id: ClusterFilter = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> LocalOfferSchoolList:
    """Every school and its SEN Information Report, by URN (public: no token)."""
    page = app.read_models.local_offer.schools(search=q, cluster_id=cluster_id, limit=limit, cursor=cursor)
    return LocalOfferSchoolList(items=[_listed(school) for school in page.items], next_cursor=page.next_cursor)


@router.get("/local-offer/schools/{urn}", response_model=LocalOfferSchool)
def get_local_offer_school(urn: str, app: AppDep) -> LocalOfferSchool:
    """One school and its SEN Information Report (public: no token)."""
    return _listed(app.read_models.local_offer.school(path_id(SchoolUrn, urn, "school")))


@router.get("/local-offer/checklist", response_model=list[ChecklistItemResponse])
def get_checklist() -> list[ChecklistItemResponse]:
    """What an SEN Information Report must contain, item by item, with its legislation (public)."""
    return [
        ChecklistItemResponse(
            key=item.key,
            reference=item.reference,
            source=source_of(item),
            title=item.short_title,
            wording=item.wording,
            wording_checked=item.checked,
        )
        for item in CHECKLIST
    ]


@router.post(
    "/local-offer/schools/{urn}/broken-link-reports",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BrokenLinkReportRecorded,
    responses={
        429: {
            "model": ProblemResponse,
            "content": {"application/problem+json": {}},
            "description": "Too many reports from this address, or from everyone, lately (see Retry-After)",
        }
    },
)
def report_broken_link(
    urn: str, body: BrokenLinkReportRequest, app: AppDep, request: Request
) -> BrokenLinkReportRecorded:
    """Say a school's report link is broken (public: no token, no personal data; rate-limited)."""
    client = request.client.host if request.client else "unknown"
    app.report_broken_link(client, path_id(SchoolUrn, urn, "school"), body.note)
    return BrokenLinkReportRecorded(status="recorded")


# -- signed in ---------------------------------------------------------------------------------------


@router.put("/schools/{urn}/sen-information-report", response_model=SenReportResponse)
def record_sen_report(
    urn: str,
    body: SenReportRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("record_sen_report")],
    response: Response,
    expected: ExpectedVersion,
) -> SenReportResponse:
    """Register or change the school's report: address and dates (the school itself)."""
    report = app.record_sen_report(
        actor,
        path_id(SchoolUrn, urn, "school"),
        body.url,
        body.published_on,
        body.next_review_on,
        expected_version=expected,
    )
    with_etag(response, report.version)
    return _report(app, report)


@router.get("/schools/{urn}/sen-information-report", response_model=SenReportResponse)
def get_sen_report(
    urn: str, app: AppDep, actor: Annotated[Actor, allowed("read_sen_report")], response: Response
) -> SenReportResponse:
    """The report with its latest self-assessment and audit (the school, its lead, the council)."""
    report = app.get_sen_report(actor, path_id(SchoolUrn, urn, "school"))
    with_etag(response, report.version)
    return _report(app, report)


@router.post(
    "/schools/{urn}/sen-information-report/assessments",
    status_code=status.HTTP_201_CREATED,
    response_model=SenReportResponse,
)
def assess_sen_report(
    urn: str,
    body: AssessmentRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("assess_sen_report")],
    response: Response,
) -> SenReportResponse:
    """Rate every checklist item: the school's self-assessment, or the council's audit."""
    ratings = {key: rating.value for key, rating in body.ratings.items()}
    report = app.assess_sen_report(actor, path_id(SchoolUrn, urn, "school"), ratings, body.notes)
    with_etag(response, report.version)
    return _report(app, report)


@router.post("/schools/{urn}/sen-information-report/broken-link-reports/clear", response_model=SenReportResponse)
def clear_broken_link_reports(
    urn: str, app: AppDep, actor: Annotated[Actor, allowed("clear_broken_link_reports")], response: Response
) -> SenReportResponse:
    """The council has followed up the school's broken-link reports."""
    report = app.clear_broken_link_reports(actor, path_id(SchoolUrn, urn, "school"))
    with_etag(response, report.version)
    return _report(app, report)


@router.get("/clusters/{cluster_id}/sen-information-reports", response_model=list[FollowUpSchool])
def cluster_sen_reports(
    cluster_id: str, app: AppDep, actor: Annotated[Actor, allowed("read_sen_report")]
) -> list[FollowUpSchool]:
    """Every school of the cluster with its report's dates and assessment counts (its lead, council)."""
    schools = app.read_models.local_offer.cluster_schools(actor, path_id(ClusterId, cluster_id, "cluster"))
    return [_follow_up(school) for school in schools]


@router.get("/sen-information-reports/follow-up", response_model=FollowUpResponse)
def follow_up(app: AppDep, actor: Annotated[Actor, allowed("read_local_offer_overview")]) -> FollowUpResponse:
    """Reports missing, overdue for review, assessed with items not met, and broken links (council)."""
    overview = app.read_models.local_offer.overview(actor)
    return FollowUpResponse(
        missing=[_follow_up(school) for school in overview.missing],
        overdue=[_follow_up(school) for school in overview.overdue],
        not_met=[_follow_up(school) for school in overview.not_met],
        broken_link_reports=[
            BrokenLinkReportResponse(school_urn=row.school_urn, reported_at=row.reported_at, url=row.url, note=row.note)
            for row in overview.broken_links
        ],
    )
