"""Reads from the read models: filtered, ordered and paginated by stable cursors.

Cursors are opaque to clients (url-safe base64 of the last row's sort key), so a page boundary
never shifts when rows are added: new requests sort after the cursor, new decisions before it.
A cursor comes back from the client, so it is checked as strictly as any other input: only the
exact shape this server gives out passes, and nothing a store cannot hold reaches one.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import MINYEAR, UTC, datetime
from typing import Any, TextIO
from uuid import UUID

from domain.formatting import pounds, utc_text
from domain.limits import MAX_CURSOR_LENGTH, MAX_PAGE_SIZE
from projections.database import ProjectionDatabase
from projections.read_models import DECISION_LOG_COLUMNS, FINANCE_LEDGER_COLUMNS, REQUEST_INDEX_COLUMNS


class InvalidQuery(ValueError):
    """A malformed cursor, limit or filter (the API answers 422)."""


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


# What a cursor holds, element by element: a log position (decisions), or sort keys that are text
# (a cluster id; a request's creation time and id).
POSITION_KEY = (int,)
TEXT_KEY = (str,)
REQUEST_KEY = (str, str)

# Positions are BIGINT on both stores: a larger number fails in the driver instead of matching nothing.
MAX_POSITION = 2**63 - 1
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,%d}\Z" % MAX_CURSOR_LENGTH)
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


def _rows(database: ProjectionDatabase, sql: str, params: Sequence[Any], columns: Sequence[str]) -> list[dict[str, Any]]:
    with database.reading() as cursor:
        cursor.execute(sql, tuple(params))
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


# -- balances ------------------------------------------------------------------------------------

BUDGET_COLUMNS = (
    "cluster_id",
    "financial_year",
    "allocated",
    "committed",
    "commissioned",
    "pending",
    "escalated",
    "paid",
    "version",
)


def _with_available(row: dict[str, Any]) -> dict[str, Any]:
    row = {key: (int(value) if key not in ("cluster_id", "financial_year") else value) for key, value in row.items()}
    row["available"] = row["allocated"] - row["committed"] - row["commissioned"]
    return row


def zero_budget(cluster_id: str, year: str) -> dict[str, Any]:
    """A cluster's budget for a year nobody has allocated yet reads as zeros, version 0."""
    row: dict[str, Any] = {"cluster_id": cluster_id, "financial_year": year}
    row.update(dict.fromkeys(BUDGET_COLUMNS[2:], 0))
    return _with_available(row)


def zero_fund(year: str) -> dict[str, Any]:
    row: dict[str, Any] = {"financial_year": year, **dict.fromkeys(FUND_COLUMNS[1:], 0)}
    row["available"] = 0
    return row


def budget_rows(database: ProjectionDatabase, year: str, *, cluster_id: str | None = None) -> list[dict[str, Any]]:
    sql = f"SELECT {', '.join(BUDGET_COLUMNS)} FROM cluster_balances WHERE financial_year = ?"
    params: list[Any] = [year]
    if cluster_id is not None:
        sql += " AND cluster_id = ?"
        params.append(cluster_id)
    return [_with_available(row) for row in _rows(database, sql + " ORDER BY cluster_id", params, BUDGET_COLUMNS)]


def budget_row(database: ProjectionDatabase, cluster_id: str, year: str) -> dict[str, Any] | None:
    rows = budget_rows(database, year, cluster_id=cluster_id)
    return rows[0] if rows else None


def balances_page(database: ProjectionDatabase, year: str, *, limit: int = 50, cursor: str | None = None) -> Page:
    check_limit(limit)
    sql = f"SELECT {', '.join(BUDGET_COLUMNS)} FROM cluster_balances WHERE financial_year = ?"
    params: list[Any] = [year]
    if cursor:
        (after,) = decode_cursor(cursor, TEXT_KEY)
        sql += " AND cluster_id > ?"
        params.append(after)
    rows = _rows(database, sql + " ORDER BY cluster_id LIMIT ?", [*params, limit + 1], BUDGET_COLUMNS)
    items = [_with_available(row) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1]["cluster_id"]]) if len(rows) > limit else None
    return Page(items, next_cursor)


def balance_totals(database: ProjectionDatabase, year: str) -> dict[str, int]:
    figures = ("allocated", "committed", "commissioned", "pending", "escalated", "paid")
    sums = ", ".join(f"COALESCE(SUM({name}), 0)" for name in figures)
    rows = _rows(database, f"SELECT {sums} FROM cluster_balances WHERE financial_year = ?", [year], figures)
    totals = {name: int(value) for name, value in rows[0].items()}
    totals["available"] = totals["allocated"] - totals["committed"] - totals["commissioned"]
    return totals


FUND_COLUMNS = ("financial_year", "allocated", "committed", "paid", "version")


