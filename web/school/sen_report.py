"""The school's SEN Information Report: where it is published and when it is next reviewed, and
the school's own assessment of it against the checklist (GOV.UK's task list pattern: two tasks).

The report itself is on the school's website; the council lists its address publicly in the
Local Offer. A council officer's latest audit is shown to the school beside its own assessment.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import InvalidValue, NotFound, StaleVersion
from domain.sen_report_checklist import CHECKLIST, AssessmentKind
from domain.sen_reports import SenInformationReport, a_year_after
from domain.values import Actor, Role
from web.kit import Errors, Kit, application_message
from web.local_offer.checklist import (
    RATING_LABELS,
    RATING_TAGS,
    assessment_values,
    checklist_sections,
    date_values,
    long_date,
    read_checklist,
    read_date,
)

HOME = "/school/sen-information-report"
DETAILS = HOME + "/details"
SELF_ASSESSMENT = HOME + "/self-assessment"
BREADCRUMBS = [(HOME, "SEN Information Report")]


def refusal(error: InvalidValue, published: date) -> tuple[str, str]:
    """The field the application refused, and what to tell the person about it."""
    text = str(error)
    field = next((name for name in ("url", "published_on", "next_review_on") if text.startswith(name)), "url")
    if field == "next_review_on" and "a year" in text:
        return field, (
            f"The next review must be on or before {long_date(a_year_after(published))}:"
            " the council expects the report to be reviewed at least every year"
        )
    if field == "published_on" and "future" in text:
        return field, "The date the report was published must be today or in the past"
    readable = text.replace("url", "The address", 1).replace("published_on", "The date the report was published", 1)
    return field, application_message(
        InvalidValue(readable.replace("next_review_on", "The date of the next review", 1))
    )


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    application = kit.application

    def report_of(actor: Actor) -> SenInformationReport | None:
        assert actor.school_urn is not None  # a school actor always has one
        try:
            return application.get_sen_report(actor, actor.school_urn)
        except NotFound:
            return None

    @pages.get(HOME)
    def overview(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        report = report_of(actor)
        latest = report.latest if report else {}
        return kit.render(
            request,
            "school/sen_report.html",
            title="Your SEN Information Report",
            report=report,
            overdue=bool(report and report.is_overdue(application.today())),
            self_assessment=latest.get(AssessmentKind.SELF_ASSESSMENT),
            audit=latest.get(AssessmentKind.AUDIT),
            items=CHECKLIST,
            rating_labels=RATING_LABELS,
            rating_tags=RATING_TAGS,
            long_date=long_date,
        )

    def details_page(
        request: Request,
        actor: Actor,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        status: int = 400,
    ) -> Response:
        report = report_of(actor)
        if values is None:
            values = {}
            if report is not None:
                values = {"url": report.url, "version": str(report.version)}
                values.update(date_values("published_on", report.published_on))
                values.update(date_values("next_review_on", report.next_review_on))
        return kit.render(
            request,
            "school/sen_report_details.html",
            title="Where your SEN Information Report is published",
            status=status if errors else 200,
            errors=errors,
            values=values,
            breadcrumbs=BREADCRUMBS,
            registered=report is not None,
        )

    @pages.get(DETAILS)
    def details(request: Request) -> Response:
        return details_page(request, kit.actor(request, Role.SCHOOL))

    @pages.post(DETAILS)
    async def save_details(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        form = await kit.form(request)
        errors = Errors()
        url = form.get("url")
        values = {"url": url, "version": form.get("version")}
        if not url:
            errors.add("url", "Enter the address of the report on your school's website")
        published, typed = read_date(form, "published_on", "the date the report was published", errors)
        values.update(typed)
        review, typed = read_date(form, "next_review_on", "the date of the next review", errors)
        values.update(typed)
        expected = int(values["version"]) if values["version"].isdigit() else None
        status = 400
        if not errors and published is not None and review is not None:
            assert actor.school_urn is not None
            try:
                application.record_sen_report(
                    actor, actor.school_urn, url, published, review, expected_version=expected
                )
            except InvalidValue as error:
                field, message = refusal(error, published)
                errors.add(field, message)
            except StaleVersion:
                errors.add(
                    "url",
                    "Someone else changed the report while you were editing: check the details below and save again",
                )
                status = 409
                values = None  # type: ignore[assignment]
        if errors:
            return details_page(request, actor, errors, values, status)
        return kit.redirect(HOME, flash="Your report's details are saved")

    def assessment_page(
        request: Request,
        actor: Actor,
        report: SenInformationReport,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
    ) -> Response:
        return kit.render(
            request,
            "school/sen_report_self_assessment.html",
            title="Assess your SEN Information Report",
            status=400 if errors else 200,
            errors=errors,
            values=values
            if values is not None
            else assessment_values(report.latest.get(AssessmentKind.SELF_ASSESSMENT)),
            breadcrumbs=BREADCRUMBS,
            report=report,
            sections=checklist_sections(),
            rating_labels=RATING_LABELS,
            action=SELF_ASSESSMENT,
        )

    @pages.get(SELF_ASSESSMENT)
    def self_assessment(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        report = report_of(actor)
        if report is None:
            return kit.redirect(DETAILS)
        return assessment_page(request, actor, report)

    @pages.post(SELF_ASSESSMENT)
    async def save_self_assessment(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        form = await kit.form(request)
        report = report_of(actor)
        if report is None:
            return kit.redirect(DETAILS)
        errors = Errors()
        ratings, notes, values = read_checklist(form, errors)
        if not errors:
            assert actor.school_urn is not None
            try:
                application.assess_sen_report(actor, actor.school_urn, ratings, notes)
            except InvalidValue as error:
                errors.add(f"rating-{CHECKLIST[0].key}", application_message(error))
        if errors:
            return assessment_page(request, actor, report, errors, values)
        return kit.redirect(HOME, flash="Your self-assessment is saved")

    return pages
