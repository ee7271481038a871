"""What the school's forms share: the request they act on, written text the domain will accept, and
lines of money by category (planned provision, spend evidence) typed into rows without JavaScript.

A form of lines shows a fixed number of rows; "Add another line" posts the form back with one more row,
keeping what was typed. A row left wholly empty is not a line, so clearing a row removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.errors import InvalidTransition, InvalidValue
from domain.funding_request import FundingRequest
from domain.lifecycle import OPEN_STATUSES
from domain.limits import MAX_LINES, NOTE_TEXT
from domain.text import check_text
from domain.values import Actor, DecisionKind, RequestStatus
from web.kit import Errors, Form, Kit, parse_pounds
from web.labels import CATEGORIES
from web.requests import request_id_from

HOME = "/school/requests"
BREADCRUMBS = ((HOME, "Your requests"),)

EMPTY_ROWS = 3  # rows a new form shows
ADD_ANOTHER = "add"  # the value of the "Add another line" button (name="action")


def request_url(request_id: UUID | str) -> str:
    return f"/funding-requests/{request_id.hex if isinstance(request_id, UUID) else request_id}"


def latest_question(funding_request: FundingRequest) -> str | None:
    """The lead's question the school has still to answer, if it has one."""
    if funding_request.status is not RequestStatus.INFORMATION_REQUESTED:
        return None
    asked = [d for d in funding_request.decisions if d.kind is DecisionKind.INFORMATION_REQUEST]
    return asked[-1].reason if asked else None


def open_request(kit: Kit, actor: Actor, request_id: str, action: str) -> FundingRequest:
    """The school's own request, still open to ``action`` (a 409 page if it is not, 404 if not theirs)."""
    funding_request = kit.application.get_request(actor, request_id_from(request_id))
    if funding_request.status not in OPEN_STATUSES:
        status = funding_request.status.value.replace("_", " ")
        raise InvalidTransition(f"you cannot {action} a request that is {status}")
    return funding_request


@dataclass(frozen=True)
class Line:
    category: str
    pence: int
    note: str = ""


def check_written(
    text: str, errors: Errors, field_name: str, label: str, max_length: int, *, required: bool = True
) -> str:
    """Free text the domain will accept (``check_text``), or a message on the field saying why not."""
    try:
        return check_text(text, field=field_name, max_length=max_length, required=required)
    except InvalidValue:
        pass
    sentence = label[0].upper() + label[1:]
    if required and not text.strip():
        errors.add(field_name, f"Enter {label}")
    elif len(text) > max_length:
        errors.add(field_name, f"{sentence} must be {max_length:,} characters or fewer")
    else:
        errors.add(field_name, f"{sentence} must not contain control characters")
    return text


def row_count(form: Form, lines: int = 0) -> int:
    """How many rows the posted form had (at least those holding ``lines``), one more after "add"."""
    try:
        rows = int(form.get("rows") or EMPTY_ROWS)
    except ValueError:
        rows = EMPTY_ROWS
    rows = max(1, min(rows, MAX_LINES), lines)
    if form.get("action") == ADD_ANOTHER:
        rows = min(rows + 1, MAX_LINES)
    return rows


def rows_for(lines: int) -> int:
    """Rows a form shows for ``lines`` lines already given: those, and an empty one to add another."""
    return min(max(EMPTY_ROWS, lines + 1), MAX_LINES)


def pounds_text(pence: int) -> str:
    """Pence as a person would type pounds back into a field: ``1,250.50``."""
    return f"{pence // 100:,}.{pence % 100:02d}"


def line_values(lines: list[Line], *, with_note: bool = False) -> dict[str, str]:
    """Lines already given, as the form's fields (``category-1``, ``amount-1``, ``note-1``, ...)."""
    values: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        values[f"category-{number}"] = line.category
        values[f"amount-{number}"] = pounds_text(line.pence)
        if with_note:
            values[f"note-{number}"] = line.note
    return values


def read_lines(form: Form, rows: int, errors: Errors, *, with_note: bool = False) -> tuple[list[Line], dict[str, str]]:
    """The lines typed into ``rows`` rows, and the fields as typed (to show back on a bad input)."""
    lines: list[Line] = []
    values: dict[str, str] = {}
    for number in range(1, rows + 1):
        category = form.get(f"category-{number}")
        amount_text = form.get(f"amount-{number}")
        note = form.get(f"note-{number}") if with_note else ""
        values.update({f"category-{number}": category, f"amount-{number}": amount_text})
        if with_note:
            values[f"note-{number}"] = note
        if not (category or amount_text or note):
            continue
        if category not in CATEGORIES:
            errors.add(f"category-{number}", f"Choose a category for line {number}")
        pence = parse_pounds(amount_text, errors, f"amount-{number}", f"the amount for line {number}")
        if with_note:
            check_written(note, errors, f"note-{number}", f"the note for line {number}", NOTE_TEXT, required=False)
        if category in CATEGORIES and pence is not None:
            lines.append(Line(category, pence, note))
    return lines, values
