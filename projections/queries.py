"""Reads from the read models as typed rows: filtered, ordered and paginated by stable cursors.

Cursors are opaque to clients (url-safe base64 of the last row's sort key), so a page boundary
never shifts when rows are added: new requests sort after the cursor, new decisions before it.
A cursor comes back from the client, so it is checked as strictly as any other input: only the
exact shape this server gives out passes, and nothing a store cannot hold reaches one.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import MINYEAR, UTC, datetime
from typing import Any, Generic, TypeVar

from domain.formatting import utc_text
from domain.limits import MAX_CURSOR_LENGTH, MAX_PAGE_SIZE
from projections.database import ProjectionDatabase
from projections.read_models.cluster_balances import (
    AfterDecisions,
    BalanceRow,
    BalanceTotalsRow,
    CouncilFundRow,
)
from projections.read_models.clusters import ClusterRow, school_urns_of
from projections.read_models.decision_log import DECISION_LOG_COLUMNS, DecisionRow
from projections.read_models.finance_ledger import FINANCE_LEDGER_COLUMNS, LedgerRow
from projections.read_models.request_index import REQUEST_INDEX_COLUMNS, RequestRow

__all__ = [
    "AfterDecisions",
    "BalanceRow",
    "BalanceTotalsRow",
    "ClusterRow",
    "CouncilFundRow",
    "DecisionRow",
    "InvalidQuery",
    "LedgerRow",
    "MovementTotalRow",
    "Page",
    "RequestRow",
]

T = TypeVar("T")


class InvalidQuery(ValueError):
    """A malformed cursor, limit or filter (the API answers 422)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows, and the cursor of the next (None on the last)."""

    items: list[T]
    next_cursor: str | None


# What a cursor holds, element by element: a log position (decisions), or sort keys that are text
# (a cluster id; a request's creation time and id).
POSITION_KEY = (int,)
TEXT_KEY = (str,)
REQUEST_KEY = (str, str)

# Positions are BIGINT on both stores: a larger number fails in the driver instead of matching nothing.
MAX_POSITION = 2**63 - 1
_CURSOR = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_CURSOR_LENGTH}}}\Z")
# Sort keys this server writes are short printable text; PostgreSQL cannot hold NUL, and neither
# store a lone surrogate (which JSON's "\ud800" escape and Python's json both let through).
_KEY_TEXT = re.compile(r"^[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,100}\Z")


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _not_ours() -> InvalidQuery:
    return InvalidQuery("cursor is not one this server gave out")


def _fits(value: Any, kind: type) -> bool:
    if kind is int:
        # type() and not isinstance(): JSON's true is a bool, and a bool is an int to Python.
        return type(value) is int and 1 <= value <= MAX_POSITION
    return type(value) is str and _KEY_TEXT.match(value) is not None


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> list[Any]:
    """The sort key in ``cursor``: one element of each type in ``shape``, or ``InvalidQuery``."""
    # The alphabet first: the base64 decoder silently skips characters outside it (NUL included).
    if not isinstance(cursor, str) or not _CURSOR.match(cursor):
        raise _not_ours()
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise _not_ours() from None
    if not isinstance(key, list) or len(key) != len(shape):
        raise _not_ours()
    if not all(_fits(value, kind) for value, kind in zip(key, shape, strict=True)):
        raise _not_ours()
    return key


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def time_bound(moment: datetime) -> str:
    """A bound on a stored time, written as the read models write times (ISO 8601 UTC, zero-padded).

    A moment whose UTC equivalent lies outside the calendar (``0001-01-01T00:00:00+14:00`` is
    ``0000-12-31T10:00:00Z``) is clamped to the calendar's edge: every stored time lies inside it,
    so the clamped bound selects exactly the rows the moment itself would.
    """
    if moment.tzinfo is None:
        raise InvalidQuery("a time bound must carry a time zone")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        moment = _EARLIEST if moment.year == MINYEAR else _LATEST
    return utc_text(moment)


def check_limit(limit: int) -> int:
    if type(limit) is not int or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidQuery(f"limit must be from 1 to {MAX_PAGE_SIZE}")
    return limit


def _rows(database: ProjectionDatabase, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with database.reading() as cursor:
        cursor.execute(sql, tuple(params))
        return [tuple(row) for row in cursor.fetchall()]


def _page(rows: list[T], limit: int, key: Callable[[T], Sequence[Any]]) -> Page[T]:
    """The first ``limit`` of ``rows`` (one more was asked for, to learn whether a next page exists)."""
    items = rows[:limit]
    return Page(items, encode_cursor(key(items[-1])) if len(rows) > limit else None)


# -- clusters --------------------------------------------------------------------------------------


def clusters_page(database: ProjectionDatabase, *, limit: int = 50, cursor: str | None = None) -> Page[ClusterRow]:
    """Every registered cluster, by cluster id."""
    check_limit(limit)
    sql, params = "SELECT cluster_id, name, school_urns, version FROM clusters", []
    if cursor:
        (after,) = decode_cursor(cursor, TEXT_KEY)
        sql += " WHERE cluster_id > ?"
        params.append(after)
    rows = [
        ClusterRow(cluster_id, name, school_urns_of(urns), int(version))
        for cluster_id, name, urns, version in _rows(
            database, sql + " ORDER BY cluster_id LIMIT ?", [*params, limit + 1]
        )
    ]
    return _page(rows, limit, lambda row: [row.cluster_id])


# -- request index ---------------------------------------------------------------------------------

# Every column of the table, in the order its projection writes them.
REQUEST_COLUMNS = REQUEST_INDEX_COLUMNS


def requests_page(
    database: ProjectionDatabase,
    *,
    cluster_id: str | None = None,
    school_urn: str | None = None,
    status: str | None = None,
    financial_year: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    statuses: Sequence[str] | None = None,
) -> Page[RequestRow]:
    """Oldest first (a queue): ordered by creation time, then id. ``statuses`` keeps the rows in
    any of them (a lead's open requests are in one of three); with ``status`` both must hold."""
    check_limit(limit)
    where, params = [], []
    for column, value in (
        ("cluster_id", cluster_id),
        ("school_urn", school_urn),
        ("status", status),
        ("financial_year", financial_year),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if statuses is not None:
        if not statuses:
            return Page([], None)
        where.append(f"status IN ({', '.join('?' for _ in statuses)})")
        params.extend(statuses)
    if cursor:
        created_at, request_id = decode_cursor(cursor, REQUEST_KEY)
        where.append("(created_at > ? OR (created_at = ? AND request_id > ?))")
        params.extend([created_at, created_at, request_id])
    sql = f"SELECT {', '.join(REQUEST_COLUMNS)} FROM request_index"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at, request_id LIMIT ?"
    rows = [RequestRow._make(row) for row in _rows(database, sql, [*params, limit + 1])]
    return _page(rows, limit, lambda row: [row.created_at, row.request_id])


# -- decision log ------------------------------------------------------------------------------------

# Every column of the table, in the order its projection writes them.
DECISION_COLUMNS = DECISION_LOG_COLUMNS


def decisions_page(
    database: ProjectionDatabase,
    *,
    cluster_id: str | None = None,
    actor: str | None = None,
    decided_from: str | None = None,
    decided_to: str | None = None,
    school_urn: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DecisionRow]:
    """Newest first. ``decided_from`` and ``decided_to`` are ISO 8601 UTC bounds, both inclusive.

    ``school_urn`` matches decisions about that school's requests (a commission names its schools
    only in ``details``, so it matches none); ``kind`` is a ``DecisionKind``'s value.
    """
    check_limit(limit)
    where, params = [], []
    for column, value in (("cluster_id", cluster_id), ("actor_sub", actor), ("school_urn", school_urn), ("kind", kind)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if decided_from is not None:
        where.append("decided_at >= ?")
        params.append(decided_from)
    if decided_to is not None:
        where.append("decided_at <= ?")
        params.append(decided_to)
    if cursor:
        (before,) = decode_cursor(cursor, POSITION_KEY)
        where.append("position < ?")
        params.append(before)
    sql = f"SELECT {', '.join(DECISION_COLUMNS)} FROM decision_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = [
        DecisionRow._make(row) for row in _rows(database, sql + " ORDER BY position DESC LIMIT ?", [*params, limit + 1])
    ]
    return _page(rows, limit, lambda row: [int(row.position)])


def commissions_page(
    database: ProjectionDatabase, cluster_id: str, year: str, *, limit: int = 50, cursor: str | None = None
) -> Page[DecisionRow]:
    """One cluster budget's commissions for a year, newest first (decision log rows of kind ``commission``)."""
    check_limit(limit)
    where, params = ["kind = ?", "cluster_id = ?", "financial_year = ?"], ["commission", cluster_id, year]
    if cursor:
        (before,) = decode_cursor(cursor, POSITION_KEY)
        where.append("position < ?")
        params.append(before)
    sql = f"SELECT {', '.join(DECISION_COLUMNS)} FROM decision_log WHERE {' AND '.join(where)}"
    rows = [
        DecisionRow._make(row) for row in _rows(database, sql + " ORDER BY position DESC LIMIT ?", [*params, limit + 1])
    ]
    return _page(rows, limit, lambda row: [int(row.position)])


def decision_rows(
    database: ProjectionDatabase,
    *,
    cluster_id: str | None = None,
    actor: str | None = None,
    decided_from: str | None = None,
    decided_to: str | None = None,
    school_urn: str | None = None,
    kind: str | None = None,
) -> Iterator[DecisionRow]:
    """Every decision ``decisions_page`` lists under the same filters, newest first, a page at a time."""
    cursor: str | None = None
    while True:
        page = decisions_page(
            database,
            cluster_id=cluster_id,
            actor=actor,
            decided_from=decided_from,
            decided_to=decided_to,
            school_urn=school_urn,
            kind=kind,
            limit=MAX_PAGE_SIZE,
            cursor=cursor,
        )
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# -- finance ledger ------------------------------------------------------------------------------------

# The CSV's header too: finance's spreadsheets read these names (pinned by the tests).
LEDGER_COLUMNS = FINANCE_LEDGER_COLUMNS


def ledger_rows(database: ProjectionDatabase, year: str, *, batch_size: int = 2000) -> Iterator[LedgerRow]:
    """The year's money movements in log order, streamed in batches (a year can be long)."""
    after = 0
    while True:
        rows = _rows(
            database,
            f"SELECT {', '.join(LEDGER_COLUMNS)} FROM finance_ledger "
            "WHERE financial_year = ? AND position > ? ORDER BY position LIMIT ?",
            [year, after, batch_size],
        )
        if not rows:
            return
        yield from (LedgerRow._make(row) for row in rows)
        after = int(rows[-1][0])


@dataclass(frozen=True)
class MovementTotalRow:
    """One fund's money movements of one kind within one hour (UTC), added up: what a chart of
    the year needs, without any movement's request, reference or actor."""

    hour: str  # "2026-11-29T20", the first 13 characters of the movements' ISO 8601 UTC times
    movement: str  # allocation, adjustment, commitment, commission or payment
    amount: int  # pence
    count: int


def cluster_movement_totals(database: ProjectionDatabase, cluster_id: str, year: str) -> list[MovementTotalRow]:
    """A cluster budget's movements for a year, summed by hour and kind, oldest first.

    By the hour, not the day: a month in England starts at 23:00 UTC in summer, and whole hours
    are the finest step between the two clocks, so the caller can place each total in its month.
    """
    hour = "SUBSTR(recorded_at, 1, 13)"
    sql = (
        f"SELECT {hour}, movement, COALESCE(SUM(amount), 0), COUNT(*) FROM finance_ledger "
        "WHERE fund = 'cluster' AND cluster_id = ? AND financial_year = ? "
        f"GROUP BY {hour}, movement ORDER BY {hour}, movement"
    )
    return [
        MovementTotalRow(str(at), str(movement), int(amount), int(count))
        for at, movement, amount, count in _rows(database, sql, [cluster_id, year])
    ]
