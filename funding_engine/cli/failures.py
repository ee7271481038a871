"""What the command line checks about its database before acting, and how it reports a failure.

Every failure a person can act on ends as one line on standard error and a non-zero exit status,
never a traceback: a database that is down or missing, a file that cannot be written, an output
pipe closed early (``| head``), Ctrl-C. A command that only reads never creates a database: one
that is not there is named, so a wrong folder or URL is not mistaken for an empty year.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import psycopg
from eventsourcing.persistence import PersistenceError
from psycopg.conninfo import make_conninfo

from funding_engine.settings import PostgresStore, SQLiteStore, Store, ensure_sqlite_file

FAILED = 1
# As a shell reports a program stopped by the signal: 128 + SIGINT, 128 + SIGPIPE.
INTERRUPTED = 130
BROKEN_PIPE = 141
# How long a check waits for PostgreSQL when the URL does not say (connect_timeout).
CONNECT_TIMEOUT_SECONDS = 10

DATABASE_ERRORS = (psycopg.Error, sqlite3.Error, PersistenceError)


class NoDatabase(Exception):
    """A command that only reads found no database where the settings point."""


def require_existing_database(store: Store, hint: str = "") -> None:
    """Raise ``NoDatabase`` unless ``store`` holds an event log (creating nothing); ``hint`` ends the line."""
    if isinstance(store, SQLiteStore):
        if store.path == ":memory:" or store.path.startswith("file:") or Path(store.path).exists():
            return
        raise NoDatabase(
            f"there is no database at {os.path.abspath(store.path)}: nothing has been recorded there. "
            "Create one with `funding-engine demo` or `funding-engine serve`, or point "
            f"FUNDING_ENGINE_DATABASE_URL (or FUNDING_ENGINE_DATA_DIR) at the one you meant{hint}"
        )
    with _connect(store) as connection:
        row = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (store.schema,)
        ).fetchone()
    if row is None or row[0] == 0:
        raise NoDatabase(
            f"there is no event log in {store.describe()}: nothing has been recorded there. "
            "Create one with `funding-engine serve` (or `demo`), or point FUNDING_ENGINE_DATABASE_URL "
            "at the one you meant"
        )


def probe_database(store: Store) -> None:
    """Open the database once before serving: one that is down or unreadable is then one line
    here, not a traceback from every server process."""
    if isinstance(store, PostgresStore):
        with _connect(store):
            return
    ensure_sqlite_file(store.path)
    connection = sqlite3.connect(store.path)
    try:
        connection.execute("PRAGMA schema_version").fetchone()  # "file is not a database"
    finally:
        connection.close()


def _connect(store: PostgresStore) -> psycopg.Connection[tuple[object, ...]]:
    conninfo = store.conninfo()
    if "connect_timeout" not in dict(store.options):
        conninfo = make_conninfo(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    return psycopg.connect(conninfo, autocommit=True)


def describe_failure(error: BaseException, store: Store | None) -> tuple[str, int] | None:
    """The line to print and the exit status for a failure of the world, or None for a bug."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", INTERRUPTED
    if isinstance(error, BrokenPipeError):
        _discard_standard_output()
        return "the output was closed before everything was written (broken pipe)", BROKEN_PIPE
    if isinstance(error, NoDatabase):
        return str(error), FAILED
    if isinstance(error, DATABASE_ERRORS):
        where = store.describe() if store is not None else "the database"
        return f"cannot use {where}: {one_line(error)}", FAILED
    if isinstance(error, OSError):
        if error.filename is not None:
            return f"{error.filename}: {error.strerror or one_line(error)}", FAILED
        return one_line(error), FAILED
    return None


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _discard_standard_output() -> None:
    # Python flushes standard output once more as it exits, which would fail the same way and
    # print a second complaint of its own.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
