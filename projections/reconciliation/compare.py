"""Row-by-row comparison of a read-model table with the rows a fold of the log says it should hold.

Rows are read from the table a page at a time (keyset pages inside one read transaction, so one
snapshot), never all at once: a year's ledger can be long. Tables keyed by log position are
compared while the log is folded, in step with it; the others, which hold state, once the fold
has passed their position, by key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from projections.database import Cursor
from projections.reconciliation.tables import Table

Row = tuple[Any, ...]
PAGE = 2000


@dataclass(frozen=True)
class Difference:
    """One row that differs: its key, and each differing column as (read model, log)."""

    key: Any
    columns: dict[str, tuple[Any, Any]]


@dataclass
class TableReconciliation:
    table: Table
    position: int  # the log position its read model has applied, and the fold went to
    rows_checked: int = 0
    differing: int = 0
    missing: int = 0  # rows the log says should be there and are not
    extra: int = 0  # rows there that the log does not account for
    first_difference: Difference | None = None  # in key order
    # Kept whole only for the balance tables, whose every row the report shows side by side.
    kept: list[tuple[Row | None, Row | None]] = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def consistent(self) -> bool:
        return self.differing == self.missing == self.extra == 0

    def check(self, key: Any, projected: Row | None, expected: Row | None, *, keep: bool = False) -> None:
        self.rows_checked += 1
        if keep:
            self.kept.append((projected, expected))
        if projected == expected:
            return
        if projected is None:
            self.missing += 1
        elif expected is None:
            self.extra += 1
        else:
            self.differing += 1
        if self.first_difference is None or _before(key, self.first_difference.key):
            self.first_difference = Difference(key, _differing_columns(self.table, projected, expected))


def _before(key: Any, other: Any) -> bool:
    try:
        return bool(key < other)
    except TypeError:  # a key edited to another type still gets an order
        return str(key) < str(other)


def _differing_columns(table: Table, projected: Row | None, expected: Row | None) -> dict[str, tuple[Any, Any]]:
    columns = {}
    for index, column in enumerate(table.columns):
        mine = None if projected is None else projected[index]
        theirs = None if expected is None else expected[index]
        if mine != theirs or projected is None or expected is None:
            columns[column] = (mine, theirs)
    return columns


def table_rows(cursor: Cursor, table: Table, year: str) -> Iterator[Row]:
    """Every row of the table for the year, in the database's key order, a page at a time."""
    cursor.execute(table.select(after_key=False), table.params(year, after_key=False, page=PAGE))
    while True:
        rows = [table.as_shown(tuple(row)) for row in cursor.fetchall()]
        yield from rows
        if len(rows) < PAGE:
            return
        cursor.execute(table.select(after_key=True), table.params(year, rows[-1][0], after_key=True, page=PAGE))


class InStep:
    """Compares a position-keyed table with rows expected in log order, as the fold produces them."""

    def __init__(self, cursor: Cursor, table: Table, year: str, position: int) -> None:
        self.result = TableReconciliation(table, position)
        self._rows = table_rows(cursor, table, year)
        self._next: Row | None = next(self._rows, None)

    def expect(self, row: Row) -> None:
        key = row[0]
        while self._next is not None and _before(self._next[0], key):
            self._extra()
        if self._next is not None and self._next[0] == key:
            self.result.check(key, self._next, row)
            self._next = next(self._rows, None)
        else:
            self.result.check(key, None, row)

    def _extra(self) -> None:
        assert self._next is not None
        self.result.check(self._next[0], self._next, None)
        self._next = next(self._rows, None)

    def finish(self) -> TableReconciliation:
        while self._next is not None:
            self._extra()
        return self.result


def by_key(
    cursor: Cursor, table: Table, year: str, position: int, expected: dict[Any, Row], *, keep: bool = False
) -> TableReconciliation:
    """Compares a state table with the rows expected of it (consumes ``expected``)."""
    result = TableReconciliation(table, position)
    for row in table_rows(cursor, table, year):
        result.check(row[0], row, expected.pop(row[0], None), keep=keep)
    for key in sorted(expected, key=str):
        result.check(key, None, expected[key], keep=keep)
    return result
