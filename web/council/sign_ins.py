"""``/council/sign-ins``: who signed in and out, newest first, for the council's audit.

It reads ``FundingApplication.sign_ins`` (the event log itself) as the signed-in council officer;
the application refuses anyone else. ``?before=<log position>`` pages back to older ones.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import InvalidValue
from domain.values import Role
from web.kit import ROLE_NAMES, Kit

PER_PAGE = 50
METHODS = {"oidc": "Identity provider", "dev": "Demo list (development)"}


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    @pages.get("/council/sign-ins")
    def sign_ins(request: Request, before: str | None = None) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        if before is not None and not before.isdigit():
            return kit.render(request, "errors/not_found.html", status=404, title="Page not found")
        try:
            entries = kit.application.sign_ins(actor, limit=PER_PAGE, before=int(before) if before else None)
        except InvalidValue:  # before=0
            return kit.render(request, "errors/not_found.html", status=404, title="Page not found")
        older = entries[-1].position if len(entries) == PER_PAGE else None
        return kit.render(
            request,
            "council/sign_ins.html",
            title="Sign-ins and sign-outs",
            breadcrumbs=[("/council/audit", "Audit")],
            entries=entries,
            older=older,
            role_names=ROLE_NAMES,
            methods=METHODS,
        )

    return pages
