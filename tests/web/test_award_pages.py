"""The award's pages in process, on SQLite and on PostgreSQL, over the demo year: the lead's approval
and the council's decision state the award period, the schedule and a held instalment; the request
page shows the award; whoever made an award holds an instalment, lifts the hold and releases the
unpaid part. Bad input is an error on the form that changes nothing; another's award is a page
that does not exist; other roles are refused.

The demo's Northmere Coast budget for 2026-27 has £46,547.63 available; its evidenced request asks
for £6,500.00; its approved request (£8,000.00 over the academic year 1 September 2026 to 31 August
2027, termly: £2,666.66, £2,000.00 and £3,333.34) has its autumn instalment paid, its spring
instalment unpaid and its summer instalment (on 2027-28, committed ahead of any allocation there)
held until "A reviewed provision plan for the summer term".
"""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from domain.values import FinancialYear, RequestStatus
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.demo_money import HELD_CONDITION
from funding_engine.dev_mode import DEV_YEAR
from tests.web.pages import csrf_from, post_form, signed_in
from tests.web.test_cluster_pages import evidenced_request
from tests.web.test_finance_pages import banner, error_summary, tables

NORTHMERE, MARSHFIELD = "northmere-coast", "marshfield-vale"
LEAD, COUNCIL = f"lead, {NORTHMERE}", "council officer"
YEAR, NEXT_YEAR = str(DEV_YEAR), str(FinancialYear(DEV_YEAR.start_year + 1))
ACADEMIC_YEAR = {
    "starts_on-day": "1",
    "starts_on-month": "9",
    "starts_on-year": str(DEV_YEAR.start_year),
    "ends_on-day": "31",
    "ends_on-month": "8",
    "ends_on-year": str(DEV_YEAR.start_year + 1),
}


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def request_in(app: FundingApplication, status: str) -> str:
    """The demo's request in ``status`` (the first, if several)."""
    return next(
        row.request_id for row in app.read_models.list_requests(demo.COUNCIL, limit=100).items if row.status == status
    )


def northmere_evidenced(app: FundingApplication) -> str:
    rows = app.read_models.list_requests(demo.lead(NORTHMERE), status="evidenced").items
    return rows[0].request_id


def award_of(app: FundingApplication, request_id: str) -> Any:
    return app.get_request(demo.COUNCIL, UUID(request_id)).award


def version_of(app: FundingApplication, request_id: str) -> int:
    return app.get_request(demo.COUNCIL, UUID(request_id)).version


def available(app: FundingApplication, year: str = YEAR) -> int:
    return app.budget_year_end(demo.FINANCE, NORTHMERE, year).available.pence


def instalment_rows(page: str) -> list[list[str]]:
    return tables(page)["instalments"][1:]


# -- approving with an award period, a schedule and a held instalment ----------------------------------


def test_the_approval_form_offers_the_requests_whole_year_paid_termly(loaded):
    request_id = northmere_evidenced(loaded)
    page = signed_in(loaded, LEAD).get(f"/cluster/requests/{request_id}/approve").text
    typed = dict(re.findall(r'name="((?:starts|ends)_on-[a-z]+)" type="text" value="([^"]*)"', page))
    assert typed == {
        "starts_on-day": "1", "starts_on-month": "4", "starts_on-year": "2026",
        "ends_on-day": "31", "ends_on-month": "3", "ends_on-year": "2027",
    }  # fmt: skip
    assert 'name="schedule" type="radio" value="termly" checked' in page
    assert 'name="hold_instalment"' in page and 'name="hold_condition"' in page


