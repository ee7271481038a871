"""Provision maps: academic years, lines, reviews, and published versions that never change."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain import limits
from domain.academic_year import AcademicYear
from domain.errors import AlreadyExists, InvalidValue, NotFound, NotPermitted
from domain.money import Money
from domain.permissions import check_may_read_provision_map, check_role, may_read_provision_map_draft
from domain.provision_lines import AreaOfNeed, FundingSource, LineReview, ProvisionMapLine
from domain.provision_maps import NothingToPublish, ProvisionMap, SchoolProvisionMaps, canonical_json
from domain.values import Actor, ClusterId, CommissionedService, SchoolUrn

SCHOOL = SchoolUrn("900001")
YEAR = AcademicYear.parse("2026/27")
SENCO = Actor.school("senco-900001", SCHOOL)
TODAY = date(2027, 1, 15)


def line_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "description": "Speech and language group",
        "category": "therapies",
        "tier": "targeted",
        "area_of_need": "communication_and_interaction",
        "pupil_count": 6,
        "hours_per_week": "2.5",
        "weeks": 30,
        "staff_or_provider": "Teaching assistant (trained in speech and language)",
        "cost_basis": "per_pupil",
        "cost": "120.50",
        "funded_by": "notional_sen_budget",
        "starts_on": "2026-09-01",
        "ends_on": "2027-07-20",
        "status": "in_place",
    }
    fields.update(overrides)
    return fields


def a_line(**overrides: Any) -> ProvisionMapLine:
    return ProvisionMapLine.parse(**line_fields(**overrides))


def opened() -> ProvisionMap:
    provision_map = ProvisionMap.open(SCHOOL, YEAR, SENCO)
    provision_map.collect_events()
    return provision_map


def with_line(**overrides: Any) -> ProvisionMap:
    provision_map = opened()
    provision_map.add_line(a_line(**overrides), SENCO)
    return provision_map


# -- the academic year ---------------------------------------------------------------------------------


def test_an_academic_year_runs_from_1_september_to_31_august():
    assert (YEAR.starts_on, YEAR.ends_on) == (date(2026, 9, 1), date(2027, 8, 31))
    assert date(2027, 8, 31) in YEAR and date(2027, 9, 1) not in YEAR and date(2026, 8, 31) not in YEAR


def test_an_academic_year_is_written_with_a_slash_and_addressed_with_a_hyphen():
    assert str(YEAR) == "2026/27" and YEAR.path == "2026-27"
    assert AcademicYear.from_path("2026-27") == YEAR
    assert str(AcademicYear.parse("2009/10")) == "2009/10"


@pytest.mark.parametrize("text", ["2026-27", "2026/28", "26/27", "2026/27\n", "", "2026 / 27", "1999/00"])
def test_a_malformed_academic_year_is_refused(text):
    with pytest.raises(InvalidValue):
        AcademicYear.parse(text)


@pytest.mark.parametrize("text", ["2026/27", "2026-28", "abcd-ef"])
def test_a_malformed_academic_year_in_an_address_is_refused(text):
    with pytest.raises(InvalidValue):
        AcademicYear.from_path(text)


def test_the_academic_year_containing_a_day_turns_over_on_1_september():
    assert AcademicYear.containing(date(2026, 8, 31)) == AcademicYear(2025)
    assert AcademicYear.containing(date(2026, 9, 1)) == AcademicYear(2026)


# -- a line --------------------------------------------------------------------------------------------


def test_a_per_pupil_cost_is_multiplied_by_the_pupils_and_a_total_is_not():
    assert a_line(cost_basis="per_pupil", cost="120.50", pupil_count=6).total_cost == Money(72300)
    assert a_line(cost_basis="total", cost="120.50", pupil_count=6).total_cost == Money(12050)


def test_a_line_may_cost_the_school_nothing():
    assert a_line(cost="0", funded_by="council").total_cost == Money(0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", ""),
        ("description", "x" * (limits.SHORT_TEXT + 1)),
        ("description", "tab\x00"),
        ("staff_or_provider", " "),
        ("category", "haircuts"),
        ("tier", "universal-ish"),
        ("area_of_need", "behaviour"),
        ("pupil_count", 0),
        ("pupil_count", limits.MAX_PROVISION_PUPILS + 1),
        ("pupil_count", True),
        ("pupil_count", "6"),
        ("hours_per_week", "0"),
        ("hours_per_week", "60.01"),
        ("hours_per_week", "2.555"),
        ("hours_per_week", 2.5),
        ("weeks", 0),
        ("weeks", limits.MAX_WEEKS + 1),
        ("cost", "-1.00"),
        ("cost", "1.005"),
        ("cost", 12.5),
        ("cost_basis", "per_hour"),
        ("funded_by", "the_pta"),
        ("status", "maybe"),
        ("starts_on", "2026-02-30"),
        ("starts_on", "1 September 2026"),
        ("ends_on", "2026-08-31"),
    ],
)
def test_a_line_with_a_bad_field_is_refused(field, value):
    with pytest.raises(InvalidValue):
        a_line(**{field: value})


def test_hours_and_weeks_are_optional_and_hours_keep_two_places():
    line = a_line(hours_per_week=None, weeks=None)
    assert line.hours_per_week is None and line.weeks is None
    assert a_line(hours_per_week="60").hours_per_week == Decimal("60.00")


def test_a_line_whose_total_is_over_the_largest_amount_is_refused():
    with pytest.raises(InvalidValue, match="total cost"):
        a_line(cost_basis="per_pupil", cost="5000000.00", pupil_count=3)


def test_a_line_the_school_commissions_names_the_service_and_no_other_line_does():
    line = a_line(funded_by="school_commissioned", commissioned_service="educational_psychology")
    assert line.commissioned_service is CommissionedService.EDUCATIONAL_PSYCHOLOGY
    with pytest.raises(InvalidValue, match="commissioned_service"):
        a_line(funded_by="school_commissioned")
    with pytest.raises(InvalidValue, match="commissioned_service"):
        a_line(funded_by="cluster_top_up", commissioned_service="camhs")


def test_every_funding_source_and_area_of_need_is_accepted():
    for source in FundingSource:
        service = "camhs" if source is FundingSource.SCHOOL_COMMISSIONED else None
        assert a_line(funded_by=source.value, commissioned_service=service).funded_by is source
    for area in AreaOfNeed:
        assert a_line(area_of_need=area.value).area_of_need is area


# -- the map's lines ---------------------------------------------------------------------------------


def test_lines_are_numbered_in_order_and_a_number_is_never_reused():
    provision_map = opened()
    assert provision_map.add_line(a_line(), SENCO) == 1
    assert provision_map.add_line(a_line(), SENCO) == 2
    provision_map.remove_line(2, SENCO)
    assert provision_map.add_line(a_line(), SENCO) == 3
    assert list(provision_map.lines) == [1, 3]


def test_a_line_may_start_before_the_year_or_end_after_it_but_must_overlap_it():
    provision_map = opened()
    provision_map.add_line(a_line(starts_on="2026-04-01", ends_on="2026-09-01"), SENCO)
    provision_map.add_line(a_line(starts_on="2027-08-31", ends_on="2027-12-31"), SENCO)
    with pytest.raises(InvalidValue, match="during the academic year"):
        provision_map.add_line(a_line(starts_on="2026-01-01", ends_on="2026-08-31"), SENCO)
    with pytest.raises(InvalidValue, match="during the academic year"):
        provision_map.add_line(a_line(starts_on="2027-09-01", ends_on="2027-12-31"), SENCO)
    with pytest.raises(InvalidValue, match="during the academic year"):
        provision_map.change_line(1, a_line(starts_on="2025-09-01", ends_on="2026-07-31"), SENCO)


def test_a_map_holds_at_most_the_limit_of_lines():
    provision_map = opened()
    for _ in range(limits.MAX_MAP_LINES):
        provision_map.add_line(a_line(), SENCO)
    with pytest.raises(InvalidValue, match="at most"):
        provision_map.add_line(a_line(), SENCO)


def test_changing_a_line_replaces_it_and_keeps_its_reviews():
    provision_map = with_line()
    provision_map.review_line(1, LineReview.parse(reviewed_on="2026-12-01", impact="some"), SENCO, today=TODAY)
    provision_map.change_line(1, a_line(pupil_count=8), SENCO)
    assert provision_map.line(1).pupil_count == 8
    assert [review.impact.value for review in provision_map.reviews[1]] == ["some"]


def test_sending_the_same_line_again_records_nothing():
    provision_map = with_line()
    provision_map.collect_events()
    provision_map.change_line(1, a_line(), SENCO)
    assert provision_map.collect_events() == []


def test_changing_removing_or_reviewing_an_unknown_line_is_not_found():
    provision_map = with_line()
    with pytest.raises(NotFound):
        provision_map.change_line(2, a_line(), SENCO)
    with pytest.raises(NotFound):
        provision_map.remove_line(2, SENCO)
    with pytest.raises(NotFound):
        provision_map.review_line(2, LineReview.parse(reviewed_on="2026-12-01", impact="good"), SENCO, today=TODAY)


# -- reviews ---------------------------------------------------------------------------------------------


def test_a_review_records_the_impact_the_note_and_the_day():
    provision_map = with_line()
    review = LineReview.parse(reviewed_on="2026-12-01", impact="good", note="Five of six met their targets.")
    provision_map.review_line(1, review, SENCO, today=TODAY)
    assert provision_map.reviews[1] == [review]
    assert review.reviewed_on == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("reviewed_on", "message"),
    [("2027-01-16", "future"), ("2026-08-31", "before it starts")],
)
def test_a_review_is_dated_between_the_lines_start_and_today(reviewed_on, message):
    provision_map = with_line()
    with pytest.raises(InvalidValue, match=message):
        provision_map.review_line(1, LineReview.parse(reviewed_on=reviewed_on, impact="some"), SENCO, today=TODAY)


@pytest.mark.parametrize("fields", [{"impact": "great"}, {"impact": "good", "note": "x" * (limits.NOTE_TEXT + 1)}])
def test_a_review_with_a_bad_impact_or_note_is_refused(fields):
    with pytest.raises(InvalidValue):
        LineReview.parse(reviewed_on="2026-12-01", **fields)


def test_a_line_holds_at_most_the_limit_of_reviews():
    provision_map = with_line()
    review = LineReview.parse(reviewed_on="2026-12-01", impact="some")
    for _ in range(limits.MAX_REVIEWS_PER_LINE):
        provision_map.review_line(1, review, SENCO, today=TODAY)
    with pytest.raises(InvalidValue, match="reviews"):
        provision_map.review_line(1, review, SENCO, today=TODAY)


# -- publishing ------------------------------------------------------------------------------------------


def test_publishing_freezes_the_canonical_content_and_its_sha256():
    provision_map = with_line()
    version = provision_map.publish(SENCO)
    assert version.version == 1
    assert version.sha256 == hashlib.sha256(version.content.encode("utf-8")).hexdigest()
    document = json.loads(version.content)
    assert version.content == canonical_json(document)  # sorted keys, no spaces: the canonical text
    assert document["school_urn"] == "900001" and document["academic_year"] == "2026/27"
    assert document["version"] == 1 and document["total_cost_pence"] == 72300
    (line,) = document["lines"]
    assert line["cost_pence"] == 12050 and line["total_cost_pence"] == 72300
    assert line["starts_on"] == "2026-09-01" and line["hours_per_week"] == "2.50"
    assert version.published_by == SENCO


def test_the_published_event_carries_the_content_and_the_hash():
    provision_map = with_line()
    provision_map.collect_events()
    version = provision_map.publish(SENCO)
    (event,) = provision_map.collect_events()
    assert isinstance(event, ProvisionMap.Published)
    assert (event.version_number, event.content, event.sha256) == (1, version.content, version.sha256)


def test_editing_after_publishing_leaves_the_published_version_as_it_was():
    provision_map = with_line()
    first = provision_map.publish(SENCO)
    provision_map.change_line(1, a_line(pupil_count=9), SENCO)
    provision_map.add_line(a_line(description="Lego therapy"), SENCO)
    provision_map.review_line(1, LineReview.parse(reviewed_on="2026-12-01", impact="good"), SENCO, today=TODAY)
    assert provision_map.published_version(1) == first
    assert provision_map.published_version(1).hash_holds()
    assert json.loads(first.content)["lines"][0]["pupil_count"] == 6
    second = provision_map.publish(SENCO)
    assert second.version == 2 and second.sha256 != first.sha256
    assert provision_map.published_version(1).content == first.content


def test_versions_are_numbered_one_two_three():
    provision_map = with_line()
    numbers = []
    for pupils in (7, 8, 9):
        provision_map.change_line(1, a_line(pupil_count=pupils), SENCO)
        numbers.append(provision_map.publish(SENCO).version)
    assert numbers == [1, 2, 3] and provision_map.draft_version == 4


def test_a_map_with_no_lines_cannot_be_published():
    with pytest.raises(NothingToPublish, match="no lines"):
        opened().publish(SENCO)


def test_publishing_again_with_nothing_changed_is_refused():
    provision_map = with_line()
    provision_map.publish(SENCO)
    with pytest.raises(NothingToPublish, match="nothing has changed"):
        provision_map.publish(SENCO)


def test_a_map_has_at_most_the_limit_of_published_versions():
    provision_map = with_line()
    for count in range(limits.MAX_PUBLISHED_VERSIONS):
        provision_map.change_line(1, a_line(pupil_count=1 + count % 2), SENCO)
        provision_map.publish(SENCO)
    provision_map.change_line(1, a_line(pupil_count=5), SENCO)
    with pytest.raises(NothingToPublish, match="at most"):
        provision_map.publish(SENCO)


def test_an_unpublished_version_number_is_not_found():
    provision_map = with_line()
    provision_map.publish(SENCO)
    for version in (0, 2, -1):
        with pytest.raises(NotFound):
            provision_map.published_version(version)


def test_a_published_versions_content_holds_no_staff_or_pupil_identity():
    provision_map = with_line()
    content = provision_map.publish(SENCO).content
    assert "senco-900001" not in content


def test_replaying_the_events_rebuilds_the_same_map():
    provision_map = ProvisionMap.open(SCHOOL, YEAR, SENCO)
    provision_map.add_line(a_line(), SENCO)
    provision_map.review_line(1, LineReview.parse(reviewed_on="2026-12-01", impact="good"), SENCO, today=TODAY)
    provision_map.publish(SENCO)
    provision_map.remove_line(1, SENCO)
    events = provision_map.collect_events()
    rebuilt: Any = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.lines == provision_map.lines and rebuilt.published == provision_map.published
    assert rebuilt.changed_since_published and rebuilt.version == provision_map.version


# -- the school's years, and who may do what --------------------------------------------------------


def test_a_school_opens_each_year_once():
    index = SchoolProvisionMaps.start(SCHOOL)
    index.year_opened(AcademicYear(2027), SENCO)
    index.year_opened(YEAR, SENCO)
    assert index.academic_years == [YEAR, AcademicYear(2027)]
    with pytest.raises(AlreadyExists):
        index.year_opened(YEAR, SENCO)


def test_only_a_school_keeps_a_map_and_the_lead_and_council_read_it():
    lead, council = Actor.cluster_lead("lead", "northmere-coast"), Actor.council("officer")
    finance = Actor.finance("finance")
    for command in ("open_provision_map", "change_provision_map", "publish_provision_map"):
        check_role(SENCO, command)
        for other in (lead, council, finance):
            with pytest.raises(NotPermitted):
                check_role(other, command)
    for reader in (SENCO, lead, council):
        check_role(reader, "read_provision_map")
    with pytest.raises(NotPermitted):
        check_role(finance, "read_provision_map")


def test_a_map_is_read_by_its_school_its_clusters_lead_and_the_council_only():
    cluster = ClusterId("northmere-coast")
    check_may_read_provision_map(SENCO, SCHOOL, cluster)
    check_may_read_provision_map(Actor.cluster_lead("lead", cluster), SCHOOL, cluster)
    check_may_read_provision_map(Actor.council("officer"), SCHOOL, None)
    refused = [
        (Actor.school("other", "900002"), cluster),
        (Actor.cluster_lead("other-lead", "fenwick-broads"), cluster),
        (Actor.cluster_lead("lead", cluster), None),  # a school in no cluster has no lead
    ]
    for actor, schools_cluster in refused:
        with pytest.raises(NotPermitted):
            check_may_read_provision_map(actor, SCHOOL, schools_cluster)


def test_only_the_school_itself_reads_its_draft():
    assert may_read_provision_map_draft(SENCO, SCHOOL)
    assert not may_read_provision_map_draft(Actor.school("other", "900002"), SCHOOL)
    assert not may_read_provision_map_draft(Actor.council("officer"), SCHOOL)
