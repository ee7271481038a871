"""The demo year's provision maps: every demo school maps its 2026/27 provision and publishes it.

Fictional, like the rest of the demo: groups of pupils by count, the Code of Practice's broad areas
of need, the school's own notional SEN budget doing most of the work, a cluster top-up and a
service the school commissions. School 990001 has changed its map since publishing (a planned line
for pupils expected to join), so its SENCo sees a draft ahead of the published version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from domain.academic_year import AcademicYear
from domain.values import Actor, FinancialYear
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england

# (description, category, tier, area of need, pupils, hours a week, weeks, staff or provider,
#  cost basis, cost, funded by, commissioned service)
LINES: list[tuple[Any, ...]] = [
    ("Quality-first teaching adaptations", "other", "universal", "cognition_and_learning", 40, None, None,
     "Class teachers", "total", "1500.00", "notional_sen_budget", None),
    ("Speech and language group", "therapies", "targeted", "communication_and_interaction", 6, "2.5", 33,
     "Teaching assistant trained in speech and language", "per_pupil", "420.00", "notional_sen_budget", None),
    ("Small-group literacy intervention", "one_to_one_and_small_group_support", "targeted", "cognition_and_learning",
     8, "3", 30, "Teaching assistant", "per_pupil", "610.00", "notional_sen_budget", None),
    ("Nurture group", "one_to_one_and_small_group_support", "targeted", "social_emotional_and_mental_health", 5,
     "5", 36, "Nurture lead", "total", "6200.00", "notional_sen_budget", None),
    ("Educational psychologist assessments", "specialist_tuition", "specialist", "cognition_and_learning", 4, None,
     None, "Coastline Educational Psychology (fictional)", "per_pupil", "650.00", "school_commissioned",
     "educational_psychology"),
    ("Radio aids and acoustic adjustments", "assistive_technology", "specialist", "sensory_and_or_physical", 2, None,
     None, "Sensory support service", "total", "1800.00", "council", None),
    ("One-to-one support for complex needs", "one_to_one_and_small_group_support", "specialist",
     "communication_and_interaction", 2, "15", 38, "Higher level teaching assistant", "per_pupil", "5400.00",
     "cluster_top_up", None),
]  # fmt: skip
FIELDS = (
    "description", "category", "tier", "area_of_need", "pupil_count", "hours_per_week", "weeks",
    "staff_or_provider", "cost_basis", "cost", "funded_by", "commissioned_service",
)  # fmt: skip
REVIEWED_AFTER = timedelta(days=80)
"""A line is reviewed this long after the year starts (20 November), if that day has come."""


def line(values: tuple[Any, ...], year: AcademicYear, *, status: str = "in_place") -> dict[str, Any]:
    return {
        **dict(zip(FIELDS, values, strict=True)),
        "starts_on": year.starts_on,
        "ends_on": date(year.start_year + 1, 7, 21),
        "status": status,
    }


def load_provision_maps(
    app: FundingApplication,
    year: FinancialYear,
    urns: list[str],
    school: Callable[[str], Actor],
    say: Callable[[str], None] = print,
) -> None:
    """For each school, the academic year that starts in the financial year: a map, published once."""
    academic_year = AcademicYear(year.start_year)
    reviewed_on = academic_year.starts_on + REVIEWED_AFTER
    for index, urn in enumerate(urns):
        head = school(urn)
        app.open_provision_map(head, urn, academic_year)
        # Each school a slightly different map: all but one or two of the lines, in the same order.
        for number, values in enumerate(LINES):
            if (number + index) % 4 != 3:
                app.add_provision_line(head, urn, academic_year, line(values, academic_year))
        if today_in_england() >= reviewed_on:  # a review is never dated in the future
            app.review_provision_line(
                head, urn, academic_year, 2, impact="good", note="Most of the group met their targets.",
                reviewed_on=reviewed_on,
            )  # fmt: skip
        app.publish_provision_map(head, urn, academic_year)
    first = urns[0]
    app.add_provision_line(
        school(first),
        first,
        academic_year,
        line(
            ("Sensory circuits for pupils joining in spring", "habilitation_independent_living", "targeted",
             "sensory_and_or_physical", 3, "1.5", 20, "Teaching assistant", "total", "900.00",
             "notional_sen_budget", None),
            academic_year,
            status="planned",
        ),
    )  # fmt: skip
    say(f"published a {academic_year} provision map for each of the {len(urns)} schools")
