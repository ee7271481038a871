"""What the school's and the council's SEN Information Report pages share: the checklist form
(a rating and a note per item), dates typed in three boxes, and dates and counts as people read them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain import limits
from domain.sen_report_checklist import CHECKLIST, SCHEDULE_1_ITEMS, SECTION_69_ITEMS, Rating
from domain.sen_reports import Assessment
from web.kit import Errors, Form

RATING_LABELS = {Rating.MET.value: "Met", Rating.PARTLY_MET.value: "Partly met", Rating.NOT_MET.value: "Not met"}
RATING_TAGS = {
    Rating.MET.value: "govuk-tag--green",
    Rating.PARTLY_MET.value: "govuk-tag--yellow",
    Rating.NOT_MET.value: "govuk-tag--red",
}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def long_date(value: date | str | None) -> str:
    """``1 September 2026``, as GOV.UK writes dates."""
    if value is None:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def checklist_sections() -> list[tuple[str, tuple[Any, ...]]]:
    return [
        ("Schedule 1 to the Special Educational Needs and Disability Regulations 2014", SCHEDULE_1_ITEMS),
        ("Section 69(3)(b) of the Children and Families Act 2014: disabled pupils", SECTION_69_ITEMS),
    ]


def read_checklist(form: Form, errors: Errors) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The ratings and notes posted, and every field as typed (to show back on an error)."""
    ratings: dict[str, str] = {}
    notes: dict[str, str] = {}
    values: dict[str, str] = {}
    for item in CHECKLIST:
        rating = form.get(f"rating-{item.key}")
        note = form.get(f"note-{item.key}")
        values[f"rating-{item.key}"], values[f"note-{item.key}"] = rating, note
        if rating not in RATING_LABELS:
            errors.add(
                f"rating-{item.key}", f"Select whether the report meets {item.reference}: {item.short_title.lower()}"
            )
        else:
            ratings[item.key] = rating
        if len(note) > limits.NOTE_TEXT:
            errors.add(
                f"note-{item.key}", f"The note on {item.reference} must be {limits.NOTE_TEXT} characters or fewer"
            )
        elif note:
            notes[item.key] = note
    return ratings, notes, values


def assessment_values(assessment: Assessment | None) -> dict[str, str]:
    """A form filled with an earlier assessment, to start the next one from."""
    if assessment is None:
        return {}
    values = {f"rating-{key}": rating.value for key, rating in assessment.ratings.items()}
    values.update({f"note-{key}": note for key, note in assessment.notes.items()})
    return values


def read_date(form: Form, name: str, label: str, errors: Errors) -> tuple[date | None, dict[str, str]]:
    """A GOV.UK date input's three boxes (``{name}-day`` and so on) as a date, or an error."""
    parts = {part: form.get(f"{name}-{part}") for part in ("day", "month", "year")}
    typed = {f"{name}-{part}": value for part, value in parts.items()}
    if not any(parts.values()):
        errors.add(name, f"Enter {label}")
        return None, typed
    missing = [part for part, value in parts.items() if not value]
    if missing:
        errors.add(name, f"{label[0].upper()}{label[1:]} must include a {' and '.join(missing)}")
        return None, typed
    if not all(value.isdigit() and len(value) <= 4 for value in parts.values()) or len(parts["year"]) != 4:
        errors.add(name, f"{label[0].upper()}{label[1:]} must be a real date, like 1 9 2026")
        return None, typed
    try:
        return date(int(parts["year"]), int(parts["month"]), int(parts["day"])), typed
    except ValueError:
        errors.add(name, f"{label[0].upper()}{label[1:]} must be a real date, like 1 9 2026")
        return None, typed


def date_values(name: str, day: date) -> dict[str, str]:
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}
