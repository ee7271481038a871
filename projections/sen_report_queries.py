"""Reads of the SEN Information Reports read model: the public Local Offer listing, one school,
a cluster's schools, and what the council follows up (missing, overdue, not met, broken links).

Kept apart from ``projections.queries`` (which is about money and requests) but built the same
way: typed rows, keyset pages by URN with the same opaque cursors, and nothing a store cannot hold
reaching SQL.

School names come from the school register (issue 12's other half). Until its read model is
here, ``school_names`` is the one place that would read them; the listing searches URNs and
clusters (by id and by name).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from domain.limits import LOCAL_OFFER_SEARCH_MAX_LENGTH
from projections.database import ProjectionDatabase
from projections.queries import TEXT_KEY, InvalidQuery, Page, check_limit, decode_cursor, encode_cursor
from projections.read_models.sen_reports import (
    BROKEN_LINKS_COLUMNS,
    SEN_REPORTS_COLUMNS,
    BrokenLinkRow,
    SenReportRow,
    sen_report_row,
)

__all__ = ["BrokenLinkRow", "SenReportRow"]

_SELECT = f"SELECT {', '.join('s.' + column for column in SEN_REPORTS_COLUMNS)} FROM sen_reports s"
_SEARCH_CHARACTERS = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})


def _rows(database: ProjectionDatabase, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with database.reading() as cursor:
        cursor.execute(sql, tuple(params))
        return [tuple(row) for row in cursor.fetchall()]


def school_names(database: ProjectionDatabase, urns: Iterable[str]) -> dict[str, str]:
    """Each school's name, by URN, where the register knows it.

    The school register is not part of this branch yet: no name is known, and pages show the URN.
    When the register's ``schools`` read model lands, this reads it (and ``local_offer_page``
    searches its names too).
    """
    return {}


def check_search(text: str | None) -> str | None:
    """The listing's search text, trimmed; None when there is nothing to search for."""
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > LOCAL_OFFER_SEARCH_MAX_LENGTH:
        raise InvalidQuery(f"q must be at most {LOCAL_OFFER_SEARCH_MAX_LENGTH} characters")
    if any(ord(character) < 32 or 0xD800 <= ord(character) <= 0xDFFF or ord(character) == 127 for character in text):
        raise InvalidQuery("q must not contain control characters")
    return text.strip() or None


def local_offer_page(
    database: ProjectionDatabase,
    *,
    search: str | None = None,
    cluster_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[SenReportRow]:
    """Every known school, by URN: those whose URN starts with ``search`` or whose cluster's id or
    name contains it (any case), in ``cluster_id`` if given."""
    check_limit(limit)
    search = check_search(search)
    conditions: list[str] = []
    params: list[Any] = []
    if search is not None:
        pattern = f"%{search.lower().translate(_SEARCH_CHARACTERS)}%"
        prefix = f"{search.translate(_SEARCH_CHARACTERS)}%"
        conditions.append(
            "(s.school_urn LIKE ? ESCAPE '\\' OR lower(s.cluster_id) LIKE ? ESCAPE '\\'"
            " OR lower(c.name) LIKE ? ESCAPE '\\')"
        )
        params += [prefix, pattern, pattern]
    if cluster_id is not None:
        conditions.append("s.cluster_id = ?")
        params.append(cluster_id)
    if cursor:
        (after,) = decode_cursor(cursor, TEXT_KEY)
        conditions.append("s.school_urn > ?")
        params.append(after)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = f"{_SELECT} LEFT JOIN clusters c ON c.cluster_id = s.cluster_id{where} ORDER BY s.school_urn LIMIT ?"
    rows = [sen_report_row(row) for row in _rows(database, sql, [*params, limit + 1])]
    items = rows[:limit]
    return Page(items, encode_cursor([items[-1].school_urn]) if len(rows) > limit else None)


def school_row(database: ProjectionDatabase, school_urn: str) -> SenReportRow | None:
    rows = _rows(database, f"{_SELECT} WHERE s.school_urn = ?", [school_urn])
    return sen_report_row(rows[0]) if rows else None


def needing_attention(database: ProjectionDatabase, today: str) -> list[SenReportRow]:
    """Schools whose report is missing, overdue for review (``next_review_on`` before ``today``),
    assessed with an item not met, or with a broken link reported: what the council follows up."""
    sql = (
        f"{_SELECT} WHERE s.url IS NULL OR s.next_review_on < ? OR s.self_not_met > 0 OR s.audit_not_met > 0"
        " OR s.open_broken_links > 0 ORDER BY s.school_urn"
    )
    return [sen_report_row(row) for row in _rows(database, sql, [today])]


def open_broken_links(database: ProjectionDatabase, *, limit: int = 500) -> list[BrokenLinkRow]:
    """Broken-link reports not yet cleared, newest first."""
    check_limit(limit)
    sql = (
        f"SELECT {', '.join(BROKEN_LINKS_COLUMNS)} FROM sen_report_broken_links WHERE cleared_at IS NULL"
        " ORDER BY reported_at DESC, report_ref DESC LIMIT ?"
    )
    return [BrokenLinkRow(*row) for row in _rows(database, sql, [limit])]
