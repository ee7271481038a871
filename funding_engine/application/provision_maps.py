"""Provision maps: a school keeps one per academic year, edits and reviews its lines, and publishes.

The school does everything to its own maps; the lead of its cluster and the council read them,
but only as published: a draft is the school's working copy until it publishes it. Each map is
saved with the school's list of map years (``SchoolProvisionMaps``) when opened, so a school's
maps are listed without a read model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.academic_year import AcademicYear
from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.permissions import (
    check_is_the_school,
    check_may_read_provision_map,
    check_role,
    may_read_provision_map_draft,
)
from domain.provision_lines import LineReview, ProvisionMapLine
from domain.provision_maps import ProvisionMap, PublishedVersion, SchoolProvisionMaps
from domain.values import Actor, SchoolUrn
from funding_engine.application.calendar import today_in_england
from funding_engine.application.clusters import Clusters
from funding_engine.application.engine import Decision

LineInput = ProvisionMapLine | Mapping[str, Any]
"""A line as an adapter sends it: already made, or its fields as sent (text, enum values, pounds)."""


@dataclass(frozen=True, slots=True)
class DraftLine:
    line_number: int
    line: ProvisionMapLine
    reviews: tuple[LineReview, ...]


@dataclass(frozen=True, slots=True)
class ProvisionMapView:
    """A map as one reader may see it: the draft only for the school itself."""

    school_urn: SchoolUrn
    academic_year: AcademicYear
    version: int
    published: tuple[PublishedVersion, ...]
    draft: tuple[DraftLine, ...] | None
    draft_version: int | None
    changed_since_published: bool | None

    @property
    def latest_published(self) -> PublishedVersion | None:
        return self.published[-1] if self.published else None


@dataclass(frozen=True, slots=True)
class ProvisionMapSummary:
    school_urn: SchoolUrn
    academic_year: AcademicYear
    draft_version: int | None
    latest_published_version: int | None
    published_at: datetime | None
    sha256: str | None


def parse_line(line: LineInput) -> ProvisionMapLine:
    if isinstance(line, ProvisionMapLine):
        return line
    try:
        return ProvisionMapLine.parse(**line)
    except TypeError as error:  # a field missing or unknown
        raise InvalidValue(f"a provision map line's fields are not right: {error}") from None


class ProvisionMaps(Clusters):
    """The school's provision maps: open, edit lines, review, publish; and reading them."""

    def open_provision_map(
        self, actor: Actor, school_urn: SchoolUrn | str, academic_year: AcademicYear | str
    ) -> ProvisionMap:
        check_role(actor, "open_provision_map")
        school_urn, academic_year = SchoolUrn.parse(school_urn), AcademicYear.parse(academic_year)
        check_is_the_school(actor, school_urn)
        map_id, index_id = ProvisionMap.id_for(school_urn, academic_year), SchoolProvisionMaps.id_for(school_urn)

        def decide() -> Decision[ProvisionMap]:
            if self._find(map_id, ProvisionMap) is not None:
                raise AlreadyExists(f"school {school_urn} already has a provision map for {academic_year}")
            index = self._find(index_id, SchoolProvisionMaps) or SchoolProvisionMaps.start(school_urn)
            index.year_opened(academic_year, actor)
            return ProvisionMap.open(school_urn, academic_year, actor), index

        return self._run_command(decide, map_id, index_id)

    def add_provision_line(
        self,
        actor: Actor,
        school_urn: SchoolUrn | str,
        academic_year: AcademicYear | str,
        line: LineInput,
        *,
        expected_version: int | None = None,
    ) -> ProvisionMap:
        """Adds a line; it is numbered ``map.next_line_number - 1`` on the map this returns."""
        check_role(actor, "change_provision_map")
        school_urn, academic_year = SchoolUrn.parse(school_urn), AcademicYear.parse(academic_year)
        new_line = parse_line(line)
        return self._change_map(
            actor, school_urn, academic_year, expected_version, lambda m: m.add_line(new_line, actor)
        )

    def change_provision_line(
        self,
        actor: Actor,
        school_urn: SchoolUrn | str,
        academic_year: AcademicYear | str,
        line_number: int,
        line: LineInput,
        *,
        expected_version: int | None = None,
    ) -> ProvisionMap:
        check_role(actor, "change_provision_map")
        school_urn, academic_year = SchoolUrn.parse(school_urn), AcademicYear.parse(academic_year)
        changed = parse_line(line)
        return self._change_map(
            actor, school_urn, academic_year, expected_version, lambda m: m.change_line(line_number, changed, actor)
        )

    def remove_provision_line(
        self,
        actor: Actor,
        school_urn: SchoolUrn | str,
        academic_year: AcademicYear | str,
        line_number: int,
        *,
        expected_version: int | None = None,
    ) -> ProvisionMap:
        check_role(actor, "change_provision_map")
        school_urn, academic_year = SchoolUrn.parse(school_urn), AcademicYear.parse(academic_year)
        return self._change_map(
            actor, school_urn, academic_year, expected_version, lambda m: m.remove_line(line_number, actor)
        )

    def review_provision_line(
        self,
        actor: Actor,
        school_urn: SchoolUrn | str,
        academic_year: AcademicYear | str,
        line_number: int,
        *,
        impact: str,
        note: str = "",
        reviewed_on: date | str | None = None,
        expected_version: int | None = None,
    ) -> ProvisionMap:
        """Records a review; without ``reviewed_on`` the review is dated today (in England)."""
        check_role(actor, "change_provision_map")
        school_urn, academic_year = SchoolUrn.parse(school_urn), AcademicYear.parse(academic_year)
        today = today_in_england()
        review = LineReview.parse(reviewed_on=reviewed_on or today, impact=impact, note=note)
        return self._change_map(
            actor,
            school_urn,
            academic_year,
            expected_version,
            lambda m: m.review_line(line_number, review, actor, today=today),
        )

    def publish_provision_map(
        self,
        actor: Actor,
        school_urn: SchoolUrn | str,
        academic_year: AcademicYear | str,
        *,
        expected_version: int | None = None,
    ) -> ProvisionMap:
        """Freezes the draft as the next published version (``map.latest_published``)."""
        check_role(actor, "publish_provision_map")
        school_urn, academic_year = SchoolUrn.parse(school_urn), AcademicYear.parse(academic_year)
        return self._change_map(actor, school_urn, academic_year, expected_version, lambda m: m.publish(actor))

    def _change_map(
        self,
        actor: Actor,
        school_urn: SchoolUrn,
        academic_year: AcademicYear,
        expected_version: int | None,
        change: Callable[[ProvisionMap], object],
    ) -> ProvisionMap:
        check_is_the_school(actor, school_urn)
        map_id = ProvisionMap.id_for(school_urn, academic_year)

        def decide() -> Decision[ProvisionMap]:
            provision_map = self._map(school_urn, academic_year)
            self._check_version(provision_map, expected_version)
            change(provision_map)
            return (provision_map,)

        return self._run_command(decide, map_id)

    def _map(self, school_urn: SchoolUrn, academic_year: AcademicYear, *, to_change: bool = True) -> ProvisionMap:
        found = self._find(ProvisionMap.id_for(school_urn, academic_year), ProvisionMap, to_change=to_change)
        if found is None:
            raise NotFound(f"school {school_urn} has no provision map for {academic_year}")
        return found

    # -- queries ---------------------------------------------------------------------------------------

    def _check_may_read(self, actor: Actor, school_urn: SchoolUrn) -> None:
        check_role(actor, "read_provision_map")
        check_may_read_provision_map(actor, school_urn, self.cluster_of_school(school_urn))

    def provision_map_years(self, actor: Actor, school_urn: SchoolUrn | str) -> list[AcademicYear]:
        """The years the school has opened a map for, earliest first."""
        school_urn = SchoolUrn.parse(school_urn)
        self._check_may_read(actor, school_urn)
        index = self._find(SchoolProvisionMaps.id_for(school_urn), SchoolProvisionMaps, to_change=False)
        return list(index.academic_years) if index else []

    def provision_maps(self, actor: Actor, school_urn: SchoolUrn | str) -> list[ProvisionMapSummary]:
        """A school's maps, latest year first; a lead or the council sees only published ones."""
        school_urn = SchoolUrn.parse(school_urn)
        summaries = []
        for year in reversed(self.provision_map_years(actor, school_urn)):
            provision_map = self._map(school_urn, year, to_change=False)
            latest = provision_map.latest_published
            if may_read_provision_map_draft(actor, school_urn):
                draft_version: int | None = provision_map.draft_version
            elif latest is None:
                continue  # nothing published: to anyone but the school, not there
            else:
                draft_version = None
            summaries.append(
                ProvisionMapSummary(
                    school_urn=school_urn,
                    academic_year=year,
                    draft_version=draft_version,
                    latest_published_version=latest.version if latest else None,
                    published_at=latest.published_at if latest else None,
                    sha256=latest.sha256 if latest else None,
                )
            )
        return summaries

    def provision_map(
        self, actor: Actor, school_urn: SchoolUrn | str, academic_year: AcademicYear | str
    ) -> ProvisionMapView:
        """The map now: the school sees its draft and published versions; others the published only.

        A map with nothing published is, to a lead or the council, not there (404).
        """
        school_urn, academic_year = SchoolUrn.parse(school_urn), AcademicYear.parse(academic_year)
        self._check_may_read(actor, school_urn)
        provision_map = self._map(school_urn, academic_year, to_change=False)
        published = tuple(provision_map.published)
        if may_read_provision_map_draft(actor, school_urn):
            draft = tuple(
                DraftLine(number, line, tuple(provision_map.reviews[number]))
                for number, line in provision_map.lines.items()
            )
            return ProvisionMapView(
                school_urn,
                academic_year,
                provision_map.version,
                published,
                draft,
                provision_map.draft_version,
                provision_map.changed_since_published,
            )
        if not published:
            raise NotFound(f"school {school_urn} has published no provision map for {academic_year}")
        return ProvisionMapView(school_urn, academic_year, provision_map.version, published, None, None, None)

    def published_provision_map(
        self, actor: Actor, school_urn: SchoolUrn | str, academic_year: AcademicYear | str, version: int
    ) -> PublishedVersion:
        """One published version, frozen: its content, SHA-256, when and by whom. For citing."""
        school_urn, academic_year = SchoolUrn.parse(school_urn), AcademicYear.parse(academic_year)
        self._check_may_read(actor, school_urn)
        return self._map(school_urn, academic_year, to_change=False).published_version(version)