def test_a_lead_approves_an_academic_year_termly_with_the_first_instalment_held(loaded):
    request_id = northmere_evidenced(loaded)
    client = signed_in(loaded, LEAD)
    url = f"/cluster/requests/{request_id}/approve"
    data = {"amount": "6500", "reason": "Evidence is sound.", **ACADEMIC_YEAR, "schedule": "termly"}
    answer = post_form(client, url, url, {**data, "hold_instalment": "1", "hold_condition": "the reviewed plan"})

    assert answer.status_code == 303, error_summary(answer.text)
    assert "You approved £6,500.00 for request" in banner(client.get(answer.headers["location"]).text)
    award = award_of(loaded, request_id)
    assert award.period.starts_on == date(2026, 9, 1) and award.period.ends_on == date(2027, 8, 31)
    assert [(i.due_on, str(i.financial_year), i.amount.pence, i.held_until) for i in award.instalments] == [
        (date(2026, 9, 1), YEAR, 216_666, "the reviewed plan"),
        (date(2027, 1, 1), YEAR, 162_500, ""),
        (date(2027, 4, 1), NEXT_YEAR, 270_834, ""),
    ]
    # Each year's share on its own budget: next year's ahead of any allocation there.
    assert available(loaded) == 4_654_763 - 216_666 - 162_500
    # Next year already carries the demo award's summer share (£3,333.34) committed ahead.
    assert loaded.budget_year_end(demo.FINANCE, NORTHMERE, NEXT_YEAR).forward.pence == 333_334 + 270_834
    rows = instalment_rows(client.get(f"/funding-requests/{request_id}").text)
    assert rows == [
        ["1", "1 September 2026", YEAR, "£2,166.66", "£0.00", "£0.00", "£2,166.66", "the reviewed plan"],
        ["2", "1 January 2027", YEAR, "£1,625.00", "£0.00", "£0.00", "£1,625.00", ""],
        ["3", "1 April 2027", NEXT_YEAR, "£2,708.34", "£0.00", "£0.00", "£2,708.34", ""],
        ["Total", "", "", "£6,500.00", "£0.00", "£0.00", "£6,500.00", "£2,166.66 held"],
    ]


BAD_TERMS = [
    # (what is typed over the academic year, the field, the status, the message)
    ({"starts_on-day": "31", "starts_on-month": "2"}, 400, "The date the award starts must be a real date"),
    ({"ends_on-year": ""}, 400, "Enter the day, month and year the award ends"),
    ({"ends_on-year": "2026", "ends_on-month": "8"}, 400, "The award must end on or after the day it starts"),
    ({"ends_on-day": "1", "ends_on-month": "9", "ends_on-year": "2027"}, 400, "An award period is at most a year long"),
    (
        {"starts_on-year": "2027", "ends_on-year": "2028"},
        400,
        "The award period must start in the request's financial year, 2026-27",
    ),
    ({"schedule": "weekly"}, 400, "Choose how the award is paid"),
    ({"hold_instalment": "9", "hold_condition": "a plan"}, 400, "The schedule has no instalment 9 to hold"),
    ({"hold_instalment": "1"}, 400, "Enter what the held instalment waits for"),
    ({"hold_condition": "a plan"}, 400, "Enter the number of the instalment to hold"),
    ({"hold_instalment": "first", "hold_condition": "a plan"}, 400, "must be a number from 1"),
]


@pytest.mark.parametrize(("typed", "status", "message"), BAD_TERMS)
def test_bad_award_terms_are_an_error_on_the_approval_form_and_change_nothing(loaded, typed, status, message):
    request_id = northmere_evidenced(loaded)
    client = signed_in(loaded, LEAD)
    url = f"/cluster/requests/{request_id}/approve"
    before, money_before = version_of(loaded, request_id), available(loaded)
    data = {"amount": "6500", "reason": "Evidence is sound.", **ACADEMIC_YEAR, "schedule": "termly", **typed}

    answer = post_form(client, url, url, data)

    assert answer.status_code == status, answer.text
    assert message.lower() in html.unescape(" ".join(error_summary(answer.text))).lower(), error_summary(answer.text)
    for name, value in typed.items():
        if value and name != "schedule":
            assert f'value="{value}"' in answer.text  # what the lead typed is kept
    assert version_of(loaded, request_id) == before and available(loaded) == money_before


