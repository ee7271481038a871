"""A cluster's shared picture of need: its schools' published provision maps added up, with small
numbers suppressed so that no pupil can be singled out (issue 12).

The overview adds up, across the schools' latest published versions for one academic year, the
pupils and the cost of every line, by broad area of need, by tier and by provision category. A
line counts its pupils, never who they are, and a pupil on two lines is counted on each, so the
counts are **pupil places**, not pupils.

Suppression, applied to each breakdown on its own (the rule council statistics commonly use):

1. **Primary**: a cell with 1 to 4 pupil places shows "fewer than 5", and its cost is suppressed
   with it (a cost and a known unit cost would give the count back). A cell of 0 is shown: it
   describes nobody.
2. **The total**: if the whole overview has fewer than 5 pupil places, the total is suppressed too
   (every cell then is).
3. **Secondary**: a breakdown shows its total, so a single suppressed cell could be worked out as
   the total minus the cells shown. Whenever a breakdown has exactly one suppressed cell, the
   smallest other cell with any pupils is suppressed as well (the first in the breakdown's order on
   a tie), so at least two are hidden and only their sum can be worked out, never either one.

Every breakdown divides the same lines, so each has the same total; one breakdown's cells cannot be
worked out from another's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.money import Money
from domain.provision_lines import AreaOfNeed, Tier
from domain.values import ProvisionCategory

SMALLEST_SHOWN = 5
"""Pupil counts below this (and above 0) are never shown in a shared view."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One figure of a breakdown: ``pupils`` and ``cost`` are None when suppressed."""

    key: str
    pupils: int | None
    cost: Money | None

    @property
    def suppressed(self) -> bool:
        return self.pupils is None


@dataclass(frozen=True, slots=True)
class Breakdown:
    dimension: str
    cells: tuple[Cell, ...]
    total: Cell


@dataclass(frozen=True, slots=True)
class NeedsFigures:
    """The suppressed figures of one overview: three breakdowns of the same lines and their total."""

    by_area_of_need: Breakdown
    by_tier: Breakdown
    by_category: Breakdown
    total: Cell


DIMENSIONS: dict[str, Sequence[str]] = {
    "area_of_need": [area.value for area in AreaOfNeed],
    "tier": [tier.value for tier in Tier],
    "category": [category.value for category in ProvisionCategory],
}


def _primary(pupils: int) -> bool:
    return 0 < pupils < SMALLEST_SHOWN


def suppressed_keys(counts: Mapping[str, int], order: Sequence[str]) -> set[str]:
    """The keys whose cells are hidden: primary suppression, then secondary where only one is."""
    hidden = {key for key in order if _primary(counts.get(key, 0))}
    if len(hidden) == 1:
        candidates = [key for key in order if key not in hidden and counts.get(key, 0) > 0]
        if candidates:
            hidden.add(min(candidates, key=lambda key: counts[key]))  # min keeps the first on a tie
    return hidden


def _breakdown(dimension: str, lines: Sequence[Mapping[str, Any]], total: Cell) -> Breakdown:
    order = DIMENSIONS[dimension]
    pupils = dict.fromkeys(order, 0)
    pence = dict.fromkeys(order, 0)
    for line in lines:
        pupils[line[dimension]] += int(line["pupil_count"])
        pence[line[dimension]] += int(line["total_cost_pence"])
    hidden = suppressed_keys(pupils, order)
    cells = tuple(
        Cell(key, None, None) if key in hidden else Cell(key, pupils[key], Money(pence[key])) for key in order
    )
    return Breakdown(dimension, cells, total)


def needs_figures(documents: Iterable[Mapping[str, Any]]) -> NeedsFigures:
    """The suppressed overview of the lines of these published versions' contents."""
    lines = [line for document in documents for line in document["lines"]]
    pupils = sum(int(line["pupil_count"]) for line in lines)
    pence = sum(int(line["total_cost_pence"]) for line in lines)
    total = Cell("total", None, None) if _primary(pupils) else Cell("total", pupils, Money(pence))
    return NeedsFigures(
        by_area_of_need=_breakdown("area_of_need", lines, total),
        by_tier=_breakdown("tier", lines, total),
        by_category=_breakdown("category", lines, total),
        total=total,
    )
