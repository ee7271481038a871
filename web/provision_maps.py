"""Provision maps as pages show them: labels, lines grouped by area of need, totals by funding
source; and the read-only pages on which a cluster lead and the council read a school's published maps.

A draft and a published version are shown alike: both as the lines a published version holds
(``canonical_line``), so what a lead reads is exactly the frozen text the school published.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.academic_year import AcademicYear
from domain.errors import InvalidValue, NotFound
from domain.provision_lines import AreaOfNeed, CostBasis, FundingSource, Impact, LineStatus, Tier
from domain.provision_maps import PublishedVersion
from domain.values import Actor, Role, SchoolUrn
from web.kit import Kit

AREAS = {
    AreaOfNeed.COMMUNICATION_AND_INTERACTION.value: "Communication and interaction",
    AreaOfNeed.COGNITION_AND_LEARNING.value: "Cognition and learning",
    AreaOfNeed.SOCIAL_EMOTIONAL_AND_MENTAL_HEALTH.value: "Social, emotional and mental health",
    AreaOfNeed.SENSORY_AND_OR_PHYSICAL.value: "Sensory and/or physical",
}
TIERS = {Tier.UNIVERSAL.value: "Universal", Tier.TARGETED.value: "Targeted", Tier.SPECIALIST.value: "Specialist"}
FUNDING_SOURCES = {
    FundingSource.NOTIONAL_SEN_BUDGET.value: "School's notional SEN budget",
    FundingSource.CLUSTER_TOP_UP.value: "Cluster top-up",
    FundingSource.COUNCIL.value: "The council",
    FundingSource.SCHOOL_COMMISSIONED.value: "A service the school commissions",
}
COST_BASES = {CostBasis.PER_PUPIL.value: "For each pupil", CostBasis.TOTAL.value: "For the whole line"}
LINE_STATUSES = {
    LineStatus.IN_PLACE.value: ("In place", "govuk-tag--green"),
    LineStatus.PLANNED.value: ("Planned", "govuk-tag--blue"),
}
IMPACTS = {
    Impact.GOOD.value: ("Good impact", "govuk-tag--green"),
    Impact.SOME.value: ("Some impact", "govuk-tag--yellow"),
    Impact.NONE.value: ("No impact", "govuk-tag--red"),
}


def radio_items(labels: Mapping[str, Any], chosen: str | None) -> list[dict[str, Any]]:
    """GOV.UK radio items from a label table (a label may be a (text, tag colour) pair)."""
    return [
        {"value": value, "text": label[0] if isinstance(label, tuple) else label, "checked": value == chosen}
        for value, label in labels.items()
    ]


def date_items(values: Mapping[str, str], name: str) -> list[dict[str, str]]:
    """A GOV.UK date input's three boxes, with what was typed in them."""
    widths = {"day": "govuk-input--width-2", "month": "govuk-input--width-2", "year": "govuk-input--width-4"}
    return [
        {"name": part, "classes": width, "value": values.get(f"{name}-{part}", "")} for part, width in widths.items()
    ]


LABELS: dict[str, Any] = {
    "areas": AREAS,
    "tiers": TIERS,
    "funding_sources": FUNDING_SOURCES,
    "cost_bases": COST_BASES,
    "line_statuses": LINE_STATUSES,
    "impacts": IMPACTS,
    "radio_items": radio_items,
    "date_items": date_items,
}


def day(text: str | date | None) -> str:
    """``1 September 2026``, from an ISO date."""
    if not text:
        return ""
    value = date.fromisoformat(text) if isinstance(text, str) else text
    return f"{value.day} {value:%B %Y}"


def year_in_path(text: str) -> AcademicYear:
    """A year as an address writes it (``2026-27``); anything else names no map (404, as the API)."""
    try:
        return AcademicYear.from_path(text)
    except InvalidValue:
        raise NotFound(f"no academic year {text!r}") from None


