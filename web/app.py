"""Wires the web pages onto the API's FastAPI app: GOV.UK Frontend's files at ``/assets``, the pages
under their own paths, none of them in the OpenAPI document.

The pages call the application layer and its read models directly (never the HTTP API), as the
signed-in person: the same permissions as the API's. Each role's pages are a package of their own
(``school/``, ``cluster/``, ``council/``, ``finance/``); ``requests.py`` is the request page every
role reads; ``sign_in/`` is how people sign in and out; ``kit.py``, ``labels.py``, ``session.py``,
``charts.py`` and ``hubs.py`` (a menu item's landing page of links) are what they share.
Page paths never collide with the API's (``/requests/...`` is the API; ``/funding-requests/...``
the page).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader, select_autoescape

from domain.values import Actor
from funding_engine.application import FundingApplication
from funding_engine.settings import OidcSettings
from web import (
    cluster,
    council,
    finance,
    home,
    hubs,
    local_offer,
    needs_overview,
    policy,
    provision_maps,
    requests,
    school,
    sign_in,
)
from web.kit import Kit, money
from web.labels import install_labels
from web.session import DEFAULT_IDLE_SECONDS, Signer
from web.sign_in.oidc import OidcClient

SERVICE_NAME = "SEND top-up funding"
# npm ci (the Makefile's setup step) installs the pinned package.json here; nothing is copied.
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
GOVUK_DIST = NODE_MODULES / "govuk-frontend" / "dist" / "govuk"
# The stylesheet asks for /assets/fonts/... and /assets/images/...; the script and stylesheet
# themselves sit one folder up in the package.
GOVUK_FILES = ("govuk-frontend.min.css", "govuk-frontend.min.js")
OWN_STATIC = Path(__file__).resolve().parent / "static"

__all__ = ["NODE_MODULES", "assets_installed", "install", "money", "templates"]


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
    environment.filters["day"] = provision_maps.day
    environment.globals["service_name"] = SERVICE_NAME
    install_labels(environment)
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
    oidc: OidcSettings | OidcClient | None = None,
    idle_timeout_seconds: float = DEFAULT_IDLE_SECONDS,
) -> Kit:
    """Add the pages to ``api``. People sign in from ``dev_users`` (development only: the demo
    sign-in page) or else with ``oidc``, the council's OpenID Provider (its settings, or a client
    made from them)."""
    if isinstance(oidc, OidcSettings):
        oidc = OidcClient(oidc)
    if not assets_installed():
        raise RuntimeError(f"GOV.UK Frontend is not installed in {NODE_MODULES}: run `npm ci` (make does)")
    kit = Kit(
        application,
        templates(),
        Signer(secret, idle_seconds=idle_timeout_seconds),
        secure_cookies=secure_cookies,
        dev_sign_in=bool(dev_users),
        oidc_sign_in=oidc is not None and not dev_users,
    )
    for name in GOVUK_FILES:
        api.add_api_route(f"/assets/{name}", _file(GOVUK_DIST / name), include_in_schema=False)
    api.mount("/assets/own", StaticFiles(directory=OWN_STATIC), name="own-assets")
    api.mount("/assets", StaticFiles(directory=GOVUK_DIST / "assets"), name="govuk-assets")

    api.include_router(sign_in.router(kit, list(dev_users or []), None if dev_users else oidc))
    api.include_router(home.router(kit))
    api.include_router(hubs.router(kit))
    api.include_router(requests.router(kit))
    for module in (school, cluster, council, finance, local_offer):
        api.include_router(module.router(kit))
    api.include_router(provision_maps.reader_router(kit))
    api.include_router(needs_overview.router(kit))
    api.include_router(policy.router(kit))
    return kit


def _file(path: Path) -> Callable[[], FileResponse]:
    def serve() -> FileResponse:
        return FileResponse(path)

    return serve
