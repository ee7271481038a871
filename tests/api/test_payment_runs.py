"""Payment runs and remittances over HTTP, on SQLite and PostgreSQL (docs/API.md, issue 13)."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

import pytest

from funding_engine.application import FundingApplication
from tests.api.conftest import assert_etag_matches, assert_money_2dp, assert_problem, auth, client_for, writes_nothing
from tests.support import CLUSTER, COUNCIL, FINANCE, HEAD, LEAD, SCHOOL, evidenced_request, log_position, set_up_world

SEPTEMBER = "2026-09-30"
CSV = {"Content-Type": "text/csv"}


def world(app: FundingApplication, awards: int = 1) -> list[UUID]:
    """Awards of 1200.00 termly over 2026-27: 500.00 due 1 April, 400.00 on 1 September, 300.00 on 1 January."""
    set_up_world(app, budget="20000.00")
    app.register_school(COUNCIL, SCHOOL, "Northmere Primary School", "primary", CLUSTER)
    ids = []
    for _ in range(awards):
        request = evidenced_request(
            app, amount_requested="1200.00", planned_provision=[{"category": "therapies", "amount": "1200.00"}]
        )
        period = {"starts_on": "2026-04-01", "ends_on": "2027-03-31"}
        app.approve(LEAD, request.id, "1200.00", "Evidence seen.", award_period=period)
        ids.append(request.id)
    return ids


def remittance_for(csv_text: str, change: dict[int, str] | None = None) -> bytes:
    """The bank's remittance for a run's file: each line paid on 7 September, amounts changed as given."""
    lines = list(csv.DictReader(io.StringIO(csv_text)))
    rows = ["reference,amount,date"]
    for index, line in enumerate(lines):
        rows.append(f"{line['line_reference']},{(change or {}).get(index, line['amount'])},2026-09-07")
    return ("\n".join(rows) + "\n").encode()


def test_instalments_due_are_listed_for_finance_with_money_as_strings(app):
    (request_id,) = world(app)
    with client_for(app) as client:
        response = client.get("/finance/instalments-due", params={"due_by": SEPTEMBER}, headers=auth(FINANCE))

    assert response.status_code == 200, response.text
    body = response.json()
    assert_money_2dp(body)
    assert [(item["number"], item["due_on"], item["unpaid"]) for item in body["items"]] == [
        (1, "2026-04-01", "500.00"),
        (2, "2026-09-01", "400.00"),
    ]
    assert body["items"][0]["request_id"] == str(request_id) and body["next_cursor"] is None


def test_a_run_round_trips_through_its_file_and_the_banks_remittance(app):
    first, second = world(app, awards=2)
    with client_for(app) as client:
        created = client.post("/finance/payment-runs", json={"due_by": SEPTEMBER}, headers=auth(FINANCE))
        assert created.status_code == 201, created.text
        assert_etag_matches(created)
        assert created.headers["location"] == "/finance/payment-runs/1"
        run = created.json()
        file = client.get("/finance/payment-runs/1/file.csv", headers=auth(FINANCE))
        remittance = remittance_for(file.text, change={3: "399.00"})
        report = client.post("/finance/remittances", content=remittance, headers={**auth(FINANCE), **CSV})
        read_back = client.get("/finance/payment-runs/1", headers=auth(FINANCE)).json()

    assert_money_2dp(run)
    assert (run["reference"], run["status"], run["line_count"], run["total"]) == ("PR-000001", "open", 4, "1800.00")
    assert [line["reference"] for line in run["lines"]] == [f"PR-000001-000{n}" for n in range(1, 5)]
    assert {line["school_name"] for line in run["lines"]} == {"Northmere Primary School"}
    assert file.status_code == 200 and file.headers["content-type"] == "text/csv; charset=utf-8"
    assert file.headers["content-disposition"] == 'attachment; filename="payment-run-PR-000001.csv"'
    assert report.status_code == 200, report.text
    body = report.json()
    assert_money_2dp(body)
    assert (body["lines_read"], body["total_paid"], len(body["paid"])) == (4, "1400.00", 3)
    assert body["reported"] == [
        {"line": 5, "reference": "PR-000001-0004", "reason": "the amount 399.00 is not the 400.00 of the run line"}
    ]
    assert [line["status"] for line in read_back["lines"]] == ["paid", "paid", "paid", "awaiting"]
    assert read_back["paid_count"] == 3 and read_back["status"] == "open"
    paid = sum(app.repository.get(request_id).amount_paid.pence for request_id in (first, second))
    assert paid == 140000


def test_importing_the_same_remittance_again_records_nothing_and_says_already_paid(app):
    world(app)
    with client_for(app) as client:
        client.post("/finance/payment-runs", json={"due_by": SEPTEMBER}, headers=auth(FINANCE))
        remittance = remittance_for(client.get("/finance/payment-runs/1/file.csv", headers=auth(FINANCE)).text)
        client.post("/finance/remittances", content=remittance, headers={**auth(FINANCE), **CSV})
        with writes_nothing(app):
            again = client.post("/finance/remittances", content=remittance, headers={**auth(FINANCE), **CSV})

    assert again.status_code == 200
    assert again.json()["paid"] == [] and again.json()["remittance_id"] is None
    assert {item["reason"] for item in again.json()["reported"]} == {"already paid on 2026-09-07"}


def test_a_retried_run_with_its_idempotency_key_makes_one_run(app):
    world(app)
    headers = {**auth(FINANCE), "Idempotency-Key": "run-september"}
    with client_for(app) as client:
        first = client.post("/finance/payment-runs", json={"due_by": SEPTEMBER}, headers=headers)
        with writes_nothing(app):
            again = client.post("/finance/payment-runs", json={"due_by": SEPTEMBER}, headers=headers)
        without_key = client.post("/finance/payment-runs", json={"due_by": SEPTEMBER}, headers=auth(FINANCE))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert_problem(without_key, 409, "conflict")
    assert "nothing is due by 2026-09-30" in without_key.json()["detail"]


def test_a_retried_remittance_with_its_idempotency_key_gets_the_first_report(app):
    world(app)
    with client_for(app) as client:
        client.post("/finance/payment-runs", json={"due_by": SEPTEMBER}, headers=auth(FINANCE))
        remittance = remittance_for(client.get("/finance/payment-runs/1/file.csv", headers=auth(FINANCE)).text)
        headers = {**auth(FINANCE), **CSV, "Idempotency-Key": "remittance-0907"}
        first = client.post("/finance/remittances", content=remittance, headers=headers)
        with writes_nothing(app):
            again = client.post("/finance/remittances", content=remittance, headers=headers)
            other = client.post("/finance/remittances", content=remittance + b"\n\n", headers=headers)

    assert again.json() == first.json() and len(first.json()["paid"]) == 2
    assert again.headers["idempotent-replayed"] == "true"
    assert_problem(other, 422, "idempotency-key-reused")


def test_a_remittance_that_is_not_a_csv_of_references_amounts_and_dates_is_422_and_writes_nothing(app):
    world(app)
    with client_for(app) as client, writes_nothing(app):
        response = client.post("/finance/remittances", content=b"ref,value\nx,1\n", headers={**auth(FINANCE), **CSV})

    assert_problem(response, 422, "validation-error")
    assert "header with reference,amount,date" in response.json()["detail"]


def test_cancelling_a_run_withdraws_its_lines_and_a_stale_if_match_is_412(app):
    world(app)
    with client_for(app) as client:
        created = client.post("/finance/payment-runs", json={"due_by": SEPTEMBER}, headers=auth(FINANCE)).json()
        with writes_nothing(app):
            stale = client.post(
                "/finance/payment-runs/1/cancel",
                json={"reason": "Never sent."},
                headers={**auth(FINANCE), "If-Match": '"7"'},
            )
        cancelled = client.post(
            "/finance/payment-runs/1/cancel",
            json={"reason": "Never sent."},
            headers={**auth(FINANCE), "If-Match": f'"{created["version"]}"'},
        )
        twice = client.post("/finance/payment-runs/1/cancel", json={"reason": "Again."}, headers=auth(FINANCE))
        due = client.get("/finance/instalments-due", params={"due_by": SEPTEMBER}, headers=auth(FINANCE)).json()

    assert_problem(stale, 412, "precondition-failed")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "Never sent."
    assert {line["status"] for line in cancelled.json()["lines"]} == {"withdrawn"}
    assert_problem(twice, 409, "conflict")
    assert len(due["items"]) == 2


def test_runs_are_listed_newest_first_a_page_at_a_time(app):
    world(app)
    with client_for(app) as client:
        for due_by in ("2026-04-30", SEPTEMBER):
            client.post("/finance/payment-runs", json={"due_by": due_by}, headers=auth(FINANCE))
        first = client.get("/finance/payment-runs", params={"limit": 1}, headers=auth(FINANCE)).json()
        second = client.get(
            "/finance/payment-runs", params={"limit": 1, "cursor": first["next_cursor"]}, headers=auth(FINANCE)
        ).json()

    assert [run["reference"] for run in first["items"]] == ["PR-000002"]
    assert [run["reference"] for run in second["items"]] == ["PR-000001"] and second["next_cursor"] is None
    assert "lines" not in first["items"][0]


@pytest.mark.parametrize("path", ["/finance/payment-runs/1", "/finance/payment-runs/0", "/finance/payment-runs/x1",
                                  "/finance/payment-runs/99/file.csv"])  # fmt: skip
def test_a_run_that_does_not_exist_is_404(app, path):
    with client_for(app) as client:
        assert_problem(client.get(path, headers=auth(FINANCE)), 404, "not-found")


@pytest.mark.parametrize("caller", [COUNCIL, LEAD, HEAD])
def test_no_one_but_finance_reaches_payment_runs(app, caller):
    world(app)
    with client_for(app) as client, writes_nothing(app):
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", "/finance/instalments-due", {}),
            ("POST", "/finance/payment-runs", {"json": {"due_by": SEPTEMBER}}),
            ("GET", "/finance/payment-runs", {}),
            ("POST", "/finance/remittances", {"content": b"reference,amount,date\n"}),
        ]
        for method, path, extra in calls:
            response = client.request(method, path, headers={**auth(caller), **CSV}, **extra)
            assert_problem(response, 403, "forbidden")


def test_the_payments_a_remittance_records_carry_the_line_reference_and_the_remittance_date(app):
    (request_id,) = world(app)
    with client_for(app) as client:
        client.post("/finance/payment-runs", json={"due_by": SEPTEMBER}, headers=auth(FINANCE))
        remittance = remittance_for(client.get("/finance/payment-runs/1/file.csv", headers=auth(FINANCE)).text)
        client.post("/finance/remittances", content=remittance, headers={**auth(FINANCE), **CSV})
        before = log_position(app)
        history = client.get(f"/requests/{request_id}/history", headers=auth(FINANCE)).json()

    assert log_position(app) == before
    payments = [entry for entry in history["items"] if entry["type"] == "PaymentRecorded"]
    assert [(entry["data"]["reference"], entry["data"]["paid_on"]) for entry in payments] == [
        ("PR-000001-0001", "2026-09-07"),
        ("PR-000001-0002", "2026-09-07"),
    ]
