"""When an award is paid: its period, and the instalments a schedule divides it into.

An approval states its award period and how it is paid. ``instalments_for`` divides the amount
over the period, pro rata by days, to the penny: each part of the period (a term, a month, or the
whole period) weighs its share, every instalment but the last is rounded down, and the last takes
the remainder, so the instalments always add up to the amount exactly.

Terms follow the English school year and its money: autumn (September to December), spring
(January to March) and summer (April to August), weighted by the term shares (Norfolk's 4/12, 3/12
and 5/12 by default; a setting until policy parameters exist). No term or month crosses 1 April,
so each instalment belongs to one financial year: the year its part of the period falls in.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from fractions import Fraction
from typing import Any

from domain.copying import shared_when_copied
from domain.errors import AmountNotAllowed, InvalidValue
from domain.money import Money
from domain.values import FinancialYear


class ScheduleKind(Enum):
    """How an award is paid: a share each term, each month, or all at once."""

    TERMLY = "termly"
    MONTHLY = "monthly"
    SINGLE = "single"


@dataclass(frozen=True, slots=True)
class TermShares:
    """How much of a year's award each term carries: autumn, spring, summer (in any common unit)."""

    autumn: int = 4
    spring: int = 3
    summer: int = 5

    def __post_init__(self) -> None:
        for share in (self.autumn, self.spring, self.summer):
            if type(share) is not int or share <= 0:
                raise InvalidValue("term shares are three positive whole numbers, such as 4,3,5")

    @classmethod
    def parse(cls, text: str) -> TermShares:
        parts = [part.strip() for part in text.split(",")]
        if len(parts) != 3 or not all(part.isdigit() for part in parts):
            raise InvalidValue(f"term shares are three whole numbers such as 4,3,5, got {text!r}")
        return cls(*(int(part) for part in parts))

    def __str__(self) -> str:
        return f"{self.autumn},{self.spring},{self.summer}"


DEFAULT_SHARES = TermShares()


@shared_when_copied
@dataclass(frozen=True, slots=True)
class AwardPeriod:
    """The days an award pays for, first and last included; at most a year."""

    starts_on: date
    ends_on: date

    def __post_init__(self) -> None:
        if type(self.starts_on) is not date or type(self.ends_on) is not date:
            raise InvalidValue("an award period's dates must be dates")
        if self.ends_on < self.starts_on:
            raise InvalidValue("an award period must not end before it starts")
        if self.ends_on >= _a_year_after(self.starts_on):
            raise InvalidValue("an award period is at most a year long")

    @classmethod
    def parse(cls, value: AwardPeriod | Mapping[str, Any]) -> AwardPeriod:
        if isinstance(value, AwardPeriod):
            return value
        if not isinstance(value, Mapping) or set(value) != {"starts_on", "ends_on"}:
            raise InvalidValue("award_period names starts_on and ends_on")
        return cls(_parse_date(value["starts_on"], "starts_on"), _parse_date(value["ends_on"], "ends_on"))

    @classmethod
    def whole_year(cls, year: FinancialYear) -> AwardPeriod:
        return cls(year.starts_on, year.ends_on)

    def financial_years(self) -> list[FinancialYear]:
        first, last = FinancialYear.containing(self.starts_on), FinancialYear.containing(self.ends_on)
        return [first] if first == last else [first, last]

    def __str__(self) -> str:
        return f"{self.starts_on.isoformat()} to {self.ends_on.isoformat()}"


@shared_when_copied
@dataclass(frozen=True, slots=True)
class PlannedInstalment:
    """One instalment as a schedule plans it: due on a date, for one financial year's fund."""

    number: int
    due_on: date
    financial_year: FinancialYear
    amount: Money


def instalments_for(
    amount: Money, period: AwardPeriod, kind: ScheduleKind, shares: TermShares = DEFAULT_SHARES
) -> list[PlannedInstalment]:
    """The instalments ``amount`` is paid in over ``period``; they add up to ``amount`` exactly."""
    if not amount.is_positive:
        raise AmountNotAllowed("an award's amount must be positive")
    parts = list(_parts(period, kind, shares))
    total_weight = sum(weight for _, weight in parts)
    amounts: list[int] = []
    for _, weight in parts[:-1]:
        amounts.append(int(amount.pence * weight / total_weight))  # rounds down: weights are positive
    amounts.append(amount.pence - sum(amounts))
    # A tiny award spread over many months rounds some parts to nothing: they are not instalments.
    due = [(start, pence) for (start, _), pence in zip(parts, amounts, strict=True) if pence > 0]
    return [
        PlannedInstalment(number, start, FinancialYear.containing(start), Money(pence))
        for number, (start, pence) in enumerate(due, start=1)
    ]


def _parts(period: AwardPeriod, kind: ScheduleKind, shares: TermShares) -> Iterator[tuple[date, Fraction]]:
    """Each part of the period: the day it starts (its instalment's due date) and its weight."""
    if kind is ScheduleKind.SINGLE:
        yield period.starts_on, Fraction(1)
        return
    day = period.starts_on
    while day <= period.ends_on:
        first, last, weight = _term(day, shares) if kind is ScheduleKind.TERMLY else _month(day)
        covered_to = min(last, period.ends_on)
        covered_days = (covered_to - day).days + 1
        yield day, weight * Fraction(covered_days, (last - first).days + 1)
        day = covered_to + timedelta(days=1)


def _term(day: date, shares: TermShares) -> tuple[date, date, int]:
    """The term ``day`` falls in: its first and last days, and its share."""
    if day.month >= 9:
        return date(day.year, 9, 1), date(day.year, 12, 31), shares.autumn
    if day.month <= 3:
        return date(day.year, 1, 1), date(day.year, 3, 31), shares.spring
    return date(day.year, 4, 1), date(day.year, 8, 31), shares.summer


def _month(day: date) -> tuple[date, date, int]:
    last = calendar.monthrange(day.year, day.month)[1]
    return date(day.year, day.month, 1), date(day.year, day.month, last), 1


def _a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return date(day.year + 1, 3, 1)


def _parse_date(value: Any, field: str) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise InvalidValue(f"{field} must be a date such as 2026-09-01")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(f"{field} must be a date such as 2026-09-01, got {value!r}") from None
