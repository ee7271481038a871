"""Today as the council counts it: the date in England, and the financial year it falls in.

A server's clock runs in UTC; a financial year starts on 1 April in England, which in summer time
begins an hour before UTC's. Without a year in the request, reads default to this one.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.values import FinancialYear

ENGLAND = ZoneInfo("Europe/London")


def today_in_england() -> date:
    return datetime.now(ENGLAND).date()


def current_financial_year() -> FinancialYear:
    return FinancialYear.containing(today_in_england())
