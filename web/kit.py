"""What every page module stands on: rendering a page, reading a posted form, knowing who is signed
in, and turning the application's refusals into pages a person can read.

A role's page module (``web/school/``, ``web/cluster/``, ...) builds one ``APIRouter`` with
``kit.router()``. Its routes use ``PageRoute``, so a ``FundingError`` the application raises
becomes a GOV.UK page (404, 403, 409), never the API's problem+json, and a visitor who is not
signed in is sent to sign in. Pages enforce nothing the application does not: they ask it, as the
signed-in person, and show what it answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment

from domain.errors import Conflict, FundingError, InvalidValue, NotFound, NotPermitted
from domain.limits import MAX_AMOUNT_PENCE
from domain.money import Money
from domain.values import Actor, Role
from funding_engine.application import FundingApplication
from web.session import CSRF_COOKIE, CSRF_FIELD, FLASH_COOKIE, SESSION_COOKIE, Signer

MAX_FORM_BYTES = 64 * 1024

ROLE_NAMES = {
    Role.SCHOOL: "School (SENCo)",
    Role.CLUSTER_LEAD: "Cluster lead",
    Role.COUNCIL: "Council",
    Role.FINANCE: "Finance",
}

# Each role's home, and the links in its service navigation (the first is the home).
NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.SCHOOL: [
        ("/school/requests", "Your requests"),
        ("/school/requests/new", "Start a request"),
        ("/school/provision-maps", "Provision map"),
        ("/school/sen-information-report", "SEN Information Report"),
    ],
    Role.CLUSTER_LEAD: [
        ("/cluster/queue", "Work queue"),
        ("/cluster/commissions", "Commissions"),
        ("/cluster/budget", "Budget"),
        ("/cluster/provision-maps", "Provision maps"),
        ("/cluster/needs-overview", "Needs overview"),
        ("/cluster/sen-reports", "SEN reports"),
    ],
    Role.COUNCIL: [
        ("/council/escalations", "Escalations"),
        ("/council/decisions", "Decision log"),
        ("/council/clusters", "Clusters"),
        ("/council/schools-hub", "Schools"),
        ("/council/audit", "Audit"),
        ("/council/policy", "Policy"),
    ],
    Role.FINANCE: [
        ("/finance/balances", "Balances"),
        ("/finance/allocations", "Allocations"),
        ("/finance/payments", "Payments"),
        ("/finance/runs", "Payment runs"),
        ("/finance/reconcile", "Reconciliation"),
        ("/finance/reports", "Reports"),
    ],
}


@dataclass(frozen=True)
class HubLink:
    href: str
    text: str
    description: str


# A menu item that opens a landing page of links (so that the menu fits on one line): the pages it
# links to keep the menu item lit, and sit under it in the breadcrumbs.
HUBS: dict[str, tuple[HubLink, ...]] = {
    "/council/schools-hub": (
        HubLink("/council/schools", "School register", "Every school's URN, name, phase and cluster; import a file."),
        HubLink("/council/provision-maps", "Provision maps", "The schools' published provision maps, by cluster."),
        HubLink(
            "/council/local-offer",
            "Local Offer: SEN Information Reports",
            "Reports missing, overdue for review, assessed with items not met, or reported as a broken link.",
        ),
        HubLink(
            "/council/needs-overview",
            "Needs overview",
            "A cluster's pupils and costs by area of need, tier and provision category, small counts suppressed.",
        ),
    ),
    "/finance/reports": (
        HubLink(
            "/finance/ledger",
            "Finance ledger",
            "Every movement of the year with the balance after it, to read or download for a spreadsheet.",
        ),
        HubLink(
            "/finance/reports/statements",
            "Year-end statements",
            "Each fund's year: carried in, allocated, committed, paid, released, recovered, carried forward, "
            "and whether the year is closed.",
        ),
        HubLink(
            "/finance/reports/commitments-by-age",
            "Commitments by age",
            "Money committed by approved awards and not yet paid, by how long ago each award was approved.",
        ),
        HubLink(
            "/finance/policy",
            "Funding policy",
            "The values the rules decide by: change one from a date, or approve a change waiting for a second person.",
        ),
    ),
}


def menu_item_of(navigation: Sequence[tuple[str, str]], path: str) -> tuple[str, str] | None:
    """The menu item lit on ``path``: the one whose address, or a hub link's, is the longest that leads
    to it (/school/requests/new is "Start a request", not "Your requests" too)."""
    leads = [
        (prefix, item)
        for item in navigation
        for prefix in (item[0], *(link.href for link in HUBS.get(item[0], ())))
        if path == prefix or path.startswith(prefix + "/")
    ]
    return max(leads, key=lambda lead: len(lead[0]))[1] if leads else None


def home_of(actor: Actor) -> str:
    return NAVIGATION[actor.role][0][0]


class SignInNeeded(Exception):
    """Nobody (or an expired session) is signed in: go to the sign-in page, then come back."""


class FormExpired(Exception):
    """The form's CSRF token is missing or does not match the browser's cookie: nothing changed."""


class FormTooLarge(Exception):
    """A posted form is over the size a page accepts: nothing changed (413)."""


class WrongRole(Exception):
    """The page is for another role (403 with a page that says whose it is)."""


class PageRoute(APIRoute):
    """A route whose refusals are pages: sign-in redirects, 403/404/409 pages, never problem+json."""

    kit: Kit  # set on the subclass each Kit makes (``Kit.router``)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        kit = self.kit

        async def guarded(request: Request) -> Response:
            response = await page(request)
            kit.keep_session_alive(request, response)
            return response

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)
            except FormTooLarge:
                return kit.render(request, "errors/too_large.html", status=413, title="The form was too large")
            except FormExpired:
                return kit.render(request, "errors/form_expired.html", status=403, title="The form had expired")
            except WrongRole:
                return kit.render(request, "errors/forbidden.html", status=403, title="You cannot see this page")
            except NotPermitted:
                # A page someone may not see is a page that, for them, does not exist (as the API does).
                return kit.render(request, "errors/not_found.html", status=404, title="Page not found")
            except NotFound:
                return kit.render(request, "errors/not_found.html", status=404, title="Page not found")
            except InvalidValue as error:
                # A value in the address the person cannot have got from a page (a hand-typed year, say).
                return kit.render(
                    request, "errors/invalid.html", status=400, title="That address is not valid", message=str(error)
                )
            except Conflict as error:
                return kit.render(
                    request, "errors/conflict.html", status=409, title="That cannot be done now", message=str(error)
                )

        return guarded


@dataclass
class Form:
    """A posted form's fields (the first value of each; ``lists`` for repeated names)."""

    fields: dict[str, str]
    lists: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default).strip()


