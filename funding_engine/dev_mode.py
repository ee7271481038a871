"""``serve --dev``: the demo year in its own file, a fresh token secret, demo tokens printed.

Development mode never touches configured settings. Pointed at a real database it would write a
fictional year into that permanent log; with the real token secret its printed 12-hour council
and finance tokens would work in production; with the real audit key it would key a chain of
fiction with the production key. So it refuses to start when any of them is set, and says why.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path

from domain.values import FinancialYear
from funding_engine import demo
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from funding_engine.tokens import issue_token

# Under the working folder and kept between dev runs, so the demo year loads once.
DEV_DATABASE_PATH = "var/dev.sqlite3"
DEV_TOKEN_MINUTES = 720

_PRODUCTION_SETTINGS = {
    "database_url": "FUNDING_ENGINE_DATABASE_URL",
    "jwt_secret": "FUNDING_ENGINE_JWT_SECRET",
    "audit_key": "FUNDING_ENGINE_AUDIT_KEY",
}


def refusal(settings: Settings) -> str | None:
    """Why dev mode may not start with these settings, or None."""
    # model_fields_set holds what the environment set (in any letter case), not the defaults.
    configured = [name for field, name in _PRODUCTION_SETTINGS.items() if field in settings.model_fields_set]
    if not configured:
        return None
    names = " and ".join(configured)
    return (
        f"serve --dev refuses to run with {names} set. Development mode loads a fictional demo year "
        f"into its own file ({DEV_DATABASE_PATH}) and prints 12-hour tokens signed with a throwaway "
        "secret; pointed at a configured database, token secret or audit key it would write fiction "
        "into a permanent log, or print tokens that work in production. For a development run, unset "
        f"{'them' if len(configured) > 1 else 'it'} (e.g. env -u {' -u '.join(configured)} funding-engine "
        "serve --dev); to serve the configured database, leave out --dev."
    )


def start(host: str, port: int) -> None:
    """Load the demo into the dev file (once), make a secret, print tokens; then the caller serves."""
    secret = secrets.token_urlsafe(48)
    # Uvicorn's worker processes build their settings from the environment: they must find the
    # dev store and the dev secret there, not the default store and no secret.
    os.environ["FUNDING_ENGINE_DATABASE_URL"] = f"sqlite:///{Path(DEV_DATABASE_PATH).resolve()}"
    os.environ["FUNDING_ENGINE_JWT_SECRET"] = secret
    settings = Settings()
    minutes = min(DEV_TOKEN_MINUTES, settings.token_max_lifetime_minutes)
    with bootstrap(settings) as app:
        if not demo.is_loaded(app):
            demo.load(app, FinancialYear.containing(date.today()))
    print(
        f"Development mode: the fictional demo data in {DEV_DATABASE_PATH} (delete the file to start "
        f"again) and a throwaway token secret. Tokens (valid {minutes} minutes):"
    )
    for label, actor in demo.demo_actors():
        token = issue_token(
            secret,
            role=actor.role,
            sub=actor.sub,
            school_urn=str(actor.school_urn) if actor.school_urn else None,
            cluster_id=str(actor.cluster_id) if actor.cluster_id else None,
            minutes=minutes,
        )
        print(f"  {label:<32} {token}")
    print(f"Try: curl -H 'Authorization: Bearer <token>' http://{host}:{port}/balances")
    print(f"API docs: http://{host}:{port}/docs\n", flush=True)
