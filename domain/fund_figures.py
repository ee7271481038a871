"""A fund's figures, as the domain, the read models, reconciliation and the API all read them.

``available`` is worked out here and nowhere else: ``allocated - committed - commissioned``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from domain.money import Money

Amount = TypeVar("Amount", Money, int)


@dataclass(frozen=True, slots=True)
class FundFigures(Generic[Amount]):
    """A fund's figures, as ``Money`` in the domain or as pence where read models store them.

    A council fund commissions nothing: its ``commissioned`` is zero.
    """

    allocated: Amount
    committed: Amount
    commissioned: Amount
    paid: Amount

    # Every figure, in the order people read them (``available`` is derived, never stored).
    NAMES: ClassVar[tuple[str, ...]] = ("allocated", "committed", "commissioned", "available", "paid")

    @property
    def available(self) -> Amount:
        """What is left to commit: the one place this is worked out."""
        return self.allocated - self.committed - self.commissioned

    def named(self) -> dict[str, Amount]:
        """Each figure by name, in ``NAMES`` order."""
        named: dict[str, Amount] = {name: getattr(self, name) for name in self.NAMES}
        return named


def state_of(aggregate: Any) -> dict[str, Any]:
    """An aggregate's state as plain data, for comparing an in-memory copy with a reloaded one."""
    return {key: value for key, value in vars(aggregate).items() if key != "_pending_events"}
