"""``serve --dev``: the demo year in its own file, a fresh token secret, demo tokens printed.

Development mode never touches configured settings. Pointed at a real database it would write a
fictional year into that permanent log; with the real token secret its printed 12-hour council
and finance tokens would work in production; with the real audit key it would key a chain of
fiction with the production key. So it refuses to start when any of them is set, and says why.

Its throwaway secret is also written beside its database, readable by its owner only, so that
``funding-engine token`` can sign tokens the development server accepts (the README's first
session does this). ``token`` uses it only while no token secret and no database are configured:
a token signed with it is refused by any server that has a secret of its own.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from domain.values import FinancialYear
from funding_engine import demo
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from funding_engine.tokens import issue_token

# In the data folder and kept between dev runs, so the demo year loads once.
DEV_DATABASE_FILE = "dev.sqlite3"
DEV_SECRET_FILE = "dev-token-secret"
# A fixed year, so the README's session (which names it) works whatever today's date is.
DEV_YEAR = FinancialYear.parse("2026-27")
DEV_TOKEN_MINUTES = 720
# Set by ``start`` for uvicorn's worker processes: the web pages offer the demo users' sign-in.
DEV_SERVER_MARKER = "FUNDING_ENGINE_DEV_SERVER"

_PRODUCTION_SETTINGS = {
    "database_url": "FUNDING_ENGINE_DATABASE_URL",
    "jwt_secret": "FUNDING_ENGINE_JWT_SECRET",
    "audit_key": "FUNDING_ENGINE_AUDIT_KEY",
}


def dev_database(settings: Settings) -> Path:
    return settings.data_folder / DEV_DATABASE_FILE


def refusal(settings: Settings) -> str | None:
    """Why dev mode may not start with these settings, or None."""
    # model_fields_set holds what the environment set (in any letter case), not the defaults.
    configured = [name for field, name in _PRODUCTION_SETTINGS.items() if field in settings.model_fields_set]
    if not configured:
        return None
    names = " and ".join(configured)
    return (
        f"serve --dev refuses to run with {names} set. Development mode loads a fictional demo year "
        f"into its own file ({dev_database(settings)}) and prints 12-hour tokens signed with a throwaway "
        "secret; pointed at a configured database, token secret or audit key it would write fiction "
        "into a permanent log, or print tokens that work in production. For a development run, unset "
        f"{'them' if len(configured) > 1 else 'it'} (e.g. env -u {' -u '.join(configured)} funding-engine "
        "serve --dev); to serve the configured database, leave out --dev."
    )


def serving(settings: Settings) -> bool:
    """Is this process the development server (``start`` ran, and the store is its own file)?"""
    own_store = settings.database_url == f"sqlite:///{dev_database(settings)}"
    return os.environ.get(DEV_SERVER_MARKER) == "1" and own_store


def secret_for_tokens(settings: Settings) -> tuple[str, Path] | None:
    """The development server's secret and its file, for ``token`` when nothing is configured."""
    if {"jwt_secret", "database_url"} & settings.model_fields_set:
        return None
    file = settings.data_folder / DEV_SECRET_FILE
    if not (file.is_file() and dev_database(settings).is_file()):
        return None
    secret = file.read_text(encoding="utf-8").strip()
    return (secret, file) if secret else None


def start(settings: Settings, host: str, port: int) -> None:
    """Load the demo into the dev file (once), make a secret, print tokens; then the caller serves."""
    database = dev_database(settings)
    secret = secrets.token_urlsafe(48)
    _write_privately(settings.data_folder / DEV_SECRET_FILE, secret)
    # Uvicorn's worker processes build their settings from the environment: they must find the
    # dev store and the dev secret there, not the default store and no secret.
    os.environ["FUNDING_ENGINE_DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["FUNDING_ENGINE_JWT_SECRET"] = secret
    os.environ[DEV_SERVER_MARKER] = "1"
    dev_settings = Settings()
    minutes = min(DEV_TOKEN_MINUTES, dev_settings.token_max_lifetime_minutes)
    with bootstrap(dev_settings) as app:
        if not demo.is_loaded(app):
            demo.load(app, DEV_YEAR)
    print(
        f"Development mode: the fictional demo year {DEV_YEAR} in {database} (delete the file to start "
        "again) and a throwaway token secret, which `funding-engine token` signs with too. "
        f"Tokens (valid {minutes} minutes):"
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
    print(f"API docs: http://{host}:{port}/docs")
    print(f"Web pages (sign in as a demo user): http://{host}:{port}/\n", flush=True)


def _write_privately(file: Path, text: str) -> None:
    """Replace ``file`` with ``text``, readable by its owner only from the first byte."""
    file.parent.mkdir(parents=True, exist_ok=True)
    temporary = file.with_name(f".{file.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    os.replace(temporary, file)
