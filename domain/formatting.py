"""How the engine writes money and moments as text: one formatter each, used by every layer.

Money is written as pounds with exactly two decimal places (``"-1234.50"``), the form the HTTP
contract and the finance ledger use. A moment is written in UTC with microseconds and a ``Z``
(``"2026-09-01T08:30:00.000000Z"``), the form every read model stores and every answer shows; the
year is always four digits, so the text sorts as the moments do.
"""

from __future__ import annotations

from datetime import UTC, datetime


def pounds(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{whole}.{part:02d}"


def utc_text(moment: datetime) -> str:
    """Not strftime: at three times the cost, it also writes the year 500 as "500", which sorts after
    "2026" (format specs in an f-string cost twice this)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )
