"""Working days in England: Monday to Friday, except bank holidays.

Deadlines for decisions, letters and reconsideration are set in working days (a policy parameter).
Which days are bank holidays is not the domain's to know: the application reads them from a
maintained package and hands them in, so the rules here stay plain arithmetic over dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from domain.errors import InvalidValue

SATURDAY = 5


@dataclass(frozen=True, slots=True)
class WorkingDays:
    """A calendar of working days: weekdays that are not in ``bank_holidays``."""

    bank_holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def with_holidays(cls, days: Iterable[date]) -> WorkingDays:
        return cls(frozenset(days))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < SATURDAY and day not in self.bank_holidays

    def add(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (``start`` itself is day 0, whatever it is):
        a letter due "within 5 working days" of a Friday decision is due on the next Friday."""
        if type(days) is not int or days < 0:
            raise InvalidValue("a number of working days is a whole number, zero or more")
        day = start
        for _ in range(days):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not later):
        the inverse of ``add`` for ``end`` a working day."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count
