"""What one line of a school's provision map says, and how a review of it is recorded.

A line is provision for a group of pupils, counted and never named: what it is, its Code of
Practice broad area of need, its tier, who delivers it, what it costs and what pays for it, and
when it runs. Its cost is either a unit cost per pupil or a fixed total (``CostBasis``), so the
line's total in pence is always one multiplication away and never a matter of reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from domain import limits
from domain.copying import shared_when_copied
from domain.errors import InvalidValue
from domain.money import MAX_AMOUNT, Money
from domain.text import check_text
from domain.values import CommissionedService, ProvisionCategory, parse_enum


class Tier(Enum):
    """The graduated approach's tiers: for every pupil, for some, or specialist."""

    UNIVERSAL = "universal"
    TARGETED = "targeted"
    SPECIALIST = "specialist"


class AreaOfNeed(Enum):
    """The four broad areas of need of the SEND Code of Practice 0 to 25 (2015), 6.28 to 6.35."""

    COMMUNICATION_AND_INTERACTION = "communication_and_interaction"
    COGNITION_AND_LEARNING = "cognition_and_learning"
    SOCIAL_EMOTIONAL_AND_MENTAL_HEALTH = "social_emotional_and_mental_health"
    SENSORY_AND_OR_PHYSICAL = "sensory_and_or_physical"


class FundingSource(Enum):
    """What pays for a line. A service the school commissions itself also names the service."""

    NOTIONAL_SEN_BUDGET = "notional_sen_budget"
    CLUSTER_TOP_UP = "cluster_top_up"
    COUNCIL = "council"
    SCHOOL_COMMISSIONED = "school_commissioned"


class CostBasis(Enum):
    """How a line's cost reads: for each pupil on the line, or one fixed total."""

    PER_PUPIL = "per_pupil"
    TOTAL = "total"


class LineStatus(Enum):
    """In place now, or planned for pupils expected to join."""

    PLANNED = "planned"
    IN_PLACE = "in_place"


class Impact(Enum):
    """What a review found the provision achieved."""

    NONE = "none"
    SOME = "some"
    GOOD = "good"


PROVISION_MAP_ENUMS: tuple[type[Enum], ...] = (Tier, AreaOfNeed, FundingSource, CostBasis, LineStatus, Impact)

_ISO_DATE = re.compile(limits.ISO_DATE_PATTERN)
_HOURS = re.compile(limits.HOURS_PATTERN)
_HUNDREDTHS = Decimal("0.01")


def parse_date(value: date | str, *, field: str) -> date:
    """A calendar date, written ``YYYY-MM-DD`` (the only form the engine reads or writes)."""
    if type(value) is date:
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise InvalidValue(f'{field} must be a date written like "2026-09-01", got {value!r}')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(f"{field} is not a date in the calendar: {value!r}") from None


