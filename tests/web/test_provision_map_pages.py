"""Provision map pages in process, on SQLite and on PostgreSQL: the school's map grouped by area of
need with totals by funding source; adding, changing, removing and reviewing a line (pounds typed,
dates in three boxes); publishing with a check page and a confirmation with the version and hash;
bad input kept with the error summary and nothing changed; the lead and the council reading the
published map only, and other schools and leads refused."""

from __future__ import annotations

import hashlib
import html
import re
from typing import Any

import pytest

from domain.academic_year import AcademicYear
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.dev_mode import DEV_YEAR
from tests.web.pages import csrf_from, post_form, signed_in

SCHOOL = "school 990001 (northmere-coast)"
OTHER_SCHOOL = "school 990201 (marshfield-vale)"
LEAD = "lead, northmere-coast"
OTHER_LEAD = "lead, marshfield-vale"
YEAR = AcademicYear(DEV_YEAR.start_year)
MAP = f"/school/provision-maps/{YEAR.path}"
GOOD_LINE = {
    "description": "Lego therapy group",
    "category": "therapies",
    "area_of_need": "communication_and_interaction",
    "tier": "targeted",
    "pupil_count": "4",
    "hours_per_week": "1.5",
    "weeks": "30",
    "staff_or_provider": "Teaching assistant",
    "cost_basis": "per_pupil",
    "cost": "£1,250.50",
    "funded_by": "notional_sen_budget",
    "commissioned_service": "",
    "starts_on-day": "1",
    "starts_on-month": "9",
    "starts_on-year": str(YEAR.start_year),
    "ends_on-day": "21",
    "ends_on-month": "7",
    "ends_on-year": str(YEAR.start_year + 1),
    "status": "in_place",
}


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def head(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def draft_lines(app: FundingApplication) -> list[Any]:
    return list(app.provision_map(demo.school("990001"), "990001", YEAR).draft or ())


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_school_sees_its_map_grouped_by_area_with_totals_by_funding(loaded):
    client = signed_in(loaded, SCHOOL)
    page = client.get(MAP)
    assert page.status_code == 200
    text = text_of(page.text)
    for area in ("Communication and interaction", "Cognition and learning", "Social, emotional and mental health",
                 "Sensory and/or physical"):  # fmt: skip
        assert area in text
    assert "Totals by what funds the provision" in text and "School's notional SEN budget" in text
    assert "You have changed the map since version 1 was published" in text  # the demo's planned line
    assert "Publish version 2" in text
    assert 'href="/school/provision-maps"' in page.text  # "Provision map" in the menu


def test_the_school_adds_a_line_typed_in_pounds(loaded):
    client = signed_in(loaded, SCHOOL)
    before = len(draft_lines(loaded))
    answer = post_form(client, f"{MAP}/lines/new", f"{MAP}/lines/new", GOOD_LINE)
    assert answer.status_code == 303 and answer.headers["location"] == MAP
    added = draft_lines(loaded)[-1].line
    assert len(draft_lines(loaded)) == before + 1
    assert (added.cost.pence, added.total_cost.pence, str(added.hours_per_week)) == (125050, 500200, "1.50")
    assert "Lego therapy group" in client.get(MAP).text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"description": ""}, "description", "Enter what the provision is"),
        ({"cost": "12.345"}, "cost", "must be an amount in pounds"),
        ({"pupil_count": "0"}, "pupil_count", "whole number from 1"),
        ({"hours_per_week": "61"}, "hours_per_week", "at most 60"),
        ({"starts_on-day": "31", "starts_on-month": "2"}, "starts_on-day", "must be a real date"),
        ({"area_of_need": "behaviour"}, "area_of_need", "Choose the broad area of need"),
        ({"funded_by": "school_commissioned"}, "commissioned_service", "must name the commissioned_service"),
        (
            {"starts_on-year": str(YEAR.start_year - 2), "ends_on-year": str(YEAR.start_year - 1)},
            "starts_on-day",
            "must run during the academic year",
        ),
    ],
)
def test_a_bad_line_is_shown_back_with_the_error_summary_and_changes_nothing(loaded, changes, field, message):
    client = signed_in(loaded, SCHOOL)
    before = head(loaded)
    answer = post_form(client, f"{MAP}/lines/new", f"{MAP}/lines/new", {**GOOD_LINE, **changes})
    assert answer.status_code == 400
    assert "govuk-error-summary" in answer.text and f'href="#{field}"' in answer.text
    assert message in text_of(answer.text)
    assert 'value="Lego therapy group"' in answer.text or changes.get("description") == ""  # what was typed is kept
    assert head(loaded) == before


def test_the_school_changes_and_removes_a_line(loaded):
    client = signed_in(loaded, SCHOOL)
    number = draft_lines(loaded)[0].line_number
    form = client.get(f"{MAP}/lines/{number}")
    assert form.status_code == 200 and 'name="cost"' in form.text
    changed = post_form(client, f"{MAP}/lines/{number}", f"{MAP}/lines/{number}", {**GOOD_LINE, "pupil_count": "9"})
    assert changed.status_code == 303
    assert draft_lines(loaded)[0].line.pupil_count == 9
    removed = post_form(client, f"{MAP}/lines/{number}/remove", f"{MAP}/lines/{number}/remove", {})
    assert removed.status_code == 303
    assert number not in [entry.line_number for entry in draft_lines(loaded)]
    assert client.get(f"{MAP}/lines/{number}").status_code == 404


