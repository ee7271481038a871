"""Money: pounds sterling held as integer pence, never a float, anywhere.

Commands read amounts with ``parse_amount``, which adds the rules every amount a person enters
obeys (never zero, positive unless allowed, at most ``MAX_AMOUNT``) to the rules of money itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain import limits
from domain.copying import shared_when_copied
from domain.errors import InvalidValue
from domain.formatting import pounds

_MONEY_TEXT = re.compile(limits.MONEY_PATTERN)


@shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class Money:
    """Pounds sterling held as integer pence."""

    pence: int

    LIMIT_PENCE = limits.MONEY_LIMIT_PENCE

    def __post_init__(self) -> None:
        if type(self.pence) is not int:  # bool is an int subclass and is refused too
            raise InvalidValue(f"money must be whole pence, got {type(self.pence).__name__}")
        if abs(self.pence) > Money.LIMIT_PENCE:
            raise InvalidValue("money amount is absurdly large")

    @classmethod
    def parse(cls, value: Money | str | Decimal) -> Money:
        """Reads ``"1500.00"``, ``"1500.5"``, ``"1500"`` or a Decimal with at most 2 dp."""
        if isinstance(value, Money):
            return value
        if isinstance(value, float):
            raise InvalidValue('money must not be a float; send a string such as "1500.00"')
        if isinstance(value, str):
            if not _MONEY_TEXT.fullmatch(value):
                raise InvalidValue(f"money must be a decimal string with at most 2 decimal places, got {value!r}")
            value = Decimal(value)
        if not isinstance(value, Decimal):
            raise InvalidValue(f'money must be a string such as "1500.00", got {type(value).__name__}')
        try:
            exponent = value.as_tuple().exponent
            if not isinstance(exponent, int) or exponent < -2:
                raise InvalidValue(f"money has more than 2 decimal places: {value}")
            pence = int((value * 100).to_integral_exact())
        except (InvalidOperation, OverflowError, ValueError) as error:
            raise InvalidValue(f"not a money amount: {value}") from error
        return cls(pence)

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    def __str__(self) -> str:
        return pounds(self.pence)

    def __repr__(self) -> str:
        return f"Money('{self}')"

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.pence + other.pence)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.pence - other.pence)

    def __neg__(self) -> Money:
        return Money(-self.pence)

    @property
    def is_positive(self) -> bool:
        return self.pence > 0

    @property
    def is_negative(self) -> bool:
        return self.pence < 0


MAX_AMOUNT = Money(limits.MAX_AMOUNT_PENCE)
"""The largest single amount any command accepts."""


def parse_amount(value: Money | str | Decimal, *, field: str = "amount", allow_negative: bool = False) -> Money:
    """An amount for a command: never zero, positive unless allowed, at most ``MAX_AMOUNT``."""
    try:
        amount = Money.parse(value)
    except InvalidValue as error:
        raise InvalidValue(f"{field}: {error}") from None
    if amount.pence == 0:
        raise InvalidValue(f"{field} must not be zero")
    if amount.is_negative and not allow_negative:
        raise InvalidValue(f"{field} must be positive")
    if abs(amount.pence) > MAX_AMOUNT.pence:
        raise InvalidValue(f"{field} must be at most {MAX_AMOUNT}")
    return amount


def sum_money(amounts: Iterable[Money]) -> Money:
    return Money(sum(amount.pence for amount in amounts))
