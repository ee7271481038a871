"""The academic year a school plans its provision in: 1 September to 31 August, written ``"2026/27"``.

Schools count their year this way, not as the council's financial year (1 April to 31 March), so
the two are different values that never compare equal. A slash cannot stand inside a URL's path
segment, so addresses write the year ``"2026-27"`` (``path`` and ``from_path``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from domain import limits
from domain.copying import shared_when_copied
from domain.errors import InvalidValue

_WRITTEN = re.compile(limits.ACADEMIC_YEAR_PATTERN)
_IN_PATH = re.compile(limits.ACADEMIC_YEAR_PATH_PATTERN)


@shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class AcademicYear:
    """A school's academic year, 1 September to 31 August."""

    start_year: int

    def __post_init__(self) -> None:
        first, last = limits.FIRST_ACADEMIC_YEAR, limits.LAST_ACADEMIC_YEAR
        if type(self.start_year) is not int or not first <= self.start_year <= last:
            raise InvalidValue(f"academic year must start between {first} and {last}, got {self.start_year!r}")

    @classmethod
    def parse(cls, value: AcademicYear | str) -> AcademicYear:
        """``"2026/27"``, as schools write it."""
        if isinstance(value, AcademicYear):
            return value
        if not isinstance(value, str) or not _WRITTEN.fullmatch(value):
            raise InvalidValue(f'academic year must look like "2026/27", got {value!r}')
        return cls._of(int(value[:4]), int(value[5:]), value)

    @classmethod
    def from_path(cls, value: str) -> AcademicYear:
        """``"2026-27"``, as a URL writes it."""
        if not isinstance(value, str) or not _IN_PATH.fullmatch(value):
            raise InvalidValue(f'academic year in an address must look like "2026-27", got {value!r}')
        return cls._of(int(value[:4]), int(value[5:]), value)

    @classmethod
    def _of(cls, first: int, second: int, written: str) -> AcademicYear:
        if second != (first + 1) % 100:
            raise InvalidValue(f"academic year {written!r}: the second part must be the year after the first")
        return cls(first)

    @classmethod
    def containing(cls, day: date) -> AcademicYear:
        return cls(day.year if day.month >= 9 else day.year - 1)

    @property
    def starts_on(self) -> date:
        return date(self.start_year, 9, 1)

    @property
    def ends_on(self) -> date:
        return date(self.start_year + 1, 8, 31)

    @property
    def path(self) -> str:
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    def __contains__(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = day.date()
        return self.starts_on <= day <= self.ends_on

    def __str__(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    def __repr__(self) -> str:
        return f"AcademicYear('{self}')"
