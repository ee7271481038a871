"""The public Local Offer pages: every school's SEN Information Report, searchable, and a way to
report a broken link. Nobody signs in here; nothing about who visits is asked for or kept.

Reporting a broken link is a form like any other (CSRF token, post/redirect/get), so another site
cannot make a visitor's browser post one. It asks for an optional short note only: no name, no
email address. It is rate-limited by the application per client address (the connection's peer,
which a proxy sets when the server trusts its forwarded headers); over the limit the visitor gets
a page saying so, with status 429.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import InvalidValue, NotFound
from domain.limits import BROKEN_LINK_NOTE_MAX_LENGTH, LOCAL_OFFER_SEARCH_MAX_LENGTH
from domain.values import SchoolUrn
from funding_engine.application.errors import InvalidQuery, RateLimited
from funding_engine.application.local_offer import ListedSchool
from web.kit import Errors, Kit, application_message
from web.local_offer.checklist import long_date

LISTING = "/local-offer"
PAGE_SIZE = 50


def broken_link_path(urn: str) -> str:
    return f"{LISTING}/report-a-broken-link/{urn}"


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    kit.environment.filters["long_date"] = long_date
    local_offer = kit.application.read_models.local_offer

    @pages.get(LISTING)
    def listing(request: Request, q: str = "", cluster: str = "", cursor: str = "") -> Response:
        clusters = local_offer.clusters()
        names = dict(clusters)
        errors = Errors()
        if len(q) > LOCAL_OFFER_SEARCH_MAX_LENGTH:
            errors.add("q", f"Search for {LOCAL_OFFER_SEARCH_MAX_LENGTH} characters or fewer")
        if cluster and cluster not in names:
            errors.add("cluster", "Select a cluster from the list")
        schools, next_cursor = [], None
        if not errors:
            try:
                page = local_offer.schools(
                    search=q or None, cluster_id=cluster or None, limit=PAGE_SIZE, cursor=cursor or None
                )
                schools, next_cursor = page.items, page.next_cursor
            except (InvalidQuery, InvalidValue):
                errors.add("q", "That search cannot be run: change it and search again")
        next_link = None
        if next_cursor:
            next_link = f"{LISTING}?{urlencode({'q': q, 'cluster': cluster, 'cursor': next_cursor})}"
        return kit.render(
            request,
            "local_offer/listing.html",
            title="Schools' SEN Information Reports",
            status=400 if errors else 200,
            errors=errors,
            values={"q": q, "cluster": cluster},
            schools=schools,
            clusters=clusters,
            cluster_names=names,
            searched=bool(q or cluster),
            next_link=next_link,
            first_page=not cursor,
        )

    def school_of(school_urn: str) -> ListedSchool:
        try:
            school = local_offer.school(SchoolUrn.parse(school_urn))
        except InvalidValue:
            raise NotFound(f"no school {school_urn!r}") from None
        if not school.has_report:
            raise NotFound(f"school {school_urn} has no report to link to")
        return school

    def report_page(
        request: Request, school_urn: str, errors: Errors | None = None, note: str = "", status: int = 200
    ) -> Response:
        school = school_of(school_urn)
        return kit.render(
            request,
            "local_offer/broken_link.html",
            title="Report a broken link",
            status=400 if errors and status == 200 else status,
            errors=errors,
            values={"note": note},
            school=school,
            note_limit=BROKEN_LINK_NOTE_MAX_LENGTH,
            action=broken_link_path(school.school_urn),
        )

    @pages.get(LISTING + "/report-a-broken-link/{school_urn}")
    def broken_link(request: Request, school_urn: str) -> Response:
        return report_page(request, school_urn)

    @pages.post(LISTING + "/report-a-broken-link/{school_urn}")
    async def report_broken_link(request: Request, school_urn: str) -> Response:
        form = await kit.form(request)
        school = school_of(school_urn)
        note = form.get("note")
        errors = Errors()
        if len(note) > BROKEN_LINK_NOTE_MAX_LENGTH:
            errors.add("note", f"What went wrong must be {BROKEN_LINK_NOTE_MAX_LENGTH} characters or fewer")
            return report_page(request, school_urn, errors, note)
        client = request.client.host if request.client else "unknown"
        try:
            kit.application.report_broken_link(client, school.school_urn, note)
        except RateLimited as error:
            errors.add("note", application_message(error))
            response = report_page(request, school_urn, errors, note, status=429)
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        except InvalidValue as error:
            errors.add("note", application_message(error))
            return report_page(request, school_urn, errors, note)
        return kit.redirect(broken_link_path(school.school_urn) + "/sent")

    @pages.get(LISTING + "/report-a-broken-link/{school_urn}/sent")
    def reported(request: Request, school_urn: str) -> Response:
        school = school_of(school_urn)
        return kit.render(request, "local_offer/broken_link_sent.html", title="Broken link reported", school=school)

    return pages
