"""The form for one line of a provision map: fields typed as a SENCo types them (pounds, dates in
three boxes, hours like ``2.5``), read into the fields the domain's ``ProvisionMapLine`` takes, or
into messages on the fields that are wrong."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain import limits
from domain.errors import InvalidValue
from domain.formatting import pounds
from domain.provision_lines import LineReview, ProvisionMapLine, parse_hours
from web.kit import Errors, Form, parse_pounds
from web.labels import CATEGORIES, SERVICES
from web.provision_maps import AREAS, COST_BASES, FUNDING_SOURCES, IMPACTS, LINE_STATUSES, TIERS
from web.school.forms import check_written, pounds_text

CHOICES: dict[str, tuple[dict[str, Any], str]] = {
    "category": (CATEGORIES, "a category"),
    "tier": (TIERS, "a tier"),
    "area_of_need": (AREAS, "the broad area of need"),
    "cost_basis": (COST_BASES, "whether the cost is for each pupil or for the whole line"),
    "funded_by": (FUNDING_SOURCES, "what funds it"),
    "status": (LINE_STATUSES, "whether it is in place or planned"),
}
TEXT_FIELDS = (
    "description",
    "staff_or_provider",
    "pupil_count",
    "hours_per_week",
    "weeks",
    "cost",
    "commissioned_service",
)
DATE_FIELDS = ("starts_on", "ends_on")
# Which field a refusal from the domain is about, by the words it starts with.
FIELD_OF_MESSAGE = (
    ("the line's total cost", "cost"),
    ("the line must run", "starts_on-day"),
    ("ends_on", "ends_on-day"),
    ("a line the school commissions", "commissioned_service"),
    ("commissioned_service", "commissioned_service"),
    ("a provision map holds", "description"),
)


def _whole(text: str, errors: Errors, name: str, label: str, most: int, *, required: bool) -> int | None:
    if not text:
        if required:
            errors.add(name, f"Enter {label}")
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= most:
        errors.add(name, f"{label[0].upper()}{label[1:]} must be a whole number from 1 to {most:,}")
        return None
    return int(text)


def read_date(form: Form, errors: Errors, name: str, label: str) -> date | None:
    parts = [form.get(f"{name}-{part}") for part in ("day", "month", "year")]
    if not any(parts):
        errors.add(f"{name}-day", f"Enter {label}")
        return None
    try:
        day, month, year = (int(part) for part in parts)
        return date(year, month, day)
    except ValueError:
        errors.add(f"{name}-day", f"{label[0].upper()}{label[1:]} must be a real date, like 1 9 2026")
        return None


def date_values(name: str, value: date) -> dict[str, str]:
    return {f"{name}-day": str(value.day), f"{name}-month": str(value.month), f"{name}-year": str(value.year)}


def typed_values(form: Form) -> dict[str, str]:
    names = [*TEXT_FIELDS, *CHOICES, *(f"{d}-{p}" for d in DATE_FIELDS for p in ("day", "month", "year"))]
    return {name: form.get(name) for name in names}


def line_values(line: ProvisionMapLine) -> dict[str, str]:
    """A line as its form's fields, to change it."""
    return {
        "description": line.description,
        "category": line.category.value,
        "tier": line.tier.value,
        "area_of_need": line.area_of_need.value,
        "pupil_count": str(line.pupil_count),
        "hours_per_week": "" if line.hours_per_week is None else f"{line.hours_per_week.normalize():f}",
        "weeks": "" if line.weeks is None else str(line.weeks),
        "staff_or_provider": line.staff_or_provider,
        "cost_basis": line.cost_basis.value,
        "cost": pounds_text(line.cost.pence),
        "funded_by": line.funded_by.value,
        "commissioned_service": line.commissioned_service.value if line.commissioned_service else "",
        "status": line.status.value,
        **date_values("starts_on", line.starts_on),
        **date_values("ends_on", line.ends_on),
    }


def read_line(form: Form, errors: Errors) -> ProvisionMapLine | None:
    """The line the form holds, or None with ``errors`` saying what to correct (in the page's order)."""

    def choose(name: str) -> str:
        choices, label = CHOICES[name]
        value = form.get(name)
        if value not in choices:
            errors.add(name, f"Choose {label}")
        return value

    def hours() -> Any:
        try:
            value = parse_hours(form.get("hours_per_week"))
            if value is None or 0 < value <= limits.MAX_HOURS_PER_WEEK:
                return value
        except InvalidValue:
            pass
        errors.add(
            "hours_per_week",
            f"Hours a week must be a number more than 0 and at most {limits.MAX_HOURS_PER_WEEK}, like 2.5",
        )
        return None

    fields: dict[str, Any] = {
        "description": check_written(
            form.get("description"), errors, "description", "what the provision is", limits.SHORT_TEXT
        ),
        "category": choose("category"),
        "tier": choose("tier"),
        "area_of_need": choose("area_of_need"),
        "pupil_count": _whole(
            form.get("pupil_count"),
            errors,
            "pupil_count",
            "the number of pupils",
            limits.MAX_PROVISION_PUPILS,
            required=True,
        ),
        "hours_per_week": hours(),
        "weeks": _whole(form.get("weeks"), errors, "weeks", "the number of weeks", limits.MAX_WEEKS, required=False),
        "staff_or_provider": check_written(
            form.get("staff_or_provider"), errors, "staff_or_provider", "the staff role or provider", limits.SHORT_TEXT
        ),
        "cost_basis": choose("cost_basis"),
    }
    pence = parse_pounds(form.get("cost"), errors, "cost", "the cost", allow_zero=True)
    fields["cost"] = pounds(pence) if pence is not None else None
    fields["funded_by"] = choose("funded_by")
    service = form.get("commissioned_service")
    if service and service not in SERVICES:
        errors.add("commissioned_service", "Choose the service the school commissions")
    fields["commissioned_service"] = service or None
    fields["starts_on"] = read_date(form, errors, "starts_on", "the date it starts")
    fields["ends_on"] = read_date(form, errors, "ends_on", "the date it ends")
    fields["status"] = choose("status")
    if errors:
        return None
    try:
        return ProvisionMapLine.parse(**fields)
    except InvalidValue as error:
        add_domain_error(errors, str(error))
        return None


def add_domain_error(errors: Errors, message: str) -> None:
    """A refusal from the domain or the application, on the field it is about."""
    field_name = next((name for start, name in FIELD_OF_MESSAGE if message.lower().startswith(start)), "description")
    errors.add(field_name, message[0].upper() + message[1:])


def read_review(form: Form, errors: Errors, today: date) -> LineReview | None:
    impact = form.get("impact")
    if impact not in IMPACTS:
        errors.add("impact", "Choose the impact the provision had")
    note = check_written(form.get("note"), errors, "note", "the note", limits.NOTE_TEXT, required=False)
    reviewed_on = read_date(form, errors, "reviewed_on", "the date of the review")
    if errors or reviewed_on is None:
        return None
    if reviewed_on > today:
        errors.add("reviewed_on-day", "The date of the review must be today or in the past")
        return None
    return LineReview.parse(reviewed_on=reviewed_on, impact=impact, note=note)
