"""The funding policy's pages in process, on both stores (issue 14): reading what is in force and
where each value came from, changing it with a second person, each refusal on its field with
nothing changed, the policy as it was on a day, and the lead's read-only page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.money import Money
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from tests.web.pages import csrf_from, post_form, signed_in

COUNCIL_PAGE = "/council/policy"
FINANCE_PAGE = "/finance/policy"


def head(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def change_form(parameter: str, value: str, reason: str = "Cabinet, minute 14", **overrides: str) -> dict[str, str]:
    today = today_in_england()
    return {
        "cluster": "",
        "parameter": parameter,
        "value": value,
        "effective_from-day": str(today.day),
        "effective_from-month": str(today.month),
        "effective_from-year": str(today.year),
        "reason": reason,
        **overrides,
    }


@pytest.fixture
def world(app: FundingApplication) -> FundingApplication:
    app.register_cluster(demo.COUNCIL, "northmere-coast", "Northmere Coast")
    return app


def test_the_council_reads_every_parameter_with_its_default(world):
    page = signed_in(world, "council officer").get(COUNCIL_PAGE)
    assert page.status_code == 200
    for text in ("Largest single award", "£10,000,000.00", "4, 3, 5 (autumn, spring, summer)", "20 working days"):
        assert text in page.text
    assert "No changes yet: every value is the default." in page.text


def test_a_small_change_counts_at_once_and_says_so(world):
    client = signed_in(world, "council officer")
    answer = post_form(
        client, COUNCIL_PAGE, COUNCIL_PAGE + "/changes", change_form("decision_deadline_working_days", "21")
    )
    assert answer.status_code == 303 and answer.headers["location"] == COUNCIL_PAGE
    page = client.get(COUNCIL_PAGE)
    assert "Change 1 made: Decision deadline is 21 working days from" in page.text
    assert "21 working days" in page.text and "Council change 1, from" in page.text
    assert world.policy_in_force().number("decision_deadline_working_days") == 21


def test_a_large_change_waits_for_a_second_person_who_approves_it_on_their_page(world):
    officer = signed_in(world, "council officer")
    post_form(officer, COUNCIL_PAGE, COUNCIL_PAGE + "/changes", change_form("award_cap", "8000"))
    page = officer.get(COUNCIL_PAGE)
    assert "Waiting for a second person" in page.text and "Approve change 1" not in page.text
    assert "Withdraw change 1" in page.text

    # Whoever proposed it cannot approve it, even by posting the form by hand.
    refused = officer.post(
        COUNCIL_PAGE + "/changes/1/approve", data={"csrf_token": csrf_from(page.text), "cluster": ""}
    )
    assert refused.status_code == 400 and "someone other than its proposer" in refused.text
    assert world.policy_in_force().award_cap == Money.parse("10000000.00")

    finance = signed_in(world, "finance officer")
    approved = post_form(finance, FINANCE_PAGE, FINANCE_PAGE + "/changes/1/approve", {"cluster": ""})
    assert approved.status_code == 303
    assert "Change 1 approved: it counts from its date" in finance.get(FINANCE_PAGE).text
    assert world.policy_in_force().award_cap == Money.parse("8000.00")


def test_a_waiting_change_is_rejected_with_a_reason(world):
    officer = signed_in(world, "council officer")
    post_form(officer, COUNCIL_PAGE, COUNCIL_PAGE + "/changes", change_form("award_cap", "8000"))
    finance = signed_in(world, "finance officer")
    no_reason = post_form(finance, FINANCE_PAGE, FINANCE_PAGE + "/changes/1/reject", {"cluster": "", "reason": ""})
    assert no_reason.status_code == 400 and "Enter why the change is rejected or withdrawn" in no_reason.text
    rejected = post_form(
        finance, FINANCE_PAGE, FINANCE_PAGE + "/changes/1/reject", {"cluster": "", "reason": "Not agreed"}
    )
    assert rejected.status_code == 303
    page = finance.get(FINANCE_PAGE)
    assert "Rejected" in page.text and "Not agreed" in page.text and "Waiting for a second person" not in page.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (change_form("", "8000"), "Choose the parameter to change"),
        (change_form("award_cap", ""), "Enter the new value"),
        (change_form("award_cap", "8000", reason=""), "Enter the reason for the change"),
        (change_form("award_cap", "lots"), "Largest single award must be an amount in pounds"),
        (change_form("escalation_threshold_percent", "150"), "Escalation threshold must be between 1 and 100 percent"),
        (
            change_form("award_cap", "8000", **{"effective_from-day": "31", "effective_from-month": "2"}),
            "must be a real date",
        ),
        (change_form("award_cap", "10000000.00"), "Largest single award is already 10000000.00"),
    ],
)
def test_each_refusal_is_on_its_field_keeps_what_was_typed_and_changes_nothing(world, fields, message):
    client = signed_in(world, "council officer")
    before = head(world)
    answer = post_form(client, COUNCIL_PAGE, COUNCIL_PAGE + "/changes", fields)
    assert answer.status_code == 400
    assert "There is a problem" in answer.text and message in answer.text.replace("&#39;", "'")
    if fields["reason"]:
        assert fields["reason"] in answer.text
    assert head(world) == before


def test_a_change_in_the_past_is_refused(world):
    yesterday = today_in_england() - timedelta(days=1)
    fields = change_form(
        "award_cap",
        "8000",
        **{
            "effective_from-day": str(yesterday.day),
            "effective_from-month": str(yesterday.month),
            "effective_from-year": str(yesterday.year),
        },
    )
    answer = post_form(signed_in(world, "council officer"), COUNCIL_PAGE, COUNCIL_PAGE + "/changes", fields)
    assert answer.status_code == 400 and "cannot take effect in the past" in answer.text


def test_a_clusters_override_is_made_on_its_own_page_and_read_by_its_lead(world):
    officer = signed_in(world, "council officer")
    page = officer.get(COUNCIL_PAGE + "?cluster=northmere-coast")
    assert "Council awards per term" in page.text  # in force, shown ...
    assert '<option value="council_term_cap"' not in page.text  # ... but a cluster cannot change it
    form = change_form("decision_deadline_working_days", "19", cluster="northmere-coast")
    answer = post_form(officer, COUNCIL_PAGE + "?cluster=northmere-coast", COUNCIL_PAGE + "/changes", form)
    assert answer.status_code == 303 and answer.headers["location"] == COUNCIL_PAGE + "?cluster=northmere-coast"

    other = officer.get(COUNCIL_PAGE + "?cluster=northmere-coast")
    assert "Cluster change 1, from" in other.text
    fresh_cluster = world.register_cluster(demo.COUNCIL, "fenwick-broads", "Fenwick Broads")
    untouched = officer.get(COUNCIL_PAGE + f"?cluster={fresh_cluster.cluster_id}")
    assert "No changes yet: the cluster decides by the council's values." in untouched.text.replace("&#39;", "'")

    lead = signed_in(world, "lead, northmere-coast")
    own = lead.get("/cluster/policy")
    assert own.status_code == 200 and "19 working days" in own.text and "Cluster change 1, from" in own.text
    assert "Make the change" not in own.text and "Approve change" not in own.text
    assert lead.get(COUNCIL_PAGE).status_code == 403


def test_the_policy_as_it_was_on_a_day(world):
    client = signed_in(world, "council officer")
    post_form(client, COUNCIL_PAGE, COUNCIL_PAGE + "/changes", change_form("decision_deadline_working_days", "21"))
    earlier = client.get(COUNCIL_PAGE, params={"as_of-day": "1", "as_of-month": "1", "as_of-year": "2026"})
    assert "In force at the end of 1 January 2026" in earlier.text and "Council policy version 0." in earlier.text
    assert "Make the change" not in earlier.text
    bad = client.get(COUNCIL_PAGE, params={"as_of-day": "40", "as_of-month": "1", "as_of-year": "2026"})
    assert bad.status_code == 400 and "must be a real date" in bad.text


def test_schools_have_no_policy_page_to_change(world):
    school = signed_in(world, "school 990001 (northmere-coast)")
    assert school.get(COUNCIL_PAGE).status_code == 403
    assert school.get(FINANCE_PAGE).status_code == 403
