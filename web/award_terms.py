"""What an approval says about its money besides the amount, as a form asks it: the award period
(two GOV.UK date inputs, the request's financial year unless changed), how it is paid (termly,
monthly or in one payment) and, optionally, one instalment held until a condition is met.

The lead's approval (``web/cluster/decisions.py``) and the council's decision on an escalation
(``web/council/pages.py``) both carry these fields (``awards/_terms_fields.html``); the
application decides everything else: whether the period may start then, whether the schedule has
the instalment to hold, whether each year's budget can take its share.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.errors import FundingError
from domain.funding_request import FundingRequest
from domain.schedules import TermShares
from web.kit import Errors, Form
from web.labels import SCHEDULES
from web.provision_maps import date_items

DATE_PARTS = ("day", "month", "year")
TERMS_FIELDS = ("starts_on-day", "ends_on-day", "schedule", "hold_instalment", "hold_condition")
DEFAULT_SCHEDULE = "termly"


def date_values(name: str, value: date) -> dict[str, str]:
    return {f"{name}-{part}": str(getattr(value, part)) for part in DATE_PARTS}


def default_values(funding_request: FundingRequest) -> dict[str, str]:
    """The form before anything is typed: the request's whole financial year, paid termly."""
    year = funding_request.financial_year
    return {**date_values("starts_on", year.starts_on), **date_values("ends_on", year.ends_on), "schedule": "termly"}


def typed_values(form: Form) -> dict[str, str]:
    names = [f"{name}-{part}" for name in ("starts_on", "ends_on") for part in DATE_PARTS]
    return {name: form.get(name) for name in [*names, "schedule", "hold_instalment", "hold_condition"]}


def absent(form: Form, *names: str) -> bool:
    """None of the fields was posted at all (not even empty): the application's default applies,
    as for an API call that leaves them out. The pages' forms always post them."""
    return not any(name in form.fields for name in names)


def date_fields(name: str) -> tuple[str, ...]:
    return tuple(f"{name}-{part}" for part in DATE_PARTS)


def read_date(form: Form, errors: Errors, name: str, label: str) -> date | None:
    parts = [form.get(f"{name}-{part}") for part in DATE_PARTS]
    if not all(parts):
        errors.add(f"{name}-day", f"Enter the day, month and year {label}")
        return None
    if not all(part.isascii() and part.isdigit() and len(part) <= 4 for part in parts):
        errors.add(f"{name}-day", f"The date {label} must be a real date, like 1 9 2026")
        return None
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        errors.add(f"{name}-day", f"The date {label} must be a real date, like 1 9 2026")
        return None


def read_terms(form: Form, errors: Errors) -> dict[str, Any]:
    """The award's terms as the application's ``approve`` and ``decide_escalation`` take them; each
    mistake is added to ``errors`` on its field (then the terms are not to be used). Terms not
    posted at all are left to the application (the request's whole year, termly)."""
    period: dict[str, date | None] | None = None
    if not absent(form, *date_fields("starts_on"), *date_fields("ends_on")):
        starts_on = read_date(form, errors, "starts_on", "the award starts")
        ends_on = read_date(form, errors, "ends_on", "the award ends")
        if starts_on and ends_on and ends_on < starts_on:
            errors.add("ends_on-day", "The award must end on or after the day it starts")
        period = {"starts_on": starts_on, "ends_on": ends_on}
    schedule = None if absent(form, "schedule") else form.get("schedule")
    if schedule is not None and schedule not in SCHEDULES:
        errors.add("schedule", "Choose how the award is paid")
    number_text, condition = form.get("hold_instalment"), form.get("hold_condition")
    holds = []
    if number_text or condition:
        number = None
        if not number_text:
            errors.add("hold_instalment", "Enter the number of the instalment to hold, or leave both hold boxes empty")
        elif not (number_text.isascii() and number_text.isdigit() and 1 <= int(number_text) <= 99):
            errors.add("hold_instalment", "The instalment to hold must be a number from 1, like 1 for the first")
        else:
            number = int(number_text)
        if not condition:
            errors.add("hold_condition", "Enter what the held instalment waits for, like a reviewed provision plan")
        if number is not None and condition:
            holds.append({"number": number, "condition": condition})
    return {
        "award_period": period,
        "schedule": schedule,
        "held_instalments": holds,
    }


def field_of(error: FundingError) -> str | None:
    """The terms field an application's refusal is about, or None if it is about none of them."""
    message = str(error)
    if "award period" in message:
        return "ends_on-day" if "year long" in message or "end before" in message else "starts_on-day"
    if "to hold" in message or "held once" in message or "held instalment" in message:
        return "hold_instalment"
    if message.startswith("condition "):
        return "hold_condition"
    if message.startswith("schedule"):
        return "schedule"
    return None


def terms_context(shares: TermShares) -> dict[str, Any]:
    """What the fields' template needs besides the values: the schedules (with the term shares in
    force) and the date inputs' boxes."""
    total = shares.autumn + shares.spring + shares.summer
    hints = {
        "termly": f"Autumn, spring and summer shares of {shares.autumn}, {shares.spring} and {shares.summer} "
        f"in {total} parts of a year, pro rata by days for part terms",
        "monthly": "An instalment each month, pro rata by days",
        "single": "All of it due on the day the award starts",
    }

    def schedule_items(chosen: str | None) -> list[dict[str, Any]]:
        return [
            {"value": value, "text": text, "hint": {"text": hints[value]}, "checked": value == chosen}
            for value, text in SCHEDULES.items()
        ]

    return {"schedule_items": schedule_items, "date_items": date_items}
