"""SEN Information Reports through the application, on both stores: the school's own report, the
council's audit, who reads what, the public listing and its search, the broken-link rate limit,
and the read model against the aggregates and the log."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from domain.errors import NotFound, NotPermitted, StaleVersion
from domain.sen_report_checklist import CHECKLIST, AssessmentKind, Rating
from funding_engine.application import FundingApplication
from funding_engine.application.errors import InvalidQuery, RateLimited
from tests.support import (
    CLUSTER,
    COUNCIL,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    OTHER_HEAD,
    OTHER_LEAD,
    OTHER_SCHOOL,
    SCHOOL,
    SECOND_HEAD,
    SECOND_SCHOOL,
    YEAR,
    set_up_world,
)

URL = "https://www.school-900001.example.org/send-information-report"
ALL_MET = {item.key: "met" for item in CHECKLIST}


@pytest.fixture
def world(app: FundingApplication) -> FundingApplication:
    set_up_world(app)
    return app


def published(days_ago: int = 30) -> tuple[date, date]:
    """A publication date ``days_ago`` before today in England, and a review 300 days after it."""
    from funding_engine.application.calendar import today_in_england

    day = today_in_england() - timedelta(days=days_ago)
    return day, day + timedelta(days=300)


def register(app: FundingApplication, actor: Any = HEAD, urn: str = SCHOOL, url: str = URL, days_ago: int = 30) -> Any:
    return app.record_sen_report(actor, urn, url, *published(days_ago))


# -- the school's own report ------------------------------------------------------------------------------


def test_a_school_registers_then_updates_its_report_and_a_fresh_process_reads_it_back(world, make_app):
    register(world)
    report = world.record_sen_report(HEAD, SCHOOL, URL + "-2026", *published(10))

    again = make_app().get_sen_report(COUNCIL, SCHOOL)
    assert (again.url, again.published_on, again.version) == (URL + "-2026", published(10)[0], 2)
    assert report.version == 2


def test_a_school_may_not_record_another_schools_report_and_other_roles_may_not_record_any(world):
    for actor, urn in ((SECOND_HEAD, SCHOOL), (LEAD, SCHOOL), (COUNCIL, SCHOOL), (FINANCE, SCHOOL)):
        with pytest.raises(NotPermitted):
            register(world, actor, urn)
    with pytest.raises(NotFound):
        world.get_sen_report(COUNCIL, SCHOOL)


def test_a_stale_version_is_refused(world):
    register(world)
    with pytest.raises(StaleVersion):
        world.record_sen_report(HEAD, SCHOOL, URL, *published(5), expected_version=0)


def test_the_school_self_assesses_and_the_council_audits_each_kept_apart(world):
    register(world)
    world.assess_sen_report(HEAD, SCHOOL, ALL_MET)
    world.assess_sen_report(
        COUNCIL, SCHOOL, {**ALL_MET, "schedule_1_paragraph_13": "not_met"}, {"schedule_1_paragraph_13": "No link."}
    )

    report = world.get_sen_report(LEAD, SCHOOL)
    assert report.latest[AssessmentKind.SELF_ASSESSMENT].count(Rating.MET) == 23
    audit = report.latest[AssessmentKind.AUDIT]
    assert (audit.count(Rating.NOT_MET), audit.notes, audit.assessed_by) == (
        1,
        {"schedule_1_paragraph_13": "No link."},
        COUNCIL,
    )


def test_assessing_needs_a_registered_report_and_the_schools_own_or_the_council(world):
    with pytest.raises(NotFound):
        world.assess_sen_report(COUNCIL, SCHOOL, ALL_MET)
    register(world)
    for actor in (SECOND_HEAD, LEAD, FINANCE):
        with pytest.raises(NotPermitted):
            world.assess_sen_report(actor, SCHOOL, ALL_MET)


def test_a_report_is_read_by_its_school_its_clusters_lead_and_the_council_only(world):
    register(world)
    for reader in (HEAD, LEAD, COUNCIL):
        assert world.get_sen_report(reader, SCHOOL).url == URL
    for outsider in (SECOND_HEAD, OTHER_LEAD):
        with pytest.raises(NotFound):
            world.get_sen_report(outsider, SCHOOL)
    with pytest.raises(NotPermitted):
        world.get_sen_report(FINANCE, SCHOOL)


# -- the public listing ----------------------------------------------------------------------------------


def test_the_listing_shows_every_school_with_a_membership_or_a_report_by_urn(world):
    register(world)

    page = world.read_models.local_offer.schools()
    assert [(school.school_urn, school.row.cluster_id, school.row.url) for school in page.items] == [
        (SCHOOL, CLUSTER, URL),
        (SECOND_SCHOOL, CLUSTER, None),
        (OTHER_SCHOOL, OTHER_CLUSTER, None),
    ]
    assert page.next_cursor is None
    assert world.read_models.local_offer.school(SCHOOL).has_report
    with pytest.raises(NotFound):
        world.read_models.local_offer.school("999999")


@pytest.mark.parametrize(
    "search, cluster_id, expected",
    [
        ("9000", None, [SCHOOL, SECOND_SCHOOL]),
        ("900101", None, [OTHER_SCHOOL]),
        ("FENWICK", None, [OTHER_SCHOOL]),
        ("Northmere Co", None, [SCHOOL, SECOND_SCHOOL]),
        ("%", None, []),
        ("_", None, []),
        (None, OTHER_CLUSTER, [OTHER_SCHOOL]),
        ("900002", CLUSTER, [SECOND_SCHOOL]),
        ("  ", None, [SCHOOL, SECOND_SCHOOL, OTHER_SCHOOL]),
    ],
)
def test_the_listing_is_searched_by_urn_and_cluster(world, search, cluster_id, expected):
    page = world.read_models.local_offer.schools(search=search, cluster_id=cluster_id)
    assert [school.school_urn for school in page.items] == expected


@pytest.mark.parametrize("search", ["x" * 101, "bad\x00", "\ud800"])
def test_a_search_the_listing_cannot_run_is_refused(world, search):
    with pytest.raises(InvalidQuery):
        world.read_models.local_offer.schools(search=search)


def test_the_listing_pages_by_urn(world):
    for urn in ("900003", "900004", "900005"):
        world.add_school(COUNCIL, CLUSTER, urn)
    walked, cursor = [], None
    while True:
        page = world.read_models.local_offer.schools(limit=2, cursor=cursor)
        walked += [school.school_urn for school in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert walked == sorted(walked) and len(walked) == 6


def test_a_report_is_overdue_once_today_is_past_its_review(world, monkeypatch):
    register(world)
    review = published()[1]
    monkeypatch.setattr(type(world), "today", staticmethod(lambda: review + timedelta(days=1)))
    assert world.read_models.local_offer.school(SCHOOL).overdue
    assert [school.school_urn for school in world.read_models.local_offer.overview(COUNCIL).overdue] == [SCHOOL]
    monkeypatch.setattr(type(world), "today", staticmethod(lambda: review))
    assert not world.read_models.local_offer.school(SCHOOL).overdue


# -- broken links and the council's follow-up ---------------------------------------------------------------


def test_anyone_may_report_a_broken_link_and_the_council_sees_and_clears_it(world):
    register(world)
    world.report_broken_link("198.51.100.7", SCHOOL, "  Page not found.  ")

    overview = world.read_models.local_offer.overview(COUNCIL)
    assert [(link.school_urn, link.url, link.note) for link in overview.broken_links] == [
        (SCHOOL, URL, "Page not found.")
    ]
    world.clear_broken_link_reports(COUNCIL, SCHOOL)
    assert world.read_models.local_offer.overview(COUNCIL).broken_links == []


def test_a_broken_link_needs_a_registered_report(world):
    with pytest.raises(NotFound):
        world.report_broken_link("198.51.100.7", SECOND_SCHOOL, "")


def test_broken_link_reports_are_limited_per_client_and_the_refused_one_writes_nothing(world):
    register(world)
    for _ in range(5):
        world.report_broken_link("198.51.100.7", SCHOOL, "")
    head = world.recorder.max_notification_id()
    with pytest.raises(RateLimited) as refused:
        world.report_broken_link("198.51.100.7", SCHOOL, "")
    assert refused.value.retry_after > 0
    assert world.recorder.max_notification_id() == head
    world.report_broken_link("203.0.113.9", SCHOOL, "")  # another client still may


def test_the_council_follows_up_missing_overdue_and_not_met_and_no_one_else_may(world):
    register(world)
    register(world, OTHER_HEAD, OTHER_SCHOOL, URL + "-other", days_ago=400)
    world.assess_sen_report(HEAD, SCHOOL, {**ALL_MET, "section_69_3_b_iv": "not_met"})

    overview = world.read_models.local_offer.overview(COUNCIL)
    assert [school.school_urn for school in overview.missing] == [SECOND_SCHOOL]
    assert [school.school_urn for school in overview.overdue] == [OTHER_SCHOOL]
    assert [school.school_urn for school in overview.not_met] == [SCHOOL]
    for actor in (HEAD, LEAD, FINANCE):
        with pytest.raises(NotPermitted):
            world.read_models.local_offer.overview(actor)


def test_a_lead_lists_its_own_clusters_schools_only(world):
    register(world)
    assert [school.school_urn for school in world.read_models.local_offer.cluster_schools(LEAD, CLUSTER)] == [
        SCHOOL,
        SECOND_SCHOOL,
    ]
    with pytest.raises(NotPermitted):
        world.read_models.local_offer.cluster_schools(LEAD, OTHER_CLUSTER)
    with pytest.raises(NotPermitted):
        world.read_models.local_offer.cluster_schools(HEAD, CLUSTER)
    assert len(world.read_models.local_offer.cluster_schools(COUNCIL, OTHER_CLUSTER)) == 1


# -- the read model --------------------------------------------------------------------------------------


def test_the_read_model_follows_a_school_leaving_and_joining_clusters(world):
    register(world)
    world.remove_school(COUNCIL, CLUSTER, SCHOOL)
    assert world.read_models.local_offer.school(SCHOOL).row.cluster_id is None
    world.add_school(COUNCIL, OTHER_CLUSTER, SCHOOL)
    assert world.read_models.local_offer.school(SCHOOL).row.cluster_id == OTHER_CLUSTER


def test_the_read_model_reconciles_with_the_log_after_every_kind_of_event(world):
    register(world)
    register(world, OTHER_HEAD, OTHER_SCHOOL, URL + "-other")
    world.assess_sen_report(HEAD, SCHOOL, ALL_MET)
    world.assess_sen_report(COUNCIL, SCHOOL, dict.fromkeys(ALL_MET, "partly_met"))
    world.report_broken_link("a", SCHOOL, "one")
    world.report_broken_link("a", OTHER_SCHOOL, "two")
    world.clear_broken_link_reports(COUNCIL, OTHER_SCHOOL)
    world.record_sen_report(HEAD, SCHOOL, URL + "-moved", *published())  # clears SCHOOL's too

    result = world.read_models.reconcile(COUNCIL, YEAR)
    tables = {table.table.name: table for table in result.tables}
    assert tables["sen_reports"].consistent and tables["sen_reports"].rows_checked == 3
    assert tables["sen_report_broken_links"].consistent and tables["sen_report_broken_links"].rows_checked == 2
    row = world.read_models.local_offer.school(SCHOOL).row
    assert (row.url, row.open_broken_links, row.self_assessment.met, row.audit.partly_met) == (
        URL + "-moved",
        0,
        23,
        23,
    )
    assert world.read_models.local_offer.overview(COUNCIL).broken_links == []


def test_the_registers_schools_are_listed_by_name_and_searched_by_it_even_outside_any_cluster(world):
    world.register_school(COUNCIL, "900777", "Saltmarsh Community Primary", "primary", OTHER_CLUSTER)
    world.remove_school(COUNCIL, OTHER_CLUSTER, "900777")
    world.register_school(COUNCIL, "900778", "Reedham Junior", "primary", CLUSTER)

    by_name = world.read_models.local_offer.schools(search="SALTMARSH")
    assert [(school.school_urn, school.name, school.row.cluster_id) for school in by_name.items] == [
        ("900777", "Saltmarsh Community Primary", None)
    ]
    assert [school.school_urn for school in world.read_models.local_offer.schools(cluster_id=CLUSTER).items] == [
        SCHOOL,
        SECOND_SCHOOL,
        "900778",
    ]
    missing = [school.school_urn for school in world.read_models.local_offer.overview(COUNCIL).missing]
    assert {"900777", "900778"} <= set(missing)


@pytest.fixture
def accented(world: FundingApplication) -> FundingApplication:
    world.register_cluster(COUNCIL, "vallee-d-ecole", "Vallée de l'Étang")
    world.register_school(COUNCIL, "900901", "École St Émile", "primary", "vallee-d-ecole")
    world.register_school(COUNCIL, "900902", "ÆTHELSTAN ACADEMY", "secondary", CLUSTER)
    world.register_school(COUNCIL, "900903", "Straße Primary", "primary", CLUSTER)
    return world


@pytest.mark.parametrize(
    "search, expected",
    [
        ("école", ["900901"]),
        ("ÉCOLE ST ÉMILE", ["900901"]),
        ("st émile", ["900901"]),
        ("VALLÉE DE L'ÉTANG", ["900901"]),  # the cluster's name
        ("æthelstan", ["900902"]),
        ("STRASSE", ["900903"]),  # casefolded, ß is ss
        ("emile", []),  # an accent is not a case: É is not E
    ],
)
def test_the_listing_search_ignores_case_in_any_alphabet_on_both_stores(accented, search, expected):
    page = accented.read_models.local_offer.schools(search=search)
    assert [school.school_urn for school in page.items] == expected


def test_a_search_pages_through_the_whole_listing_in_chunks(accented, monkeypatch):
    monkeypatch.setattr("projections.sen_report_queries._SEARCH_CHUNK", 2)
    found, cursor = [], None
    while True:
        page = accented.read_models.local_offer.schools(search="9009", limit=1, cursor=cursor)
        found += [school.school_urn for school in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert found == ["900901", "900902", "900903"]
    by_name = accented.read_models.local_offer.schools(search="É", limit=5)
    assert [school.school_urn for school in by_name.items] == ["900901"]
