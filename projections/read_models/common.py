"""What the read models share: how they write an event's time and an aggregate's id."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.formatting import utc_text


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
