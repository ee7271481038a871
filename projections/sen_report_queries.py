"""Reads of the SEN Information Reports read model: the public Local Offer listing, one school,
and what the council follows up (missing, overdue, not met, broken links).

Kept apart from ``projections.queries`` (which is about money and requests) but built the same
way: typed rows, keyset pages by URN with the same opaque cursors, and nothing a store cannot hold
reaching SQL.

Schools and their names come from the school register's read model (``schools``: every registered
school and every school in a cluster), joined with this one; a school that registered a report
without being in either is listed too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from domain.limits import LOCAL_OFFER_SEARCH_MAX_LENGTH
from projections.database import ProjectionDatabase
from projections.queries import TEXT_KEY, InvalidQuery, Page, check_limit, decode_cursor, encode_cursor
from projections.read_models.sen_reports import BROKEN_LINKS_COLUMNS, BrokenLinkRow, SenReportRow, counts

__all__ = ["BrokenLinkRow", "NamedRow", "SenReportRow"]

# Every school the engine knows, from whichever table holds each column: the register (name, and
# its cluster) or the reports (the cluster as this read model follows it, and the report).
_CLUSTER = "COALESCE(s.cluster_id, sc.cluster_id)"
_KNOWN = (
    "WITH known (urn) AS (SELECT urn FROM schools UNION SELECT school_urn FROM sen_reports) "
    f"SELECT k.urn, sc.name, {_CLUSTER}, s.url, s.published_on, s.next_review_on, "
    "s.self_assessed_at, s.self_met, s.self_partly_met, s.self_not_met, "
    "s.audit_assessed_at, s.audit_met, s.audit_partly_met, s.audit_not_met, "
    "COALESCE(s.open_broken_links, 0), COALESCE(s.version, 0), c.name "
    "FROM known k LEFT JOIN schools sc ON sc.urn = k.urn LEFT JOIN sen_reports s ON s.school_urn = k.urn "
    f"LEFT JOIN clusters c ON c.cluster_id = {_CLUSTER}"
)
# A search reads the listing this many schools at a time, matching them here (``_matches``).
_SEARCH_CHUNK = 500


class NamedRow(NamedTuple):
    """A school as the Local Offer lists it, with its name from the register (None where it has none)."""

    name: str | None
    row: SenReportRow


def _named(values: tuple[Any, ...]) -> NamedRow:
    urn, name, cluster, url, published, review, *rest = values  # the cluster's name last: _matches's
    self_assessment, audit = counts(*rest[0:4]), counts(*rest[4:8])
    row = SenReportRow(str(urn), cluster, url, published, review, self_assessment, audit, int(rest[8]), int(rest[9]))
    return NamedRow(name, row)


def _rows(database: ProjectionDatabase, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with database.reading() as cursor:
        cursor.execute(sql, tuple(params))
        return [tuple(row) for row in cursor.fetchall()]


def check_search(text: str | None) -> str | None:
    """The listing's search text, trimmed; None when there is nothing to search for."""
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > LOCAL_OFFER_SEARCH_MAX_LENGTH:
        raise InvalidQuery(f"q must be at most {LOCAL_OFFER_SEARCH_MAX_LENGTH} characters")
    if any(ord(character) < 32 or 0xD800 <= ord(character) <= 0xDFFF or ord(character) == 127 for character in text):
        raise InvalidQuery("q must not contain control characters")
    return text.strip() or None


def _matches(values: tuple[Any, ...], search: str, folded: str) -> bool:
    """The URN starts with the search, or the school's name or its cluster's id or name holds it, in
    any case and any alphabet: ``str.casefold`` on both sides ("École" is found by "ÉCOLE")."""
    urn, name, cluster, cluster_name = values[0], values[1], values[2], values[-1]
    return str(urn).startswith(search) or any(
        folded in text.casefold() for text in (name, cluster, cluster_name) if text is not None
    )


def local_offer_page(
    database: ProjectionDatabase,
    *,
    search: str | None = None,
    cluster_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[NamedRow]:
    """Every known school, by URN: those whose URN starts with ``search`` or whose name, or whose
    cluster's id or name, contains it (any case); in ``cluster_id`` if given.

    The search is matched here, not in SQL: SQLite's ``lower()`` and ``LIKE`` fold ASCII letters
    only, and PostgreSQL's follow the database's locale, so "ÉCOLE" would find "École" on one store
    and not the other. A county lists hundreds of schools, so reading them in chunks of
    ``_SEARCH_CHUNK`` until a page is full costs a query or two."""
    check_limit(limit)
    search = check_search(search)
    conditions: list[str] = []
    params: list[Any] = []
    if cluster_id is not None:
        conditions.append(f"{_CLUSTER} = ?")
        params.append(cluster_id)
    after: str | None = decode_cursor(cursor, TEXT_KEY)[0] if cursor else None

    def read(count: int) -> list[tuple[Any, ...]]:
        return _rows(database, _listing_sql(conditions, after), [*params, *([after] if after else []), count])

    if search is None:
        rows = read(limit + 1)
    else:
        folded, rows = search.casefold(), []
        while len(rows) <= limit:
            chunk = read(_SEARCH_CHUNK)
            rows += [row for row in chunk if _matches(row, search, folded)]
            if len(chunk) < _SEARCH_CHUNK:
                break
            after = str(chunk[-1][0])
    items = [_named(row) for row in rows[:limit]]
    return Page(items, encode_cursor([items[-1].row.school_urn]) if len(rows) > limit else None)


def _listing_sql(conditions: list[str], after: str | None) -> str:
    every = [*conditions, "k.urn > ?"] if after else conditions
    where = f" WHERE {' AND '.join(every)}" if every else ""
    return f"{_KNOWN}{where} ORDER BY k.urn LIMIT ?"


def school_row(database: ProjectionDatabase, school_urn: str) -> NamedRow | None:
    rows = _rows(database, f"{_KNOWN} WHERE k.urn = ?", [school_urn])
    return _named(rows[0]) if rows else None


def needing_attention(database: ProjectionDatabase, today: str) -> list[NamedRow]:
    """Schools whose report is missing, overdue for review (``next_review_on`` before ``today``),
    assessed with an item not met, or with a broken link reported: what the council follows up."""
    sql = (
        f"{_KNOWN} WHERE s.url IS NULL OR s.next_review_on < ? OR s.self_not_met > 0 OR s.audit_not_met > 0"
        " OR s.open_broken_links > 0 ORDER BY k.urn"
    )
    return [_named(row) for row in _rows(database, sql, [today])]


def open_broken_links(database: ProjectionDatabase, *, limit: int = 500) -> list[BrokenLinkRow]:
    """Broken-link reports not yet cleared, newest first."""
    check_limit(limit)
    sql = (
        f"SELECT {', '.join(BROKEN_LINKS_COLUMNS)} FROM sen_report_broken_links WHERE cleared_at IS NULL"
        " ORDER BY reported_at DESC, report_ref DESC LIMIT ?"
    )
    return [BrokenLinkRow(*row) for row in _rows(database, sql, [limit])]
