"""The needs overview's sums and its suppression rules: primary, the total, and secondary."""

from __future__ import annotations

from typing import Any

from domain.money import Money
from domain.needs_overview import Breakdown, needs_figures, suppressed_keys


def line(
    area: str = "cognition_and_learning",
    tier: str = "targeted",
    category: str = "therapies",
    pupils: int = 5,
    pence: int = 10_000,
) -> dict[str, Any]:
    return {"area_of_need": area, "tier": tier, "category": category, "pupil_count": pupils, "total_cost_pence": pence}


def shown(breakdown: Breakdown) -> dict[str, tuple[int | None, int | None]]:
    return {
        cell.key: (cell.pupils, None if cell.cost is None else cell.cost.pence)
        for cell in breakdown.cells
        if cell.suppressed or cell.pupils
    }


def test_pupil_places_and_costs_add_up_across_schools_and_lines():
    figures = needs_figures([{"lines": [line(pupils=6, pence=600)]}, {"lines": [line(pupils=7, pence=700)]}])

    assert shown(figures.by_tier) == {"targeted": (13, 1300)}
    assert figures.total.cost is not None
    assert (figures.total.pupils, figures.total.cost.pence) == (13, 1300)


def test_a_cell_of_fewer_than_5_hides_its_count_and_its_cost():
    figures = needs_figures(
        [
            {
                "lines": [
                    line(tier="targeted", pupils=20),
                    line(tier="specialist", pupils=4),
                    line(tier="universal", pupils=30),
                ]
            }
        ]
    )

    cells = {cell.key: cell for cell in figures.by_tier.cells}
    assert cells["specialist"].pupils is None and cells["specialist"].cost is None


def test_a_zero_cell_is_shown_as_zero():
    figures = needs_figures([{"lines": [line(tier="targeted", pupils=20)]}])

    cells = {cell.key: cell for cell in figures.by_tier.cells}
    assert (cells["universal"].pupils, cells["universal"].cost) == (0, Money(0))


def test_a_lone_suppressed_cell_takes_the_smallest_other_cell_with_it_so_the_total_gives_neither():
    figures = needs_figures(
        [
            {
                "lines": [
                    line(tier="targeted", pupils=20),
                    line(tier="specialist", pupils=3),
                    line(tier="universal", pupils=9),
                ]
            }
        ]
    )

    assert shown(figures.by_tier) == {"targeted": (20, 10_000), "specialist": (None, None), "universal": (None, None)}
    assert figures.total.pupils == 32  # the total is shown: only the sum of the two hidden cells follows from it


def test_two_or_more_primary_cells_need_no_secondary_suppression():
    assert suppressed_keys({"a": 2, "b": 3, "c": 40}, ["a", "b", "c"]) == {"a", "b"}


def test_secondary_suppression_picks_the_first_of_equal_smallest_cells():
    assert suppressed_keys({"a": 9, "b": 2, "c": 9, "d": 0}, ["a", "b", "c", "d"]) == {"a", "b"}


def test_fewer_than_5_places_in_all_suppresses_the_total_and_every_cell():
    figures = needs_figures([{"lines": [line(pupils=2), line(area="sensory_and_or_physical", pupils=1)]}])

    assert figures.total.pupils is None and figures.total.cost is None
    assert shown(figures.by_area_of_need) == {
        "cognition_and_learning": (None, None),
        "sensory_and_or_physical": (None, None),
    }
    assert shown(figures.by_category) == {"therapies": (None, None)}


def test_no_breakdown_leaves_one_suppressed_cell_whatever_the_counts():
    for a in range(8):
        for b in range(8):
            for c in range(8):
                counts = {"a": a, "b": b, "c": c}
                hidden = suppressed_keys(counts, ["a", "b", "c"])
                total = a + b + c
                if 0 < total < 5:
                    continue  # the total itself is hidden
                assert len(hidden) != 1, counts
                assert all(counts[key] > 0 for key in hidden)


def test_every_breakdown_lists_every_value_of_its_dimension_in_order():
    figures = needs_figures([])

    assert [cell.key for cell in figures.by_area_of_need.cells] == [
        "communication_and_interaction",
        "cognition_and_learning",
        "social_emotional_and_mental_health",
        "sensory_and_or_physical",
    ]
    assert len(figures.by_category.cells) == 10
    assert (figures.total.pupils, figures.total.cost) == (0, Money(0))
