"""The school's pages (a SENCo): their requests, starting one, evidence, answers and withdrawal.

Starting a request is ``start.py``; spend evidence (and so answering an information
request) is ``evidence.py``. Every page asks the application as the signed-in school, so
another school's request is a page that does not exist (404), as in the API.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import Conflict, FundingError, NotFound, NotPermitted
from domain.funding_request import FundingRequest
from domain.lifecycle import OPEN_STATUSES
from domain.limits import LONG_TEXT
from domain.values import Actor, RequestStatus, Role
from web.kit import Errors, Kit, application_message
from web.school import evidence as school_evidence
from web.school import provision_map as school_provision_map
from web.school import sen_report as school_sen_report
from web.school import start as school_start
from web.school.forms import BREADCRUMBS, HOME, check_written, latest_question, open_request, request_url

# What the school does next on a request in these statuses (the cluster waits for it).
NEXT_STEPS = {
    RequestStatus.INFORMATION_REQUESTED.value: "Answer the information request",
    RequestStatus.SUBMITTED.value: "Add spend evidence",
}


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    kit.request_page_breadcrumbs[Role.SCHOOL] = BREADCRUMBS
    kit.request_page_extras[Role.SCHOOL] = request_page_extras

    @pages.get(HOME)
    def your_requests(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        requests = kit.application.read_models.list_requests(actor, limit=500).items
        requests.reverse()  # the newest first: a school works on its latest requests
        waiting = [row for row in requests if row.status in NEXT_STEPS]
        return kit.render(
            request,
            "school/requests.html",
            title="Your requests",
            requests=requests,
            waiting=waiting,
            next_steps=NEXT_STEPS,
        )

    # -- withdraw --------------------------------------------------------------------------------

    def withdraw_page(
        request: Request, funding_request: FundingRequest, values: dict[str, str], errors: Errors | None, status: int
    ) -> Response:
        return kit.render(
            request,
            "school/withdraw.html",
            title="Withdraw the request",
            status=status,
            breadcrumbs=(*BREADCRUMBS, (request_url(funding_request.id), "Request")),
            errors=errors,
            values=values,
            funding_request=funding_request,
            request_id=funding_request.id.hex,
        )

    @pages.get("/school/requests/{request_id}/withdraw")
    def withdraw(request: Request, request_id: str) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        funding_request = open_request(kit, actor, request_id, "withdraw")
        return withdraw_page(request, funding_request, {}, None, 200)

    @pages.post("/school/requests/{request_id}/withdraw")
    async def withdrawn(request: Request, request_id: str) -> Response:
        form = await kit.form(request)
        actor = kit.actor(request, Role.SCHOOL)
        funding_request = open_request(kit, actor, request_id, "withdraw")
        values = {"reason": form.get("reason")}
        errors = Errors()
        reason = check_written(values["reason"], errors, "reason", "why you are withdrawing the request", LONG_TEXT)
        if errors:
            return withdraw_page(request, funding_request, values, errors, 400)
        try:
            kit.application.withdraw(actor, funding_request.id, reason)
        except (NotFound, NotPermitted):
            raise
        except FundingError as error:
            errors.add("reason", application_message(error))
            return withdraw_page(request, funding_request, values, errors, 409 if isinstance(error, Conflict) else 400)
        return kit.redirect(request_url(funding_request.id), flash="You withdrew the request")

    pages.include_router(school_start.router(kit))
    pages.include_router(school_evidence.router(kit))
    pages.include_router(school_provision_map.router(kit))
    pages.include_router(school_sen_report.router(kit))
    return pages


def request_page_extras(request: Request, actor: Actor, funding_request: FundingRequest) -> dict[str, Any]:
    """What ``requests/actions_school.html`` shows: the question to answer, and what may be done."""
    return {
        "question": latest_question(funding_request),
        "is_open": funding_request.status in OPEN_STATUSES,
        "evidence_url": f"/school/requests/{funding_request.id.hex}/evidence",
        "withdraw_url": f"/school/requests/{funding_request.id.hex}/withdraw",
    }