def parse_hours(value: Decimal | str | None) -> Decimal | None:
    """Hours a week, at most 2 decimal places; never a float (it would not say what was meant)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if not _HOURS.fullmatch(value):
            raise InvalidValue(f'hours_per_week must be a number of hours such as "2.5", got {value!r}')
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise InvalidValue(f'hours_per_week must be text such as "2.5", got {type(value).__name__}')
    try:
        hours = value.quantize(_HUNDREDTHS)
    except InvalidOperation:
        raise InvalidValue(f"hours_per_week is not a number of hours: {value}") from None
    if hours != value:
        raise InvalidValue("hours_per_week has more than 2 decimal places")
    return hours


def _whole(value: Any, field: str, fewest: int, most: int) -> int:
    if type(value) is not int or not fewest <= value <= most:
        raise InvalidValue(f"{field} must be a whole number from {fewest} to {most}")
    return value


@shared_when_copied
@dataclass(frozen=True, slots=True)
class ProvisionMapLine:
    """One line of provision, as the school wrote it (reviews are kept beside it, by line number)."""

    description: str
    category: ProvisionCategory
    tier: Tier
    area_of_need: AreaOfNeed
    pupil_count: int
    hours_per_week: Decimal | None
    weeks: int | None
    staff_or_provider: str
    cost_basis: CostBasis
    cost: Money
    funded_by: FundingSource
    commissioned_service: CommissionedService | None
    starts_on: date
    ends_on: date
    status: LineStatus

    def __post_init__(self) -> None:
        check_text(self.description, field="description", max_length=limits.SHORT_TEXT)
        check_text(self.staff_or_provider, field="staff_or_provider", max_length=limits.SHORT_TEXT)
        _whole(self.pupil_count, "pupil_count", 1, limits.MAX_PROVISION_PUPILS)
        if self.hours_per_week is not None and not 0 < self.hours_per_week <= limits.MAX_HOURS_PER_WEEK:
            raise InvalidValue(f"hours_per_week must be more than 0 and at most {limits.MAX_HOURS_PER_WEEK}")
        if self.weeks is not None:
            _whole(self.weeks, "weeks", 1, limits.MAX_WEEKS)
        if not isinstance(self.cost, Money) or self.cost.is_negative:
            raise InvalidValue("cost must be money of zero or more")
        if self.total_cost.pence > MAX_AMOUNT.pence:
            raise InvalidValue(f"the line's total cost must be at most {MAX_AMOUNT}")
        self.check_commissioned_service()
        if type(self.starts_on) is not date or type(self.ends_on) is not date:
            raise InvalidValue("starts_on and ends_on must be dates")
        if self.ends_on < self.starts_on:
            raise InvalidValue("ends_on must not be before starts_on")

    def check_commissioned_service(self) -> None:
        """A service the school commissions names the service; no other source names one."""
        if self.funded_by is FundingSource.SCHOOL_COMMISSIONED and self.commissioned_service is None:
            raise InvalidValue("a line the school commissions must name the commissioned_service")
        if self.funded_by is not FundingSource.SCHOOL_COMMISSIONED and self.commissioned_service is not None:
            raise InvalidValue("commissioned_service is only for a line the school commissions itself")

    @property
    def total_cost(self) -> Money:
        if self.cost_basis is CostBasis.PER_PUPIL:
            return Money(self.cost.pence * self.pupil_count)
        return self.cost

    def overlaps(self, starts_on: date, ends_on: date) -> bool:
        return self.starts_on <= ends_on and self.ends_on >= starts_on

    @classmethod
    def parse(
        cls,
        *,
        description: str,
        category: ProvisionCategory | str,
        tier: Tier | str,
        area_of_need: AreaOfNeed | str,
        pupil_count: int,
        staff_or_provider: str,
        cost_basis: CostBasis | str,
        cost: Money | str,
        funded_by: FundingSource | str,
        starts_on: date | str,
        ends_on: date | str,
        status: LineStatus | str,
        hours_per_week: Decimal | str | None = None,
        weeks: int | None = None,
        commissioned_service: CommissionedService | str | None = None,
    ) -> ProvisionMapLine:
        """A line from what a person or a client sent: text, enum values, pounds as text."""
        try:
            money = Money.parse(cost)
        except InvalidValue as error:
            raise InvalidValue(f"cost: {error}") from None
        return cls(
            description=description,
            category=parse_enum(ProvisionCategory, category, field="category"),
            tier=parse_enum(Tier, tier, field="tier"),
            area_of_need=parse_enum(AreaOfNeed, area_of_need, field="area_of_need"),
            pupil_count=pupil_count,
            hours_per_week=parse_hours(hours_per_week),
            weeks=weeks,
            staff_or_provider=staff_or_provider,
            cost_basis=parse_enum(CostBasis, cost_basis, field="cost_basis"),
            cost=money,
            funded_by=parse_enum(FundingSource, funded_by, field="funded_by"),
            commissioned_service=(
                None
                if commissioned_service in (None, "")
                else parse_enum(CommissionedService, commissioned_service, field="commissioned_service")
            ),
            starts_on=parse_date(starts_on, field="starts_on"),
            ends_on=parse_date(ends_on, field="ends_on"),
            status=parse_enum(LineStatus, status, field="status"),
        )


@shared_when_copied
@dataclass(frozen=True, slots=True)
class LineReview:
    """A review of one line: the impact seen, a note, and the day it was reviewed."""

    reviewed_on: date
    impact: Impact
    note: str

    def __post_init__(self) -> None:
        if type(self.reviewed_on) is not date:
            raise InvalidValue("reviewed_on must be a date")
        if not isinstance(self.impact, Impact):
            raise InvalidValue("impact must be an Impact")
        check_text(self.note, field="note", max_length=limits.NOTE_TEXT, required=False)

    @classmethod
    def parse(cls, *, reviewed_on: date | str, impact: Impact | str, note: str = "") -> LineReview:
        return cls(parse_date(reviewed_on, field="reviewed_on"), parse_enum(Impact, impact, field="impact"), note)


def canonical_line(number: int, line: ProvisionMapLine, reviews: list[LineReview]) -> dict[str, Any]:
    """A line as a published version holds it: plain JSON values, money in integer pence, ISO dates.

    Every field is always present (``None`` where it does not apply), so two versions' lines can
    be compared key by key, and the text of a published version depends on nothing but the line.
    """
    return {
        "line_number": number,
        "description": line.description,
        "category": line.category.value,
        "tier": line.tier.value,
        "area_of_need": line.area_of_need.value,
        "pupil_count": line.pupil_count,
        "hours_per_week": None if line.hours_per_week is None else f"{line.hours_per_week:.2f}",
        "weeks": line.weeks,
        "staff_or_provider": line.staff_or_provider,
        "cost_basis": line.cost_basis.value,
        "cost_pence": line.cost.pence,
        "total_cost_pence": line.total_cost.pence,
        "funded_by": line.funded_by.value,
        "commissioned_service": None if line.commissioned_service is None else line.commissioned_service.value,
        "starts_on": line.starts_on.isoformat(),
        "ends_on": line.ends_on.isoformat(),
        "status": line.status.value,
        "reviews": [
            {"reviewed_on": review.reviewed_on.isoformat(), "impact": review.impact.value, "note": review.note}
            for review in reviews
        ],
    }