def number_in_path(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise NotFound(f"no {what} {text!r}")
    return int(text)


def urn_in_path(text: str) -> SchoolUrn:
    try:
        return SchoolUrn(text)
    except InvalidValue:
        raise NotFound(f"no school {text!r}") from None


def by_area(lines: Iterable[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """The lines under each broad area of need, in the Code of Practice's order (every area shown)."""
    grouped: dict[str, list[Mapping[str, Any]]] = {area: [] for area in AREAS}
    for line in lines:
        grouped[line["area_of_need"]].append(line)
    return list(grouped.items())


def totals_by_source(lines: Iterable[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """Each funding source's total in pence, in a fixed order, only those with lines."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line["funded_by"]] = totals.get(line["funded_by"], 0) + line["total_cost_pence"]
    return [(source, totals[source]) for source in FUNDING_SOURCES if source in totals]


def version_context(version: PublishedVersion) -> dict[str, Any]:
    """What a page shows of a published version: its lines, grouped, and its totals."""
    document = version.document
    return {
        "version": version,
        "lines": document["lines"],
        "grouped": by_area(document["lines"]),
        "totals": totals_by_source(document["lines"]),
        "total_pence": document["total_cost_pence"],
    }


# -- read-only pages for a cluster lead and the council ------------------------------------------------


def reader_router(kit: Kit) -> APIRouter:
    pages = kit.router()
    for prefix, role in (("/cluster", Role.CLUSTER_LEAD), ("/council", Role.COUNCIL)):
        _reader_pages(kit, pages, prefix, role)
    return pages


def _schools_of(kit: Kit, actor: Actor) -> list[tuple[str, list[str]]]:
    """(cluster name, school URNs) the reader may read maps of: a lead its cluster, the council all."""
    if actor.role is Role.CLUSTER_LEAD and actor.cluster_id is not None:
        cluster = kit.application.get_cluster(actor, actor.cluster_id)
        return [(cluster.name, [str(urn) for urn in cluster.school_urns])]
    rows = kit.application.read_models.list_clusters(actor)
    return [(row.name, list(row.school_urns)) for row in rows]


def _reader_pages(kit: Kit, pages: APIRouter, prefix: str, role: Role) -> None:
    home = f"{prefix}/provision-maps"
    crumbs = ((home, "Provision maps"),)

    @pages.get(home, name=f"{role.value}_provision_maps")
    def schools_maps(request: Request) -> Response:
        actor = kit.actor(request, role)
        clusters = [
            (name, [(urn, kit.application.provision_maps(actor, urn)) for urn in urns])
            for name, urns in _schools_of(kit, actor)
        ]
        return kit.render(
            request, "provision_maps/schools.html", title="Schools' provision maps", clusters=clusters, home=home
        )

    def version_page(
        request: Request, actor: Actor, urn: SchoolUrn, year: AcademicYear, number: int | None
    ) -> Response:
        view = kit.application.provision_map(actor, urn, year)
        latest = view.latest_published
        if latest is None:  # the application answers 404 to a reader first; this is for the school
            raise NotFound(f"school {urn} has published no provision map for {year}")
        version = latest if number is None else kit.application.published_provision_map(actor, urn, year, number)
        return kit.render(
            request,
            "provision_maps/published.html",
            title=f"Provision map {year}, school {urn}, version {version.version}",
            breadcrumbs=crumbs,
            urn=str(urn),
            academic_year=year,
            versions=view.published,
            base=f"{home}/{urn}/{year.path}",
            **version_context(version),
            **LABELS,
        )

    @pages.get(home + "/{school_urn}/{academic_year}", name=f"{role.value}_provision_map")
    def latest_version(request: Request, school_urn: str, academic_year: str) -> Response:
        actor = kit.actor(request, role)
        return version_page(request, actor, urn_in_path(school_urn), year_in_path(academic_year), None)

    @pages.get(home + "/{school_urn}/{academic_year}/versions/{version}", name=f"{role.value}_provision_map_version")
    def one_version(request: Request, school_urn: str, academic_year: str, version: str) -> Response:
        actor = kit.actor(request, role)
        urn, year = urn_in_path(school_urn), year_in_path(academic_year)
        return version_page(request, actor, urn, year, number_in_path(version, "published version"))
