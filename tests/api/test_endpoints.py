"""Every row of docs/API.md, the HTTP contract of record, over HTTP, on SQLite and on PostgreSQL.

Each test drives the FastAPI app in-process (``TestClient``) over a ``FundingApplication`` built by
``bootstrap``; statuses, problem ``type`` values, ETags, money formats and the log position (for
anything refused) are asserted exactly.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from api.middleware import MAX_BODY_BYTES
from tests.api.conftest import (
    APPROVE_BODY,
    ESCALATE_BODY,
    MONEY,
    SECRET,
    UNCLUSTERED_HEAD,
    UNCLUSTERED_SCHOOL,
    Http,
    assert_etag_matches,
    assert_money_2dp,
    assert_problem,
    auth,
    client_for,
    writes_nothing,
)
from tests.support import (
    CLUSTER,
    COUNCIL,
    EVIDENCE,
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
    log_position,
    submission,
)

NEXT_YEAR = "2027-28"
UNKNOWN_ID = "3f0b8f4e-2d55-4c1e-9a57-6f0f3b8c0d11"
COMMISSION = {
    "service": "educational_psychology",
    "provider": "Broadland Psychology Partnership",
    "amount": "1500.00",
    "school_urns": [SCHOOL, SECOND_SCHOOL],
    "description": "Twenty days of educational psychology across both schools.",
}


def budget_figures(body: dict[str, Any]) -> dict[str, str]:
    names = ("allocated", "committed", "commissioned", "available", "pending", "escalated", "paid")
    return {name: body[name] for name in names}


# The council fund's money after the decisions (issue 13), untouched in these tests.
AFTER_DECISIONS = {
    "forward": "0.00", "released": "0.00", "recovered": "0.00", "income": "0.00",
    "carried_in": "0.00", "carried_forward": "0.00", "closed": False,
}  # fmt: skip


def zeros(**figures: str) -> dict[str, str]:
    base = dict.fromkeys(
        ("allocated", "committed", "commissioned", "available", "pending", "escalated", "paid"), "0.00"
    )
    base.update(figures)
    return base


def total_zeros(**figures: str) -> dict[str, str]:
    """The balances' totals: a budget's figures and, since issue 13, the money after the decisions."""
    after = ("forward", "released", "recovered", "income", "carried_in", "carried_forward")
    return {**zeros(), **dict.fromkeys(after, "0.00"), **figures}


# =================================================================================================
# Reference data
# =================================================================================================


def test_council_creates_a_cluster_201_with_no_schools_and_an_etag(app, client):
    response = client.post(
        "/clusters", json={"cluster_id": "wensum-valley", "name": "Wensum Valley"}, headers=auth(COUNCIL)
    )
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "cluster_id": "wensum-valley",
        "name": "Wensum Valley",
        "school_urns": [],
        "version": body["version"],
    }
    assert body["version"] >= 1
    assert_etag_matches(response)
    assert client.get("/clusters/wensum-valley", headers=auth(FINANCE)).json() == body


def test_creating_a_cluster_that_exists_is_409_conflict_and_writes_nothing(world, client):
    with writes_nothing(world):
        response = client.post("/clusters", json={"cluster_id": CLUSTER, "name": "Again"}, headers=auth(COUNCIL))
    assert_problem(response, 409, "conflict")
    assert client.get(f"/clusters/{CLUSTER}", headers=auth(COUNCIL)).json()["name"] == "Northmere Coast"


def test_list_clusters_pages_by_id_with_limit_and_cursor(world, client):
    for slug in ("aa-cluster", "zz-cluster"):
        assert (
            client.post("/clusters", json={"cluster_id": slug, "name": slug}, headers=auth(COUNCIL)).status_code == 201
        )
    everything = client.get("/clusters", headers=auth(HEAD)).json()
    ids = [item["cluster_id"] for item in everything["items"]]
    assert ids == sorted(ids) == ["aa-cluster", OTHER_CLUSTER, CLUSTER, "zz-cluster"]
    assert everything["next_cursor"] is None

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/clusters", params=params, headers=auth(LEAD)).json()
        assert len(page["items"]) <= 3
        seen.extend(item["cluster_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


def test_get_cluster_answers_its_schools_and_version(world, client):
    response = client.get(f"/clusters/{CLUSTER}", headers=auth(OTHER_HEAD))
    assert response.status_code == 200
    body = response.json()
    assert body["cluster_id"] == CLUSTER and body["name"] == "Northmere Coast"
    assert sorted(body["school_urns"]) == [SCHOOL, SECOND_SCHOOL]
    assert_etag_matches(response)


def test_put_school_adds_it_to_the_cluster_200(world, client):
    response = client.put(f"/clusters/{CLUSTER}/schools/{UNCLUSTERED_SCHOOL}", headers=auth(COUNCIL))
    assert response.status_code == 200
    assert UNCLUSTERED_SCHOOL in response.json()["school_urns"]
    assert_etag_matches(response)
    # Read-your-writes: the school now applies to this cluster.
    assert client.get(f"/clusters/{CLUSTER}", headers=auth(COUNCIL)).json() == response.json()
    submitted = client.post("/requests", json=submission(school_urn=UNCLUSTERED_SCHOOL), headers=auth(UNCLUSTERED_HEAD))
    assert submitted.status_code == 201 and submitted.json()["cluster_id"] == CLUSTER


def test_put_school_that_is_in_another_cluster_is_409_and_writes_nothing(world, client):
    with writes_nothing(world):
        response = client.put(f"/clusters/{CLUSTER}/schools/{OTHER_SCHOOL}", headers=auth(COUNCIL))
    assert_problem(response, 409, "conflict")
    assert OTHER_SCHOOL not in client.get(f"/clusters/{CLUSTER}", headers=auth(COUNCIL)).json()["school_urns"]


def test_delete_school_takes_it_out_of_the_cluster_200(world, client):
    response = client.delete(f"/clusters/{CLUSTER}/schools/{SECOND_SCHOOL}", headers=auth(COUNCIL))
    assert response.status_code == 200
    assert response.json()["school_urns"] == [SCHOOL]
    assert_etag_matches(response)
    assert client.get(f"/clusters/{CLUSTER}", headers=auth(COUNCIL)).json()["school_urns"] == [SCHOOL]
    # ... and it may now join another cluster.
    assert client.put(f"/clusters/{OTHER_CLUSTER}/schools/{SECOND_SCHOOL}", headers=auth(COUNCIL)).status_code == 200


# =================================================================================================
# Budgets and the council fund
# =================================================================================================


def test_finance_allocates_to_a_cluster_budget_201_with_the_budget(world, client):
    response = client.post(
        f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/allocations",
        json={"amount": "2500.5", "note": "first tranche"},
        headers=auth(FINANCE),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["cluster_id"] == OTHER_CLUSTER and body["financial_year"] == YEAR
    assert budget_figures(body) == zeros(allocated="2500.50", available="2500.50")
    assert_etag_matches(response)
    assert client.get(f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}", headers=auth(OTHER_LEAD)).json() == body


def test_a_negative_allocation_takes_unspent_money_back(world, client):
    response = client.post(
        f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations",
        json={"amount": "-1200.25", "note": "returned to the high-needs block"},
        headers=auth(FINANCE),
    )
    assert response.status_code == 201
    assert budget_figures(response.json()) == zeros(allocated="3799.75", available="3799.75")


def test_a_negative_allocation_below_zero_available_is_409_insufficient_funds_and_writes_nothing(world, client, http):
    http.approved("4000.00", amount_requested="4000.00")
    with writes_nothing(world):
        response = client.post(
            f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", json={"amount": "-1000.01"}, headers=auth(FINANCE)
        )
    assert_problem(response, 409, "insufficient-funds")
    assert http.budget(CLUSTER, YEAR)["available"] == "1000.00"
    # Exactly down to zero is allowed.
    exact = client.post(
        f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", json={"amount": "-1000.00"}, headers=auth(FINANCE)
    )
    assert exact.status_code == 201 and exact.json()["available"] == "0.00"


def test_allocating_to_an_unknown_cluster_is_404_and_writes_nothing(world, client):
    with writes_nothing(world):
        response = client.post(
            f"/clusters/no-such-cluster/budgets/{YEAR}/allocations", json={"amount": "10.00"}, headers=auth(FINANCE)
        )
    assert_problem(response, 404, "not-found")


def test_the_clusters_lead_commissions_a_service_201_from_the_budget(world, client):
    response = client.post(f"/clusters/{CLUSTER}/budgets/{YEAR}/commissions", json=COMMISSION, headers=auth(LEAD))
    assert response.status_code == 201
    assert budget_figures(response.json()) == zeros(allocated="5000.00", commissioned="1500.00", available="3500.00")
    assert_etag_matches(response)


def test_commissioning_more_than_is_available_is_409_insufficient_funds_and_writes_nothing(world, client):
    with writes_nothing(world):
        response = client.post(
            f"/clusters/{CLUSTER}/budgets/{YEAR}/commissions",
            json={**COMMISSION, "amount": "5000.01"},
            headers=auth(LEAD),
        )
    assert_problem(response, 409, "insufficient-funds")


def test_commissioning_for_a_school_outside_the_cluster_is_422_and_writes_nothing(world, client):
    with writes_nothing(world):
        response = client.post(
            f"/clusters/{CLUSTER}/budgets/{YEAR}/commissions",
            json={**COMMISSION, "school_urns": [OTHER_SCHOOL]},
            headers=auth(LEAD),
        )
    body = assert_problem(response, 422, "validation-error")
    assert OTHER_SCHOOL in body["detail"]


def test_a_budget_for_a_year_with_no_allocation_reads_as_zeros(world, client):
    response = client.get(f"/clusters/{CLUSTER}/budgets/{NEXT_YEAR}", headers=auth(HEAD))
    assert response.status_code == 200
    body = response.json()
    assert body["cluster_id"] == CLUSTER and body["financial_year"] == NEXT_YEAR
    assert budget_figures(body) == zeros()
    assert body["version"] == 0
    assert_etag_matches(response)


def test_the_budget_of_an_unknown_cluster_is_404(world, client):
    assert_problem(client.get(f"/clusters/no-such-cluster/budgets/{YEAR}", headers=auth(COUNCIL)), 404, "not-found")


def test_a_budget_shows_pending_escalated_committed_and_paid(world, client, http):
    http.submit(amount_requested="300.00")  # pending
    informed = http.submit(amount_requested="200.00")
    http.ok("POST", f"/requests/{informed['id']}/information-requests", LEAD, {"question": "Which pupils' needs?"})
    approved = http.approved("1000.00")
    http.ok("POST", f"/requests/{approved['id']}/payments", FINANCE, {"amount": "400.00", "reference": "PAY-1"}, 201)
    http.escalated("6000.00", amount_requested="6000.00")
    budget = http.budget(CLUSTER, YEAR, LEAD)
    assert budget_figures(budget) == {
        "allocated": "5000.00",
        "committed": "1000.00",
        "commissioned": "0.00",
        "available": "4000.00",
        "pending": "500.00",
        "escalated": "6000.00",
        "paid": "400.00",
    }


def test_balances_list_every_clusters_budget_with_totals(world, client, http):
    client.post(
        f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/allocations", json={"amount": "700.10"}, headers=auth(FINANCE)
    )
    http.approved("250.00")
    response = client.get("/balances", params={"financial_year": YEAR}, headers=auth(COUNCIL))
    assert response.status_code == 200
    body = response.json()
    by_cluster = {item["cluster_id"]: item for item in body["items"]}
    assert set(by_cluster) == {CLUSTER, OTHER_CLUSTER}
    assert by_cluster[CLUSTER]["available"] == "4750.00"
    assert by_cluster[OTHER_CLUSTER]["available"] == "700.10"
    assert body["totals"] == total_zeros(allocated="5700.10", committed="250.00", available="5450.10")
    assert body["next_cursor"] is None
    assert_money_2dp(body)

    first = client.get("/balances", params={"financial_year": YEAR, "limit": 1}, headers=auth(FINANCE)).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = client.get(
        "/balances", params={"financial_year": YEAR, "limit": 1, "cursor": first["next_cursor"]}, headers=auth(FINANCE)
    ).json()
    assert [first["items"][0]["cluster_id"], second["items"][0]["cluster_id"]] == sorted(by_cluster)
    assert second["totals"] == body["totals"]


def test_balances_for_a_year_with_nothing_allocated_are_empty_with_zero_totals(world, client):
    body = client.get("/balances", params={"financial_year": NEXT_YEAR}, headers=auth(FINANCE)).json()
    assert body["items"] == [] and body["totals"] == total_zeros()


def test_finance_allocates_to_the_council_fund_201_and_reads_it_back(world, client):
    response = client.post(
        f"/council/budgets/{YEAR}/allocations", json={"amount": "500.00", "note": "top-up"}, headers=auth(FINANCE)
    )
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "financial_year": YEAR,
        "allocated": "20500.00",
        "committed": "0.00",
        "available": "20500.00",
        "paid": "0.00",
        "version": body["version"],
        **AFTER_DECISIONS,
    }
    assert_etag_matches(response)
    read = client.get(f"/council/budgets/{YEAR}", headers=auth(COUNCIL))
    assert read.status_code == 200 and read.json() == body
    assert_etag_matches(read)


def test_a_council_fund_with_no_allocation_reads_as_zeros(world, client):
    response = client.get(f"/council/budgets/{NEXT_YEAR}", headers=auth(FINANCE))
    assert response.status_code == 200
    assert response.json() == {
        "financial_year": NEXT_YEAR, "allocated": "0.00", "committed": "0.00", "available": "0.00", "paid": "0.00",
        "version": 0, **AFTER_DECISIONS,
    }  # fmt: skip


def test_a_negative_council_allocation_below_zero_is_409_insufficient_funds(world, client):
    with writes_nothing(world):
        response = client.post(
            f"/council/budgets/{YEAR}/allocations", json={"amount": "-20000.01"}, headers=auth(FINANCE)
        )
    assert_problem(response, 409, "insufficient-funds")


# =================================================================================================
# Funding requests
# =================================================================================================


def test_a_school_submits_a_request_201_submitted_with_location_and_etag(world, client):
    response = client.post("/requests", json=submission(amount_requested="1000"), headers=auth(HEAD))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "submitted"
    assert body["school_urn"] == SCHOOL and body["cluster_id"] == CLUSTER and body["financial_year"] == YEAR
    assert body["amount_requested"] == "1000.00" and body["amount_approved"] == "0.00" and body["amount_paid"] == "0.00"
    assert body["reason"] == "complex_needs" and body["pupil_count"] == 2
    assert body["planned_provision"] == [{"category": "one_to_one_and_small_group_support", "amount": "1000.00"}]
    assert body["evidence"] is None and body["decisions"] == []
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")
    assert body["version"] == 1
    assert response.headers["location"] == f"/requests/{body['id']}"
    assert_etag_matches(response)
    assert_money_2dp(body)


def test_a_school_in_no_cluster_cannot_submit_409_and_nothing_is_written(world, client):
    with writes_nothing(world):
        response = client.post(
            "/requests", json=submission(school_urn=UNCLUSTERED_SCHOOL), headers=auth(UNCLUSTERED_HEAD)
        )
    assert_problem(response, 409, "conflict")


def test_the_school_provides_evidence_200_evidenced(world, client, http):
    request = http.submit()
    response = client.post(f"/requests/{request['id']}/evidence", json=EVIDENCE, headers=auth(HEAD))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "evidenced" and body["version"] == 2
    assert body["evidence"]["notional_sen_budget"] == "12000.00"
    assert body["evidence"]["total_spent"] == "12000.00"
    assert body["evidence"]["documents"] == [{"name": "sen-spend-2026.pdf", "sha256": "ab" * 32}]
    assert body["evidence"]["provided_by"] == {"sub": HEAD.sub, "role": "school"}
    assert_etag_matches(response)


def test_the_lead_requests_information_200_then_new_evidence_moves_it_back(world, client, http):
    request = http.evidenced()
    response = client.post(
        f"/requests/{request['id']}/information-requests",
        json={"question": "What did the TAs cost?"},
        headers=auth(LEAD),
    )
    assert response.status_code == 200
    assert response.json()["status"] == "information_requested"
    assert response.json()["decisions"][-1]["kind"] == "information_request"
    assert_etag_matches(response)
    again = client.post(f"/requests/{request['id']}/evidence", json=EVIDENCE, headers=auth(HEAD))
    assert again.status_code == 200 and again.json()["status"] == "evidenced"


def test_the_lead_approves_200_cluster_approved_and_the_budget_commits_it(world, client, http):
    request = http.evidenced()
    response = client.post(
        f"/requests/{request['id']}/approve",
        json={**APPROVE_BODY, "amount": "750.5", "conditions": "Review at Easter."},
        headers=auth(LEAD),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cluster_approved"
    assert body["amount_approved"] == "750.50" and body["conditions"] == "Review at Easter."
    assert body["decisions"][-1]["kind"] == "cluster_approval"
    assert body["decisions"][-1]["amount"] == "750.50"
    assert body["decisions"][-1]["actor"] == {"sub": LEAD.sub, "role": "cluster_lead"}
    assert_etag_matches(response)
    # Read-your-writes.
    assert http.budget(CLUSTER, YEAR)["committed"] == "750.50"
    assert http.budget(CLUSTER, YEAR)["available"] == "4249.50"
    assert http.request(request["id"])["status"] == "cluster_approved"
    listed = client.get("/requests", params={"status": "cluster_approved"}, headers=auth(COUNCIL)).json()["items"]
    assert [item["id"] for item in listed] == [request["id"]]


def test_approving_more_than_is_available_is_409_insufficient_funds_and_writes_nothing(world, client, http):
    request = http.evidenced(amount_requested="6000.00")
    with writes_nothing(world):
        response = client.post(
            f"/requests/{request['id']}/approve", json={**APPROVE_BODY, "amount": "5000.01"}, headers=auth(LEAD)
        )
    assert_problem(response, 409, "insufficient-funds")
    assert http.request(request["id"])["status"] == "evidenced"
    assert http.budget(CLUSTER, YEAR)["committed"] == "0.00"


def test_approving_without_evidence_is_409_conflict(world, client, http):
    request = http.submit()
    with writes_nothing(world):
        response = client.post(f"/requests/{request['id']}/approve", json=APPROVE_BODY, headers=auth(LEAD))
    assert_problem(response, 409, "conflict")


def test_the_lead_declines_200_cluster_declined_and_it_is_final(world, client, http):
    request = http.evidenced()
    response = client.post(
        f"/requests/{request['id']}/decline",
        json={"reason_code": "needs_met_within_school_resources", "reason": "The notional budget covers it."},
        headers=auth(LEAD),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cluster_declined"
    assert body["decisions"][-1]["reason_code"] == "needs_met_within_school_resources"
    assert_etag_matches(response)
    with writes_nothing(world):
        again = client.post(f"/requests/{request['id']}/approve", json=APPROVE_BODY, headers=auth(LEAD))
    assert_problem(again, 409, "conflict")


def test_the_lead_escalates_200_when_the_cluster_cannot_afford_it(world, client, http):
    request = http.evidenced(amount_requested="6000.00")
    response = client.post(
        f"/requests/{request['id']}/escalate", json={**ESCALATE_BODY, "amount": "5500.00"}, headers=auth(LEAD)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "escalated" and body["amount_escalated"] == "5500.00"
    assert_etag_matches(response)
    assert http.budget(CLUSTER, YEAR)["escalated"] == "5500.00"


def test_escalating_a_request_the_cluster_can_afford_is_409_conflict_and_writes_nothing(world, client, http):
    request = http.evidenced(amount_requested="5000.00")
    with writes_nothing(world):
        response = client.post(f"/requests/{request['id']}/escalate", json=ESCALATE_BODY, headers=auth(LEAD))
    assert_problem(response, 409, "conflict")
    assert http.request(request["id"])["status"] == "evidenced"


def test_the_council_approves_an_escalation_200_defaulting_to_the_escalated_amount(world, client, http):
    request = http.escalated("5500.00", amount_requested="6000.00")
    response = client.post(
        f"/requests/{request['id']}/council-decision",
        json={"decision": "approve", "reason": "Exceptional: three EHCPs mid-year."},
        headers=auth(COUNCIL),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "council_approved" and body["amount_approved"] == "5500.00"
    assert body["decisions"][-1]["kind"] == "council_approval"
    assert_etag_matches(response)
    fund = http.council_fund(YEAR)
    assert (fund["committed"], fund["available"]) == ("5500.00", "14500.00")
    assert http.budget(CLUSTER, YEAR)["escalated"] == "0.00"


def test_the_council_may_approve_less_than_was_escalated(world, client, http):
    request = http.escalated("5500.00", amount_requested="6000.00")
    response = client.post(
        f"/requests/{request['id']}/council-decision",
        json={"decision": "approve", "amount": "3000.00", "reason": "Part-funded."},
        headers=auth(COUNCIL),
    )
    assert response.status_code == 200 and response.json()["amount_approved"] == "3000.00"


def test_a_council_approval_beyond_the_fund_is_409_insufficient_funds_and_writes_nothing(app, client, http):
    from tests.support import set_up_world

    set_up_world(app, budget="100.00", council_fund="999.99")
    request = http.escalated("1000.00")
    with writes_nothing(app):
        response = client.post(
            f"/requests/{request['id']}/council-decision",
            json={"decision": "approve", "reason": "x"},
            headers=auth(COUNCIL),
        )
    assert_problem(response, 409, "insufficient-funds")


def test_the_council_declines_an_escalation_200_council_declined(world, client, http):
    request = http.escalated("5500.00", amount_requested="6000.00")
    response = client.post(
        f"/requests/{request['id']}/council-decision",
        json={"decision": "decline", "reason": "Not exceptional."},
        headers=auth(COUNCIL),
    )
    assert response.status_code == 200
    assert response.json()["status"] == "council_declined"
    assert response.json()["decisions"][-1]["kind"] == "council_decline"
    assert http.council_fund(YEAR)["committed"] == "0.00"


def test_a_council_decision_on_a_request_that_is_not_escalated_is_409_conflict(world, client, http):
    request = http.evidenced()
    with writes_nothing(world):
        response = client.post(
            f"/requests/{request['id']}/council-decision",
            json={"decision": "decline", "reason": "x"},
            headers=auth(COUNCIL),
        )
    assert_problem(response, 409, "conflict")


def test_the_school_withdraws_200_withdrawn_and_it_is_final(world, client, http):
    request = http.submit()
    response = client.post(f"/requests/{request['id']}/withdraw", json={"reason": "Needs now met."}, headers=auth(HEAD))
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert_etag_matches(response)
    with writes_nothing(world):
        again = client.post(f"/requests/{request['id']}/withdraw", json={"reason": "again"}, headers=auth(HEAD))
    assert_problem(again, 409, "conflict")


def test_payments_are_201_and_the_request_is_paid_once_they_reach_the_approved_amount(world, client, http):
    request = http.approved("1000.00")
    first = client.post(
        f"/requests/{request['id']}/payments", json={"amount": "600.00", "reference": "BACS-1"}, headers=auth(FINANCE)
    )
    assert first.status_code == 201
    assert first.json()["status"] == "cluster_approved" and first.json()["amount_paid"] == "600.00"
    assert_etag_matches(first)
    second = client.post(
        f"/requests/{request['id']}/payments", json={"amount": "400.00", "reference": "BACS-2"}, headers=auth(FINANCE)
    )
    assert second.status_code == 201
    assert second.json()["status"] == "paid" and second.json()["amount_paid"] == "1000.00"
    budget = http.budget(CLUSTER, YEAR)
    assert (budget["committed"], budget["paid"], budget["available"]) == ("1000.00", "1000.00", "4000.00")
    with writes_nothing(world):
        third = client.post(
            f"/requests/{request['id']}/payments", json={"amount": "0.01", "reference": "x"}, headers=auth(FINANCE)
        )
    assert_problem(third, 409, "conflict")


def test_paying_more_than_is_approved_is_409_conflict_and_writes_nothing(world, client, http):
    request = http.approved("1000.00")
    with writes_nothing(world):
        response = client.post(
            f"/requests/{request['id']}/payments", json={"amount": "1000.01", "reference": "x"}, headers=auth(FINANCE)
        )
    assert_problem(response, 409, "conflict")


def test_a_council_approved_request_is_paid_from_the_council_fund(world, client, http):
    request = http.escalated("5500.00", amount_requested="6000.00")
    http.ok("POST", f"/requests/{request['id']}/council-decision", COUNCIL, {"decision": "approve", "reason": "ok"})
    paid = http.ok(
        "POST", f"/requests/{request['id']}/payments", FINANCE, {"amount": "5500.00", "reference": "C-1"}, 201
    )
    assert paid["status"] == "paid"
    assert http.council_fund(YEAR)["paid"] == "5500.00"


def test_paying_a_request_that_is_not_approved_is_409_conflict(world, client, http):
    request = http.evidenced()
    with writes_nothing(world):
        response = client.post(
            f"/requests/{request['id']}/payments", json={"amount": "1.00", "reference": "x"}, headers=auth(FINANCE)
        )
    assert_problem(response, 409, "conflict")


def test_get_request_answers_the_whole_request_with_its_etag(world, client, http):
    request = http.approved()
    response = client.get(f"/requests/{request['id']}", headers=auth(HEAD))
    assert response.status_code == 200
    body = response.json()
    for field in (
        "id", "school_urn", "cluster_id", "financial_year", "status", "amount_requested", "amount_approved",
        "amount_paid", "reason", "pupil_count", "needs_summary", "planned_provision", "evidence", "decisions",
        "created_at", "updated_at", "version",
    ):  # fmt: skip
        assert field in body, field
    assert body == request
    assert_etag_matches(response)
    assert_money_2dp(body)


def test_get_request_as_of_a_moment_answers_the_state_then(world, client, http):
    request = http.submit()
    http.ok("POST", f"/requests/{request['id']}/evidence", HEAD, EVIDENCE)
    http.ok("POST", f"/requests/{request['id']}/approve", LEAD, APPROVE_BODY)
    history = http.ok("GET", f"/requests/{request['id']}/history", COUNCIL)["items"]
    submitted_at = history[0]["timestamp"]
    evidenced_at = history[1]["timestamp"]

    then = client.get(f"/requests/{request['id']}", params={"as_of": submitted_at}, headers=auth(COUNCIL))
    assert then.status_code == 200
    assert then.json()["status"] == "submitted" and then.json()["version"] == 1
    assert_etag_matches(then)
    later = client.get(f"/requests/{request['id']}", params={"as_of": evidenced_at}, headers=auth(LEAD)).json()
    assert later["status"] == "evidenced" and later["version"] == 2
    now = client.get(f"/requests/{request['id']}", params={"as_of": "2099-01-01T00:00:00Z"}, headers=auth(HEAD)).json()
    assert now["status"] == "cluster_approved"


def test_get_request_as_of_before_it_existed_is_404(world, client, http):
    request = http.submit()
    created = datetime.fromisoformat(request["created_at"])
    before = (created - timedelta(milliseconds=1)).isoformat()
    assert_problem(
        client.get(f"/requests/{request['id']}", params={"as_of": before}, headers=auth(COUNCIL)), 404, "not-found"
    )


def test_history_lists_every_event_with_version_type_timestamp_actor_and_data(world, client, http):
    request = http.approved("800.00")
    http.ok("POST", f"/requests/{request['id']}/payments", FINANCE, {"amount": "800.00", "reference": "P-9"}, 201)
    response = client.get(f"/requests/{request['id']}/history", headers=auth(HEAD))
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["version"] for item in items] == [1, 2, 3, 4]
    assert [item["type"] for item in items] == [
        "Submitted",
        "SpendEvidenceProvided",
        "ClusterApproved",
        "PaymentRecorded",
    ]
    assert [item["actor"] for item in items] == [
        {"sub": HEAD.sub, "role": "school"},
        {"sub": HEAD.sub, "role": "school"},
        {"sub": LEAD.sub, "role": "cluster_lead"},
        {"sub": FINANCE.sub, "role": "finance"},
    ]
    timestamps = [item["timestamp"] for item in items]
    assert all(stamp.endswith("Z") for stamp in timestamps) and timestamps == sorted(timestamps)
    assert items[0]["data"]["amount_requested"] == "1000.00"
    assert items[0]["data"]["school_urn"] == SCHOOL
    assert items[0]["data"]["cluster_id"] == CLUSTER
    assert items[0]["data"]["financial_year"] == YEAR
    assert items[0]["data"]["planned_provision"] == [
        {"category": "one_to_one_and_small_group_support", "amount": "1000.00"}
    ]
    assert items[1]["data"]["spend"][0] == {
        "category": "one_to_one_and_small_group_support",
        "amount": "9000.00",
        "note": "two TAs",
    }
    assert items[2]["data"]["amount"] == "800.00"
    assert items[3]["data"]["reference"] == "P-9"
    assert_money_2dp(items)


def test_list_requests_is_filtered_to_what_the_caller_may_read(world, client, http):
    mine = http.submit()
    neighbour = http.submit(SECOND_HEAD, school_urn=SECOND_SCHOOL)
    http.ok("POST", f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/allocations", FINANCE, {"amount": "100.00"}, 201)
    elsewhere = http.submit(OTHER_HEAD, school_urn=OTHER_SCHOOL)

    def ids(actor, **params):
        response = client.get("/requests", params=params, headers=auth(actor))
        assert response.status_code == 200, response.text
        assert_money_2dp(response.json())
        return {item["id"] for item in response.json()["items"]}

    everything = {mine["id"], neighbour["id"], elsewhere["id"]}
    assert ids(COUNCIL) == everything
    assert ids(FINANCE) == everything
    assert ids(LEAD) == {mine["id"], neighbour["id"]}
    assert ids(OTHER_LEAD) == {elsewhere["id"]}
    assert ids(HEAD) == {mine["id"]}
    assert ids(SECOND_HEAD) == {neighbour["id"]}
    assert ids(OTHER_HEAD) == {elsewhere["id"]}
    assert ids(COUNCIL, cluster_id=CLUSTER) == {mine["id"], neighbour["id"]}
    assert ids(COUNCIL, school_urn=SECOND_SCHOOL) == {neighbour["id"]}
    assert ids(COUNCIL, financial_year=NEXT_YEAR) == set()
    assert ids(COUNCIL, financial_year=YEAR) == everything
    http.ok("POST", f"/requests/{mine['id']}/evidence", HEAD, EVIDENCE)
    assert ids(LEAD, status="evidenced") == {mine["id"]}
    assert ids(LEAD, status="submitted") == {neighbour["id"]}


def test_list_requests_pages_oldest_first_with_limit_and_cursor(world, client, http):
    made = [http.submit(amount_requested=f"{100 + n}.00")["id"] for n in range(5)]
    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/requests", params=params, headers=auth(HEAD)).json()
        pages += 1
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made and pages == 3


# =================================================================================================
# Audit and finance
# =================================================================================================


def make_decisions(http: Http) -> dict[str, str]:
    """One of each decision, oldest first; returns the request ids by decision."""
    approved = http.approved("1000.00")
    declined = http.evidenced()
    http.ok("POST", f"/requests/{declined['id']}/decline", LEAD, {"reason_code": "not_eligible", "reason": "No."})
    http.ok("POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/commissions", LEAD, COMMISSION, 201)
    escalated = http.escalated("6000.00", amount_requested="6000.00")
    http.ok("POST", f"/requests/{escalated['id']}/council-decision", COUNCIL, {"decision": "approve", "reason": "Yes."})
    return {"approved": approved["id"], "declined": declined["id"], "escalated": escalated["id"]}


def test_audit_decisions_lists_every_decision_newest_first(world, client, http):
    ids = make_decisions(http)
    response = client.get("/audit/decisions", headers=auth(COUNCIL))
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["kind"] for item in items] == [
        "council_approval", "escalation", "commission", "cluster_decline", "cluster_approval",
    ]  # fmt: skip
    positions = [item["position"] for item in items]
    assert positions == sorted(positions, reverse=True)
    assert items[0]["request_id"] == ids["escalated"] and items[0]["actor"] == {"sub": COUNCIL.sub, "role": "council"}
    assert items[0]["amount"] == "6000.00"
    assert items[3]["reason_code"] == "not_eligible" and items[3]["request_id"] == ids["declined"]
    assert items[2]["request_id"] is None and items[2]["amount"] == "1500.00"
    assert all(item["cluster_id"] == CLUSTER for item in items)
    assert_money_2dp(items)


def test_audit_decisions_filter_by_cluster_actor_and_time_and_page(world, client, http):
    make_decisions(http)
    council = auth(COUNCIL)
    everything = client.get("/audit/decisions", headers=council).json()["items"]
    assert client.get("/audit/decisions", params={"cluster_id": OTHER_CLUSTER}, headers=council).json()["items"] == []
    by_council = client.get("/audit/decisions", params={"actor": COUNCIL.sub}, headers=council).json()["items"]
    assert [item["kind"] for item in by_council] == ["council_approval"]
    by_lead = client.get("/audit/decisions", params={"actor": LEAD.sub, "cluster_id": CLUSTER}, headers=council).json()
    assert len(by_lead["items"]) == 4
    middle = everything[2]["decided_at"]
    since = client.get("/audit/decisions", params={"from": middle}, headers=council).json()["items"]
    until = client.get("/audit/decisions", params={"to": middle}, headers=council).json()["items"]
    assert since == everything[:3] and until == everything[2:]
    window = client.get("/audit/decisions", params={"from": middle, "to": middle}, headers=council).json()["items"]
    assert window == [everything[2]]
    first = client.get("/audit/decisions", params={"limit": 2}, headers=council).json()
    second = client.get("/audit/decisions", params={"limit": 2, "cursor": first["next_cursor"]}, headers=council).json()
    assert first["items"] + second["items"] == everything[:4]


def test_audit_verify_answers_ok_over_the_whole_log(world, client, http):
    make_decisions(http)
    response = client.get("/audit/verify", headers=auth(COUNCIL))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["first_bad_position"] is None
    assert body["events_checked"] == log_position(world)
    assert isinstance(body["head"], str) and len(body["head"]) == 64


def test_reconciliation_compares_every_balance_with_the_log(world, client, http):
    make_decisions(http)
    response = client.get("/finance/reconciliation", params={"financial_year": YEAR}, headers=auth(FINANCE))
    assert response.status_code == 200
    body = response.json()
    assert body["financial_year"] == YEAR and body["consistent"] is True
    (row,) = body["clusters"]
    assert row["cluster_id"] == CLUSTER and row["consistent"] is True
    assert row["projected"] == row["recomputed"]
    assert row["recomputed"]["available"] == "2500.00"
    assert body["council_fund"]["consistent"] is True
    assert body["council_fund"]["recomputed"]["committed"] == "6000.00"
    assert_money_2dp(body)
    for money in (*row["recomputed"].values(), *body["council_fund"]["projected"].values()):
        assert MONEY.match(money)
    assert client.get("/finance/reconciliation", params={"financial_year": YEAR}, headers=auth(COUNCIL)).json() == body


def test_the_ledger_is_csv_with_a_header_and_one_2dp_line_per_money_movement(world, client, http):
    request = http.approved("1000.00")
    http.ok("POST", f"/requests/{request['id']}/payments", FINANCE, {"amount": "250.5", "reference": "=SUM(A1)"}, 201)
    http.ok("POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/commissions", LEAD, COMMISSION, 201)
    http.ok("POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", FINANCE, {"amount": "-100.00"}, 201)
    response = client.get("/finance/ledger.csv", params={"financial_year": YEAR}, headers=auth(FINANCE))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    header = response.text.splitlines()[0].split(",")
    assert {"movement", "amount", "fund", "cluster_id", "financial_year", "request_id"} <= set(header)
    movements = [(row["fund"], row["movement"], row["amount"]) for row in rows]
    assert movements == [
        ("cluster", "allocation", "5000.00"),
        ("council", "allocation", "20000.00"),
        ("cluster", "commitment", "1000.00"),
        ("cluster", "payment", "250.50"),
        ("cluster", "commission", "1500.00"),
        ("cluster", "adjustment", "-100.00"),
    ]
    for row in rows:
        assert MONEY.match(row["amount"]) and MONEY.match(row["available_after"])
    assert rows[2]["request_id"] == request["id"]
    assert rows[3]["reference"] == "'=SUM(A1)"  # a spreadsheet never runs it


def test_healthz_answers_ok_without_a_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


# =================================================================================================
# Versions, ETags and If-Match
# =================================================================================================


def command_calls(http: Http) -> list[tuple[str, str, Any, Any, int]]:
    """(method, path, actor, body, success status) for one of every command, each ready to run."""
    submitted = http.submit()
    evidenced = http.evidenced()
    to_decline = http.evidenced()
    informed = http.evidenced()
    to_escalate = http.evidenced(amount_requested="9000.00")
    escalated = http.escalated("6000.00", amount_requested="6000.00")
    approved = http.approved("100.00")
    return [
        ("POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", FINANCE, {"amount": "1.00"}, 201),
        ("POST", f"/council/budgets/{YEAR}/allocations", FINANCE, {"amount": "1.00"}, 201),
        ("POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/commissions", LEAD, {**COMMISSION, "amount": "1.00"}, 201),
        ("POST", f"/requests/{submitted['id']}/withdraw", HEAD, {"reason": "no longer needed"}, 200),
        ("POST", f"/requests/{evidenced['id']}/approve", LEAD, {**APPROVE_BODY, "amount": "10.00"}, 200),
        ("POST", f"/requests/{to_decline['id']}/decline", LEAD, {"reason_code": "other", "reason": "no"}, 200),
        ("POST", f"/requests/{informed['id']}/information-requests", LEAD, {"question": "why?"}, 200),
        ("POST", f"/requests/{to_escalate['id']}/escalate", LEAD, ESCALATE_BODY, 200),
        (
            "POST",
            f"/requests/{escalated['id']}/council-decision",
            COUNCIL,
            {"decision": "decline", "reason": "no"},
            200,
        ),
        ("POST", f"/requests/{approved['id']}/payments", FINANCE, {"amount": "1.00", "reference": "r"}, 201),
    ]


def current_version(client, method: str, path: str) -> int:
    if "/requests/" in path:
        return client.get("/requests/" + path.split("/")[2], headers=auth(COUNCIL)).json()["version"]
    if path.startswith("/council/"):
        return client.get(f"/council/budgets/{YEAR}", headers=auth(COUNCIL)).json()["version"]
    return client.get(f"/clusters/{CLUSTER}/budgets/{YEAR}", headers=auth(COUNCIL)).json()["version"]


def test_every_command_answers_its_version_in_the_body_and_the_etag_and_honours_if_match(world, client, http):
    for method, path, actor, body, status in command_calls(http):
        version = current_version(client, method, path)
        with writes_nothing(world):
            stale = client.request(method, path, json=body, headers={**auth(actor), "If-Match": f'"{version - 1}"'})
        assert_problem(stale, 412, "precondition-failed")
        fresh = client.request(method, path, json=body, headers={**auth(actor), "If-Match": f'"{version}"'})
        assert fresh.status_code == status, (path, fresh.text)
        assert fresh.json()["version"] > version
        assert_etag_matches(fresh)
        assert_money_2dp(fresh.json())
        assert current_version(client, method, path) == fresh.json()["version"]


def test_a_stale_if_match_is_412_and_changes_nothing(world, client, http):
    request = http.evidenced()
    with writes_nothing(world):
        response = client.post(
            f"/requests/{request['id']}/approve", json=APPROVE_BODY, headers={**auth(LEAD), "If-Match": '"1"'}
        )
    assert_problem(response, 412, "precondition-failed")
    assert http.request(request["id"])["status"] == "evidenced"
    assert http.budget(CLUSTER, YEAR)["committed"] == "0.00"


def test_if_match_takes_the_strong_etag_as_sent_and_star(world, client, http):
    request = http.evidenced()
    etag = client.get(f"/requests/{request['id']}", headers=auth(LEAD)).headers["etag"]
    response = client.post(
        f"/requests/{request['id']}/information-requests",
        json={"question": "?"},
        headers={**auth(LEAD), "If-Match": etag},
    )
    assert response.status_code == 200
    star = client.post(f"/requests/{request['id']}/evidence", json=EVIDENCE, headers={**auth(HEAD), "If-Match": "*"})
    assert star.status_code == 200


def test_if_match_with_a_weak_etag_never_matches_and_writes_nothing(world, client, http):
    # If-Match compares strongly: W/"3" names the current version, yet must not pass as a match.
    request = http.evidenced()
    etag = client.get(f"/requests/{request['id']}", headers=auth(LEAD)).headers["etag"]
    with writes_nothing(world):
        response = client.post(
            f"/requests/{request['id']}/information-requests",
            json={"question": "?"},
            headers={**auth(LEAD), "If-Match": f"W/{etag}"},
        )
    body = assert_problem(response, 412, "precondition-failed")
    assert "strong" in body["detail"]
    assert http.request(request["id"])["status"] == "evidenced"


def test_if_match_on_a_budget_that_does_not_exist_yet_expects_version_0(world, client):
    path = f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/allocations"
    with writes_nothing(world):
        assert_problem(
            client.post(path, json={"amount": "5.00"}, headers={**auth(FINANCE), "If-Match": '"1"'}),
            412,
            "precondition-failed",
        )
    response = client.post(path, json={"amount": "5.00"}, headers={**auth(FINANCE), "If-Match": '"0"'})
    assert response.status_code == 201 and response.json()["version"] >= 1


# =================================================================================================
# Idempotency keys
# =================================================================================================


def test_a_repeat_with_the_same_key_and_body_replays_the_first_response_without_acting(world, client):
    headers = {**auth(HEAD), "Idempotency-Key": "submit-0001"}
    first = client.post("/requests", json=submission(), headers=headers)
    assert first.status_code == 201
    position = log_position(world)
    again = client.post("/requests", json=submission(), headers={**auth(HEAD), "Idempotency-Key": "submit-0001"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"] and again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == first.headers["content-type"]
    assert log_position(world) == position
    listed = client.get("/requests", headers=auth(COUNCIL)).json()["items"]
    assert [item["id"] for item in listed] == [first.json()["id"]]


def test_a_refusal_is_replayed_too(world, client, http):
    request = http.evidenced(amount_requested="6000.00")
    headers = {**auth(LEAD), "Idempotency-Key": "approve-too-much"}
    body = {**APPROVE_BODY, "amount": "6000.00"}
    first = client.post(f"/requests/{request['id']}/approve", json=body, headers=headers)
    assert_problem(first, 409, "insufficient-funds")
    http.ok("POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", FINANCE, {"amount": "1000.00"}, 201)
    with writes_nothing(world):
        again = client.post(f"/requests/{request['id']}/approve", json=body, headers=headers)
    assert_problem(again, 409, "insufficient-funds")
    assert again.json() == first.json()


def test_the_same_key_with_another_body_is_422_idempotency_key_reused_and_writes_nothing(world, client):
    headers = {**auth(HEAD), "Idempotency-Key": "submit-0002"}
    assert client.post("/requests", json=submission(), headers=headers).status_code == 201
    with writes_nothing(world):
        response = client.post("/requests", json=submission(amount_requested="999.00"), headers=headers)
    assert_problem(response, 422, "idempotency-key-reused")


def test_idempotency_keys_are_scoped_to_the_caller(world, client):
    key = {"Idempotency-Key": "shared-key"}
    mine = client.post("/requests", json=submission(), headers={**auth(HEAD), **key})
    theirs = client.post("/requests", json=submission(school_urn=SECOND_SCHOOL), headers={**auth(SECOND_HEAD), **key})
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    # The same body from another sub acts independently as well.
    from domain.values import Actor

    colleague = Actor.school("senco-900001-deputy", SCHOOL)
    same_body = client.post("/requests", json=submission(), headers={**auth(colleague), **key})
    assert same_body.status_code == 201 and same_body.json()["id"] != mine.json()["id"]


def test_idempotency_keys_are_scoped_to_the_method_and_path(world, client, http):
    first, second = http.evidenced(), http.evidenced()
    key = {**auth(LEAD), "Idempotency-Key": "same-key-two-paths"}
    a = client.post(f"/requests/{first['id']}/approve", json=APPROVE_BODY, headers=key)
    b = client.post(f"/requests/{second['id']}/approve", json=APPROVE_BODY, headers=key)
    assert a.status_code == b.status_code == 200 and a.json()["id"] != b.json()["id"]


def test_a_put_with_an_idempotency_key_is_replayed(world, client):
    headers = {**auth(COUNCIL), "Idempotency-Key": "put-school"}
    first = client.put(f"/clusters/{CLUSTER}/schools/{UNCLUSTERED_SCHOOL}", headers=headers)
    assert first.status_code == 200
    with writes_nothing(world):
        again = client.put(f"/clusters/{CLUSTER}/schools/{UNCLUSTERED_SCHOOL}", headers=headers)
    assert again.status_code == 200 and again.json() == first.json()


def test_an_idempotency_key_survives_a_restart(world, make_app, client):
    headers = {**auth(HEAD), "Idempotency-Key": "before-the-restart"}
    first = client.post("/requests", json=submission(), headers=headers)
    assert first.status_code == 201
    restarted = make_app()
    with client_for(restarted) as after:
        with writes_nothing(restarted):
            again = after.post("/requests", json=submission(), headers=headers)
        assert again.status_code == 201 and again.json() == first.json()
        reused = after.post("/requests", json=submission(pupil_count=3), headers=headers)
        assert_problem(reused, 422, "idempotency-key-reused")


def test_an_idempotency_key_longer_than_200_characters_is_422(world, client):
    with writes_nothing(world):
        response = client.post("/requests", json=submission(), headers={**auth(HEAD), "Idempotency-Key": "k" * 201})
    assert_problem(response, 422, "validation-error")
    ok = client.post("/requests", json=submission(), headers={**auth(HEAD), "Idempotency-Key": "k" * 200})
    assert ok.status_code == 201


# =================================================================================================
# Unknown things, wrong shapes, bad requests
# =================================================================================================

REQUEST_PATHS = [
    ("GET", "/requests/{id}", COUNCIL, None),
    ("GET", "/requests/{id}/history", COUNCIL, None),
    ("POST", "/requests/{id}/evidence", HEAD, EVIDENCE),
    ("POST", "/requests/{id}/information-requests", LEAD, {"question": "?"}),
    ("POST", "/requests/{id}/approve", LEAD, APPROVE_BODY),
    ("POST", "/requests/{id}/decline", LEAD, {"reason_code": "other", "reason": "no"}),
    ("POST", "/requests/{id}/escalate", LEAD, ESCALATE_BODY),
    ("POST", "/requests/{id}/council-decision", COUNCIL, {"decision": "decline", "reason": "no"}),
    ("POST", "/requests/{id}/withdraw", HEAD, {"reason": "no"}),
    ("POST", "/requests/{id}/payments", FINANCE, {"amount": "1.00", "reference": "r"}),
]


@pytest.mark.parametrize("request_id", [UNKNOWN_ID, "not-a-uuid", "12345", UNKNOWN_ID.upper() + "0"])
def test_unknown_request_ids_and_ids_of_the_wrong_shape_are_404(shared_world, shared_client, request_id):
    world, client = shared_world, shared_client
    for method, template, actor, body in REQUEST_PATHS:
        with writes_nothing(world):
            response = client.request(method, template.format(id=request_id), json=body, headers=auth(actor))
        assert_problem(response, 404, "not-found")


@pytest.mark.parametrize(
    "method, path, actor, body",
    [
        ("GET", "/clusters/no-such-cluster", COUNCIL, None),
        ("GET", "/clusters/Not_A_Slug", COUNCIL, None),
        ("PUT", f"/clusters/no-such-cluster/schools/{UNCLUSTERED_SCHOOL}", COUNCIL, None),
        ("PUT", f"/clusters/{CLUSTER}/schools/12345", COUNCIL, None),
        ("PUT", f"/clusters/{CLUSTER}/schools/abcdef", COUNCIL, None),
        ("DELETE", f"/clusters/BAD!/schools/{SCHOOL}", COUNCIL, None),
        ("DELETE", f"/clusters/{CLUSTER}/schools/1234567", COUNCIL, None),
        ("GET", f"/clusters/{CLUSTER}/budgets/2026-28", COUNCIL, None),
        ("GET", f"/clusters/{CLUSTER}/budgets/202627", COUNCIL, None),
        ("GET", "/clusters/x/budgets/2026-27", COUNCIL, None),
        ("POST", f"/clusters/{CLUSTER}/budgets/26-27/allocations", FINANCE, {"amount": "1.00"}),
        ("POST", "/clusters/UPPER/budgets/2026-27/allocations", FINANCE, {"amount": "1.00"}),
        ("POST", f"/clusters/{CLUSTER}/budgets/2026-2027/commissions", LEAD, COMMISSION),
        ("POST", "/council/budgets/2026/allocations", FINANCE, {"amount": "1.00"}),
        ("GET", "/council/budgets/1999-2000", COUNCIL, None),
    ],
)
def test_unknown_ids_and_ids_of_the_wrong_shape_in_any_path_are_404(
    shared_world, shared_client, method, path, actor, body
):
    world, client = shared_world, shared_client
    with writes_nothing(world):
        response = client.request(method, path, json=body, headers=auth(actor))
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize("path", ["/nowhere", "/requests/x/y/z", "/clusters/a/b", "/v2/requests", "/healthz/x"])
def test_an_unknown_path_is_404_problem_json(shared_client, path):
    client = shared_client
    assert_problem(client.get(path, headers=auth(COUNCIL)), 404, "not-found")
    assert_problem(client.post(path, json={}, headers=auth(COUNCIL)), 404, "not-found")


@pytest.mark.parametrize(
    "method, path",
    [
        ("DELETE", "/clusters"),
        ("PATCH", f"/clusters/{CLUSTER}"),
        ("POST", f"/clusters/{CLUSTER}"),
        ("GET", f"/clusters/{CLUSTER}/schools/{SCHOOL}"),
        ("GET", f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations"),
        ("PUT", "/requests"),
        ("DELETE", f"/requests/{UNKNOWN_ID}"),
        ("GET", f"/requests/{UNKNOWN_ID}/approve"),
        ("POST", "/balances"),
        ("POST", "/audit/verify"),
        ("PUT", "/finance/ledger.csv"),
        ("POST", "/healthz"),
    ],
)
def test_a_wrong_method_is_405_problem_json_and_writes_nothing(shared_world, shared_client, method, path):
    world, client = shared_world, shared_client
    with writes_nothing(world):
        response = client.request(method, path, headers=auth(COUNCIL))
    assert_problem(response, 405, "method-not-allowed")


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"cluster_id": ', b"not json", b"{'single': 'quotes'}", b"\xff\xfe\x00", b"", b"[1,2", b'{"a":1}}'],
)
def test_malformed_json_is_422_never_500_and_writes_nothing(shared_world, shared_client, raw):
    world, client = shared_world, shared_client
    for method, path, actor in (
        ("POST", "/clusters", COUNCIL),
        ("POST", "/requests", HEAD),
        ("POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", FINANCE),
    ):
        with writes_nothing(world):
            response = client.request(
                method, path, content=raw, headers={**auth(actor), "Content-Type": "application/json"}
            )
        assert_problem(response, 422, "validation-error")


def test_a_body_that_is_not_declared_as_json_is_422(shared_world, shared_client):
    world, client = shared_world, shared_client
    with writes_nothing(world):
        response = client.post(
            "/clusters",
            content=b"cluster_id=x&name=y",
            headers={**auth(COUNCIL), "Content-Type": "application/x-www-form-urlencoded"},
        )
    assert_problem(response, 422, "validation-error")


def test_a_body_over_1_mib_is_413_and_writes_nothing(shared_world, shared_client):
    world, client = shared_world, shared_client
    huge = b'{"cluster_id": "big-one", "name": "' + b"x" * MAX_BODY_BYTES + b'"}'
    with writes_nothing(world):
        response = client.post("/clusters", content=huge, headers={**auth(COUNCIL), "Content-Type": "application/json"})
    assert_problem(response, 413, "payload-too-large")
    with writes_nothing(world):
        keyed = client.post(
            "/clusters",
            content=huge,
            headers={**auth(COUNCIL), "Content-Type": "application/json", "Idempotency-Key": "big"},
        )
    assert_problem(keyed, 413, "payload-too-large")


def test_a_body_of_exactly_1_mib_is_not_refused_for_size(world, client):
    prefix, suffix = b'{"cluster_id": "big-one", "name": "', b'"}'
    body = prefix + b"x" * (MAX_BODY_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(body) == MAX_BODY_BYTES
    response = client.post("/clusters", content=body, headers={**auth(COUNCIL), "Content-Type": "application/json"})
    assert_problem(response, 422, "validation-error")  # the name is too long, but it was read


def test_money_in_every_response_is_a_string_with_exactly_2_dp(world, client, http):
    make_decisions(http)
    paid = http.approved("12.3")
    http.ok("POST", f"/requests/{paid['id']}/payments", FINANCE, {"amount": "12.3", "reference": "x"}, 201)
    bodies = [
        client.get(f"/requests/{paid['id']}", headers=auth(COUNCIL)).json(),
        client.get(f"/requests/{paid['id']}/history", headers=auth(COUNCIL)).json(),
        client.get("/requests", headers=auth(COUNCIL)).json(),
        client.get("/balances", params={"financial_year": YEAR}, headers=auth(COUNCIL)).json(),
        client.get(f"/clusters/{CLUSTER}/budgets/{YEAR}", headers=auth(COUNCIL)).json(),
        client.get(f"/council/budgets/{YEAR}", headers=auth(COUNCIL)).json(),
        client.get("/audit/decisions", headers=auth(COUNCIL)).json(),
        client.get("/finance/reconciliation", params={"financial_year": YEAR}, headers=auth(COUNCIL)).json(),
    ]
    for body in bodies:
        assert_money_2dp(body)
    assert bodies[0]["amount_paid"] == "12.30"


def test_the_jwt_secret_is_the_one_given_to_create_app(world):
    other_secret = SECRET[::-1]
    with client_for(world, other_secret) as client:
        assert_problem(client.get("/clusters", headers=auth(COUNCIL)), 401, "unauthenticated")
        assert client.get("/clusters", headers=auth(COUNCIL, other_secret)).status_code == 200


def test_putting_a_school_already_in_the_cluster_is_200_and_writes_nothing(world, client):
    before = client.get(f"/clusters/{CLUSTER}", headers=auth(COUNCIL)).json()
    with writes_nothing(world):
        response = client.put(f"/clusters/{CLUSTER}/schools/{SCHOOL}", headers=auth(COUNCIL))
    assert response.status_code == 200 and response.json() == before
    assert_etag_matches(response)


def test_deleting_a_school_that_is_not_in_the_cluster_is_409_and_writes_nothing(world, client):
    with writes_nothing(world):
        response = client.delete(f"/clusters/{CLUSTER}/schools/{OTHER_SCHOOL}", headers=auth(COUNCIL))
    assert_problem(response, 409, "conflict")


TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"


def test_timestamps_are_iso_8601_utc_with_microseconds_and_z(world, client, http):
    import re

    request = http.approved()
    stamps = [request["created_at"], request["updated_at"], request["evidence"]["provided_at"]]
    stamps += [decision["decided_at"] for decision in request["decisions"]]
    listed = client.get("/requests", headers=auth(COUNCIL)).json()["items"][0]
    stamps += [listed["created_at"], listed["updated_at"], listed["status_since"]]
    stamps += [item["timestamp"] for item in http.ok("GET", f"/requests/{request['id']}/history", COUNCIL)["items"]]
    stamps += [item["decided_at"] for item in http.ok("GET", "/audit/decisions", COUNCIL)["items"]]
    for stamp in stamps:
        assert re.match(TIMESTAMP, stamp), stamp


def test_collections_answer_50_items_a_page_by_default_and_up_to_500(world, client):
    for _ in range(51):
        world.submit_request(HEAD, **submission(amount_requested="1.00"))
    first = client.get("/requests", headers=auth(COUNCIL)).json()
    assert len(first["items"]) == 50 and first["next_cursor"]
    rest = client.get("/requests", params={"cursor": first["next_cursor"]}, headers=auth(COUNCIL)).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    everything = client.get("/requests", params={"limit": 500}, headers=auth(COUNCIL)).json()
    assert len(everything["items"]) == 51 and everything["next_cursor"] is None
    assert_problem(client.get("/requests", params={"limit": 501}, headers=auth(COUNCIL)), 422, "validation-error")


# =================================================================================================
# The transition table: every command from every status
# =================================================================================================

STATUSES = [
    "submitted", "evidenced", "information_requested", "cluster_approved", "cluster_declined", "escalated",
    "council_approved", "council_declined", "withdrawn", "paid",
]  # fmt: skip
UNAFFORDABLE = "2000000.00"
TRANSITIONS: dict[str, tuple[str, Any, Any, int, set[str]]] = {
    # command: (path suffix, actor, body, success status, statuses it is allowed from)
    "evidence": ("evidence", HEAD, EVIDENCE, 200, {"submitted", "evidenced", "information_requested"}),
    "information request": ("information-requests", LEAD, {"question": "?"}, 200, {"submitted", "evidenced"}),
    "approve": ("approve", LEAD, {"amount": "1.00", "reason": "ok"}, 200, {"evidenced"}),
    "escalate": ("escalate", LEAD, {"amount": "1.00", "exceptional_circumstances": "x"}, 200, {"evidenced"}),
    "decline": ("decline", LEAD, {"reason_code": "other", "reason": "no"}, 200,
                {"submitted", "evidenced", "information_requested"}),
    "withdraw": ("withdraw", HEAD, {"reason": "no"}, 200, {"submitted", "evidenced", "information_requested"}),
    "council decision": ("council-decision", COUNCIL, {"decision": "approve", "reason": "ok"}, 200, {"escalated"}),
    "payment": ("payments", FINANCE, {"amount": "1.00", "reference": "r"}, 201,
                {"cluster_approved", "council_approved"}),
}  # fmt: skip


def request_in(app, status: str) -> str:
    """A new request (asking more than the cluster holds, so it may be escalated) in ``status``."""
    from uuid import UUID

    request = app.submit_request(
        HEAD, **submission(amount_requested=UNAFFORDABLE, planned_provision=[{"category": "other", "amount": "1.00"}])
    )
    rid: UUID = request.id
    steps = {
        "submitted": [],
        "evidenced": ["evidence"],
        "information_requested": ["evidence", "ask"],
        "cluster_approved": ["evidence", "approve"],
        "cluster_declined": ["decline"],
        "escalated": ["evidence", "escalate"],
        "council_approved": ["evidence", "escalate", "council approve"],
        "council_declined": ["evidence", "escalate", "council decline"],
        "withdrawn": ["withdraw"],
        "paid": ["evidence", "approve", "pay"],
    }[status]
    for step in steps:
        if step == "evidence":
            app.provide_evidence(HEAD, rid, **EVIDENCE)
        elif step == "ask":
            app.request_information(LEAD, rid, "?")
        elif step == "approve":
            app.approve(LEAD, rid, "1.00", "ok")
        elif step == "decline":
            app.decline(LEAD, rid, "other", "no")
        elif step == "escalate":
            app.escalate(LEAD, rid, "1.00", "x")
        elif step == "council approve":
            app.decide_escalation(COUNCIL, rid, "approve", "ok")
        elif step == "council decline":
            app.decide_escalation(COUNCIL, rid, "decline", "no")
        elif step == "withdraw":
            app.withdraw(HEAD, rid, "no")
        elif step == "pay":
            app.record_payment(FINANCE, rid, "1.00", "r")
    assert app.get_request(COUNCIL, rid).status.value == status
    return str(rid)


@pytest.fixture(scope="module")
def transitions_world(shared_world):
    shared_world.allocate_budget(FINANCE, CLUSTER, YEAR, "1000000.00", "for the transition table")
    shared_world.allocate_council_fund(FINANCE, YEAR, "1000000.00", "for the transition table")
    return shared_world


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("command", list(TRANSITIONS))
def test_each_command_is_allowed_from_exactly_the_statuses_api_md_lists(
    transitions_world, shared_client, command, status
):
    app, client = transitions_world, shared_client
    suffix, actor, body, success, allowed_from = TRANSITIONS[command]
    request_id = request_in(app, status)
    before = log_position(app)
    response = client.post(f"/requests/{request_id}/{suffix}", json=body, headers=auth(actor))
    if status in allowed_from:
        assert response.status_code == success, (command, status, response.text)
        assert_etag_matches(response)
    else:
        assert_problem(response, 409, "conflict")
        assert log_position(app) == before
        assert client.get(f"/requests/{request_id}", headers=auth(COUNCIL)).json()["status"] == status
