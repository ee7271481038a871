"""Signing in and out. In development the sign-in page lists the demo users; outside it,
``/sign-in`` does not exist (OpenID Connect sign-in replaces it)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from domain.values import Actor
from web.kit import Kit, home_of
from web.session import SESSION_COOKIE, SESSION_SECONDS


def safe_next(target: str | None) -> str | None:
    """A path on this server to go back to after sign-in; never another site (``//evil``)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def router(kit: Kit, users: Sequence[tuple[str, Actor]]) -> APIRouter:
    pages = kit.router()

    def not_found(request: Request) -> Response:
        return kit.render(request, "errors/not_found.html", status=404, title="Page not found")

    @pages.get("/sign-in")
    def sign_in_page(request: Request, next: str | None = None) -> Response:
        if not users:
            return not_found(request)
        return kit.render(
            request, "sign_in.html", title="Sign in", users=list(enumerate(users)), next=safe_next(next) or ""
        )

    @pages.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        if not users:
            return not_found(request)
        form = await kit.form(request)
        chosen = form.get("user")
        if not chosen.isdigit() or int(chosen) >= len(users):
            return kit.render(
                request,
                "sign_in.html",
                status=400,
                title="Sign in",
                users=list(enumerate(users)),
                next=safe_next(form.get("next")) or "",
                error="Select who to sign in as",
            )
        actor = users[int(chosen)][1]
        response = RedirectResponse(safe_next(form.get("next")) or home_of(actor), status_code=303)
        kit.set_cookie(response, SESSION_COOKIE, kit.signer.session_for(actor), max_age=SESSION_SECONDS)
        return response

    @pages.get("/sign-out")
    def sign_out_page(request: Request) -> Response:
        return kit.render(request, "sign_out.html", title="Sign out")

    @pages.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        await kit.form(request)
        response = RedirectResponse("/sign-in" if users else "/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=kit.secure_cookies, httponly=True, samesite="lax")
        return response

    return pages
