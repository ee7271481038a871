"""Payment run files: a run as the council's finance system imports it, and the bank's remittance.

A run's file is CSV: a header of the configured headings (``domain/payment_files.py``), then one
line per run line, amounts as 2-dp numbers and dates as ``YYYY-MM-DD``. A school's name is written
as the run recorded it, with a spreadsheet's formula starts guarded as in the ledger, since
finance opens these files in a spreadsheet too.

A remittance is CSV with the columns ``reference``, ``amount`` and ``date`` (in any order and any
case; other columns a bank adds are ignored). Line numbers are the file's own, the header being
line 1, as the register imports count them. A file that is not such a CSV at all is refused whole
(``ImportRefused``) and nothing is recorded; a row that cannot be read is reported with its line
and why, and the others are still read. Amounts may carry a pound sign and thousands separators,
as banks print them; dates may be ``YYYY-MM-DD`` or ``DD/MM/YYYY``. A reference repeated within the
file is reported on its later lines, so one file never pays a line twice.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TextIO, TypeVar

from domain import limits
from domain.errors import InvalidValue
from domain.formatting import pounds
from domain.money import Money, parse_amount
from domain.payment_files import RunFileColumns
from domain.payment_runs import PaymentRun, RunLine
from domain.remittances import RemittanceProblem
from funding_engine.application.register_files import BadRow, ImportRefused
from projections.spreadsheets import spreadsheet_safe

T = TypeVar("T")

REMITTANCE_COLUMNS = ("reference", "amount", "date")
_UK_DATE = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})\Z")
_THOUSANDS = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,2})?\Z")


@dataclass(frozen=True)
class RemittanceLine:
    """A remittance row that reads: the line it is on, the reference, the amount and the day paid."""

    line: int
    reference: str
    amount: Money
    paid_on: date


# -- the run's file ---------------------------------------------------------------------------------


def _cell(run: PaymentRun, line: RunLine, field: str) -> str:
    if field == "payee_urn":
        return str(line.school_urn)
    if field == "payee_name":
        return spreadsheet_safe(line.school_name)
    if field == "award_reference":
        return line.award_reference
    if field == "cost_centre":
        return spreadsheet_safe(line.cost_centre)
    if field == "amount":
        return pounds(line.amount.pence)
    if field == "due_on":
        return line.due_on.isoformat()
    return run.line_reference(line.line)


def write_run_file(run: PaymentRun, columns: RunFileColumns, out: TextIO) -> int:
    """Every line of ``run`` as the finance system imports it; returns how many lines were written.

    Withdrawn and paid lines are written too: the file is the run as it was made, the same file
    whenever it is asked for.
    """
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns.headings)
    for line in run.lines:
        writer.writerow([_cell(run, line, field) for field in columns.fields])
    return len(run.lines)


def run_file_name(run: PaymentRun) -> str:
    return f"payment-run-{run.reference}.csv"


# -- the bank's remittance ----------------------------------------------------------------------------


def text_of_remittance(data: bytes) -> str:
    """The file's text, as a register file's is read: UTF-8, a spreadsheet's byte-order mark taken off."""
    if len(data) > limits.MAX_IMPORT_BYTES:
        raise ImportRefused([BadRow(None, f"the file is larger than {limits.MAX_IMPORT_BYTES:,} bytes")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefused([BadRow(None, f"the file is not UTF-8 text (byte {error.start + 1})")]) from None


def read_remittance(text: str) -> tuple[list[RemittanceLine], list[RemittanceProblem]]:
    """Every row that reads, and every one that does not with why (see the module's note)."""
    lines: list[RemittanceLine] = []
    problems: list[RemittanceProblem] = []
    first_seen: dict[str, int] = {}
    for line, record in _records(text):
        reference = record.get("reference", "").strip()
        shown = reference[: limits.SHORT_TEXT]
        if "" in record:
            problems.append(RemittanceProblem(line, shown, record[""]))
            continue
        why: list[str] = []
        if not reference:
            why.append("the reference is blank")
        elif len(reference) > limits.SHORT_TEXT:
            why.append(f"the reference is longer than {limits.SHORT_TEXT} characters")
        amount = _read(why, _amount, record["amount"])
        paid_on = _read(why, _date, record["date"])
        key = reference.upper()
        if not why and key in first_seen:
            why.append(f"the reference is also on line {first_seen[key]}")
        if why or amount is None or paid_on is None:
            problems.append(RemittanceProblem(line, shown, "; ".join(why)))
            continue
        first_seen[key] = line
        lines.append(RemittanceLine(line, reference, amount, paid_on))
    return lines, problems


def _records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Each data row with the line it starts on, by column name; refuses a file with no such columns."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    wanted = ",".join(REMITTANCE_COLUMNS)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportRefused([BadRow(None, f"the file is empty; its first line must be a header with {wanted}")])
        names = [name.strip().lower() for name in header]
        missing = [column for column in REMITTANCE_COLUMNS if column not in names]
        repeated = sorted({name for name in names if name in REMITTANCE_COLUMNS and names.count(name) > 1})
        if missing or repeated:
            problem = f"missing {', '.join(missing)}" if missing else f"{', '.join(repeated)} more than once"
            raise ImportRefused([BadRow(1, f"the first line must be a header with {wanted} ({problem})")])
        starts, rows = reader.line_num + 1, 0
        for record in reader:
            line, starts = starts, reader.line_num + 1
            if not record or all(not value.strip() for value in record):
                continue
            rows += 1
            if rows > limits.MAX_IMPORT_ROWS:
                raise ImportRefused([BadRow(line, f"a file may hold at most {limits.MAX_IMPORT_ROWS:,} rows")])
            if len(record) != len(names):
                values = dict(zip(names, record, strict=False))
                values[""] = f"expected {len(names)} values, as the header has, found {len(record)}"
                yield line, values
                continue
            yield line, dict(zip(names, record, strict=True))
    except csv.Error as error:
        raise ImportRefused([BadRow(reader.line_num, f"the file is not valid CSV ({error})")]) from None


def _read(why: list[str], parse: Callable[[str], T], text: str) -> T | None:
    try:
        return parse(text)
    except InvalidValue as error:
        why.append(str(error))
        return None


def _amount(text: str) -> Money:
    """An amount as a bank prints it: ``1234.50``, ``1,234.50`` or ``£1,234.50``."""
    value = text.strip().removeprefix("£").strip()
    if _THOUSANDS.match(value):
        value = value.replace(",", "")
    return parse_amount(value, field="the amount")


def _date(text: str) -> date:
    value = text.strip()
    uk = _UK_DATE.match(value)
    try:
        if uk:
            return date(int(uk.group(3)), int(uk.group(2)), int(uk.group(1)))
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidValue(f"the date must be like 2026-09-07 or 07/09/2026, not {value[:20]!r}")
