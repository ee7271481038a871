"""SEN Information Reports: the address, the dates (a yearly review), assessments against the
checklist, broken-link reports, who may read a report, and the public rate limit."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain import limits
from domain.errors import InvalidValue, NotFound
from domain.permissions import COMMAND_ROLES, check_may_read_sen_report
from domain.sen_report_checklist import (
    CHECKLIST,
    ITEMS,
    SCHEDULE_1_ITEMS,
    SECTION_69_ITEMS,
    AssessmentKind,
    Rating,
    check_ratings,
)
from domain.sen_reports import (
    EARLIEST_PUBLICATION,
    ReportDates,
    SenInformationReport,
    a_year_after,
    check_broken_link_note,
    check_report_url,
)
from domain.values import Actor, ClusterId, Role, SchoolUrn
from funding_engine.rate_limits import RateLimited, SlidingWindowLimit

SCHOOL = SchoolUrn("900001")
HEAD = Actor.school("senco-900001", SCHOOL)
COUNCIL = Actor.council("council-officer-1")
TODAY = date(2026, 11, 29)
URL = "https://www.example-school.org.uk/send-information-report"
ALL_MET = {item.key: "met" for item in CHECKLIST}


def dates(published: str = "2026-09-01", review: str = "2027-08-31") -> ReportDates:
    return ReportDates.check(published, review, today=TODAY)


def registered(url: str = URL) -> SenInformationReport:
    report = SenInformationReport.register(SCHOOL, url, dates(), HEAD)
    report.collect_events()
    return report


def replayed(events: list[Any]) -> SenInformationReport:
    report: Any = None
    for event in events:
        report = event.mutate(report)
    return report


# -- the checklist --------------------------------------------------------------------------------------


def test_the_checklist_is_schedule_1s_thirteen_paragraphs_with_paragraph_3s_seven_parts_then_section_69s_four():
    paragraphs = {item.reference.split("(")[0] for item in SCHEDULE_1_ITEMS}
    assert paragraphs == {f"Schedule 1, paragraph {number}" for number in range(1, 14)}
    assert [item.reference for item in SCHEDULE_1_ITEMS if "paragraph 3" in item.reference] == [
        f"Schedule 1, paragraph 3({part})" for part in "abcdefg"
    ]
    assert [item.reference for item in SECTION_69_ITEMS] == [
        "Section 69(3)(b)(i)",
        "Section 69(3)(b)(ii)",
        "Section 69(3)(b)(iii)",
        "Section 69(3)(b)(iv)",
    ]
    assert len(CHECKLIST) == 23 == len(ITEMS) == len({item.reference for item in CHECKLIST})
    assert "Schedule 10 to the Equality Act 2010" in ITEMS["section_69_3_b_iv"].wording


def test_every_item_says_whether_its_wording_was_compared_with_the_legislation():
    unchecked = [item.reference for item in CHECKLIST if not item.checked]
    assert unchecked == [f"Schedule 1, paragraph {number}" for number in range(7, 14)]


@pytest.mark.parametrize("item", [item for item in CHECKLIST if item.checked], ids=lambda item: item.key)
def test_an_item_marked_checked_has_its_wording_and_the_reference_it_was_checked_against(item):
    assert item.wording.strip() and item.wording == item.wording.strip()
    assert item.wording.endswith(".")
    assert item.reference.startswith(("Schedule 1, paragraph ", "Section 69(3)(b)("))
    assert item.short_title.strip()


def test_an_assessment_must_rate_every_item():
    ratings = dict(ALL_MET)
    del ratings["schedule_1_paragraph_13"]
    with pytest.raises(InvalidValue, match="missing: schedule_1_paragraph_13"):
        check_ratings(ratings)


@pytest.mark.parametrize(
    "ratings, message",
    [
        ({**ALL_MET, "paragraph_14": "met"}, "not on the checklist"),
        ({**ALL_MET, "schedule_1_paragraph_1": "mostly"}, "must be one of: met, partly_met, not_met"),
        (["met"] * 23, "must map each checklist item"),
    ],
)
def test_an_assessment_names_only_checklist_items_with_a_known_rating(ratings, message):
    with pytest.raises(InvalidValue, match=message):
        check_ratings(ratings)


# -- the address ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [URL, "https://school.example/send?year=2026", "HTTPS://School.Example.org/SEND", "https://xn--bcher-kva.example/"],
)
def test_a_report_address_is_https_on_a_named_host(url):
    assert check_report_url(url) == url


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://www.example-school.org.uk/send", "must start https://"),
        ("ftp://www.example-school.org.uk/send", "must start https://"),
        ("www.example-school.org.uk/send", "must start https://"),
        ("https://user:secret@www.example-school.org.uk/send", "user name or password"),
        ("https://localhost/send", "must name the school website's host"),
        ("https://192.168.1.10/send", "must name the school website's host"),
        ("https:///send", "must name the school website's host"),
        ("https://www.example-school.org.uk:notaport/", "not a valid web address"),
        ("https://www.example school.org.uk/", "spaces or control characters"),
        ("https://www.example-school.org.uk/\x00", "spaces or control characters"),
        ("https://www.example-school.org.uk/" + "a" * limits.SEN_REPORT_URL_MAX_LENGTH, "at most 2000 characters"),
        ("", "report's address"),
    ],
)
def test_an_address_that_is_not_a_school_websites_https_page_is_refused(url, message):
    with pytest.raises(InvalidValue, match=message):
        check_report_url(url)


def test_registering_refuses_a_bad_address():
    with pytest.raises(InvalidValue, match="https"):
        SenInformationReport.register(SCHOOL, "http://example.org/send", dates(), HEAD)


# -- the dates -----------------------------------------------------------------------------------------


def test_a_review_may_fall_exactly_a_year_after_publication():
    checked = dates("2026-09-01", "2027-09-01")
    assert (checked.published_on, checked.next_review_on) == (date(2026, 9, 1), date(2027, 9, 1))


@pytest.mark.parametrize(
    "published, review, message",
    [
        ("2026-09-01", "2027-09-02", "no more than a year after published_on"),
        ("2026-09-01", "2026-09-01", "after published_on"),
        ("2026-09-01", "2026-08-31", "after published_on"),
        ("2026-11-30", "2027-06-01", "must not be in the future"),
        ("2014-08-31", "2015-08-01", "on or after 2014-09-01"),
        ("2026-02-30", "2026-12-01", "not a real date"),
        ("1/9/2026", "2027-08-31", "must be a date like"),
    ],
)
def test_dates_that_break_the_yearly_review_or_the_calendar_are_refused(published, review, message):
    with pytest.raises(InvalidValue, match=message):
        dates(published, review)


def test_a_year_after_a_leap_day_is_the_28th_of_february():
    assert a_year_after(date(2024, 2, 29)) == date(2025, 2, 28)
    assert a_year_after(EARLIEST_PUBLICATION) == date(2015, 9, 1)


def test_a_report_is_overdue_once_its_review_date_has_passed():
    report = registered()
    assert not report.is_overdue(date(2027, 8, 31))
    assert report.is_overdue(date(2027, 9, 1))


# -- registering and updating -------------------------------------------------------------------------


def test_registering_records_the_address_dates_and_school_and_the_id_comes_from_the_urn():
    report = SenInformationReport.register(SCHOOL, URL, dates(), HEAD)
    (event,) = report.collect_events()
    assert isinstance(event, SenInformationReport.Registered)
    assert (event.school_urn, event.url, event.published_on, event.next_review_on, event.actor) == (
        SCHOOL, URL, "2026-09-01", "2027-08-31", HEAD
    )  # fmt: skip
    assert report.id == SenInformationReport.id_for(SchoolUrn("900001"))
    assert replayed([event]).next_review_on == date(2027, 8, 31)


def test_an_update_that_changes_nothing_records_nothing():
    report = registered()
    report.update(URL, dates(), HEAD)
    assert report.collect_events() == []


def test_an_update_records_the_new_address_and_dates():
    report = registered()
    report.update(URL + "-2026", dates("2026-10-01", "2027-09-30"), HEAD)
    (event,) = report.collect_events()
    assert isinstance(event, SenInformationReport.Updated)
    assert (report.url, report.published_on, report.next_review_on) == (
        URL + "-2026", date(2026, 10, 1), date(2027, 9, 30)
    )  # fmt: skip


# -- assessments --------------------------------------------------------------------------------------


def test_an_assessment_records_every_rating_and_the_report_as_it_then_stood():
    report = registered()
    ratings = {**ALL_MET, "schedule_1_paragraph_13": "not_met", "section_69_3_b_iv": "partly_met"}
    report.assess(AssessmentKind.AUDIT, ratings, {"schedule_1_paragraph_13": "No link to the Local Offer.",
                                                  "schedule_1_paragraph_1": "   "}, COUNCIL)  # fmt: skip
    (event,) = report.collect_events()
    assert isinstance(event, SenInformationReport.Assessed)
    assert (event.kind, event.report_url, event.published_on) == ("audit", URL, "2026-09-01")
    assert event.notes == {"schedule_1_paragraph_13": "No link to the Local Offer."}  # blank notes left out
    audit = report.latest[AssessmentKind.AUDIT]
    assert (audit.count(Rating.MET), audit.count(Rating.PARTLY_MET), audit.count(Rating.NOT_MET)) == (21, 1, 1)
    assert audit.assessed_by == COUNCIL and AssessmentKind.SELF_ASSESSMENT not in report.latest


def test_the_latest_assessment_of_each_kind_is_kept_apart():
    report = registered()
    report.assess(AssessmentKind.SELF_ASSESSMENT, ALL_MET, {}, HEAD)
    report.assess(AssessmentKind.AUDIT, dict.fromkeys(ALL_MET, "not_met"), {}, COUNCIL)
    report.assess(AssessmentKind.SELF_ASSESSMENT, dict.fromkeys(ALL_MET, "partly_met"), {}, HEAD)
    events = report.collect_events()
    for state in (report, replayed([*SenInformationReport.register(SCHOOL, URL, dates(), HEAD).collect_events(),
                                    *events])):  # fmt: skip
        assert state.latest[AssessmentKind.SELF_ASSESSMENT].count(Rating.PARTLY_MET) == 23
        assert state.latest[AssessmentKind.AUDIT].count(Rating.NOT_MET) == 23


def test_a_note_longer_than_a_note_is_refused_and_nothing_is_recorded():
    report = registered()
    with pytest.raises(InvalidValue, match="at most 1000"):
        report.assess(AssessmentKind.AUDIT, ALL_MET, {"schedule_1_paragraph_1": "x" * 1001}, COUNCIL)
    with pytest.raises(InvalidValue, match="not on the checklist"):
        report.assess(AssessmentKind.AUDIT, ALL_MET, {"paragraph_99": "x"}, COUNCIL)
    assert report.collect_events() == []


# -- broken links -------------------------------------------------------------------------------------


def test_a_broken_link_report_keeps_the_address_and_a_trimmed_note_and_nothing_about_who():
    report = registered()
    report.report_broken_link("  Page not found.  ")
    (event,) = report.collect_events()
    assert isinstance(event, SenInformationReport.BrokenLinkReported)
    assert (event.url, event.note) == (URL, "Page not found.")
    assert not hasattr(event, "actor")
    assert report.open_broken_links == 1


@pytest.mark.parametrize("note", ["x" * (limits.BROKEN_LINK_NOTE_MAX_LENGTH + 1), "bad\x07bell", 42])
def test_a_broken_link_note_that_is_too_long_or_not_text_is_refused(note):
    with pytest.raises(InvalidValue):
        check_broken_link_note(note)


def test_a_missing_note_is_an_empty_one():
    assert check_broken_link_note(None) == ""


def test_the_council_clears_broken_link_reports_and_clearing_none_records_nothing():
    report = registered()
    report.clear_broken_link_reports(COUNCIL)
    assert report.collect_events() == []
    report.report_broken_link("")
    report.report_broken_link("")
    report.clear_broken_link_reports(COUNCIL)
    assert report.open_broken_links == 0
    assert isinstance(report.collect_events()[-1], SenInformationReport.BrokenLinkReportsCleared)


def test_a_new_address_clears_the_broken_link_reports_and_new_dates_alone_do_not():
    report = registered()
    report.report_broken_link("")
    report.update(URL, dates("2026-10-01", "2027-09-30"), HEAD)
    assert report.open_broken_links == 1
    report.update(URL + "-fixed", dates("2026-10-01", "2027-09-30"), HEAD)
    assert report.open_broken_links == 0


# -- who may do what -----------------------------------------------------------------------------------


def test_only_the_school_records_its_report_the_school_and_council_assess_and_only_the_council_follows_up():
    assert COMMAND_ROLES["record_sen_report"] == {Role.SCHOOL}
    assert COMMAND_ROLES["assess_sen_report"] == {Role.SCHOOL, Role.COUNCIL}
    assert COMMAND_ROLES["read_sen_report"] == {Role.SCHOOL, Role.CLUSTER_LEAD, Role.COUNCIL}
    assert COMMAND_ROLES["read_local_offer_overview"] == COMMAND_ROLES["clear_broken_link_reports"] == {Role.COUNCIL}


@pytest.mark.parametrize(
    "actor, cluster, may",
    [
        (COUNCIL, None, True),
        (HEAD, ClusterId("northmere-coast"), True),
        (Actor.school("senco-900002", "900002"), ClusterId("northmere-coast"), False),
        (Actor.cluster_lead("lead", "northmere-coast"), ClusterId("northmere-coast"), True),
        (Actor.cluster_lead("lead", "fenwick-broads"), ClusterId("northmere-coast"), False),
        (Actor.cluster_lead("lead", "northmere-coast"), None, False),
    ],
)
def test_a_report_is_read_by_its_school_its_clusters_lead_and_the_council(actor, cluster, may):
    if may:
        check_may_read_sen_report(actor, SCHOOL, cluster)
    else:
        with pytest.raises(NotFound):
            check_may_read_sen_report(actor, SCHOOL, cluster)


# -- the public rate limit -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_client_may_report_five_times_an_hour_then_waits_for_the_oldest_to_age():
    clock = Clock()
    limit = SlidingWindowLimit(per_client=5, overall=200, clock=clock)
    for minute in range(5):
        clock.now = 1000.0 + minute * 60
        limit.acquire("198.51.100.7")
    with pytest.raises(RateLimited) as refused:
        limit.acquire("198.51.100.7")
    assert refused.value.retry_after == 3600 - 240
    limit.acquire("203.0.113.9")  # another client is unaffected
    clock.now = 1000.0 + 3600
    limit.acquire("198.51.100.7")  # the first report has aged out


def test_everyone_together_is_limited_too_and_a_refusal_counts_nothing():
    clock = Clock()
    limit = SlidingWindowLimit(per_client=5, overall=3, clock=clock)
    for client in ("a", "b", "c"):
        limit.acquire(client)
    for _ in range(3):
        with pytest.raises(RateLimited, match="from everyone"):
            limit.acquire("d")
    clock.now += 3600
    for client in ("d", "d", "d"):
        limit.acquire(client)
