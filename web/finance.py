"""The finance's pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.values import Role
from web.kit import Kit


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    @pages.get("/finance/balances")
    def home(request: Request) -> Response:
        kit.actor(request, Role.FINANCE)
        return kit.render(request, "finance/balances.html", title="Balances")

    return pages
