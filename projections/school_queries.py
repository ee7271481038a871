"""Reads of the schools read model: the register as people list and search it, by URN.

Kept apart from ``projections.queries`` (which it borrows its paging from) so the Local Offer's
public listing and the council's pages read the register through the same two functions:
``schools_page`` and ``school_row``.
"""

from __future__ import annotations

from typing import Any

from projections.database import ProjectionDatabase
from projections.queries import TEXT_KEY, Page, _page, _rows, check_limit, decode_cursor
from projections.read_models.schools import SchoolRow

__all__ = ["SchoolRow", "school_row", "schools_page"]

_SELECT = "SELECT urn, name, phase, cluster_id, version FROM schools"


def _school(row: tuple[Any, ...]) -> SchoolRow:
    urn, name, phase, cluster_id, version = row
    return SchoolRow(urn, name, phase, cluster_id, int(version))


def _like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own ``%`` and ``_`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def schools_page(
    database: ProjectionDatabase,
    *,
    cluster_id: str | None = None,
    q: str | None = None,
    registered: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[SchoolRow]:
    """Schools by URN: in one cluster, whose name or URN holds ``q`` (any case), registered or not."""
    check_limit(limit)
    where: list[str] = []
    params: list[Any] = []
    if cluster_id is not None:
        where.append("cluster_id = ?")
        params.append(cluster_id)
    if q:
        # Lower-cased on this side too: SQLite's lower() knows only ASCII, PostgreSQL's all letters.
        where.append("(lower(name) LIKE ? ESCAPE '\\' OR urn LIKE ? ESCAPE '\\')")
        params += [_like_pattern(q.lower()), _like_pattern(q)]
    if registered is not None:
        where.append("name IS NOT NULL" if registered else "name IS NULL")
    if cursor:
        (after,) = decode_cursor(cursor, TEXT_KEY)
        where.append("urn > ?")
        params.append(after)
    sql = _SELECT + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY urn LIMIT ?"
    rows = [_school(row) for row in _rows(database, sql, [*params, limit + 1])]
    return _page(rows, limit, lambda row: [row.urn])


def school_row(database: ProjectionDatabase, urn: str) -> SchoolRow | None:
    """One school by URN, registered or only a member of a cluster; None if the engine has never met it."""
    rows = _rows(database, _SELECT + " WHERE urn = ?", [urn])
    return _school(rows[0]) if rows else None