def council_fund_row(database: ProjectionDatabase, year: str) -> dict[str, Any] | None:
    rows = _rows(
        database,
        f"SELECT {', '.join(FUND_COLUMNS)} FROM council_fund_balances WHERE financial_year = ?",
        [year],
        FUND_COLUMNS,
    )
    if not rows:
        return None
    row = {key: (value if key == "financial_year" else int(value)) for key, value in rows[0].items()}
    row["available"] = row["allocated"] - row["committed"]
    return row


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
) -> Page:
    """Oldest first (a queue): ordered by creation time, then id."""
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
    if cursor:
        created_at, request_id = decode_cursor(cursor, REQUEST_KEY)
        where.append("(created_at > ? OR (created_at = ? AND request_id > ?))")
        params.extend([created_at, created_at, request_id])
    sql = f"SELECT {', '.join(REQUEST_COLUMNS)} FROM request_index"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at, request_id LIMIT ?"
    rows = _rows(database, sql, [*params, limit + 1], REQUEST_COLUMNS)
    items = rows[:limit]
    next_cursor = encode_cursor([items[-1]["created_at"], items[-1]["request_id"]]) if len(rows) > limit else None
    return Page(items, next_cursor)


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
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Newest first. ``decided_from`` and ``decided_to`` are ISO 8601 UTC bounds, both inclusive."""
    check_limit(limit)
    where, params = [], []
    if cluster_id is not None:
        where.append("cluster_id = ?")
        params.append(cluster_id)
    if actor is not None:
        where.append("actor_sub = ?")
        params.append(actor)
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
    rows = _rows(database, sql + " ORDER BY position DESC LIMIT ?", [*params, limit + 1], DECISION_COLUMNS)
    items = rows[:limit]
    next_cursor = encode_cursor([int(items[-1]["position"])]) if len(rows) > limit else None
    return Page(items, next_cursor)


# -- finance ledger ------------------------------------------------------------------------------------

# The CSV's header too: finance's spreadsheets read these names (pinned by the tests).
LEDGER_COLUMNS = FINANCE_LEDGER_COLUMNS
LEDGER_MONEY = ("amount", "available_after", "paid_after")


def ledger_rows(database: ProjectionDatabase, year: str, *, batch_size: int = 2000) -> Iterator[dict[str, Any]]:
    """The year's money movements in log order, streamed in batches (a year can be long)."""
    after = 0
    while True:
        rows = _rows(
            database,
            f"SELECT {', '.join(LEDGER_COLUMNS)} FROM finance_ledger "
            "WHERE financial_year = ? AND position > ? ORDER BY position LIMIT ?",
            [year, after, batch_size],
            LEDGER_COLUMNS,
        )
        if not rows:
            return
        yield from rows
        after = int(rows[-1]["position"])


# What a spreadsheet may run as a formula when a cell starts with it (OWASP's list; LibreOffice
# 7.4 runs only "=", Excel and Google Sheets more). A carriage return is a line break here: it
# starts a new line, and the line after it is checked. Leading spaces are left alone: tried in
# LibreOffice, " =1+1" stays text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t")
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


def spreadsheet_safe(text: str) -> str:
    """Finance opens this in a spreadsheet: each line that starts like a formula gets an apostrophe.

    Every line, not only the first: a program that splits the file on line breaks (a bare
    carriage return included), or a person who copies one line of a cell, sees each line on its
    own. Otherwise the text is kept as written; one that starts with a line break gets one too.
    """
    lines = _LINE_BREAK.split(text)  # lines at even indexes, the breaks between them at odd ones
    lines[::2] = [f"'{line}" if line.startswith(FORMULA_STARTS) else line for line in lines[::2]]
    safe = "".join(lines)
    return f"'{safe}" if safe[:1] in ("\r", "\n") else safe


def _ledger_cell(row: dict[str, Any], column: str) -> str:
    value = row[column]
    if value is None:
        return ""
    if column in LEDGER_MONEY:
        return pounds(value)  # a negative adjustment stays a number, so never guarded
    if column == "request_id":
        value = UUID(value)
    return spreadsheet_safe(str(value))


def write_ledger(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """CSV with a header row, ISO 8601 times and 2-dp amounts; returns the number of movements.

    Every field of every movement is quoted: Python 3.11 and 3.12 leave a field with a bare
    carriage return unquoted, and a spreadsheet then starts a new row there. The header keeps
    its plain, unquoted names, as finance's spreadsheets and scripts already read them.
    """
    csv.writer(out, lineterminator="\n").writerow(LEDGER_COLUMNS)
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    count = 0
    for row in rows:
        writer.writerow([_ledger_cell(row, column) for column in LEDGER_COLUMNS])
        count += 1
    return count


def write_ledger_csv(database: ProjectionDatabase, year: str, out: TextIO) -> int:
    return write_ledger(ledger_rows(database, year), out)


def ledger_csv(database: ProjectionDatabase, year: str) -> str:
    buffer = io.StringIO()
    write_ledger_csv(database, year, buffer)
    return buffer.getvalue()
