"""What finance's pages share: which financial year a page shows, the years its selector offers,
and every request of a listing."""

from __future__ import annotations

from contextlib import suppress

from domain.errors import InvalidValue
from domain.limits import MAX_PAGE_SIZE
from domain.values import Actor, FinancialYear
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import current_financial_year
from funding_engine.application.read_models import ReadModels, RequestRow
from web.kit import Errors

YEAR_FIELD = "financial_year"


def chosen_year(text: str, errors: Errors, field_name: str = YEAR_FIELD) -> FinancialYear:
    """The year asked for (``2026-27``), this year when none was; a malformed one is an error on
    the field and this year is shown instead, so the page still reads."""
    if not text.strip():
        return current_financial_year()
    try:
        return FinancialYear.parse(text.strip())
    except InvalidValue:
        errors.add(field_name, "Enter a financial year like 2026-27")
        return current_financial_year()


def year_options(application: FundingApplication, actor: Actor, chosen: FinancialYear | str) -> list[str]:
    """Years with money in them, this year and next (budgets are set before April), and the one
    chosen; newest first."""
    this_year = current_financial_year()
    years = {str(this_year), str(chosen)}
    with suppress(InvalidValue):  # this is the last year the engine takes
        years.add(str(FinancialYear(this_year.start_year + 1)))
    years.update(application.read_models.funded_years(actor))
    return sorted(years, reverse=True)


def year_items(years: list[str], chosen: FinancialYear | str) -> list[dict[str, object]]:
    """The years as ``govukSelect`` items, the chosen one selected."""
    return [{"value": year, "text": year, "selected": year == str(chosen)} for year in years]


def all_requests(
    read_models: ReadModels, actor: Actor, year: FinancialYear, cluster_id: str | None = None, status: str | None = None
) -> list[RequestRow]:
    """Every request matching, oldest first, read a page at a time."""
    rows: list[RequestRow] = []
    cursor: str | None = None
    while True:
        page = read_models.list_requests(
            actor, cluster_id=cluster_id, status=status, financial_year=year, limit=MAX_PAGE_SIZE, cursor=cursor
        )
        rows.extend(page.items)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor
