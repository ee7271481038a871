"""What the cluster lead's pages share: year and school choices, and a refusal placed on a form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from domain.errors import FundingError, InvalidValue
from domain.values import Actor, FinancialYear
from funding_engine.application.calendar import current_financial_year
from web.kit import Errors, Kit, application_message


def selected(items: Iterable[Mapping[str, object]], value: str) -> list[dict[str, object]]:
    """A select's items with the chosen one marked."""
    return [{**item, "selected": item["value"] == value} for item in items]


def year_options(chosen: str, *, any_year: str | None = None) -> list[dict[str, object]]:
    """A select's items: the years either side of this one (and ``chosen``, whatever it is)."""
    this_year = current_financial_year().start_year
    years = [str(FinancialYear(start)) for start in range(this_year + 1, this_year - 3, -1)]
    if chosen and chosen not in years and _is_year(chosen):
        years.append(chosen)
    items: list[dict[str, object]] = [{"value": "", "text": any_year}] if any_year else []
    items += [{"value": year, "text": year} for year in years]
    return selected(items, chosen)


def parse_year(text: str, errors: Errors, *, default: FinancialYear | None = None) -> FinancialYear | None:
    """The year a lead picked (``2026-27``); ``default`` when none; an error on ``year`` otherwise."""
    if not text:
        return default
    try:
        return FinancialYear.parse(text)
    except InvalidValue:
        errors.add("year", "Choose a financial year, like 2026-27")
        return default


def schools_of(kit: Kit, actor: Actor) -> list[str]:
    """The URNs of the schools in the lead's cluster now."""
    return [str(urn) for urn in kit.application.get_cluster(actor, actor.cluster_id or "").school_urns]


def _is_year(text: str) -> bool:
    try:
        FinancialYear.parse(text)
    except InvalidValue:
        return False
    return True


def refusal_on_form(errors: Errors, error: FundingError, fields: Sequence[str], field: str | None = None) -> None:
    """The application's refusal in the error summary, on ``field`` if known, else on the field it
    names (else the first)."""
    message = str(error)
    named = field if field in fields else None
    named = named or next((name for name in fields if name in message or name.replace("_", " ") in message), fields[0])
    errors.add(named, application_message(error))