def test_the_council_approves_an_escalation_monthly_and_a_decline_ignores_the_terms(loaded):
    escalated = request_in(loaded, "escalated")
    client = signed_in(loaded, COUNCIL)
    url = f"/council/requests/{escalated}/decision"
    form = client.get(url).text
    assert 'name="schedule" type="radio" value="termly" checked' in form
    answer = post_form(
        client, url, url, {"decision": "approve", "amount": "1200", "reason": "Exceptional.", **ACADEMIC_YEAR,
                           "schedule": "monthly", "hold_instalment": "", "hold_condition": ""},
    )  # fmt: skip

    assert answer.status_code == 303, error_summary(answer.text)
    award = award_of(loaded, escalated)
    assert len(award.instalments) == 12 and award.approved.pence == 120_000
    assert [i.due_on for i in award.instalments[:2]] == [date(2026, 9, 1), date(2026, 10, 1)]
    assert {str(i.financial_year) for i in award.instalments[7:]} == {NEXT_YEAR}

    other = loaded.escalate(demo.lead(MARSHFIELD), evidenced_request(loaded, "990202", "9000.00"), "9000", "Late.")
    url = f"/council/requests/{other.id.hex}/decision"
    declined = post_form(client, url, url, {"decision": "decline", "reason": "No.", **ACADEMIC_YEAR, "schedule": "x"})
    assert declined.status_code == 303, error_summary(declined.text)
    assert award_of(loaded, other.id.hex) is None


def test_a_bad_council_award_is_refused_on_the_form_and_changes_nothing(loaded):
    escalated = request_in(loaded, "escalated")
    client = signed_in(loaded, COUNCIL)
    url = f"/council/requests/{escalated}/decision"
    before = version_of(loaded, escalated)
    data = {"decision": "approve", "amount": "1200", "reason": "Exceptional.", **ACADEMIC_YEAR, "schedule": "single"}
    long_hold = post_form(client, url, url, {**data, "hold_instalment": "2", "hold_condition": "a plan"})
    too_long = post_form(client, url, url, {**data, "ends_on-day": "2", "ends_on-month": "9", "ends_on-year": "2027"})

    assert long_hold.status_code == too_long.status_code == 400
    assert error_summary(long_hold.text) == ["The schedule has no instalment 2 to hold"]
    assert 'href="#hold_instalment"' in long_hold.text
    assert error_summary(too_long.text) == ["An award period is at most a year long"]
    assert 'href="#ends_on-day"' in too_long.text
    assert version_of(loaded, escalated) == before


# -- the request page ----------------------------------------------------------------------------------


def test_the_request_page_shows_the_award_and_offers_its_maker_what_can_be_done(loaded):
    approved = request_in(loaded, "cluster_approved")
    lead_page = signed_in(loaded, LEAD).get(f"/funding-requests/{approved}").text
    assert instalment_rows(lead_page) == [
        ["1", "1 September 2026", YEAR, "£2,666.66", "£2,666.66", "£0.00", "£0.00", ""],
        ["2", "1 January 2027", YEAR, "£2,000.00", "£0.00", "£0.00", "£2,000.00", ""],
        ["3", "1 April 2027", NEXT_YEAR, "£3,333.34", "£0.00", "£0.00", "£3,333.34", HELD_CONDITION],
        ["Total", "", "", "£8,000.00", "£2,666.66", "£0.00", "£5,333.34", "£3,333.34 held"],
    ]
    assert "1 September 2026 to 31 August 2027" in lead_page and "Termly" in lead_page
    base = f"/cluster/requests/{approved}/award"
    assert f'href="{base}/hold"' in lead_page and f'href="{base}/release"' in lead_page
    assert f'href="{base}/lift-hold"' in lead_page  # instalment 3 is held
    school_page = signed_in(loaded, "school 990001 (northmere-coast)").get(f"/funding-requests/{approved}").text
    assert instalment_rows(school_page) == instalment_rows(lead_page)
    assert "/award/" not in school_page
    council_page = signed_in(loaded, COUNCIL).get(f"/funding-requests/{approved}").text
    assert "/award/" not in council_page  # the cluster's award: the council does not change it


