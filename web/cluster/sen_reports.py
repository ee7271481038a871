"""The lead's read-only view of its cluster's SEN Information Reports: every school of the cluster
with its report's address, dates, whether its review is overdue, and its latest assessments; and one
school's report with the ratings behind those counts.

The application keeps a lead to its own cluster: another cluster's school is a page that does not
exist for them. Broken-link reports are the council's to follow up, so they are not shown here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import InvalidValue, NotFound
from domain.sen_report_checklist import CHECKLIST, AssessmentKind
from domain.values import Role, SchoolUrn
from web.kit import Kit
from web.local_offer.checklist import RATING_LABELS, RATING_TAGS, long_date

HOME = "/cluster/sen-reports"


def add_pages(pages: APIRouter, kit: Kit) -> None:
    application = kit.application

    @pages.get(HOME)
    def cluster_reports(request: Request) -> Response:
        actor = kit.actor(request, Role.CLUSTER_LEAD)
        cluster = application.get_cluster(actor, str(actor.cluster_id))
        schools = application.read_models.local_offer.cluster_schools(actor, cluster.cluster_id)
        return kit.render(
            request,
            "cluster/sen_reports.html",
            title="SEN Information Reports",
            cluster_name=cluster.name,
            schools=schools,
            missing=sum(1 for school in schools if not school.has_report),
            overdue=sum(1 for school in schools if school.overdue),
            long_date=long_date,
        )

    @pages.get(HOME + "/{school_urn}")
    def school_report(request: Request, school_urn: str) -> Response:
        actor = kit.actor(request, Role.CLUSTER_LEAD)
        try:
            urn = SchoolUrn.parse(school_urn)
        except InvalidValue:
            raise NotFound(f"no school {school_urn!r}") from None
        report = application.get_sen_report(actor, urn)
        return kit.render(
            request,
            "local_offer/report.html",
            title=f"SEN Information Report of school {report.school_urn}",
            breadcrumbs=[(HOME, "SEN Information Reports")],
            report=report,
            audit_href=None,
            overdue=report.is_overdue(application.today()),
            self_assessment=report.latest.get(AssessmentKind.SELF_ASSESSMENT),
            audit=report.latest.get(AssessmentKind.AUDIT),
            items=CHECKLIST,
            rating_labels=RATING_LABELS,
            rating_tags=RATING_TAGS,
            long_date=long_date,
        )
