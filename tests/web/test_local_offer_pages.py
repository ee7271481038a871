"""The Local Offer's pages in process, on SQLite and on PostgreSQL, over the demo year: the public
listing and its search with nobody signed in, reporting a broken link (CSRF, a short note only,
the rate limit), the school's report details and self-assessment, and the council's follow-up
page and audit."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from domain.sen_report_checklist import CHECKLIST, AssessmentKind
from funding_engine import demo
from funding_engine.application import FundingApplication
from tests.web.pages import client_for, csrf_from, post_form, signed_in

SCHOOL_LABEL = "school 990001 (northmere-coast)"


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def head(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def listed_urns(page: str) -> list[str]:
    return re.findall(r'data-urn="(\d{6})"', page)


def error_summary(page: str) -> list[str]:
    summary = page[page.index("govuk-error-summary__list") :]
    summary = summary[: summary.index("</ul>")]
    return [html.unescape(text).strip() for text in re.findall(r'<a href="#[^"]+">([^<]+)</a>', summary)]


# -- the public listing ------------------------------------------------------------------------------------


def test_anyone_sees_every_demo_school_and_its_report_without_signing_in(loaded):
    page = client_for(loaded).get("/local-offer")

    assert page.status_code == 200
    assert listed_urns(page.text) == sorted(demo.SEN_REPORTS)
    assert 'href="https://www.school-990001.example.org/send-information-report"' in page.text
    assert "Northmere Primary School (fictional)" in page.text
    assert "Review overdue" in page.text  # 990003
    assert page.text.count("Not published here yet") == 1  # 990103
    assert "Sign out" not in page.text


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"q": "99000"}, ["990001", "990002", "990003"]),
        ({"q": "marshfield"}, ["990201", "990202"]),
        ({"cluster": "fenwick-broads"}, ["990101", "990102", "990103"]),
        ({"q": "990102", "cluster": "fenwick-broads"}, ["990102"]),
        ({"q": "staithe"}, ["990101"]),
        ({"q": "nowhere"}, []),
    ],
)
def test_the_listing_is_searched_by_urn_and_cluster_with_a_get_form(loaded, query, expected):
    page = client_for(loaded).get("/local-offer", params=query)
    assert page.status_code == 200
    assert listed_urns(page.text) == expected
    if not expected:
        assert "No school matches your search" in page.text


@pytest.mark.parametrize("query", ["ÉCOLE ST ÉMILE", "école", "st émile"])
def test_the_listing_finds_a_name_with_an_accented_capital_in_any_case(loaded, query):
    loaded.register_school(demo.COUNCIL, "990301", "École St Émile (fictional)", "primary", "northmere-coast")
    page = client_for(loaded).get("/local-offer", params={"q": query})
    assert page.status_code == 200
    assert listed_urns(page.text) == ["990301"]
    assert "École St Émile (fictional)" in page.text


def test_a_search_that_cannot_be_run_shows_the_error_summary(loaded):
    page = client_for(loaded).get("/local-offer", params={"cluster": "atlantis", "q": "x" * 101})
    assert page.status_code == 400
    assert error_summary(page.text) == ["Search for 100 characters or fewer", "Select a cluster from the list"]


def test_the_listing_goes_on_to_a_next_page_keeping_the_search(loaded, monkeypatch):
    monkeypatch.setattr("web.local_offer.public.PAGE_SIZE", 3)
    client = client_for(loaded)
    first = client.get("/local-offer", params={"q": "990"})
    found = re.search(r'href="(/local-offer\?[^"]*cursor=[^"]+)"', first.text)
    assert found, first.text
    link = html.unescape(found.group(1))
    second = client.get(link)
    assert listed_urns(first.text) == ["990001", "990002", "990003"]
    assert listed_urns(second.text) == ["990101", "990102", "990103"]


# -- reporting a broken link --------------------------------------------------------------------------------


def test_anyone_reports_a_broken_link_and_the_council_sees_it(loaded):
    client = client_for(loaded)
    form = client.get("/local-offer/report-a-broken-link/990001")
    assert form.status_code == 200 and "email" not in form.text.lower().split("do not include")[0]
    answer = client.post(
        "/local-offer/report-a-broken-link/990001", data={"csrf_token": csrf_from(form.text), "note": " Gone. "}
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/local-offer/report-a-broken-link/990001/sent")
    assert "Broken link reported" in client.get(answer.headers["location"]).text
    reported = [
        link
        for link in loaded.read_models.local_offer.overview(demo.COUNCIL).broken_links
        if link.school_urn == "990001"
    ]
    assert [link.note for link in reported] == ["Gone."]


def test_a_report_without_the_forms_token_changes_nothing(loaded):
    client = client_for(loaded)
    before = head(loaded)
    answer = client.post("/local-offer/report-a-broken-link/990001", data={"note": "forged"})
    assert answer.status_code == 403
    assert head(loaded) == before


def test_a_note_too_long_is_shown_back_with_the_error_and_nothing_changes(loaded):
    client = client_for(loaded)
    before = head(loaded)
    answer = post_form(client, "/local-offer/report-a-broken-link/990001", "/local-offer/report-a-broken-link/990001",
                       {"note": "x" * 501})  # fmt: skip
    assert answer.status_code == 400
    assert error_summary(answer.text) == ["What went wrong must be 500 characters or fewer"]
    assert "x" * 501 in answer.text
    assert head(loaded) == before


def test_the_sixth_report_in_an_hour_gets_a_429_page_and_changes_nothing(loaded):
    client = client_for(loaded)
    url = "/local-offer/report-a-broken-link/990002"
    for _ in range(5):
        assert post_form(client, url, url, {"note": ""}).status_code == 303
    before = head(loaded)
    answer = post_form(client, url, url, {"note": "again"})
    assert answer.status_code == 429 and int(answer.headers["retry-after"]) > 0
    assert "reports an hour" in answer.text
    assert head(loaded) == before


def test_a_school_with_no_report_has_no_broken_link_to_report(loaded):
    assert client_for(loaded).get("/local-offer/report-a-broken-link/990103").status_code == 404
    assert client_for(loaded).get("/local-offer/report-a-broken-link/not-a-urn").status_code == 404


# -- the school ----------------------------------------------------------------------------------------------


def test_the_schools_menu_leads_to_its_report_and_its_task_list(loaded):
    client = signed_in(loaded, SCHOOL_LABEL)
    page = client.get("/school/sen-information-report")
    assert page.status_code == 200
    assert 'href="/school/sen-information-report"' in client.get("/school/requests").text
    assert "Completed" in page.text and "The council&#39;s audit of" in page.text


@pytest.mark.parametrize(
    "change, field_error",
    [
        ({"url": "http://www.school.example/send"}, "The address must start https://"),
        ({"url": ""}, "Enter the address of the report on your school's website"),
        ({"next_review_on-year": "2099"}, "The next review must be on or before"),
        ({"published_on-day": ""}, "The date the report was published must include a day"),
        ({"published_on-month": "13"}, "The date the report was published must be a real date, like 1 9 2026"),
    ],
)
def test_bad_report_details_are_shown_back_with_the_error_and_change_nothing(loaded, change, field_error):
    client = signed_in(loaded, SCHOOL_LABEL)
    report = loaded.get_sen_report(demo.school("990001"), "990001")
    data = {
        "url": report.url,
        "published_on-day": str(report.published_on.day),
        "published_on-month": str(report.published_on.month),
        "published_on-year": str(report.published_on.year),
        "next_review_on-day": str(report.next_review_on.day),
        "next_review_on-month": str(report.next_review_on.month),
        "next_review_on-year": str(report.next_review_on.year),
        **change,
    }
    before = head(loaded)
    answer = post_form(client, "/school/sen-information-report/details", "/school/sen-information-report/details", data)
    assert answer.status_code == 400
    (message,) = error_summary(answer.text)
    assert message.startswith(field_error), message
    assert head(loaded) == before


def test_the_school_moves_its_report_and_the_public_listing_follows(loaded):
    client = signed_in(loaded, SCHOOL_LABEL)
    today = loaded.today()
    review = today + timedelta(days=200)
    data = {
        "url": "https://www.school-990001.example.org/send-2026",
        "published_on-day": str(today.day), "published_on-month": str(today.month),
        "published_on-year": str(today.year),
        "next_review_on-day": str(review.day), "next_review_on-month": str(review.month),
        "next_review_on-year": str(review.year),
    }  # fmt: skip
    answer = post_form(client, "/school/sen-information-report/details", "/school/sen-information-report/details", data)
    assert (answer.status_code, answer.headers["location"]) == (303, "/school/sen-information-report")
    assert "https://www.school-990001.example.org/send-2026" in client_for(loaded).get("/local-offer").text


def test_a_self_assessment_with_items_unrated_lists_each_and_keeps_what_was_chosen(loaded):
    client = signed_in(loaded, "school 990201 (marshfield-vale)")
    url = "/school/sen-information-report/self-assessment"
    data = {f"rating-{item.key}": "met" for item in CHECKLIST[:20]}
    data["note-schedule_1_paragraph_1"] = "See section 2."
    before = head(loaded)
    answer = post_form(client, url, url, {**data, "rating-schedule_1_paragraph_1": ""})
    assert answer.status_code == 400
    assert len(error_summary(answer.text)) == 4  # paragraph 1 and the last three of section 69(3)(b)
    assert "See section 2." in answer.text
    assert head(loaded) == before


def test_the_school_saves_a_self_assessment(loaded):
    client = signed_in(loaded, SCHOOL_LABEL)
    url = "/school/sen-information-report/self-assessment"
    data = {f"rating-{item.key}": "partly_met" for item in CHECKLIST}
    answer = post_form(client, url, url, {**data, "note-schedule_1_paragraph_4": "SENCO's email to add."})
    assert answer.status_code == 303
    mine = loaded.get_sen_report(demo.COUNCIL, "990001").latest[AssessmentKind.SELF_ASSESSMENT]
    assert mine.notes == {"schedule_1_paragraph_4": "SENCO's email to add."}
    assert {rating.value for rating in mine.ratings.values()} == {"partly_met"}


# -- the council ---------------------------------------------------------------------------------------------


def test_the_council_sees_each_case_to_follow_up(loaded):
    page = signed_in(loaded, "council officer").get("/council/local-offer").text

    def section(anchor: str) -> str:
        start = page.index(f'id="{anchor}"')
        return page[start : page.index("<h2", start + 1) if "<h2" in page[start + 1 :] else len(page)]

    assert "990103" in section("missing") and "990001" not in section("missing")
    assert "990003" in section("overdue")
    assert "990001" in section("not-met") and "990201" not in section("not-met")
    assert "990102" in section("broken-links") and "The page says it cannot be found." in section("broken-links")


def test_the_council_marks_broken_links_as_followed_up(loaded):
    client = signed_in(loaded, "council officer")
    answer = post_form(client, "/council/local-offer", "/council/local-offer/990102/broken-links/clear", {})
    assert answer.status_code == 303
    assert loaded.read_models.local_offer.overview(demo.COUNCIL).broken_links == []


def test_the_council_opens_a_school_by_urn_and_audits_its_report(loaded):
    client = signed_in(loaded, "council officer")
    assert (
        client.get("/council/local-offer", params={"urn": "990002"}).headers["location"]
        == "/council/local-offer/990002"
    )
    assert client.get("/council/local-offer", params={"urn": "99"}).status_code == 400
    audit_url = "/council/local-offer/990002/audit"
    data = {f"rating-{item.key}": "met" for item in CHECKLIST}
    answer = post_form(client, audit_url, audit_url, {**data, "rating-schedule_1_paragraph_9": "not_met"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/council/local-offer/990002")
    page = client.get("/council/local-offer/990002").text
    assert "The council&#39;s latest audit" in page and "Not met" in page
    overview = loaded.read_models.local_offer.overview(demo.COUNCIL)
    assert "990002" in [school.school_urn for school in overview.not_met]


def test_a_school_the_council_cannot_find_is_a_404_page(loaded):
    client = signed_in(loaded, "council officer")
    assert client.get("/council/local-offer/990103").status_code == 404
    assert client.get("/council/local-offer/abc/audit").status_code == 404
