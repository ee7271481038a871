"""Baseline 2 for scenario 2: what a team without event sourcing would build. FastAPI + plain SQL.

    BENCH_SERVER_DATABASE_URL=sqlite:///... python -m bench.servers.crud --port P [--workers W]

A ``requests`` row per request and a ``budgets`` row per cluster-year, money in integer pence.
Submit is one ``INSERT ... SELECT`` (which also finds the school's cluster, as ours and the bare
library do). Approve is one transaction: move the request from ``evidenced`` to approved, then
the guarded ``UPDATE budgets SET committed = committed + :amount WHERE ... AND allocated -
committed >= :amount``; if that touches no row the transaction rolls back (409 insufficient
funds), so the budget cannot go negative under any concurrency. No history is kept: the current
row is all there is, which is the difference our audit log pays for.

SQLite: one connection per thread (FastAPI's thread pool), WAL and the default ``synchronous``
as the eventsourcing library's SQLite module uses, ``BEGIN IMMEDIATE`` so a writer takes the lock
before reading rather than failing to upgrade. PostgreSQL: a psycopg pool sized as ours (5 + 10).
Bodies are the same JSON as ours; no auth, no validation beyond FastAPI's JSON parsing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from typing import Annotated, Any, Protocol

from fastapi import Body, FastAPI
from fastapi.responses import JSONResponse

from bench.servers import DATABASE_URL_VARIABLE, serve
from funding_engine.settings import PostgresStore, SQLiteStore, parse_database_url

JsonBody = Annotated[dict[str, Any], Body()]

TABLES = (
    """CREATE TABLE IF NOT EXISTS memberships (
        school_urn TEXT PRIMARY KEY,
        cluster_id TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS budgets (
        cluster_id TEXT NOT NULL,
        financial_year TEXT NOT NULL,
        allocated BIGINT NOT NULL,
        committed BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (cluster_id, financial_year)
    )""",
    """CREATE TABLE IF NOT EXISTS requests (
        id TEXT PRIMARY KEY,
        school_urn TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        financial_year TEXT NOT NULL,
        status TEXT NOT NULL,
        amount_requested BIGINT NOT NULL,
        amount_approved BIGINT NOT NULL DEFAULT 0,
        reason TEXT NOT NULL,
        pupil_count INTEGER NOT NULL,
        needs_summary TEXT NOT NULL,
        planned_provision TEXT NOT NULL,
        evidence TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    )""",
)

SUBMIT = (
    "INSERT INTO requests (id, school_urn, cluster_id, financial_year, status, amount_requested, reason,"
    " pupil_count, needs_summary, planned_provision, created_at, updated_at)"
    " SELECT ?, school_urn, cluster_id, ?, 'submitted', ?, ?, ?, ?, ?, ?, ? FROM memberships WHERE school_urn = ?"
)
APPROVE_REQUEST = (
    "UPDATE requests SET status = 'cluster_approved', amount_approved = ?, updated_at = ?"
    " WHERE id = ? AND status = 'evidenced' RETURNING cluster_id, financial_year"
)
COMMIT_ON_BUDGET = (
    "UPDATE budgets SET committed = committed + ?"
    " WHERE cluster_id = ? AND financial_year = ? AND allocated - committed >= ?"
)


class Outcome(Exception):
    """A refusal the route turns into a problem+json answer."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


class Cursor(Protocol):
    rowcount: int

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...


class Database(Protocol):
    def transaction(self) -> Any: ...  # a context manager yielding a Cursor; commits unless it raises
    def close(self) -> None: ...


class SQLiteDatabase:
    def __init__(self, store: SQLiteStore) -> None:
        self.path = store.path
        self.local = threading.local()
        self.connections: list[sqlite3.Connection] = []
        self.guard = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self.local, "connection", None)
        if connection is None:
            # Autocommit mode: transactions are the explicit BEGIN IMMEDIATE below.
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            self.local.connection = connection
            with self.guard:
                self.connections.append(connection)
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        cursor = self.connection().cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    def close(self) -> None:
        with self.guard:
            for connection in self.connections:
                connection.close()


class PostgresDatabase:
    def __init__(self, store: PostgresStore) -> None:
        from psycopg.conninfo import make_conninfo
        from psycopg_pool import ConnectionPool

        # The fresh schema the harness made holds the tables: put it first on the search path.
        conninfo = make_conninfo(store.conninfo(), options=f"-c search_path={store.schema}")
        self.pool = ConnectionPool(conninfo, min_size=5, max_size=15, open=True)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.pool.connection() as connection, connection.cursor() as cursor:
            yield PostgresCursor(cursor)

    def close(self) -> None:
        self.pool.close()