# -- holding, lifting and releasing --------------------------------------------------------------------


def test_a_lead_holds_an_instalment_lifts_the_hold_and_releases_the_rest(loaded):
    approved = request_in(loaded, "cluster_approved")
    client = signed_in(loaded, LEAD)
    base = f"/cluster/requests/{approved}/award"
    page = client.get(f"{base}/hold").text
    offered = re.findall(r'name="instalment" type="radio" value="([0-9]+)"', page)
    assert offered == ["2"]  # instalment 1 is paid and instalment 3 is held already

    held = post_form(client, f"{base}/hold", f"{base}/hold", {"instalment": "2", "condition": "the spring review"})
    assert held.status_code == 303 and held.headers["location"] == f"/funding-requests/{approved}"
    request_page = client.get(held.headers["location"]).text
    assert "Instalment 2 of request" in banner(request_page) and "held until the spring review" in banner(request_page)
    assert instalment_rows(request_page)[1][-1] == "the spring review"
    assert award_of(loaded, approved).held.pence == 200_000 + 333_334

    lifted = post_form(client, f"{base}/lift-hold", f"{base}/lift-hold", {"instalment": "2", "note": "It came."})
    assert lifted.status_code == 303
    assert award_of(loaded, approved).held.pence == 333_334  # the demo's summer hold is still there
    summer = post_form(client, f"{base}/lift-hold", f"{base}/lift-hold", {"instalment": "3", "note": "Plan reviewed."})
    assert summer.status_code == 303
    assert award_of(loaded, approved).held.pence == 0

    def forward() -> int:
        return loaded.budget_year_end(demo.FINANCE, NORTHMERE, NEXT_YEAR).forward.pence

    before, forward_before = available(loaded), forward()
    assert forward_before == 333_334
    part = post_form(client, f"{base}/release", f"{base}/release", {"reason_code": "underspend", "note": "Less needed.",
                                                                       "amount": "500"})  # fmt: skip
    assert part.status_code == 303
    assert "£500.00 of request" in banner(client.get(part.headers["location"]).text)
    # Released from the last instalment, the summer one on next year's budget: this year's money is unchanged.
    assert available(loaded) == before and forward() == forward_before - 500_00
    assert [i.released.pence for i in award_of(loaded, approved).instalments] == [0, 0, 500_00]

    rest = post_form(client, f"{base}/release", f"{base}/release", {"reason_code": "pupil_left", "note": "Moved away."})
    assert rest.status_code == 303
    released = loaded.get_request(demo.COUNCIL, UUID(approved))
    assert released.status is RequestStatus.RELEASED and released.award.unpaid.pence == 0
    assert available(loaded) == before + 2_000_00 and forward() == 0  # the spring instalment, and the summer's rest
    final = client.get(f"/funding-requests/{approved}").text
    assert "Released" in final and "/award/" not in final
    assert "Unpaid award released" in final and "The pupil left" in final  # on the timeline


BAD_ACTIONS = [
    ("hold", {"instalment": "", "condition": ""}, 400, ["Choose the instalment to hold", "Enter what the instalment"]),
    ("hold", {"instalment": "1", "condition": "x"}, 400, ["Choose the instalment to hold"]),  # paid already
    ("hold", {"instalment": "2", "condition": "x" * 201}, 400, ["Condition must be at most 200 characters"]),
    ("release", {"reason_code": "", "note": ""}, 400, ["Choose why the money is released", "Explain the release"]),
    (
        "release",
        {"reason_code": "other", "note": "n", "amount": "5333.35"},
        409,
        ["The amount to release must be at most £5,333.34"],
    ),
    ("release", {"reason_code": "other", "note": "n", "amount": "lots"}, 400, ["must be an amount in pounds"]),
    ("lift-hold", {"instalment": "2"}, 400, ["Choose the held instalment to pay"]),  # 2 is not held (3 is)
]


