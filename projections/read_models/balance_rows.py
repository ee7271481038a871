"""The rows the balances read model is read back as: a cluster's budget, the year's totals, the
council fund; each with the money after the decisions (``AfterDecisions``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from domain.funds import FundFigures


@dataclass(frozen=True, slots=True)
class AfterDecisions:
    """A fund's money after its decisions, in pence: ``forward`` is committed ahead of any allocation
    (not in ``committed``); ``released`` and ``recovered`` came back to it, ``income`` came back
    once it was closed; ``carried_in`` came from the year before, ``carried_forward`` went to the
    next at the close, when ``unpaid_at_close`` was committed but unpaid."""

    forward: int = 0
    released: int = 0
    recovered: int = 0
    income: int = 0
    carried_in: int = 0
    carried_forward: int = 0
    unpaid_at_close: int = 0
    closed: bool = False

    # The money, in the order people read it (``closed`` is not money).
    MONEY: ClassVar[tuple[str, ...]] = (
        "forward", "released", "recovered", "income", "carried_in", "carried_forward", "unpaid_at_close"
    )  # fmt: skip

    def money(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.MONEY}


NOTHING_AFTER = AfterDecisions()


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """A cluster's budget for one year, as people read it."""

    cluster_id: str
    financial_year: str
    figures: FundFigures[int]  # in pence
    pending: int
    escalated: int
    version: int
    after: AfterDecisions = NOTHING_AFTER


@dataclass(frozen=True, slots=True)
class BalanceTotalsRow:
    """Every cluster's budgets for one year, added up (``after.closed``: every one of them is)."""

    figures: FundFigures[int]
    pending: int
    escalated: int
    after: AfterDecisions = NOTHING_AFTER


@dataclass(frozen=True, slots=True)
class CouncilFundRow:
    """The council's fund for one year (it commissions nothing: ``commissioned`` is zero)."""

    financial_year: str
    figures: FundFigures[int]
    version: int
    after: AfterDecisions = NOTHING_AFTER


# The columns both tables keep for ``AfterDecisions``, in its order (``closed`` is 0 or 1).
AFTER_DECISION_COLUMNS = (*AfterDecisions.MONEY, "closed")
