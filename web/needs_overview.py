"""The cluster's shared picture of need: ``/cluster/needs-overview`` (the lead's own cluster) and
``/council/needs-overview`` (any cluster, chosen on the page), for one academic year.

The figures come from the application (``needs_overview``), already suppressed: a cell with a
count under 5, or hidden beside one so that it cannot be worked out from the total, reads
"Suppressed" and its cost is hidden too (``domain/needs_overview.py`` states the rules). Each
breakdown is a bar chart of its pupil places and, below it, the table of the same figures with
their costs; a suppressed cell is a bar left undrawn and labelled so, never a bar of zero.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.academic_year import AcademicYear
from domain.errors import InvalidValue
from domain.needs_overview import Breakdown
from domain.values import Actor, Role
from funding_engine.application import NeedsOverview
from funding_engine.application.calendar import today_in_england
from web.charts import bar_chart
from web.kit import Errors, Kit
from web.labels import CATEGORIES
from web.provision_maps import AREAS, TIERS

BREAKDOWNS = (
    ("by_area_of_need", "Broad area of need", AREAS),
    ("by_tier", "Tier", TIERS),
    ("by_category", "Provision category", CATEGORIES),
)


def year_choices(chosen: AcademicYear) -> list[dict[str, Any]]:
    """The academic year now, the two before and the one after (and the one chosen, if another)."""
    now = AcademicYear.containing(today_in_england()).start_year
    years = sorted({*(AcademicYear(start) for start in range(now - 2, now + 2)), chosen}, reverse=True)
    return [{"value": year.path, "text": str(year), "selected": year == chosen} for year in years]


def places_text(places: int | None) -> str:
    return "suppressed" if places is None else f"{places:,} {'place' if places == 1 else 'places'}"


def tables(overview: NeedsOverview, cluster_name: str) -> list[dict[str, Any]]:
    """Each breakdown as rows of (label, places, cost), a suppressed figure as None, and its chart."""
    shown = []
    for name, heading, labels in BREAKDOWNS:
        breakdown: Breakdown = getattr(overview.figures, name)
        rows = [(labels.get(cell.key, cell.key), cell.pupils, cell.cost) for cell in breakdown.cells]
        chart = bar_chart(
            chart_id=f"places-{name.replace('_', '-')}",
            title=f"Pupil places by {heading.lower()}, {cluster_name}, {overview.academic_year}",
            description="; ".join(f"{label}: {places_text(places)}" for label, places, _ in rows)
            + ". The table below gives the same places, with their costs.",
            bars=[(label, places) for label, places, _ in rows],
            value_text=lambda places: f"{places:,}",
        )
        shown.append({"heading": heading, "rows": rows, "total": breakdown.total, "chart": chart})
    return shown


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    def page(request: Request, actor: Actor, path: str, cluster_id: str | None, year_text: str) -> Response:
        errors = Errors()
        year = AcademicYear.containing(today_in_england())
        if year_text:
            try:
                year = AcademicYear.from_path(year_text)
            except InvalidValue:
                errors.add("academic_year", "Choose an academic year, like 2026-27")
        clusters = kit.application.read_models.list_clusters(actor) if actor.role is Role.COUNCIL else []
        names = {row.cluster_id: row.name for row in clusters}
        if actor.role is Role.COUNCIL and cluster_id is not None and cluster_id not in names:
            errors.add("cluster_id", "Choose a cluster from the list")
        overview = None
        if cluster_id is not None and not errors:
            overview = kit.application.needs_overview(actor, cluster_id, year)
        if actor.role is Role.CLUSTER_LEAD and cluster_id is not None:
            names[cluster_id] = kit.application.get_cluster(actor, cluster_id).name
        return kit.render(
            request,
            "needs_overview/overview.html",
            title="Needs overview",
            status=400 if errors else 200,
            errors=errors,
            values={"academic_year": year_text, "cluster_id": cluster_id or ""},
            current_path=path,
            year=year,
            year_items=year_choices(year),
            cluster_items=[
                {"value": row.cluster_id, "text": row.name, "selected": row.cluster_id == cluster_id}
                for row in clusters
            ],
            cluster_name=names.get(cluster_id or "", cluster_id),
            overview=overview,
            tables=tables(overview, str(names.get(cluster_id or "", cluster_id))) if overview else [],
            choose_cluster=actor.role is Role.COUNCIL,
        )

    @pages.get("/cluster/needs-overview")
    def cluster_overview(request: Request, academic_year: str = "") -> Response:
        actor = kit.actor(request, Role.CLUSTER_LEAD)
        return page(request, actor, "/cluster/needs-overview", str(actor.cluster_id), academic_year)

    @pages.get("/council/needs-overview")
    def council_overview(request: Request, cluster_id: str = "", academic_year: str = "") -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        return page(request, actor, "/council/needs-overview", cluster_id or None, academic_year)

    return pages
