"""The cluster lead's pages: the work queue here; decisions on a request (``cluster_decisions``);
commissions and the budget (``cluster_budget``); the cluster's SEN Information Reports
(``cluster_sen_reports``).

Every page reads and acts as the signed-in lead, so the application keeps each lead to their own
cluster: another cluster's request is a page that does not exist for them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import InvalidValue
from domain.lifecycle import OPEN_STATUSES
from domain.values import RequestStatus, Role, SchoolUrn
from funding_engine.application.errors import InvalidQuery
from web import award_actions
from web.cluster import budget as cluster_budget
from web.cluster import decisions as cluster_decisions
from web.cluster import sen_reports as cluster_sen_reports
from web.cluster.common import parse_year, schools_of, selected, year_options
from web.kit import Errors, Kit
from web.labels import STATUS_TAGS

QUEUE_PAGE_SIZE = 25
# The queue's status filter: its open requests unless the lead asks for another status, or any.
OPEN, ANY_STATUS = "open", "any"
OPEN_IN_ORDER = [status.value for status in RequestStatus if status in OPEN_STATUSES]


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    kit.request_page_breadcrumbs[Role.CLUSTER_LEAD] = ()  # the lead's home is the queue

    @pages.get("/cluster/queue")
    def queue(request: Request, school: str = "", status: str = OPEN, year: str = "", after: str = "") -> Response:
        """Open requests, oldest first: the order a lead should decide them in."""
        actor = kit.actor(request, Role.CLUSTER_LEAD)
        errors = Errors()
        schools = schools_of(kit, actor)
        school_urn = None
        if school:
            try:
                school_urn = SchoolUrn.parse(school)
            except InvalidValue:
                errors.add("school", "Choose one of the cluster's schools")
        one_status, statuses = None, None
        if status == OPEN:
            statuses = OPEN_IN_ORDER
        elif status in STATUS_TAGS:
            one_status = status
        elif status != ANY_STATUS:
            errors.add("status", "Choose a status from the list")
        financial_year = parse_year(year, errors)
        page = None
        if not errors:
            try:
                page = kit.application.read_models.list_requests(
                    actor,
                    school_urn=school_urn,
                    status=one_status,
                    statuses=statuses,
                    financial_year=financial_year,
                    limit=QUEUE_PAGE_SIZE,
                    cursor=after or None,
                )
            except InvalidQuery:
                errors.add(
                    "after", "That page of the queue is not one this service gave out: start again from the first"
                )
        filters = {"school": school, "status": status, "year": year}
        return kit.render(
            request,
            "cluster/queue.html",
            title="Work queue",
            status=400 if errors else 200,
            errors=errors,
            values=filters,
            requests=page.items if page else [],
            next_cursor=page.next_cursor if page else None,
            first_page=not after,
            filters=filters,
            school_items=selected(
                [{"value": "", "text": "All schools"}, *({"value": urn, "text": urn} for urn in schools)], school
            ),
            status_items=selected(
                [
                    {"value": OPEN, "text": "Open: not yet decided"},
                    *({"value": value, "text": tag[0]} for value, tag in STATUS_TAGS.items()),
                    {"value": ANY_STATUS, "text": "Any status"},
                ],
                status,
            ),
            year_items=year_options(year, any_year="All years"),
        )

    cluster_decisions.add_pages(pages, kit)
    award_actions.add_pages(pages, kit, Role.CLUSTER_LEAD)
    cluster_budget.add_pages(pages, kit)
    cluster_sen_reports.add_pages(pages, kit)
    return pages
