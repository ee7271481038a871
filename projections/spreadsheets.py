"""The read models as CSV for spreadsheets: finance's ledger and the council's decision log.

Finance and auditors open these in Excel or LibreOffice, so every text cell that a spreadsheet
would run as a formula is guarded, money is a 2-dp number and times are ISO 8601. The rows come
from ``projections.queries``; this module only writes them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any, TextIO
from uuid import UUID

from domain.formatting import pounds
from projections.database import ProjectionDatabase
from projections.queries import DECISION_COLUMNS, LEDGER_COLUMNS, DecisionRow, LedgerRow, ledger_rows

LEDGER_MONEY = ("amount", "available_after", "paid_after")


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


def _ledger_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in LEDGER_MONEY:
        return pounds(value)  # a negative adjustment stays a number, so never guarded
    if column == "request_id":
        value = UUID(value)
    return spreadsheet_safe(str(value))


def write_ledger(rows: Iterable[LedgerRow], out: TextIO) -> int:
    """CSV with a header row, ISO 8601 times and 2-dp amounts; returns the number of movements.

    Every field of every movement is quoted: Python 3.11 and 3.12 leave a field with a bare
    carriage return unquoted, and a spreadsheet then starts a new row there. The header keeps
    its plain, unquoted names, as finance's spreadsheets and scripts already read them.
    """
    csv.writer(out, lineterminator="\n").writerow(LEDGER_COLUMNS)
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    count = 0
    for row in rows:
        writer.writerow([_ledger_cell(column, value) for column, value in zip(LEDGER_COLUMNS, row, strict=True)])
        count += 1
    return count


def write_ledger_csv(database: ProjectionDatabase, year: str, out: TextIO) -> int:
    return write_ledger(ledger_rows(database, year), out)


def ledger_csv(database: ProjectionDatabase, year: str) -> str:
    buffer = io.StringIO()
    write_ledger_csv(database, year, buffer)
    return buffer.getvalue()


# The decision log's CSV, header included: the council's auditors open it in a spreadsheet.
DECISION_CSV_COLUMNS = DECISION_COLUMNS


def _decision_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "amount":
        return pounds(value)
    if column == "request_id":
        value = UUID(value)
    return spreadsheet_safe(str(value))


def write_decisions(rows: Iterable[DecisionRow], out: TextIO) -> int:
    """CSV as ``write_ledger`` writes it (every field quoted, formula-like lines guarded); returns the count."""
    csv.writer(out, lineterminator="\n").writerow(DECISION_CSV_COLUMNS)
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    count = 0
    for row in rows:
        writer.writerow(
            [_decision_cell(column, value) for column, value in zip(DECISION_CSV_COLUMNS, row, strict=True)]
        )
        count += 1
    return count
