"""Where read models live: tables in the same database as the event log, on SQLite or PostgreSQL.

SQL in this package is written once, with ``?`` placeholders and syntax both stores accept
(``ON CONFLICT ... DO UPDATE``, ``BIGINT``, ``TEXT``); the PostgreSQL side rewrites the
placeholders. Every write to a read model happens inside ``transaction()``, together with the
projection's tracking row, so rows and position commit or roll back as one.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from typing import Any, Protocol


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        """One statement run once per parameter row (nothing to fetch)."""

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Plain INSERTs of many rows (no ``ON CONFLICT``): a duplicate key fails as an INSERT would.

        On PostgreSQL, outside ``pipeline()`` and given enough rows, this is a ``COPY``: several
        times cheaper per row than any INSERT, but two round trips, and impossible in a pipeline.
        """

    def pipeline(self) -> AbstractContextManager[Any]: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class ProjectionDatabase(ABC):
    """A handle on the read-model tables; cheap to share between threads."""

    kind: str

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """One transaction: commits when the block ends, rolls back if it raises."""

    @abstractmethod
    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        """A consistent read (one snapshot of the tables)."""

    @abstractmethod
    def close(self) -> None: ...


class SQLiteProjectionDatabase(ProjectionDatabase):
    kind = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        # One connection per thread: sqlite3 connections must not be shared mid-transaction.
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=30000")
            # Read models are derived: in WAL mode NORMAL keeps each commit atomic and consistent
            # and skips the fsync per commit. A power cut can lose the last few catch-ups, rows and
            # position together, and the projector simply applies those events again. The event
            # log's own connections keep the library's FULL durability.
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
            with self._guard:
                self._connections.append(connection)
        return connection

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        connection = self._connection()
        cursor = _SQLiteCursor(connection.cursor())
        # IMMEDIATE takes the write lock up front, so two catch-ups never deadlock upgrading a read.
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            connection.rollback()
            raise
        else:
            connection.commit()
        finally:
            cursor.close()

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        connection = self._connection()
        cursor = _SQLiteCursor(connection.cursor())
        cursor.execute("BEGIN")
        try:
            yield cursor
        finally:
            connection.rollback()
            cursor.close()

    def close(self) -> None:
        with self._guard:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


class _SQLiteCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql, tuple(params))

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        self._cursor.executemany(sql, params)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(_insert_statement(table, tuple(columns)), rows)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def pipeline(self) -> AbstractContextManager[Any]:
        return nullcontext()

    def close(self) -> None:
        self._cursor.close()


@lru_cache(maxsize=64)
def _insert_statement(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=1024)
def _postgres_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` escaped); statements repeat, so cached.

    The cache is bounded: statements built with a variable number of placeholders only pass through.
    """
    return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))


# Fewer rows than this are cheaper as pipelined INSERTs than as a COPY and its two round trips.
COPY_FROM_ROWS = 16


class _PostgresCursor:
    """Adapts psycopg's cursor to the ``?`` placeholder style used throughout this package."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._pipelined = False

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(_postgres_sql(sql), tuple(params))

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        self._cursor.executemany(_postgres_sql(sql), params)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self._pipelined or len(rows) < COPY_FROM_ROWS:
            self.executemany(_insert_statement(table, tuple(columns)), rows)
            return
        with self._cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    @contextmanager
    def pipeline(self) -> Iterator[Any]:
        # Statements are sent without waiting for each answer; a fetch is the only sync point.
        # Tracked so that insert_rows does not attempt a COPY here.
        outer = self._pipelined
        with self._cursor.connection.pipeline() as pipeline:
            self._pipelined = True
            try:
                yield pipeline
            finally:
                self._pipelined = outer


def _with_search_path(conninfo: str, schema: str) -> str:
    """libpq ``options`` that set the search path, keeping any the database URL gave."""
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(conninfo).get("options")
    return f"{given} -c search_path={schema}" if given else f"-c search_path={schema}"


class PostgresProjectionDatabase(ProjectionDatabase):
    kind = "postgres"

    def __init__(self, conninfo: str, schema: str, *, pool_size: int = 4) -> None:
        from psycopg_pool import ConnectionPool

        self.conninfo = conninfo
        self.schema = schema
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": False, "options": _with_search_path(conninfo, schema)},
            open=True,
        )

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as connection, connection.transaction(), connection.cursor() as cursor:
            yield _PostgresCursor(cursor)

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        with self._pool.connection() as connection, connection.transaction(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield _PostgresCursor(cursor)

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A dedicated connection for the life of a worker (it holds the worker's advisory lock)."""
        import psycopg

        options = _with_search_path(self.conninfo, self.schema)
        connection = psycopg.connect(self.conninfo, autocommit=True, options=options)
        try:
            yield connection
        finally:
            connection.close()

    def close(self) -> None:
        self._pool.close()


def advisory_lock_key(schema: str, name: str) -> int:
    """The PostgreSQL advisory lock (a signed 64-bit number) that guards ``name`` in ``schema``.

    Every process sharing a database must compute the same number for the same lock, so the
    formula is fixed: the first 8 bytes of SHA-256 of ``funding-engine/<schema>/<name>``.
    """
    digest = hashlib.sha256(f"funding-engine/{schema}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
