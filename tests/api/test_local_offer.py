"""The Local Offer over HTTP: public endpoints answer without a token, reporting a broken link takes
no personal data and is rate-limited (429 problem+json with Retry-After), and bad input to every
SEN Information Report endpoint is a 422 (or a 404 for an id in the path) that writes nothing.
The authorisation matrix for the signed-in endpoints is in test_authorisation.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.sen_report_checklist import CHECKLIST
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from tests.api.conftest import BAD_AUTHORIZATION, assert_etag_matches, assert_problem, auth, writes_nothing
from tests.support import CLUSTER, COUNCIL, HEAD, LEAD, OTHER_SCHOOL, SCHOOL, SECOND_SCHOOL

PUBLISHED = today_in_england() - timedelta(days=30)
REPORT = {
    "url": "https://www.school-900001.example.org/send",
    "published_on": PUBLISHED.isoformat(),
    "next_review_on": (PUBLISHED + timedelta(days=300)).isoformat(),
}
RATINGS = {item.key: "met" for item in CHECKLIST}
LISTED_FIELDS = {"school_urn", "name", "cluster_id", "report"}
REPORT_FIELDS = {"url", "published_on", "next_review_on", "overdue"}


@pytest.fixture
def registered(world: FundingApplication, client: Any) -> Any:
    response = client.put(f"/schools/{SCHOOL}/sen-information-report", json=REPORT, headers=auth(HEAD))
    assert response.status_code == 200, response.text
    return client


# -- public: no token --------------------------------------------------------------------------------------


def test_the_listing_answers_without_a_token_with_its_stable_fields(registered):
    body = registered.get("/local-offer/schools").json()

    assert [item["school_urn"] for item in body["items"]] == [SCHOOL, SECOND_SCHOOL, OTHER_SCHOOL]
    first, second = body["items"][:2]
    assert set(first) == LISTED_FIELDS and set(first["report"]) == REPORT_FIELDS
    assert first == {
        "school_urn": SCHOOL,
        "name": None,
        "cluster_id": CLUSTER,
        "report": {**REPORT, "overdue": False},
    }
    assert second["report"] is None
    assert body["next_cursor"] is None


def test_one_school_answers_without_a_token_and_an_unknown_one_is_404(registered):
    assert registered.get(f"/local-offer/schools/{SCHOOL}").json()["report"]["url"] == REPORT["url"]
    assert_problem(registered.get("/local-offer/schools/999999"), 404, "not-found")
    assert_problem(registered.get("/local-offer/schools/not-a-urn"), 404, "not-found")


@pytest.mark.parametrize("bad", list(BAD_AUTHORIZATION))
def test_a_bad_token_does_not_stop_the_public_endpoints(registered, bad):
    for path in ("/local-offer/schools", f"/local-offer/schools/{SCHOOL}", "/local-offer/checklist"):
        assert registered.get(path, headers=BAD_AUTHORIZATION[bad]()).status_code == 200, path


def test_the_checklist_lists_every_item_with_its_reference_and_whether_its_wording_was_checked(client):
    items = client.get("/local-offer/checklist").json()
    assert [item["key"] for item in items] == [item.key for item in CHECKLIST]
    assert items[0]["reference"] == "Schedule 1, paragraph 1"
    assert items[-1]["source"] == "Children and Families Act 2014, section 69(3)(b)"
    assert {item["wording_checked"] for item in items} == {True, False}


def test_the_listing_is_searched_and_paged(registered):
    assert [
        i["school_urn"] for i in registered.get("/local-offer/schools", params={"q": "fenwick"}).json()["items"]
    ] == [OTHER_SCHOOL]
    first = registered.get("/local-offer/schools", params={"limit": 2}).json()
    rest = registered.get("/local-offer/schools", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["school_urn"] for i in first["items"] + rest["items"]] == [SCHOOL, SECOND_SCHOOL, OTHER_SCHOOL]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    "params, status",
    [
        ({"q": "x" * 101}, 422),
        ({"q": "bad\x00"}, 422),
        ({"limit": 0}, 422),
        ({"limit": 501}, 422),
        ({"cursor": "not-ours!"}, 422),
        ({"cluster_id": "Not A Slug"}, 422),
    ],
)
def test_a_bad_query_on_the_listing_is_refused(client, params, status):
    response = client.get("/local-offer/schools", params=params)
    assert_problem(response, status, "validation-error" if status == 422 else "not-found")


# -- reporting a broken link --------------------------------------------------------------------------------


def test_anyone_reports_a_broken_link_without_a_token_and_the_council_sees_it(registered):
    response = registered.post(f"/local-offer/schools/{SCHOOL}/broken-link-reports", json={"note": "Page not found."})
    assert (response.status_code, response.json()) == (202, {"status": "recorded"})

    follow_up = registered.get("/sen-information-reports/follow-up", headers=auth(COUNCIL)).json()
    (reported,) = follow_up["broken_link_reports"]
    assert (reported["school_urn"], reported["url"], reported["note"]) == (SCHOOL, REPORT["url"], "Page not found.")
    assert set(reported) == {"school_urn", "reported_at", "url", "note"}


@pytest.mark.parametrize(
    "body",
    [
        {"note": "x" * 501},
        {"note": "ring\x07"},
        {"note": 5},
        {"email": "parent@example.org"},
        {"name": "A parent"},
        [],
    ],
)
def test_a_broken_link_report_takes_a_short_note_and_nothing_else(registered, world, body):
    with writes_nothing(world):
        response = registered.post(f"/local-offer/schools/{SCHOOL}/broken-link-reports", json=body)
    assert_problem(response, 422, "validation-error")


def test_a_broken_link_for_a_school_without_a_report_is_404(registered, world):
    with writes_nothing(world):
        response = registered.post(f"/local-offer/schools/{SECOND_SCHOOL}/broken-link-reports", json={})
    assert_problem(response, 404, "not-found")


def test_the_sixth_report_in_an_hour_from_one_address_is_429_with_retry_after_and_writes_nothing(registered, world):
    for _ in range(5):
        assert registered.post(f"/local-offer/schools/{SCHOOL}/broken-link-reports", json={}).status_code == 202
    with writes_nothing(world):
        response = registered.post(f"/local-offer/schools/{SCHOOL}/broken-link-reports", json={})
    problem = assert_problem(response, 429, "too-many-requests")
    assert 0 < int(response.headers["retry-after"]) <= 3600
    assert "5 reports an hour" in problem["detail"]


# -- the signed-in endpoints' input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        ({"url": "http://www.school.example/send"}, "https"),
        ({"url": "https://user:pw@www.school.example/send"}, "user name or password"),
        ({"url": "https://www.school.example/" + "a" * 2000}, "2000"),
        ({"url": 5}, "url"),
        ({"published_on": "2026-02-30"}, "published_on"),
        ({"published_on": (today_in_england() + timedelta(days=1)).isoformat()}, "future"),
        ({"next_review_on": (PUBLISHED + timedelta(days=400)).isoformat()}, "a year"),
        ({"next_review_on": PUBLISHED.isoformat()}, "after published_on"),
        ({"extra": "field"}, "extra"),
    ],
)
def test_bad_report_details_are_422_and_write_nothing(world, client, change, message):
    with writes_nothing(world):
        response = client.put(
            f"/schools/{SCHOOL}/sen-information-report", json={**REPORT, **change}, headers=auth(HEAD)
        )
    problem = assert_problem(response, 422, "validation-error")
    assert message in problem["detail"], problem


def test_recording_answers_with_the_version_in_the_etag_and_honours_if_match(world, client):
    response = client.put(f"/schools/{SCHOOL}/sen-information-report", json=REPORT, headers=auth(HEAD))
    assert_etag_matches(response)
    stale = {**auth(HEAD), "If-Match": '"0"'}
    changed = {**REPORT, "url": REPORT["url"] + "-2"}
    assert_problem(client.put(f"/schools/{SCHOOL}/sen-information-report", json=changed, headers=stale), 412,
                   "precondition-failed")  # fmt: skip


@pytest.mark.parametrize(
    "body, message",
    [
        ({"ratings": {**RATINGS, "schedule_1_paragraph_1": "mostly"}}, "ratings"),
        ({"ratings": {key: value for key, value in RATINGS.items() if key != "section_69_3_b_iv"}}, "missing"),
        ({"ratings": {**RATINGS, "paragraph_99": "met"}}, "not on the checklist"),
        ({"ratings": RATINGS, "notes": {"schedule_1_paragraph_1": "x" * 1001}}, "notes"),
        ({"ratings": RATINGS, "notes": {"paragraph_99": "x"}}, "not on the checklist"),
        ({}, "ratings"),
    ],
)
def test_a_bad_assessment_is_422_and_writes_nothing(registered, world, body, message):
    with writes_nothing(world):
        response = registered.post(
            f"/schools/{SCHOOL}/sen-information-report/assessments", json=body, headers=auth(COUNCIL)
        )
    problem = assert_problem(response, 422, "validation-error")
    assert message in problem["detail"], problem


def test_a_lead_reads_its_schools_report_with_both_assessments(registered):
    registered.post(f"/schools/{SCHOOL}/sen-information-report/assessments", json={"ratings": RATINGS},
                    headers=auth(HEAD))  # fmt: skip
    audit = {"ratings": {**RATINGS, "schedule_1_paragraph_13": "not_met"}, "notes": {"schedule_1_paragraph_13": "No."}}
    registered.post(f"/schools/{SCHOOL}/sen-information-report/assessments", json=audit, headers=auth(COUNCIL))

    body = registered.get(f"/schools/{SCHOOL}/sen-information-report", headers=auth(LEAD)).json()
    assert body["self_assessment"]["kind"] == "self_assessment"
    assert body["audit"]["ratings"]["schedule_1_paragraph_13"] == "not_met"
    assert body["audit"]["notes"] == {"schedule_1_paragraph_13": "No."}
    follow_up = registered.get("/sen-information-reports/follow-up", headers=auth(COUNCIL)).json()
    assert [school["school_urn"] for school in follow_up["not_met"]] == [SCHOOL]
    assert follow_up["not_met"][0]["audit"]["not_met"] == 1
