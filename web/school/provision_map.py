"""The school's provision maps: one a year, its lines grouped by area of need with totals by what
funds them; adding, changing, removing and reviewing lines; and publishing a version, checked first
and confirmed with the version number and the SHA-256 that cites it.

Years are addressed as ``2026-27``. Every page asks the application as the signed-in school, so the
application's rules (a line must overlap the year, a review is not in the future...) are the pages'
rules; a refusal is shown on the form and changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.academic_year import AcademicYear
from domain.errors import Conflict, FundingError, NotFound, NotPermitted
from domain.provision_lines import canonical_line
from domain.values import Role
from funding_engine.application.calendar import today_in_england as today
from funding_engine.application.provision_maps import ProvisionMapView
from web.kit import Errors, Kit, application_message
from web.provision_maps import LABELS, by_area, number_in_path, totals_by_source, version_context, year_in_path
from web.school.provision_map_form import (
    add_domain_error,
    date_values,
    line_values,
    read_line,
    read_review,
    typed_values,
)

HOME = "/school/provision-maps"
CRUMBS = ((HOME, "Provision maps"),)


def map_url(year: AcademicYear) -> str:
    return f"{HOME}/{year.path}"


def draft_context(view: ProvisionMapView) -> dict[str, Any]:
    lines = [canonical_line(entry.line_number, entry.line, list(entry.reviews)) for entry in view.draft or ()]
    return {
        "lines": lines,
        "grouped": by_area(lines),
        "totals": totals_by_source(lines),
        "total_pence": sum(line["total_cost_pence"] for line in lines),
    }


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    def school(request: Request) -> Any:
        return kit.actor(request, Role.SCHOOL)

    def the_map(request: Request, academic_year: str) -> tuple[Any, AcademicYear, ProvisionMapView]:
        actor = school(request)
        year = year_in_path(academic_year)
        return actor, year, kit.application.provision_map(actor, actor.school_urn, year)

    # -- the maps, and opening one --------------------------------------------------------------------

    def maps_page(request: Request, errors: Errors | None = None, status: int = 200) -> Response:
        actor = school(request)
        maps = kit.application.provision_maps(actor, actor.school_urn)
        this_year = AcademicYear.containing(today())
        opened = {str(item.academic_year) for item in maps}
        can_open = [year for year in (this_year, AcademicYear(this_year.start_year + 1)) if str(year) not in opened]
        return kit.render(
            request,
            "school/provision_maps.html",
            title="Your provision maps",
            status=status,
            errors=errors,
            maps=maps,
            can_open=can_open,
        )

    @pages.get(HOME)
    def your_maps(request: Request) -> Response:
        return maps_page(request)

    @pages.post(HOME)
    async def open_map(request: Request) -> Response:
        form = await kit.form(request)
        actor = school(request)
        errors = Errors()
        try:
            year = AcademicYear.parse(form.get("academic_year"))
        except FundingError:
            errors.add("academic_year", "Choose the academic year to open a map for")
            return maps_page(request, errors, 400)
        try:
            kit.application.open_provision_map(actor, actor.school_urn, year)
        except Conflict as error:
            errors.add("academic_year", application_message(error))
            return maps_page(request, errors, 409)
        return kit.redirect(map_url(year), flash=f"You opened your provision map for {year}")

    @pages.get(HOME + "/{academic_year}")
    def provision_map(request: Request, academic_year: str) -> Response:
        _, year, view = the_map(request, academic_year)
        return kit.render(
            request,
            "school/provision_map.html",
            title=f"Provision map {year}",
            breadcrumbs=CRUMBS,
            view=view,
            academic_year=year,
            base=map_url(year),
            edit_base=map_url(year),
            versions=view.published,
            **draft_context(view),
            **LABELS,
        )

    # -- a line: add, change, remove ---------------------------------------------------------------------

    def line_page(
        request: Request,
        year: AcademicYear,
        number: int | None,
        values: dict[str, str],
        errors: Errors | None,
        status: int,
    ) -> Response:
        return kit.render(
            request,
            "school/provision_line.html",
            title="Add a line" if number is None else f"Change line {number}",
            status=status,
            breadcrumbs=(*CRUMBS, (map_url(year), f"Provision map {year}")),
            errors=errors,
            values=values,
            academic_year=year,
            number=number,
            action=f"{map_url(year)}/lines/{'new' if number is None else number}",
            **LABELS,
        )

    @pages.get(HOME + "/{academic_year}/lines/new")
    def new_line(request: Request, academic_year: str) -> Response:
        _, year, _ = the_map(request, academic_year)
        starts = {**date_values("starts_on", year.starts_on), **date_values("ends_on", year.ends_on)}
        return line_page(request, year, None, {**starts, "status": "in_place"}, None, 200)

    async def save_line(request: Request, academic_year: str, line_number: str | None) -> Response:
        form = await kit.form(request)  # the CSRF token first: a forged post learns nothing
        if line_number is None:
            actor, year, _ = the_map(request, academic_year)
            number = None
        else:
            actor, year, entry = existing(request, academic_year, line_number)
            number = entry.line_number
        errors = Errors()
        values = typed_values(form)
        line = read_line(form, errors)
        if line is None:
            return line_page(request, year, number, values, errors, 400)
        try:
            if number is None:
                kit.application.add_provision_line(actor, actor.school_urn, year, line)
            else:
                kit.application.change_provision_line(actor, actor.school_urn, year, number, line)
        except (NotFound, NotPermitted):
            raise
        except FundingError as error:
            add_domain_error(errors, application_message(error))
            return line_page(request, year, number, values, errors, 409 if isinstance(error, Conflict) else 400)
        done = "You added a line" if number is None else f"You changed line {number}"
        return kit.redirect(map_url(year), flash=done)

    @pages.post(HOME + "/{academic_year}/lines/new")
    async def line_added(request: Request, academic_year: str) -> Response:
        return await save_line(request, academic_year, None)

    def existing(request: Request, academic_year: str, line_number: str) -> tuple[Any, AcademicYear, Any]:
        actor, year, view = the_map(request, academic_year)
        number = number_in_path(line_number, "line")
        entry = next((entry for entry in view.draft or () if entry.line_number == number), None)
        if entry is None:
            raise NotFound(f"no line {number}")
        return actor, year, entry

    @pages.get(HOME + "/{academic_year}/lines/{line_number}")
    def change_line(request: Request, academic_year: str, line_number: str) -> Response:
        _, year, entry = existing(request, academic_year, line_number)
        return line_page(request, year, entry.line_number, line_values(entry.line), None, 200)

    @pages.post(HOME + "/{academic_year}/lines/{line_number}")
    async def line_changed(request: Request, academic_year: str, line_number: str) -> Response:
        return await save_line(request, academic_year, line_number)

    @pages.get(HOME + "/{academic_year}/lines/{line_number}/remove")
    def remove_line(request: Request, academic_year: str, line_number: str) -> Response:
        _, year, entry = existing(request, academic_year, line_number)
        return kit.render(
            request,
            "school/provision_line_remove.html",
            title=f"Remove line {entry.line_number}",
            breadcrumbs=(*CRUMBS, (map_url(year), f"Provision map {year}")),
            entry=entry,
            action=f"{map_url(year)}/lines/{entry.line_number}/remove",
            back=map_url(year),
        )

    @pages.post(HOME + "/{academic_year}/lines/{line_number}/remove")
    async def line_removed(request: Request, academic_year: str, line_number: str) -> Response:
        await kit.form(request)
        actor, year, entry = existing(request, academic_year, line_number)
        kit.application.remove_provision_line(actor, actor.school_urn, year, entry.line_number)
        return kit.redirect(map_url(year), flash=f"You removed line {entry.line_number}")

    # -- reviewing a line --------------------------------------------------------------------------------

    def review_page(
        request: Request, year: AcademicYear, entry: Any, values: dict[str, str], errors: Errors | None, status: int
    ) -> Response:
        return kit.render(
            request,
            "school/provision_review.html",
            title=f"Review line {entry.line_number}",
            status=status,
            breadcrumbs=(*CRUMBS, (map_url(year), f"Provision map {year}")),
            errors=errors,
            values=values,
            entry=entry,
            action=f"{map_url(year)}/lines/{entry.line_number}/review",
            **LABELS,
        )

    @pages.get(HOME + "/{academic_year}/lines/{line_number}/review")
    def review_line(request: Request, academic_year: str, line_number: str) -> Response:
        _, year, entry = existing(request, academic_year, line_number)
        return review_page(request, year, entry, date_values("reviewed_on", today()), None, 200)

    @pages.post(HOME + "/{academic_year}/lines/{line_number}/review")
    async def line_reviewed(request: Request, academic_year: str, line_number: str) -> Response:
        form = await kit.form(request)
        actor, year, entry = existing(request, academic_year, line_number)
        errors = Errors()
        values = {
            name: form.get(name)
            for name in ("impact", "note", "reviewed_on-day", "reviewed_on-month", "reviewed_on-year")
        }
        review = read_review(form, errors, today())
        if review is None:
            return review_page(request, year, entry, values, errors, 400)
        try:
            kit.application.review_provision_line(
                actor,
                actor.school_urn,
                year,
                entry.line_number,
                impact=review.impact.value,
                note=review.note,
                reviewed_on=review.reviewed_on,
            )
        except (NotFound, NotPermitted):
            raise
        except FundingError as error:
            errors.add("reviewed_on-day", application_message(error))
            return review_page(request, year, entry, values, errors, 400)
        return kit.redirect(map_url(year), flash=f"You recorded a review of line {entry.line_number}")

    # -- publishing ---------------------------------------------------------------------------------------

    @pages.get(HOME + "/{academic_year}/publish")
    def check_publish(request: Request, academic_year: str) -> Response:
        _, year, view = the_map(request, academic_year)
        return kit.render(
            request,
            "school/provision_publish.html",
            title=f"Check before you publish version {view.draft_version}",
            breadcrumbs=(*CRUMBS, (map_url(year), f"Provision map {year}")),
            view=view,
            academic_year=year,
            action=f"{map_url(year)}/publish",
            back=map_url(year),
            **draft_context(view),
            **LABELS,
        )

    @pages.post(HOME + "/{academic_year}/publish")
    async def publish(request: Request, academic_year: str) -> Response:
        await kit.form(request)
        actor, year, _ = the_map(request, academic_year)
        published = kit.application.publish_provision_map(actor, actor.school_urn, year)  # a Conflict is a 409 page
        version = published.published[-1].version
        return kit.redirect(f"{map_url(year)}/versions/{version}/published")

    def version_of(
        request: Request, academic_year: str, version: str
    ) -> tuple[Any, AcademicYear, ProvisionMapView, Any]:
        actor, year, view = the_map(request, academic_year)
        published = kit.application.published_provision_map(
            actor, actor.school_urn, year, number_in_path(version, "published version")
        )
        return actor, year, view, published

    @pages.get(HOME + "/{academic_year}/versions/{version}/published")
    def published_confirmation(request: Request, academic_year: str, version: str) -> Response:
        _, year, _, published = version_of(request, academic_year, version)
        return kit.render(
            request,
            "school/provision_published.html",
            title=f"Version {published.version} published",
            breadcrumbs=(*CRUMBS, (map_url(year), f"Provision map {year}")),
            version=published,
            academic_year=year,
            map_url=map_url(year),
        )

    @pages.get(HOME + "/{academic_year}/versions/{version}")
    def published_version(request: Request, academic_year: str, version: str) -> Response:
        actor, year, view, published = version_of(request, academic_year, version)
        return kit.render(
            request,
            "provision_maps/published.html",
            title=f"Provision map {year}, version {published.version}",
            breadcrumbs=(*CRUMBS, (map_url(year), f"Provision map {year}")),
            urn=str(actor.school_urn),
            academic_year=year,
            versions=view.published,
            base=map_url(year),
            **version_context(published),
            **LABELS,
        )

    return pages
