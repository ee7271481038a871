"""Wires the web pages onto the API's FastAPI app: GOV.UK Frontend's files at ``/assets``, the pages
under their own paths, none of them in the OpenAPI document.

The pages call the application layer and its read models directly (never the HTTP API), as the
signed-in person: the same permissions as the API's. Sign-in is the development server's list of
demo users for now; outside development ``/sign-in`` does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader, select_autoescape

from domain.values import Actor, Role
from funding_engine.application import FundingApplication
from web.session import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, SESSION_SECONDS, Signer

SERVICE_NAME = "SEND top-up funding"
# npm ci (the Makefile's setup step) installs the pinned package.json here; nothing is copied.
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
GOVUK_DIST = NODE_MODULES / "govuk-frontend" / "dist" / "govuk"
# The stylesheet asks for /assets/fonts/... and /assets/images/...; the script and stylesheet
# themselves sit one folder up in the package.
GOVUK_FILES = ("govuk-frontend.min.css", "govuk-frontend.min.js")
MAX_FORM_BYTES = 4096

ROLE_NAMES = {
    Role.SCHOOL: "School (SENCo)",
    Role.CLUSTER_LEAD: "Cluster lead",
    Role.COUNCIL: "Council",
    Role.FINANCE: "Finance",
}
STATUS_TAGS = {
    # status: (label, GOV.UK tag colour class or "" for the default)
    "submitted": ("Submitted", "govuk-tag--blue"),
    "evidenced": ("Evidence added", "govuk-tag--light-blue"),
    "information_requested": ("Information requested", "govuk-tag--yellow"),
    "cluster_approved": ("Approved by cluster", "govuk-tag--green"),
    "cluster_declined": ("Declined by cluster", "govuk-tag--red"),
    "escalated": ("Escalated to council", "govuk-tag--purple"),
    "council_approved": ("Approved by council", "govuk-tag--green"),
    "council_declined": ("Declined by council", "govuk-tag--red"),
    "withdrawn": ("Withdrawn", "govuk-tag--grey"),
    "paid": ("Paid", "govuk-tag--teal"),
}


def money(pence: int) -> str:
    """£1,234.56 (and -£1,234.56)."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def templates() -> Environment:
    environment = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("web", "templates"),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}),
            ]
        ),
        autoescape=select_autoescape(("html",)),
    )
    environment.filters["money"] = money
    environment.globals["service_name"] = SERVICE_NAME
    return environment


def assets_installed() -> bool:
    """Is GOV.UK Frontend installed (``npm ci``)? A server without it serves the API alone."""
    return (GOVUK_DIST / GOVUK_FILES[0]).is_file()


def install(
    api: FastAPI,
    application: FundingApplication,
    *,
    secret: str,
    dev_users: Sequence[tuple[str, Actor]] | None = None,
    secure_cookies: bool = True,
) -> None:
    """Add the pages to ``api``; ``dev_users`` (development only) turns on the demo sign-in page."""
    if not assets_installed():
        raise RuntimeError(f"GOV.UK Frontend is not installed in {NODE_MODULES}: run `npm ci` (make does)")
    signer = Signer(secret)
    environment = templates()
    users = list(dev_users or [])

    for name in GOVUK_FILES:
        api.add_api_route(f"/assets/{name}", _file(GOVUK_DIST / name), include_in_schema=False)
    api.mount("/assets", StaticFiles(directory=GOVUK_DIST / "assets"), name="govuk-assets")

    def page(request: Request, template: str, status: int = 200, **context: object) -> HTMLResponse:
        csrf = signer.csrf_token(request.cookies.get(CSRF_COOKIE))
        cookie = None
        if csrf is None:
            csrf, cookie = signer.new_csrf()
        actor = signer.actor_from(request.cookies.get(SESSION_COOKIE))
        html = environment.get_template(template).render(csrf_token=csrf, actor=actor, **context)
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
        if cookie is not None:
            _set_cookie(response, CSRF_COOKIE, cookie, secure_cookies, max_age=None)
        return response

    async def form(request: Request) -> dict[str, str] | None:
        """The posted form, or None when its CSRF token does not match the browser's cookie."""
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return None
        fields = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        if not signer.csrf_matches(request.cookies.get(CSRF_COOKIE), fields.get(CSRF_FIELD)):
            return None
        return fields

    def refused(request: Request) -> HTMLResponse:
        return page(request, "forbidden.html", status=403, title="The form had expired")

    @api.get("/", include_in_schema=False, response_model=None)
    def home(request: Request) -> Response:
        actor = signer.actor_from(request.cookies.get(SESSION_COOKIE))
        if actor is None:
            if users:
                return RedirectResponse("/sign-in", status_code=303)
            return page(request, "no_sign_in.html", status=401, title="Sign-in is not available")
        requests = []
        if actor.role is Role.SCHOOL:
            requests = application.read_models.list_requests(actor).items
        return page(
            request,
            "home.html",
            title="Your requests" if actor.role is Role.SCHOOL else "Home",
            role_name=ROLE_NAMES[actor.role],
            requests=requests,
            tags=STATUS_TAGS,
        )

    @api.get("/sign-in", include_in_schema=False)
    def sign_in_page(request: Request) -> Response:
        if not users:
            return page(request, "not_found.html", status=404, title="Page not found")
        return page(request, "sign_in.html", title="Sign in", users=list(enumerate(users)))

    @api.post("/sign-in", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        if not users:
            return page(request, "not_found.html", status=404, title="Page not found")
        fields = await form(request)
        if fields is None:
            return refused(request)
        chosen = fields.get("user", "")
        if not chosen.isdigit() or int(chosen) >= len(users):
            return page(request, "sign_in.html", status=400, title="Sign in", users=list(enumerate(users)))
        response = RedirectResponse("/", status_code=303)
        _set_cookie(
            response, SESSION_COOKIE, signer.session_for(users[int(chosen)][1]), secure_cookies, SESSION_SECONDS
        )
        return response

    @api.get("/sign-out", include_in_schema=False)
    def sign_out_page(request: Request) -> Response:
        return page(request, "sign_out.html", title="Sign out")

    @api.post("/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        if await form(request) is None:
            return refused(request)
        response = RedirectResponse("/sign-in" if users else "/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=secure_cookies, httponly=True, samesite="lax")
        return response


def _file(path: Path) -> Callable[[], FileResponse]:
    def serve() -> FileResponse:
        return FileResponse(path)

    return serve


def _set_cookie(response: Response, name: str, value: str, secure: bool, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax")
