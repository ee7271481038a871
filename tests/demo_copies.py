"""Copies of the loaded demo year: each test that needs the demo gets its own, without loading it.

Loading the demo (``funding_engine.demo.load``) runs a few hundred commands and their read models;
the web and browser tests need it on a fresh store in every test, on both stores. So each pytest
worker loads it once per store into a template, and every test gets a copy of the template on its
own store (its own SQLite file, or its own PostgreSQL schema), which it may change as it likes.

- SQLite: the template is a file, closed once loaded; a copy is made with sqlite3's backup API.
- PostgreSQL: the template is a schema in the test database. A copy is the application's own
  tables, made by ``bootstrap`` on the test's schema as for any test, then filled with every
  table's rows from the template, with the event log's sequence moved on to match. Copying rows
  (a few hundred) costs far less than creating a database from a template, and leaves no extra
  database to drop; the test's schema is dropped as always (``tests/conftest.py``), and the
  templates at the end of the session.

Only the database is copied, and everything the engine keeps lives there (events, read models,
tracking, idempotency records, the audit chain). The application is built afresh on the copy, as a
restarted process would be: its aggregate cache and its in-memory rate-limit counts start empty.

The demo dates some of what it records from today (its SEN Information Reports, its remittance),
and tests move "today" (``FundingApplication.today``) to load it as of another day; so a template
is kept per store and per day, and one loaded as of another day is never handed out.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from funding_engine.bootstrap import bootstrap
from funding_engine.dev_mode import DEV_YEAR
from funding_engine.settings import PostgresStore, Settings, SQLiteStore, parse_database_url

if TYPE_CHECKING:
    import psycopg

TEMPLATE_PREFIX = "demo_template_"


@dataclass
class DemoCopies:
    """One worker's templates of the loaded demo year, and copies of them onto tests' stores."""

    folder: Path  # where the SQLite templates live
    templates: dict[tuple[str, date, date], str] = field(default_factory=dict)  # (store, day, day) -> URL
    loads: int = 0  # how many times the demo was really loaded (a test checks the cache is used)

    def copy_into(self, url: str) -> None:
        """Put a copy of the loaded demo on the empty store at ``url`` (a test's own, not yet opened)."""
        store = parse_database_url(url)
        template = self._template_for(url, store)
        if isinstance(store, SQLiteStore):
            _copy_sqlite(parse_database_url(template), store)
        else:
            assert isinstance(store, PostgresStore)
            _copy_postgres(url, store, template)

    def close(self) -> None:
        """Drop the PostgreSQL templates (SQLite's are in pytest's temporary folder)."""
        for template in self.templates.values():
            _drop_template(template)
        self.templates.clear()

    def _template_for(self, url: str, store: SQLiteStore | PostgresStore) -> str:
        # The day the demo is dated from (tests may move it) and England's date, which read models
        # compare event times with (the decision log's "from" and "to" filters).
        where = "sqlite" if isinstance(store, SQLiteStore) else f"{store.host}:{store.port}/{store.dbname}"
        key = (where, FundingApplication.today(), today_in_england())
        if key not in self.templates:
            name = f"{TEMPLATE_PREFIX}{uuid.uuid4().hex[:12]}"
            if isinstance(store, SQLiteStore):
                template = f"sqlite:///{self.folder / (name + '.sqlite3')}"
            else:
                template = _with_schema(url, name)
            try:
                self._load(template)
            except BaseException:
                _drop_template(template)  # half a demo is never handed out, nor left behind
                raise
            self.templates[key] = template
        return self.templates[key]

    def _load(self, url: str) -> None:
        app = bootstrap(Settings(database_url=url))
        try:
            demo.load(app, DEV_YEAR, say=lambda _: None)
        finally:
            # Closed, so a SQLite template is one file with nothing in its write-ahead log.
            app.close()
        self.loads += 1


def _drop_template(url: str) -> None:
    store = parse_database_url(url)
    if isinstance(store, PostgresStore):
        from tests.conftest import _drop_schema

        _drop_schema(url, store.schema)


def _with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name != "schema"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("schema", schema)])))


def _copy_sqlite(template: SQLiteStore | PostgresStore, store: SQLiteStore) -> None:
    assert isinstance(template, SQLiteStore)
    target = Path(store.path)
    assert not target.exists(), f"{target} already exists: the demo is copied onto a new store only"
    # The backup API copies a consistent database whatever is in a write-ahead log; bootstrap puts
    # the copy in WAL mode as it does any new file.
    source = sqlite3.connect(f"file:{template.path}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()


def _copy_postgres(url: str, store: PostgresStore, template_url: str) -> None:
    import psycopg
    from psycopg import sql

    template = parse_database_url(template_url)
    assert isinstance(template, PostgresStore)
    # The tables, indexes and functions exactly as the engine makes them, on the test's schema.
    bootstrap(Settings(database_url=url)).close()
    with psycopg.connect(store.conninfo()) as connection, connection.transaction():
        tables = {schema: _tables(connection, schema) for schema in (template.schema, store.schema)}
        assert tables[template.schema] == tables[store.schema], "the demo's template and a new store differ"
        # A new store is not quite empty (bootstrap registers the projections at position 0): the
        # template's rows replace whatever is there.
        for table in tables[template.schema]:
            # DELETE, not TRUNCATE: on a table of a few rows it is the cheaper by far.
            connection.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(store.schema, table)))
            connection.execute(
                sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
                    sql.Identifier(store.schema, table), sql.Identifier(template.schema, table)
                )
            )
        sequences = connection.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s AND last_value IS NOT NULL",
            (template.schema,),
        ).fetchall()
        for sequence, last_value in sequences:
            connection.execute(
                "SELECT setval(%s, %s)", (sql.Identifier(store.schema, sequence).as_string(connection), last_value)
            )


def _tables(connection: psycopg.Connection[Any], schema: str) -> list[str]:
    rows = connection.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (schema,)
    ).fetchall()
    return [row[0] for row in rows]
