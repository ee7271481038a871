"""The policy over HTTP, on SQLite and PostgreSQL (docs/API.md, issue 14): reading it as of any
moment, changing it with a second person, who may, bad input, and a cap refusing an approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.policy_parameters import PARAMETERS
from funding_engine.application.calendar import today_in_england
from tests.api.conftest import assert_etag_matches, assert_problem, auth, writes_nothing
from tests.support import CLUSTER, COUNCIL, FINANCE, HEAD, LEAD, OTHER_LEAD, evidenced_request, set_up_world

TODAY = today_in_england().isoformat()


def change_body(**overrides: Any) -> dict[str, Any]:
    return {
        "parameter": "award_cap",
        "value": "8000",
        "effective_from": TODAY,
        "reason": "Cabinet, 12 November 2026, minute 14",
        **overrides,
    }


def test_everyone_reads_the_policy_with_every_parameter_and_its_source(client, app):
    set_up_world(app)
    for actor in (HEAD, LEAD, COUNCIL, FINANCE):
        answer = client.get("/policy", headers=auth(actor))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [p["name"] for p in body["parameters"]] == list(PARAMETERS)
        assert body["version"] == 0 and body["changes"] == [] and body["scope"] == "council"
        shares = next(p for p in body["parameters"] if p["name"] == "instalment_shares")
        assert (shares["value"], shares["default"], shares["set_by"], shares["change"]) == (
            "4,3,5",
            "4,3,5",
            None,
            None,
        )
        assert_etag_matches(answer)
    assert client.get("/policy").status_code == 401


def test_a_large_change_is_proposed_then_approved_by_someone_else(client, app):
    set_up_world(app)
    proposed = client.post("/policy/changes", json=change_body(), headers=auth(COUNCIL))
    assert proposed.status_code == 201, proposed.text
    assert proposed.headers["Location"] == "/policy/changes/1"
    change = proposed.json()
    assert (change["status"], change["needs_second_person"], change["value"]) == (
        "awaiting_second_person",
        True,
        "8000.00",
    )
    assert change["proposed_by"] == {"sub": COUNCIL.sub, "role": "council"}

    assert_problem(client.post("/policy/changes/1/approve", headers=auth(COUNCIL)), 403, "forbidden")
    approved = client.post("/policy/changes/1/approve", headers=auth(FINANCE))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["approved_by"]["role"] == "finance"
    assert_problem(client.post("/policy/changes/1/approve", headers=auth(COUNCIL)), 409, "conflict")

    cap = next(p for p in client.get("/policy", headers=auth(HEAD)).json()["parameters"] if p["name"] == "award_cap")
    assert (cap["value"], cap["set_by"], cap["change"]) == ("8000.00", "council", 1)


def test_a_rejected_change_never_counts(client, app):
    set_up_world(app)
    client.post("/policy/changes", json=change_body(), headers=auth(FINANCE))
    rejected = client.post("/policy/changes/1/reject", json={"reason": "Not agreed"}, headers=auth(COUNCIL))
    assert rejected.status_code == 200 and rejected.json()["rejection_reason"] == "Not agreed"
    cap = next(p for p in client.get("/policy", headers=auth(HEAD)).json()["parameters"] if p["name"] == "award_cap")
    assert cap["value"] == "10000000.00"


def test_the_policy_as_of_a_moment_before_a_change(client, app):
    set_up_world(app)
    before = datetime.now(UTC).isoformat()
    small = change_body(parameter="decision_deadline_working_days", value="21")
    assert client.post("/policy/changes", json=small, headers=auth(COUNCIL)).json()["status"] == "approved"
    then = client.get("/policy", params={"as_of": before}, headers=auth(LEAD)).json()
    now = client.get("/policy", headers=auth(LEAD)).json()
    value = {
        body["as_of"]: next(p["value"] for p in body["parameters"] if p["name"] == small["parameter"])
        for body in (then, now)
    }
    assert list(value.values()) == ["20", "21"]
    assert (then["pin"]["council_version"], now["pin"]["council_version"]) == (0, 2)


def test_a_clusters_overrides_are_read_and_changed_under_the_cluster(client, app):
    set_up_world(app)
    made = client.post(f"/clusters/{CLUSTER}/policy/changes", json=change_body(value="3000"), headers=auth(COUNCIL))
    assert made.status_code == 201 and made.headers["Location"] == f"/clusters/{CLUSTER}/policy/changes/1"
    assert client.post(f"/clusters/{CLUSTER}/policy/changes/1/approve", headers=auth(FINANCE)).status_code == 200
    body = client.get(f"/clusters/{CLUSTER}/policy", headers=auth(OTHER_LEAD)).json()
    cap = next(p for p in body["parameters"] if p["name"] == "award_cap")
    assert (body["scope"], cap["value"], cap["set_by"]) == (CLUSTER, "3000.00", "cluster")
    council_only = client.post(
        f"/clusters/{CLUSTER}/policy/changes", json=change_body(parameter="council_term_cap"), headers=auth(COUNCIL)
    )
    assert_problem(council_only, 422, "validation-error")


def test_an_approval_above_the_cap_is_a_409_policy_limit_naming_the_change(client, app):
    set_up_world(app, budget="50000.00")
    client.post("/policy/changes", json=change_body(value="5000"), headers=auth(COUNCIL))
    client.post("/policy/changes/1/approve", headers=auth(FINANCE))
    request = evidenced_request(app, amount_requested="9000.00")
    with writes_nothing(app):
        refused = client.post(
            f"/requests/{request.id}/approve", json={"amount": "9000.00", "reason": "Evidence seen"}, headers=auth(LEAD)
        )
    problem = assert_problem(refused, 409, "policy-limit")
    assert "5000.00" in problem["detail"] and "council policy change 1" in problem["detail"]


def test_a_stale_if_match_on_a_change_is_412(client, app):
    set_up_world(app)
    assert (
        client.post(
            "/policy/changes",
            json=change_body(parameter="decision_deadline_working_days", value="21"),
            headers=auth(COUNCIL),
        ).status_code
        == 201
    )
    stale = client.post(
        "/policy/changes",
        json=change_body(parameter="letter_deadline_working_days", value="6"),
        headers={**auth(COUNCIL), "If-Match": '"1"'},
    )
    assert_problem(stale, 412, "precondition-failed")


@pytest.mark.parametrize(
    ("path", "actor", "body", "status", "type_"),
    [
        ("/policy/changes", LEAD, change_body(), 403, "forbidden"),
        ("/policy/changes", HEAD, change_body(), 403, "forbidden"),
        ("/policy/changes", COUNCIL, change_body(parameter="overspend"), 422, "validation-error"),
        ("/policy/changes", COUNCIL, change_body(value="12.345"), 422, "validation-error"),
        ("/policy/changes", COUNCIL, change_body(value=8000), 422, "validation-error"),
        ("/policy/changes", COUNCIL, change_body(value="0"), 422, "validation-error"),
        ("/policy/changes", COUNCIL, change_body(effective_from="2020-01-01"), 422, "validation-error"),
        ("/policy/changes", COUNCIL, change_body(effective_from="01/04/2027"), 422, "validation-error"),
        ("/policy/changes", COUNCIL, change_body(reason="  "), 422, "validation-error"),
        ("/policy/changes", COUNCIL, change_body(extra="field"), 422, "validation-error"),
        ("/policy/changes", COUNCIL, change_body(value="10000000.00"), 422, "validation-error"),
        ("/clusters/nowhere/policy/changes", COUNCIL, change_body(), 404, "not-found"),
        ("/clusters/Not A Cluster!/policy/changes", COUNCIL, change_body(), 404, "not-found"),
        ("/clusters/nowhere/policy/changes/1/approve", COUNCIL, None, 404, "not-found"),
        ("/policy/changes/7/approve", FINANCE, None, 404, "not-found"),
        ("/policy/changes/x/approve", FINANCE, None, 422, "validation-error"),
        ("/policy/changes/1/reject", FINANCE, {}, 422, "validation-error"),
        ("/policy/changes/1/approve", LEAD, None, 403, "forbidden"),
    ],
)
def test_bad_calls_get_a_clear_problem_and_change_nothing(client, app, path, actor, body, status, type_):
    set_up_world(app)
    with writes_nothing(app):
        assert_problem(client.post(path, json=body, headers=auth(actor)), status, type_)


@pytest.mark.parametrize("as_of", ["2026-11-30T10:00:00", "yesterday", ""])
def test_as_of_must_be_a_time_with_a_zone(client, app, as_of):
    assert_problem(client.get("/policy", params={"as_of": as_of}, headers=auth(COUNCIL)), 422, "validation-error")


def test_an_unknown_or_malformed_cluster_has_no_policy(client, app):
    for path in ("/clusters/nowhere/policy", "/clusters/Not A Cluster!/policy"):
        assert_problem(client.get(path, headers=auth(COUNCIL)), 404, "not-found")


def test_a_change_too_far_ahead_is_refused(client, app):
    far = (today_in_england() + timedelta(days=800)).isoformat()
    with writes_nothing(app):
        assert_problem(
            client.post("/policy/changes", json=change_body(effective_from=far), headers=auth(COUNCIL)),
            422,
            "validation-error",
        )
