"""The council's pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.values import Role
from web.kit import Kit


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    @pages.get("/council/escalations")
    def home(request: Request) -> Response:
        kit.actor(request, Role.COUNCIL)
        return kit.render(request, "council/escalations.html", title="Escalations awaiting decision")

    return pages