def test_the_school_reviews_a_line(loaded):
    client = signed_in(loaded, SCHOOL)
    number = draft_lines(loaded)[0].line_number
    form = client.get(f"{MAP}/lines/{number}/review")
    assert form.status_code == 200
    day = YEAR.starts_on
    answer = post_form(
        client,
        f"{MAP}/lines/{number}/review",
        f"{MAP}/lines/{number}/review",
        {"impact": "some", "note": "Half met targets.", "reviewed_on-day": str(day.day),
         "reviewed_on-month": str(day.month), "reviewed_on-year": str(day.year)},
    )  # fmt: skip
    assert answer.status_code == 303
    review = draft_lines(loaded)[0].reviews[-1]
    assert (review.impact.value, review.note, review.reviewed_on) == ("some", "Half met targets.", day)


def test_a_review_in_the_future_or_without_an_impact_is_refused(loaded):
    client = signed_in(loaded, SCHOOL)
    number = draft_lines(loaded)[0].line_number
    before = head(loaded)
    for data in (
        {"impact": "good", "reviewed_on-day": "1", "reviewed_on-month": "1", "reviewed_on-year": "2099"},
        {"reviewed_on-day": "1", "reviewed_on-month": "10", "reviewed_on-year": str(YEAR.start_year)},
    ):
        answer = post_form(client, f"{MAP}/lines/{number}/review", f"{MAP}/lines/{number}/review", data)
        assert answer.status_code == 400 and "govuk-error-summary" in answer.text
    assert head(loaded) == before


def test_publishing_checks_first_then_confirms_the_version_and_its_hash(loaded):
    client = signed_in(loaded, SCHOOL)
    check = client.get(f"{MAP}/publish")
    assert check.status_code == 200 and "Check before you publish version 2" in check.text
    answer = post_form(client, f"{MAP}/publish", f"{MAP}/publish", {})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{MAP}/versions/2/published"
    confirmation = client.get(answer.headers["location"])
    published = loaded.published_provision_map(demo.school("990001"), "990001", YEAR, 2)
    assert published.sha256 == hashlib.sha256(published.content.encode()).hexdigest()
    assert "Version 2 published" in confirmation.text and published.sha256 in confirmation.text
    again = post_form(client, f"{MAP}/publish", f"{MAP}/publish", {})
    assert again.status_code == 409  # nothing changed since version 2


def test_the_lead_and_the_council_read_the_published_map_not_the_draft(loaded):
    published = loaded.published_provision_map(demo.COUNCIL, "990001", YEAR, 1)
    for visitor, home in ((LEAD, "/cluster/provision-maps"), ("council officer", "/council/provision-maps")):
        client = signed_in(loaded, visitor)
        listing = client.get(home)
        assert listing.status_code == 200 and f"{home}/990001/{YEAR.path}" in listing.text
        page = client.get(f"{home}/990001/{YEAR.path}")
        assert page.status_code == 200
        assert published.sha256 in page.text
        assert "Sensory circuits for pupils joining in spring" not in page.text  # the school's draft line
        assert client.get(f"{home}/990001/{YEAR.path}/versions/1").status_code == 200
        assert client.get(f"{home}/990001/{YEAR.path}/versions/2").status_code == 404


def test_another_clusters_lead_and_another_school_cannot_read_the_map(loaded):
    lead = signed_in(loaded, OTHER_LEAD)
    assert lead.get(f"/cluster/provision-maps/990001/{YEAR.path}").status_code == 404
    assert "990001" not in lead.get("/cluster/provision-maps").text
    school = signed_in(loaded, OTHER_SCHOOL)
    assert school.get(f"/cluster/provision-maps/990001/{YEAR.path}").status_code == 403  # not a lead's page at all


@pytest.mark.parametrize("path", [f"/school/provision-maps/{YEAR}", "/school/provision-maps/2026-28",
                                  f"{MAP}/lines/0", f"{MAP}/lines/x", f"{MAP}/versions/9"])  # fmt: skip
def test_a_malformed_or_unknown_address_is_404(loaded, path):
    client = signed_in(loaded, SCHOOL)
    assert client.get(path).status_code == 404


def test_a_school_opens_next_years_map(loaded):
    client = signed_in(loaded, SCHOOL)
    page = client.get("/school/provision-maps")
    options = re.findall(r'name="academic_year" type="radio" value="([^"]+)"', page.text)
    assert options, page.text
    answer = client.post(
        "/school/provision-maps", data={"csrf_token": csrf_from(page.text), "academic_year": options[-1]}
    )
    assert answer.status_code == 303
    assert client.get(answer.headers["location"]).status_code == 200
