"""Signing in and out. In development the sign-in page lists the demo users; with the council's
OpenID Provider configured (``oidc.py``) it is a start page whose button begins the provider's
sign-in, and ``/sign-in/callback`` finishes it. Without either, ``/sign-in`` does not exist.

Every sign-in and sign-out is recorded in the event log (``FundingApplication.record_sign_in``),
including a session the server finds idle or too old when its person comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from domain.sign_ins import IDLE_TIMEOUT, SIGNED_OUT
from domain.values import Actor
from web.kit import Kit, home_of
from web.session import OIDC_COOKIE, SESSION_COOKIE, SESSION_SECONDS
from web.sign_in.oidc import OidcClient, Pending, ProviderUnavailable, SignInRefused, actor_from_claims

log = logging.getLogger("funding_engine.web.sign_in")


def safe_next(target: str | None) -> str | None:
    """A path on this server to go back to after sign-in; never another site (``//evil``)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def router(kit: Kit, users: Sequence[tuple[str, Actor]], oidc: OidcClient | None = None) -> APIRouter:
    pages = kit.router()

    def not_found(request: Request) -> Response:
        return kit.render(request, "errors/not_found.html", status=404, title="Page not found")

    def forget(response: Response, *names: str) -> None:
        for name in names:
            response.delete_cookie(name, path="/", secure=kit.secure_cookies, httponly=True, samesite="lax")

    def end_stale_session(request: Request) -> str | None:
        """Record the end of a session that timed out while its person was away, and say so to them."""
        session = kit.signer.session_from(request.cookies.get(SESSION_COOKIE))
        reason = kit.signer.ended(session) if session is not None else None
        if session is None or reason is None:
            return None
        if session.session_id is not None:
            kit.application.record_sign_out(session.actor, session.session_id, reason)
        if reason == IDLE_TIMEOUT:
            return (
                f"Your session timed out after {_duration(kit.signer.idle_seconds)} without activity, "
                "so you have been signed out. Sign in again to carry on."
            )
        return "Your session ended because a session lasts at most 12 hours. Sign in again to carry on."

    def signed_in(response: Response, actor: Actor, method: str) -> Response:
        session_id = kit.application.record_sign_in(actor, method)
        kit.set_cookie(response, SESSION_COOKIE, kit.signer.session_for(actor, session_id), max_age=SESSION_SECONDS)
        return response

    @pages.get("/sign-in")
    def sign_in_page(request: Request, next: str | None = None) -> Response:
        if not users and oidc is None:
            return not_found(request)
        timed_out = end_stale_session(request)
        target = safe_next(next) or ""
        if users:
            response = kit.render(
                request,
                "sign_in/demo_users.html",
                title="Sign in",
                users=list(enumerate(users)),
                next=target,
                notice=timed_out,
            )
        else:
            start = "/sign-in/start" + (f"?{urlencode({'next': target})}" if target else "")
            response = kit.render(request, "sign_in/start.html", title="Sign in", start=start, notice=timed_out)
        if timed_out:
            forget(response, SESSION_COOKIE)
        return response

    @pages.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        if not users:
            return not_found(request)
        form = await kit.form(request)
        chosen = form.get("user")
        if not chosen.isdigit() or int(chosen) >= len(users):
            return kit.render(
                request,
                "sign_in/demo_users.html",
                status=400,
                title="Sign in",
                users=list(enumerate(users)),
                next=safe_next(form.get("next")) or "",
                error="Select who to sign in as",
            )
        actor = users[int(chosen)][1]
        return signed_in(RedirectResponse(safe_next(form.get("next")) or home_of(actor), status_code=303), actor, "dev")

    @pages.get("/sign-in/start")
    async def start(request: Request, next: str | None = None) -> Response:
        if oidc is None or users:
            return not_found(request)
        try:
            url, pending = await oidc.start(safe_next(next) or "")
        except ProviderUnavailable as error:
            log.error("OpenID Provider unavailable: %s", error)
            return unavailable(request)
        response = RedirectResponse(url, status_code=303)
        kit.set_cookie(response, OIDC_COOKIE, kit.signer.sign("oidc", pending.payload()), max_age=10 * 60)
        return response

    @pages.get("/sign-in/callback")
    async def callback(request: Request) -> Response:
        if oidc is None or users:
            return not_found(request)
        pending = Pending.from_payload(kit.signer.unsign("oidc", request.cookies.get(OIDC_COOKIE)))
        try:
            claims = await oidc.finish(pending, dict(request.query_params))
            actor = actor_from_claims(claims, oidc.settings)
        except SignInRefused as refusal:
            log.warning("sign-in refused: %s", refusal.detail)
            response: Response = kit.render(
                request, "sign_in/refused.html", status=403, title="You could not be signed in", message=refusal.message
            )
            forget(response, OIDC_COOKIE, SESSION_COOKIE)
            return response
        except ProviderUnavailable as error:
            log.error("OpenID Provider unavailable: %s", error)
            return unavailable(request)
        back_to = safe_next(pending.next if pending else None)  # finish() refused a sign-in without one
        response = RedirectResponse(back_to or home_of(actor), status_code=303)
        forget(response, OIDC_COOKIE)
        return signed_in(response, actor, "oidc")

    def unavailable(request: Request) -> Response:
        return kit.render(request, "sign_in/unavailable.html", status=503, title="Sign-in is not available right now")

    @pages.get("/sign-out")
    def sign_out_page(request: Request) -> Response:
        return kit.render(request, "sign_in/sign_out.html", title="Sign out")

    @pages.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        await kit.form(request)
        session = kit.signer.session_from(request.cookies.get(SESSION_COOKIE))
        if session is not None and session.session_id is not None:
            reason = kit.signer.ended(session) or SIGNED_OUT
            kit.application.record_sign_out(session.actor, session.session_id, reason)
        if users or oidc is not None:
            response: Response = kit.redirect("/sign-in", flash="You have signed out")
        else:
            response = RedirectResponse("/", status_code=303)
        forget(response, SESSION_COOKIE)
        return response

    return pages


def _duration(seconds: float) -> str:
    count, unit = (round(seconds / 60), "minute") if seconds >= 60 else (round(seconds), "second")
    return f"{count} {unit}{'' if count == 1 else 's'}"
