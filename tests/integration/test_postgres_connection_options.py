"""libpq options in a PostgreSQL URL reach every connection the engine opens, on a real server.

Managed PostgreSQL services are reached with ``?sslmode=...&sslrootcert=...``; the local server
has no certificate, so ``sslmode=disable`` and ``prefer`` stand in for them here. The options are
seen from the server's side (``pg_stat_activity``) and from inside each kind of connection: the
event log's (the library's pool) and the read models' (the projections' pool).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from domain.values import FinancialYear
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import PostgresStore, Settings, parse_database_url
from tests.conftest import _drop_schema, postgres_base_url

pytestmark = pytest.mark.postgres

YEAR = FinancialYear.parse("2026-27")


@pytest.fixture(params=["disable", "prefer"])
def optioned(request: pytest.FixtureRequest) -> Iterator[tuple[FundingApplication, str]]:
    """An application on a fresh schema, reached through a URL with libpq options: (app, application_name)."""
    base = postgres_base_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    name = f"funding-engine-test-{uuid.uuid4().hex[:8]}"
    url = (
        f"{base}{'&' if '?' in base else '?'}schema={schema}&sslmode={request.param}&application_name={name}"
        "&connect_timeout=5&options=-c%20statement_timeout%3D4321"
    )
    try:
        with bootstrap(Settings(database_url=url)) as app:
            demo.load(app, YEAR, say=lambda _: None)
            yield app, name
    finally:
        _drop_schema(base, schema)


def server_view(name: str) -> list[tuple[str, bool]]:
    """(state, ssl) of every connection the server has open under ``application_name`` ``name``."""
    import psycopg

    store = parse_database_url(postgres_base_url())
    assert isinstance(store, PostgresStore)
    with psycopg.connect(store.conninfo(), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT a.state, coalesce(s.ssl, false) FROM pg_stat_activity a LEFT JOIN pg_stat_ssl s USING (pid) "
            "WHERE a.application_name = %s",
            (name,),
        ).fetchall()
    return [(str(state), bool(ssl)) for state, ssl in rows]


def test_the_event_logs_connections_carry_the_urls_options(optioned):
    app, name = optioned
    with app.recorder.datastore.get_connection() as connection:
        settings = connection.execute(
            "SELECT current_setting('application_name') AS name, current_setting('statement_timeout') AS timeout"
        ).fetchone()
    assert settings == {"name": name, "timeout": "4321ms"}


def test_the_read_models_connections_carry_the_urls_options_and_their_search_path(optioned):
    app, name = optioned
    assert app.read_side is not None
    with app.read_side.database.reading() as cursor:
        cursor.execute(
            "SELECT current_setting('application_name'), current_setting('statement_timeout'), "
            "current_setting('search_path')"
        )
        application_name, statement_timeout, search_path = cursor.fetchone()
    assert (application_name, statement_timeout) == (name, "4321ms")
    assert search_path.startswith("test_")


def test_the_server_sees_every_connection_under_the_urls_application_name(optioned):
    app, name = optioned
    assert app.read_models.balances(demo.FINANCE, YEAR), "the read models answer"
    connections = server_view(name)
    # The library's pool and the read models' pool, at least one each.
    assert len(connections) >= 2, connections
    assert not any(ssl for _, ssl in connections), "the local server has no certificate"
