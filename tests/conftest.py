"""Store fixtures: every integration test runs once on SQLite (a temp file) and once on PostgreSQL.

PostgreSQL tests read ``FUNDING_ENGINE_TEST_POSTGRES_URL`` (``.ci/run`` sets it to a fresh database)
and get a fresh schema each. Outside CI they are skipped, with the reason in the summary, only when
that variable is unset; in CI (``CI=true``) an unset variable is an error, so they can never
silently skip there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import PostgresStore, Settings, parse_database_url
from tests.demo_copies import DemoCopies

POSTGRES_URL_VARIABLE = "FUNDING_ENGINE_TEST_POSTGRES_URL"
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{POSTGRES_URL_VARIABLE} must be set in CI: PostgreSQL tests may not skip there")
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set: PostgreSQL tests skipped")
    return url


def _drop_schema(base_url: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    store = parse_database_url(base_url)
    assert isinstance(store, PostgresStore)
    with psycopg.connect(store.conninfo(), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty store of the parametrised kind (``store`` param, default SQLite)."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'funding.sqlite3'}"
        return
    base = postgres_base_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}schema={schema}"
    _drop_schema(base, schema)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Any test that asks for the store (directly or through `app`) runs on both stores.
    if "database_url" in metafunc.fixturenames and not hasattr(metafunc.function, "sqlite_only"):
        metafunc.parametrize("database_url", STORES, indirect=True)


@pytest.fixture
def make_app(database_url: str) -> Iterator[Callable[[], FundingApplication]]:
    """Builds more applications on the same store: a second process's view, or a cold reload."""
    apps: list[FundingApplication] = []

    def make() -> FundingApplication:
        app = bootstrap(Settings(database_url=database_url))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app: Callable[[], FundingApplication]) -> FundingApplication:
    return make_app()


@pytest.fixture(scope="session")
def demo_copies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCopies]:
    """This worker's loaded demo years, one per store (see tests/demo_copies.py)."""
    copies = DemoCopies(tmp_path_factory.mktemp("demo-templates"))
    try:
        yield copies
    finally:
        copies.close()


@pytest.fixture
def demo_app(
    database_url: str, make_app: Callable[[], FundingApplication], demo_copies: DemoCopies
) -> FundingApplication:
    """An application on the test's own store holding the demo year (``DEV_YEAR``) as ``demo.load`` leaves it.

    A copy of this worker's loaded demo, not a load of its own: the same events and read models for a
    fraction of the time. Tests of ``demo.load`` itself load it for real (tests/integration/test_demo.py).
    """
    demo_copies.copy_into(database_url)
    return make_app()
