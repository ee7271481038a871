"""The composition root: builds the application from settings. Nothing connects before this runs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from funding_engine.application import FundingApplication
from funding_engine.settings import PostgresStore, Settings, SQLiteStore, Store, ensure_sqlite_file
from projections.database import advisory_lock_key


def bootstrap(settings: Settings | None = None, *, env: Mapping[str, str] | None = None) -> FundingApplication:
    """The application on the configured store, whole: event log, read side and idempotency store.

    ``env`` overrides the eventsourcing library's settings, e.g. ``{"AGGREGATE_CACHE_MAXSIZE": ""}``
    for an application that reloads every aggregate (tests and benchmarks).
    """
    settings = settings or Settings()
    store = settings.store
    if isinstance(store, SQLiteStore):
        ensure_sqlite_file(store.path)
        _ensure_sqlite_wal(store.path)
    with _creating_tables(store):
        if isinstance(store, PostgresStore) and store.schema != "public":
            _ensure_postgres_schema(store)
        return FundingApplication(settings, env)


def start_anchoring(app: FundingApplication, settings: Settings) -> None:
    """In a long-running process (the server, the projection worker): anchor the chain regularly."""
    if settings.audit_anchor_dir is not None:
        app.read_side.start_anchoring(settings.audit_anchor_dir, settings.audit_anchor_interval_minutes * 60)


@contextmanager
def _creating_tables(store: Store) -> Iterator[None]:
    """One process at a time creates the tables (e.g. ``serve --workers 4`` on a new database).

    PostgreSQL's ``CREATE SCHEMA/TABLE IF NOT EXISTS`` is not safe against a concurrent create of the
    same name: the loser fails with a unique violation (``pg_namespace``, ``pg_type``). SQLite
    serialises this itself.
    """
    if not isinstance(store, PostgresStore):
        yield
        return
    import psycopg

    with psycopg.connect(store.conninfo(), autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (advisory_lock_key(store.schema, "create-tables"),))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (advisory_lock_key(store.schema, "create-tables"),))


def _ensure_sqlite_wal(path: str, *, timeout: float = 30.0) -> None:
    """Put a new file in WAL mode before the library's connection pool opens it.

    The library switches each new connection to WAL, and on a new file that switch needs the
    file to itself: SQLite answers "database is locked" at once, without waiting out the busy
    timeout, when another process (``serve --workers N``) is making the same switch. The mode
    is stored in the file, so once one process has switched it, the others find it done.
    """
    if path == ":memory:" or path.startswith("file:"):
        return
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        connection = sqlite3.connect(path, timeout=timeout)
        try:
            # The pragma answers with the mode the file is in after it, which is the old one when
            # the switch could not be made.
            if str(connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower() == "wal":
                return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
        finally:
            connection.close()
        if time.monotonic() >= deadline:
            raise sqlite3.OperationalError(f"could not put {path} in WAL mode within {timeout:g}s: it stayed locked")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _ensure_postgres_schema(store: PostgresStore) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(store.conninfo(), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(store.schema)))
