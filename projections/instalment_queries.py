"""Reads of the instalments read model: what is due by a date, and one award's instalments.

An instalment is due by a date when it falls due on or before it and something of it is unpaid,
it is not held, and it is in no payment run. (Released money is not unpaid, so an instalment
given back is not due; a run it was in counts only while the run is open, since a cancelled run
clears it.) Kept apart from ``projections.queries``, whose paging it borrows.
"""

from __future__ import annotations

from typing import Any

from projections.database import ProjectionDatabase
from projections.queries import REQUEST_KEY, Page, _page, _rows, check_limit, decode_cursor
from projections.read_models.instalments import INSTALMENT_COLUMNS, InstalmentRow

__all__ = ["InstalmentRow", "award_instalments", "instalments_due", "instalments_due_page"]

_SELECT = f"SELECT {', '.join(INSTALMENT_COLUMNS)} FROM instalments"
_DUE = "due_on <= ? AND amount - paid - released > 0 AND held_until = '' AND payment_run IS NULL"
# Read a page at a time, so a run over a whole county never holds one huge result open.
_CHUNK = 500


def _instalment(row: tuple[Any, ...]) -> InstalmentRow:
    values = list(row)
    for index in (7, 9, 10, 11):  # number, amount, paid, released
        values[index] = int(values[index])
    values[13] = None if values[13] is None else int(values[13])
    return InstalmentRow(*values)


def instalments_due_page(
    database: ProjectionDatabase,
    due_by: str,
    *,
    funded_by: str | None = None,
    cluster_id: str | None = None,
    financial_year: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[InstalmentRow]:
    """Instalments due by ``due_by`` (``YYYY-MM-DD``), earliest first, of one funder, cluster or
    instalment year where given."""
    check_limit(limit)
    where, params = [_DUE], [due_by]
    for column, value in (("funded_by", funded_by), ("cluster_id", cluster_id), ("financial_year", financial_year)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if cursor:
        due_on, key = decode_cursor(cursor, REQUEST_KEY)
        where.append("(due_on > ? OR (due_on = ? AND instalment_id > ?))")
        params.extend([due_on, due_on, key])
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY due_on, instalment_id LIMIT ?"
    rows = [_instalment(row) for row in _rows(database, sql, [*params, limit + 1])]
    return _page(rows, limit, lambda row: [row.due_on, row.instalment_id])


def instalments_due(
    database: ProjectionDatabase,
    due_by: str,
    *,
    funded_by: str | None = None,
    cluster_id: str | None = None,
    financial_year: str | None = None,
) -> list[InstalmentRow]:
    """Every instalment ``instalments_due_page`` lists, all pages read."""
    rows: list[InstalmentRow] = []
    cursor: str | None = None
    while True:
        page = instalments_due_page(
            database,
            due_by,
            funded_by=funded_by,
            cluster_id=cluster_id,
            financial_year=financial_year,
            limit=_CHUNK,
            cursor=cursor,
        )
        rows.extend(page.items)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def award_instalments(database: ProjectionDatabase, request_id: str) -> list[InstalmentRow]:
    """One award's instalments (``request_id``: 32 hex digits), by number."""
    sql = f"{_SELECT} WHERE request_id = ? ORDER BY number"
    return [_instalment(row) for row in _rows(database, sql, [request_id])]
