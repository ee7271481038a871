"""Editing a store the way an intruder with database access would: plain SQL, no application."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from funding_engine.settings import SQLiteStore, parse_database_url

# The library's table names: SQLite's are fixed, PostgreSQL's start with the application's name.
TABLES = {
    "sqlite": {"events": "stored_events", "snapshots": "stored_snapshots", "position": "rowid"},
    "postgres": {
        "events": "fundingengine_events",
        "snapshots": "fundingengine_snapshots",
        "position": "notification_id",
    },
}


class Intruder:
    def __init__(self, database_url: str) -> None:
        self.store = parse_database_url(database_url)
        self.kind = "sqlite" if isinstance(self.store, SQLiteStore) else "postgres"
        self.tables = TABLES[self.kind]

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor taking ``?`` placeholders and ``{events}``-style table names; commits at the end."""
        if isinstance(self.store, SQLiteStore):
            connection = sqlite3.connect(self.store.path, timeout=30)
            try:
                with connection:
                    yield _Cursor(connection.cursor(), self.tables, "?")
            finally:
                connection.close()
            return
        import psycopg

        options = f"-c search_path={self.store.schema}"
        with psycopg.connect(self.store.conninfo(), options=options) as pg_connection, pg_connection.cursor() as cursor:
            yield _Cursor(cursor, self.tables, "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def id_param(self, aggregate_id: UUID) -> Any:
        return aggregate_id.hex if self.kind == "sqlite" else aggregate_id


class _Cursor:
    def __init__(self, cursor: Any, tables: dict[str, str], placeholder: str) -> None:
        self._cursor = cursor
        self._tables = tables
        self._placeholder = placeholder

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(sql.format(**self._tables).replace("?", self._placeholder), tuple(params))

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)
