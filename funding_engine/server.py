"""The HTTP server's entry point for uvicorn: the engine, its API and its web pages, built from the environment
once per worker process (``funding-engine serve`` starts uvicorn with it)."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from api.app import create_app
from funding_engine import demo, dev_mode
from funding_engine.bootstrap import bootstrap, start_anchoring
from funding_engine.settings import OidcSettings, Settings
from web.app import NODE_MODULES, assets_installed
from web.app import install as install_web

log = logging.getLogger("funding_engine.api")


def create_from_environment() -> FastAPI:
    """``uvicorn --factory funding_engine.server:create_from_environment``; every worker process calls it."""
    settings = Settings()
    if settings.jwt_secret is None:
        raise SystemExit("FUNDING_ENGINE_JWT_SECRET is not set: refusing to serve without a token secret")
    application = bootstrap(settings)
    start_anchoring(application, settings)
    api = create_app(
        application,
        jwt_secret=settings.jwt_secret.get_secret_value(),
        token_max_lifetime_minutes=settings.token_max_lifetime_minutes,
        close_on_shutdown=True,
    )
    development = dev_mode.serving(settings)
    if assets_installed():
        oidc = None if development else _oidc_sign_in(settings)
        install_web(
            api,
            application,
            secret=settings.jwt_secret.get_secret_value(),
            dev_users=demo.demo_actors() if development else None,
            secure_cookies=not development,
            oidc=oidc,
            idle_timeout_seconds=settings.session_idle_minutes * 60,
        )
        if development:
            log.info("web sign-in: the demo users (development mode)")
        elif oidc is not None:
            log.info("web sign-in: OpenID Connect with %s", oidc.issuer)
        else:
            log.warning("web sign-in off: set FUNDING_ENGINE_OIDC_ISSUER and its companions (see the README)")
    else:
        # An installation without the browser assets (a wheel, say) still serves the API.
        log.warning("web pages off: GOV.UK Frontend is not installed in %s (run `npm ci`)", NODE_MODULES)
    log.info("serving %s", settings.store.describe())
    return api


def _oidc_sign_in(settings: Settings) -> OidcSettings | None:
    try:
        return settings.oidc
    except ValueError as error:  # the client secret's file cannot be read
        raise SystemExit(str(error)) from None