class Errors:
    """What a form got wrong, in page order: for the GOV.UK error summary and each field's message."""

    def __init__(self) -> None:
        self.by_field: dict[str, str] = {}

    def add(self, field_name: str, message: str) -> None:
        self.by_field.setdefault(field_name, message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def get(self, field_name: str) -> dict[str, str] | None:
        """The ``errorMessage`` a govuk-frontend-jinja macro takes, or None."""
        message = self.by_field.get(field_name)
        return {"text": message} if message else None

    def summary(self) -> list[dict[str, str]]:
        return [{"text": message, "href": f"#{name}"} for name, message in self.by_field.items()]


_POUNDS = re.compile(r"^£?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")


def parse_pounds(text: str, errors: Errors, field_name: str, label: str, *, allow_zero: bool = False) -> int | None:
    """Pounds as a person types them (``1250``, ``£1,250.50``) to pence; an error message otherwise."""
    cleaned = text.strip()
    if not cleaned:
        errors.add(field_name, f"Enter {label}")
        return None
    if not _POUNDS.match(cleaned):
        errors.add(field_name, f"{label[0].upper()}{label[1:]} must be an amount in pounds, like 1,250.00")
        return None
    try:
        pence = int(Decimal(cleaned.lstrip("£").strip().replace(",", "")) * 100)
    except InvalidOperation:
        errors.add(field_name, f"{label[0].upper()}{label[1:]} must be an amount in pounds, like 1,250.00")
        return None
    if pence == 0 and not allow_zero:
        errors.add(field_name, f"{label[0].upper()}{label[1:]} must be more than £0")
        return None
    if pence > MAX_AMOUNT_PENCE:
        errors.add(field_name, f"{label[0].upper()}{label[1:]} must be at most {money(MAX_AMOUNT_PENCE)}")
        return None
    return pence


def money(amount: int | Money) -> str:
    """£1,234.56 (and -£1,234.56), from pence or the domain's ``Money``."""
    pence = amount.pence if isinstance(amount, Money) else amount
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def application_message(error: FundingError) -> str:
    """The application's refusal as a sentence for the error summary."""
    text = str(error).strip() or "That cannot be done"
    return text[0].upper() + text[1:]


class Kit:
    """Rendering, forms and the signed-in person, shared by every page module."""

    def __init__(
        self,
        application: FundingApplication,
        environment: Environment,
        signer: Signer,
        *,
        secure_cookies: bool,
        dev_sign_in: bool,
        oidc_sign_in: bool = False,
    ) -> None:
        self.application = application
        self.environment = environment
        self.signer = signer
        self.secure_cookies = secure_cookies
        self.dev_sign_in = dev_sign_in
        self.oidc_sign_in = oidc_sign_in
        # What each role's module adds to the request page: extra figures for its actions partial,
        # and the breadcrumbs between the role's home and the request.
        self.request_page_extras: dict[Role, Callable[[Request, Actor, Any], dict[str, Any]]] = {}
        self.request_page_breadcrumbs: dict[Role, Sequence[tuple[str, str]]] = {}

    def router(self) -> APIRouter:
        """A router for a page module: its routes are pages, none of them in the OpenAPI document."""
        route_class = type("KitPageRoute", (PageRoute,), {"kit": self})
        return APIRouter(route_class=route_class, include_in_schema=False)

    # -- who is signed in ------------------------------------------------------------------------

    def actor_or_none(self, request: Request) -> Actor | None:
        session = self.signer.session_from(request.cookies.get(SESSION_COOKIE))
        if session is None or self.signer.ended(session):
            return None
        request.state.live_session = session  # seen now: the page's answer re-issues the cookie
        return session.actor

    def keep_session_alive(self, request: Request, response: Response) -> None:
        """Move the session's last-seen time to now, unless the page itself set or ended the session."""
        session = getattr(request.state, "live_session", None)
        if session is None:
            return
        if any(value.startswith(f"{SESSION_COOKIE}=") for value in response.headers.getlist("set-cookie")):
            return
        cookie, max_age = self.signer.seen_now(session)
        self.set_cookie(response, SESSION_COOKIE, cookie, max_age=max_age)

    def actor(self, request: Request, *roles: Role) -> Actor:
        """The signed-in person; ``SignInNeeded`` if nobody is, ``WrongRole`` if not one of ``roles``."""
        actor = self.actor_or_none(request)
        if actor is None:
            raise SignInNeeded
        if roles and actor.role not in roles:
            raise WrongRole
        return actor

    # -- forms -----------------------------------------------------------------------------------

    async def form(self, request: Request) -> Form:
        """The posted form; ``FormExpired`` (nothing changes) unless its CSRF token matches the cookie."""
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        fields = {key: values[0] for key, values in parsed.items()}
        if not self.signer.csrf_matches(request.cookies.get(CSRF_COOKIE), fields.get(CSRF_FIELD)):
            raise FormExpired
        return Form(fields, parsed)

    def redirect(self, url: str, *, flash: str | None = None) -> RedirectResponse:
        """Post/redirect/get; ``flash`` is shown once, in a success banner, on the next page."""
        response = RedirectResponse(url, status_code=303)
        if flash:
            self.set_cookie(response, FLASH_COOKIE, self.signer.sign("flash", {"text": flash}), max_age=60)
        return response

    # -- pages -----------------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        *,
        title: str,
        status: int = 200,
        breadcrumbs: Sequence[tuple[str, str]] = (),
        errors: Errors | None = None,
        values: Mapping[str, str] | None = None,
        **context: object,
    ) -> HTMLResponse:
        """A page: ``title`` heads the browser tab (``Error: `` first when the form has errors);
        ``breadcrumbs`` lead from the person's home to the page's parent; ``values`` are what the
        person typed, shown back to them."""
        csrf = self.signer.csrf_token(request.cookies.get(CSRF_COOKIE))
        csrf_cookie = None
        if csrf is None:
            csrf, csrf_cookie = self.signer.new_csrf()
        actor = self.actor_or_none(request)
        flash = self.signer.unsign("flash", request.cookies.get(FLASH_COOKIE))
        navigation = NAVIGATION.get(actor.role, []) if actor else []
        path = request.url.path
        active = menu_item_of(navigation, path)
        crumbs: list[tuple[str, str]] = []
        if actor is not None and path != home_of(actor):
            hub = [active] if active is not None and active[0] in HUBS and path != active[0] else []
            crumbs = [(home_of(actor), "Home"), *hub, *breadcrumbs]
        html = self.environment.get_template(template).render(
            csrf_token=csrf,
            actor=actor,
            title=title,
            navigation=navigation,
            active_navigation=active[0] if active else None,
            role_name=ROLE_NAMES[actor.role] if actor else None,
            breadcrumbs=crumbs,
            errors=errors or Errors(),
            values=values or {},
            flash=flash.get("text") if flash else None,
            **context,
        )
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
        if csrf_cookie is not None:
            self.set_cookie(response, CSRF_COOKIE, csrf_cookie, max_age=None)
        if flash is not None:
            response.delete_cookie(FLASH_COOKIE, path="/", secure=self.secure_cookies, httponly=True, samesite="lax")
        return response

    def set_cookie(self, response: Response, name: str, value: str, *, max_age: int | None) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=self.secure_cookies, httponly=True, samesite="lax"
        )