@pytest.mark.parametrize(("slug", "data", "status", "messages"), BAD_ACTIONS)
def test_a_bad_hold_or_release_is_an_error_on_the_form_and_changes_nothing(loaded, slug, data, status, messages):
    approved = request_in(loaded, "cluster_approved")
    client = signed_in(loaded, LEAD)
    url = f"/cluster/requests/{approved}/award/{slug}"
    before, money_before = version_of(loaded, approved), available(loaded)

    answer = post_form(client, "/sign-out", url, data)  # a page with no form to lift a hold has no token

    assert answer.status_code == status, answer.text
    summary = error_summary(answer.text) if messages else []
    for message, shown in zip(messages, summary, strict=True):
        assert shown.lower().startswith(message.lower()) or message.lower() in shown.lower(), summary
    assert version_of(loaded, approved) == before and available(loaded) == money_before


def test_a_release_sent_twice_releases_once(loaded):
    approved = request_in(loaded, "cluster_approved")
    client = signed_in(loaded, LEAD)
    url = f"/cluster/requests/{approved}/award/release"
    page = client.get(url).text
    data = {"csrf_token": csrf_from(page), "version": str(version_of(loaded, approved)), "reason_code": "underspend",
            "note": "Less needed.", "amount": "100"}  # fmt: skip
    first, again = client.post(url, data=data), client.post(url, data=data)  # a double click

    assert first.status_code == 303 and again.status_code == 409
    assert "changed while you had this page open" in again.text
    assert award_of(loaded, approved).released.pence == 100_00


def test_the_council_manages_its_own_awards_and_nobody_elses(loaded):
    council_award, cluster_award = request_in(loaded, "council_approved"), request_in(loaded, "cluster_approved")
    council = signed_in(loaded, COUNCIL)
    url = f"/council/requests/{council_award}/award/hold"
    assert council.get(url).status_code == 200
    held = post_form(council, url, url, {"instalment": "1", "condition": "the annual review"})
    assert held.status_code == 303 and award_of(loaded, council_award).held.is_positive
    assert (
        f"/council/requests/{council_award}/award/lift-hold" in council.get(f"/funding-requests/{council_award}").text
    )

    before = {rid: version_of(loaded, rid) for rid in (council_award, cluster_award)}
    lead = signed_in(loaded, LEAD)
    for client, url in [
        (council, f"/council/requests/{cluster_award}/award/release"),  # the cluster's award
        (lead, f"/cluster/requests/{council_award}/award/release"),  # the council's award, in the lead's cluster
    ]:
        assert client.get(url).status_code == 404
        token = csrf_from(client.get("/sign-out").text)
        assert client.post(url, data={"csrf_token": token, "reason_code": "other", "note": "n"}).status_code == 404
    for label in ("finance officer", "school 990001 (northmere-coast)", "lead, marshfield-vale"):
        other = signed_in(loaded, label)
        token = csrf_from(other.get("/sign-out").text)
        for url in (
            f"/cluster/requests/{cluster_award}/award/hold",
            f"/council/requests/{council_award}/award/lift-hold",
        ):
            mine = label.startswith("lead") and url.startswith("/cluster/")
            assert other.get(url).status_code == (404 if mine else 403), (label, url)
            answer = other.post(url, data={"csrf_token": token, "instalment": "2", "condition": "c"})
            assert answer.status_code == (404 if mine else 403), (label, url)
    assert {rid: version_of(loaded, rid) for rid in before} == before


def test_an_award_with_nothing_to_do_says_so(loaded):
    approved = request_in(loaded, "cluster_approved")
    loaded.lift_hold(demo.lead(NORTHMERE), UUID(approved), 3, "The reviewed plan arrived.")  # the demo's only hold
    client = signed_in(loaded, LEAD)
    nothing_held = client.get(f"/cluster/requests/{approved}/award/lift-hold")
    assert nothing_held.status_code == 409 and "No instalment of this award is held." in nothing_held.text
    assert 'name="instalment"' not in nothing_held.text
    evidenced = northmere_evidenced(loaded)
    not_approved = client.get(f"/cluster/requests/{evidenced}/award/release")
    assert not_approved.status_code == 409 and "it has not been approved" in not_approved.text
