"""Register files: the council's CSV lists of clusters and of schools, read and checked row by row.

A file is read whole before anything is written: every row is checked, and every bad row is
reported by its line number with the reason, so one correction round fixes them all. The first
line must be the header (its columns in any order, nothing else). Line numbers are the file's own
lines as a spreadsheet or text editor counts them, the header being line 1; a quoted value that
runs over several lines is reported at the line its row starts on. Blank lines are skipped.

A phase may be written as the register stores it (``middle_deemed_primary``) or as Get
Information about Schools prints it (``Middle deemed primary``, ``16 plus``, ``All-through``), so
a council can paste a column from a GIAS download.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from domain import limits
from domain.errors import InvalidValue
from domain.text import check_text
from domain.values import ClusterId, SchoolPhase, SchoolUrn

T = TypeVar("T")

CLUSTER_COLUMNS = ("cluster_id", "name")
SCHOOL_COLUMNS = ("urn", "name", "phase", "cluster_id")


@dataclass(frozen=True)
class BadRow:
    """One thing wrong with a file: the line it is on (None for the file as a whole) and why."""

    line: int | None
    reason: str

    def __str__(self) -> str:
        return self.reason if self.line is None else f"line {self.line}: {self.reason}"


class ImportRefused(InvalidValue):
    """A register file with bad rows: nothing of it was written. ``bad_rows`` says what and where."""

    def __init__(self, bad_rows: list[BadRow]) -> None:
        self.bad_rows = sorted(bad_rows, key=lambda bad: (bad.line or 0, bad.reason))
        count = len(self.bad_rows)
        super().__init__(
            f"the file was not imported: {count} problem{'s' if count != 1 else ''}; nothing was changed. "
            + "; ".join(str(bad) for bad in self.bad_rows[:3])
            + ("; ..." if count > 3 else "")
        )


@dataclass(frozen=True)
class ClusterRow:
    line: int
    cluster_id: ClusterId
    name: str


@dataclass(frozen=True)
class SchoolRow:
    line: int
    urn: SchoolUrn
    name: str
    phase: SchoolPhase
    cluster_id: ClusterId


def parse_phase(value: str) -> SchoolPhase:
    """A phase as stored (``all_through``) or as GIAS prints it (``All-through``, ``16 plus``)."""
    key = "_".join(value.strip().lower().replace("-", " ").split())
    for phase in SchoolPhase:
        if phase.value == key:
            return phase
    allowed = ", ".join(phase.value for phase in SchoolPhase)
    raise InvalidValue(f"phase must be one of: {allowed}; got {value!r}")


def text_of(data: bytes) -> str:
    """A file's text: UTF-8, with the byte-order mark a spreadsheet writes taken off."""
    if len(data) > limits.MAX_IMPORT_BYTES:
        raise ImportRefused([BadRow(None, f"the file is larger than {limits.MAX_IMPORT_BYTES:,} bytes")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefused([BadRow(None, f"the file is not UTF-8 text (byte {error.start + 1})")]) from None


def _records(text: str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Each data row with the line it starts on, as a dict by column; raises on a bad header or file."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    wanted = ",".join(columns)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportRefused([BadRow(None, f"the file is empty; its first line must be the header {wanted}")])
        names = [name.strip().lower() for name in header]
        if sorted(names) != sorted(columns):
            raise ImportRefused([BadRow(1, f"the first line must be the header {wanted}; found {','.join(names)}")])
        starts = reader.line_num + 1
        rows = 0
        for record in reader:
            line, starts = starts, reader.line_num + 1
            if not record or all(not value.strip() for value in record):
                continue
            rows += 1
            if rows > limits.MAX_IMPORT_ROWS:
                raise ImportRefused([BadRow(line, f"a file may hold at most {limits.MAX_IMPORT_ROWS:,} rows")])
            if len(record) != len(columns):
                yield line, {"": f"expected {len(columns)} values ({wanted}), found {len(record)}"}
                continue
            yield line, dict(zip(names, record, strict=True))
    except csv.Error as error:
        raise ImportRefused([BadRow(reader.line_num, f"the file is not valid CSV ({error})")]) from None


def _field_problem(error: InvalidValue, column: str) -> str:
    message = str(error)
    # "school URN must be 6 digits" names its column already; only a message that does not is prefixed.
    return message if column.replace("_", " ") in message.lower() else f"{column}: {message}"


def read_cluster_file(text: str) -> tuple[list[ClusterRow], list[BadRow]]:
    """Every good row, and every bad one with why; a repeated cluster id is bad on its later line."""
    good: list[ClusterRow] = []
    bad: list[BadRow] = []
    first_seen: dict[ClusterId, int] = {}
    for line, record in _records(text, CLUSTER_COLUMNS):
        if "" in record:
            bad.append(BadRow(line, record[""]))
            continue
        problems: list[str] = []
        cluster_id = _checked(problems, record, "cluster_id", ClusterId.parse)
        name = _checked(problems, record, "name", _name)
        if cluster_id is not None and cluster_id in first_seen:
            problems.append(f"cluster {cluster_id} is also on line {first_seen[cluster_id]}")
        if problems or cluster_id is None or name is None:
            bad.append(BadRow(line, "; ".join(problems)))
            continue
        first_seen[cluster_id] = line
        good.append(ClusterRow(line, cluster_id, name))
    return good, bad


def read_school_file(text: str) -> tuple[list[SchoolRow], list[BadRow]]:
    """Every good row, and every bad one with why; a repeated URN is bad on its later line."""
    good: list[SchoolRow] = []
    bad: list[BadRow] = []
    first_seen: dict[SchoolUrn, int] = {}
    for line, record in _records(text, SCHOOL_COLUMNS):
        if "" in record:
            bad.append(BadRow(line, record[""]))
            continue
        problems: list[str] = []
        urn = _checked(problems, record, "urn", SchoolUrn.parse)
        name = _checked(problems, record, "name", _name)
        phase = _checked(problems, record, "phase", parse_phase)
        cluster_id = _checked(problems, record, "cluster_id", ClusterId.parse)
        if urn is not None and urn in first_seen:
            problems.append(f"URN {urn} is also on line {first_seen[urn]}")
        if problems or urn is None or name is None or phase is None or cluster_id is None:
            bad.append(BadRow(line, "; ".join(problems)))
            continue
        first_seen[urn] = line
        good.append(SchoolRow(line, urn, name, phase, cluster_id))
    return good, bad


def _name(value: str) -> str:
    return check_text(value, field="name", max_length=limits.SHORT_TEXT)


def _checked(problems: list[str], record: dict[str, str], column: str, parse: Callable[[str], T]) -> T | None:
    """The column's value parsed (spaces a spreadsheet left around it taken off), or None and why."""
    try:
        return parse(record[column].strip())
    except InvalidValue as error:
        problems.append(_field_problem(error, column))
        return None
