"""The school's pages (a SENCo): their requests, starting one, evidence, answers and withdrawal."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.values import Role
from web.kit import Kit


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    kit.request_page_breadcrumbs[Role.SCHOOL] = ()

    @pages.get("/school/requests")
    def your_requests(request: Request) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        requests = kit.application.read_models.list_requests(actor).items
        return kit.render(request, "school/requests.html", title="Your requests", requests=requests)

    return pages
