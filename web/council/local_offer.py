"""The council's side of the Local Offer: which schools' SEN Information Reports need following up
(missing, overdue for review, assessed with items not met, or reported as a broken link), each
school's report with its assessments, and the council's audit of it against the checklist.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import InvalidValue, NotFound
from domain.sen_report_checklist import CHECKLIST, AssessmentKind
from domain.sen_reports import SenInformationReport
from domain.values import Actor, Role, SchoolUrn
from web.kit import Errors, Kit, application_message
from web.local_offer.checklist import (
    RATING_LABELS,
    RATING_TAGS,
    assessment_values,
    checklist_sections,
    long_date,
    read_checklist,
)

HOME = "/council/local-offer"
BREADCRUMBS = [(HOME, "Local Offer")]


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    application = kit.application

    def report_of(actor: Actor, school_urn: str) -> SenInformationReport:
        try:
            return application.get_sen_report(actor, SchoolUrn.parse(school_urn))
        except InvalidValue:
            raise NotFound(f"no school {school_urn!r}") from None

    @pages.get(HOME)
    def overview(request: Request, urn: str = "") -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        errors = Errors()
        if urn:
            try:
                return kit.redirect(f"{HOME}/{SchoolUrn.parse(urn.strip())}")
            except InvalidValue:
                errors.add("urn", "Enter a URN of 6 digits, like 990001")
        return kit.render(
            request,
            "council/local_offer.html",
            title="Local Offer: SEN Information Reports",
            status=400 if errors else 200,
            errors=errors,
            values={"urn": urn},
            overview=application.read_models.local_offer.overview(actor),
            long_date=long_date,
        )

    @pages.get(HOME + "/{school_urn}")
    def school(request: Request, school_urn: str) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        report = report_of(actor, school_urn)
        return kit.render(
            request,
            "local_offer/report.html",
            title=f"SEN Information Report of school {report.school_urn}",
            breadcrumbs=BREADCRUMBS,
            report=report,
            audit_href=f"{HOME}/{report.school_urn}/audit",
            overdue=report.is_overdue(application.today()),
            self_assessment=report.latest.get(AssessmentKind.SELF_ASSESSMENT),
            audit=report.latest.get(AssessmentKind.AUDIT),
            items=CHECKLIST,
            rating_labels=RATING_LABELS,
            rating_tags=RATING_TAGS,
            long_date=long_date,
        )

    def audit_page(
        request: Request,
        report: SenInformationReport,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
    ) -> Response:
        urn = str(report.school_urn)
        return kit.render(
            request,
            "council/local_offer_audit.html",
            title=f"Audit the SEN Information Report of school {urn}",
            status=400 if errors else 200,
            errors=errors,
            values=values if values is not None else assessment_values(report.latest.get(AssessmentKind.AUDIT)),
            breadcrumbs=[*BREADCRUMBS, (f"{HOME}/{urn}", f"School {urn}")],
            report=report,
            sections=checklist_sections(),
            rating_labels=RATING_LABELS,
            action=f"{HOME}/{urn}/audit",
        )

    @pages.get(HOME + "/{school_urn}/audit")
    def audit(request: Request, school_urn: str) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        return audit_page(request, report_of(actor, school_urn))

    @pages.post(HOME + "/{school_urn}/audit")
    async def save_audit(request: Request, school_urn: str) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        form = await kit.form(request)
        report = report_of(actor, school_urn)
        errors = Errors()
        ratings, notes, values = read_checklist(form, errors)
        if not errors:
            try:
                application.assess_sen_report(actor, report.school_urn, ratings, notes)
            except InvalidValue as error:
                errors.add(f"rating-{CHECKLIST[0].key}", application_message(error))
        if errors:
            return audit_page(request, report, errors, values)
        return kit.redirect(f"{HOME}/{report.school_urn}", flash="Your audit is saved")

    @pages.post(HOME + "/{school_urn}/broken-links/clear")
    async def clear_broken_links(request: Request, school_urn: str) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        await kit.form(request)
        report = report_of(actor, school_urn)
        application.clear_broken_link_reports(actor, report.school_urn)
        return kit.redirect(HOME, flash=f"Broken-link reports for school {report.school_urn} marked as followed up")

    return pages
