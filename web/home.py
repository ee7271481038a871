"""``/``: the signed-in person's home (their role's first page), or the way to sign in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from web.kit import Kit, home_of


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    @pages.get("/")
    def home(request: Request) -> Response:
        actor = kit.actor_or_none(request)
        if actor is not None:
            return RedirectResponse(home_of(actor), status_code=303)
        if kit.dev_sign_in or kit.oidc_sign_in:
            return RedirectResponse("/sign-in", status_code=303)
        return kit.render(request, "sign_in/not_offered.html", status=401, title="Sign-in is not available")

    return pages
