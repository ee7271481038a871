"""The cluster lead's pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.values import Role
from web.kit import Kit


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    @pages.get("/cluster/queue")
    def home(request: Request) -> Response:
        kit.actor(request, Role.CLUSTER_LEAD)
        return kit.render(request, "cluster/queue.html", title="Work queue")

    return pages
