"""What the read models share: how they write an event's time and an aggregate's id, and how they
name the events both kinds of fund record."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from domain.formatting import utc_text
from domain.funds import ClusterBudget, CouncilFund

H = TypeVar("H")


class _LastFormatted:
    """The moment ``iso`` last formatted, and its text: the read models ask in turn for the same
    event's timestamp. One tuple, replaced whole, so threads catching up side by side never see
    half of one."""

    __slots__ = ("pair",)

    def __init__(self) -> None:
        self.pair: tuple[datetime | None, str] = (None, "")


_last = _LastFormatted()


def iso(moment: datetime) -> str:
    """``utc_text(moment)``, remembered for the next read model that asks about the same event."""
    last_moment, last_text = _last.pair
    if moment is last_moment:
        return last_text
    text = utc_text(moment)
    _last.pair = (moment, text)
    return text


def hex_id(value: UUID | str) -> str:
    """An aggregate's id as the read models store it: 32 hex digits, no dashes."""
    return value.hex if isinstance(value, UUID) else str(value)


def of_each_fund(handlers: Mapping[str, H]) -> dict[type, H]:
    """Handlers of ``Fund``'s events by name, for the class of each kind of fund (the library makes
    ``ClusterBudget.YearClosed`` and ``CouncilFund.YearClosed`` of ``Fund.YearClosed``)."""
    return {getattr(kind, name): handler for name, handler in handlers.items() for kind in (ClusterBudget, CouncilFund)}