class PostgresCursor:
    """psycopg with the ``?`` placeholders the SQL above is written in."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    @property
    def rowcount(self) -> int:
        return int(self.cursor.rowcount)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.cursor.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        return self.cursor.executemany(sql.replace("?", "%s"), params)

    def fetchone(self) -> Any:
        return self.cursor.fetchone()


def open_database(database_url: str) -> SQLiteDatabase | PostgresDatabase:
    store = parse_database_url(database_url)
    return SQLiteDatabase(store) if isinstance(store, SQLiteStore) else PostgresDatabase(store)


def pence(amount: str) -> int:
    return int(Decimal(amount) * 100)


def submit(database: Database, body: dict[str, Any]) -> str:
    request_id = str(uuid.uuid4())
    now = time.time()
    with database.transaction() as cursor:
        cursor.execute(
            SUBMIT,
            (
                request_id,
                body["financial_year"],
                pence(body["amount_requested"]),
                body["reason"],
                body["pupil_count"],
                body["needs_summary"],
                json.dumps(body["planned_provision"]),
                now,
                now,
                body["school_urn"],
            ),
        )
        if cursor.rowcount != 1:
            raise Outcome(409, "conflict", "the school is not in a cluster")
    return request_id


def approve(database: Database, request_id: str, amount: int) -> None:
    with database.transaction() as cursor:
        cursor.execute(APPROVE_REQUEST, (amount, time.time(), request_id))
        row = cursor.fetchone()
        if row is None:
            raise Outcome(409, "conflict", "the request is not awaiting a decision")
        cluster_id, financial_year = row
        cursor.execute(COMMIT_ON_BUDGET, (amount, cluster_id, financial_year, amount))
        if cursor.rowcount != 1:
            # Raising rolls the request's change back too: both or neither.
            raise Outcome(409, "insufficient-funds", "the cluster's budget cannot cover this")


def create_from_environment() -> FastAPI:
    """The uvicorn factory: every worker process opens its own connections."""
    database = open_database(os.environ[DATABASE_URL_VARIABLE])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        database.close()

    api = FastAPI(title="CRUD baseline", lifespan=lifespan)

    @api.exception_handler(Outcome)
    async def refused(_: Any, error: Outcome) -> JSONResponse:
        return JSONResponse(
            {"type": error.kind, "title": error.kind, "status": error.status, "detail": error.detail},
            status_code=error.status,
            media_type="application/problem+json",
        )

    @api.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.post("/requests", status_code=201)
    def submit_route(body: JsonBody) -> dict[str, str]:
        return {"id": submit(database, body), "status": "submitted"}

    @api.post("/requests/{request_id}/approve")
    def approve_route(request_id: str, body: JsonBody) -> dict[str, str]:
        approve(database, request_id, pence(body["amount"]))
        return {"id": request_id, "status": "cluster_approved"}

    return api


def prepare(
    database_url: str,
    *,
    cluster_id: str,
    schools: Sequence[str],
    financial_year: str,
    allocation_pence: int,
    evidenced: int,
) -> list[str]:
    """Before the server starts: tables, the budget, memberships and ``evidenced`` requests."""
    database = open_database(database_url)
    try:
        with database.transaction() as cursor:
            for statement in TABLES:
                cursor.execute(statement)
            cursor.execute(
                "INSERT INTO budgets (cluster_id, financial_year, allocated) VALUES (?, ?, ?)",
                (cluster_id, financial_year, allocation_pence),
            )
            cursor.executemany(
                "INSERT INTO memberships (school_urn, cluster_id) VALUES (?, ?)", [(urn, cluster_id) for urn in schools]
            )
            now = time.time()
            ids = [str(uuid.uuid4()) for _ in range(evidenced)]
            provision = json.dumps([{"category": "therapies", "amount": "500.00"}])
            evidence = json.dumps(
                {
                    "notional_sen_budget": "6000.00",
                    "spend": [{"category": "therapies", "amount": "1000.00", "note": "sessions"}],
                }
            )
            cursor.executemany(
                "INSERT INTO requests (id, school_urn, cluster_id, financial_year, status, amount_requested, reason,"
                " pupil_count, needs_summary, planned_provision, evidence, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'evidenced', ?, 'complex_needs', 1, 'needs summary', ?, ?, ?, ?)",
                [
                    (
                        request_id,
                        schools[index % len(schools)],
                        cluster_id,
                        financial_year,
                        500_00,
                        provision,
                        evidence,
                        now,
                        now,
                    )
                    for index, request_id in enumerate(ids)
                ],
            )
        return ids
    finally:
        database.close()


def committed_pence(database_url: str, cluster_id: str, financial_year: str) -> tuple[int, int]:
    """(allocated, committed) of a budget: for checking a run spent no more than it had."""
    database = open_database(database_url)
    try:
        with database.transaction() as cursor:
            cursor.execute(
                "SELECT allocated, committed FROM budgets WHERE cluster_id = ? AND financial_year = ?",
                (cluster_id, financial_year),
            )
            allocated, committed = cursor.fetchone()
            return int(allocated), int(committed)
    finally:
        database.close()


if __name__ == "__main__":
    serve("bench.servers.crud:create_from_environment")
