"""The award endpoints (issue 13) over HTTP, on both stores: an approval's period, schedule and held
instalments; payments against instalments; holds, releases, recoveries and their receipts; closing a
cluster's budget or the council fund for a year.

Money on the funds is checked on the fund aggregates themselves: what a release or a receipt gives
back is on the budget in the same save as the request's event.
"""

from __future__ import annotations

from typing import Any

import pytest

from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.values import ClusterId, FinancialYear
from funding_engine.application import FundingApplication
from tests.api.conftest import (
    APPROVE_BODY,
    Http,
    assert_etag_matches,
    assert_money_2dp,
    assert_problem,
    auth,
    writes_nothing,
)
from tests.support import CLUSTER, COUNCIL, FINANCE, HEAD, LEAD, OTHER_CLUSTER, YEAR

NEXT_YEAR = "2027-28"
ACADEMIC_YEAR = {"starts_on": "2026-09-01", "ends_on": "2027-08-31"}
HOLD_FIRST = [{"number": 1, "condition": "a reviewed provision plan"}]
RELEASE = {"reason_code": "pupil_left", "note": "Moved out of county."}
RECOVERY = {"financial_year": YEAR, "amount": "50.00", "reason_code": "overpayment", "note": "A week not used."}


def budget(app: FundingApplication, year: str = YEAR, cluster: str = CLUSTER) -> Fund:
    fund: Fund = app.repository.get(ClusterBudget.id_for(ClusterId(cluster), FinancialYear.parse(year)))
    return fund


def council_fund(app: FundingApplication, year: str = YEAR) -> Fund:
    fund: Fund = app.repository.get(CouncilFund.id_for(FinancialYear.parse(year)))
    return fund


def awarded(http: Http, amount: str = "900.00", **award: Any) -> dict[str, Any]:
    """An evidenced request approved by the lead for ``amount``, on the award fields given."""
    request = http.evidenced()
    return http.ok("POST", f"/requests/{request['id']}/approve", LEAD, {**APPROVE_BODY, "amount": amount, **award})


def instalments(request: dict[str, Any], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(instalment[field] for field in fields) for instalment in request["award"]["instalments"]]


def post(http: Http, path: str, actor: Any, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    return http.client.post(path, json=body, headers={**auth(actor), **(headers or {})})


# -- approvals ------------------------------------------------------------------------------------------


def test_an_approval_with_no_award_fields_is_paid_termly_over_the_requests_financial_year(world, http):
    request = awarded(http, "1000.00")
    award = request["award"]
    assert award["period"] == {"starts_on": "2026-04-01", "ends_on": "2027-03-31"}
    assert award["schedule"] == "termly"
    # Summer 5/12, autumn 4/12, spring 3/12, each rounded down but the last.
    assert instalments(request, "number", "due_on", "financial_year", "amount", "held_until") == [
        (1, "2026-04-01", YEAR, "416.66", None),
        (2, "2026-09-01", YEAR, "333.33", None),
        (3, "2027-01-01", YEAR, "250.01", None),
    ]
    assert award["totals"] == {
        "approved": "1000.00", "paid_out": "0.00", "paid": "0.00", "released": "0.00", "recovered": "0.00",
        "held": "0.00", "scheduled_unpaid": "1000.00", "committed": "1000.00",
    }  # fmt: skip
    assert award["recoveries"] == []
    assert request["amount_released"] == "0.00"
    assert_money_2dp(request)
    assert http.request(request["id"])["award"] == award


def test_an_academic_year_award_commits_each_financial_years_share_on_its_budget(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR, schedule="termly", held_instalments=HOLD_FIRST)
    assert request["award"]["period"] == ACADEMIC_YEAR
    assert instalments(request, "due_on", "financial_year", "amount", "unpaid", "held_until") == [
        ("2026-09-01", YEAR, "300.00", "300.00", "a reviewed provision plan"),
        ("2027-01-01", YEAR, "225.00", "225.00", None),
        ("2027-04-01", NEXT_YEAR, "375.00", "375.00", None),
    ]
    assert request["award"]["totals"]["held"] == "300.00"
    assert request["award"]["totals"]["scheduled_unpaid"] == "600.00"
    assert budget(world).committed.pence == 525_00
    # The next year has no allocation yet: its share is committed ahead of it.
    assert budget(world, NEXT_YEAR).forward.pence == 375_00


def test_a_monthly_award_pays_each_month_pro_rata(world, http):
    request = awarded(
        http, "400.00", award_period={"starts_on": "2026-09-01", "ends_on": "2026-12-31"}, schedule="monthly"
    )
    assert instalments(request, "due_on", "amount") == [
        ("2026-09-01", "100.00"), ("2026-10-01", "100.00"), ("2026-11-01", "100.00"), ("2026-12-01", "100.00"),
    ]  # fmt: skip


def test_a_single_award_is_one_instalment_on_its_first_day(world, http):
    request = awarded(
        http, "750.00", award_period={"starts_on": "2026-10-15", "ends_on": "2027-03-31"}, schedule="single"
    )
    assert instalments(request, "number", "due_on", "amount") == [(1, "2026-10-15", "750.00")]


def test_the_council_approves_with_an_award_of_its_own(world, http):
    escalated = http.escalated(amount_requested="6000.00")
    body = {
        "decision": "approve",
        "reason": "Exceptional.",
        "award_period": {"starts_on": "2027-01-01", "ends_on": "2027-06-30"},
        "schedule": "monthly",
        "held_instalments": [{"number": 2, "condition": "the February review"}],
    }
    request = http.ok("POST", f"/requests/{escalated['id']}/council-decision", COUNCIL, body)
    assert request["status"] == "council_approved"
    rows = instalments(request, "due_on", "financial_year", "held_until")
    assert [row[0] for row in rows] == [f"2027-{month:02d}-01" for month in range(1, 7)]
    assert [row[1] for row in rows] == [YEAR] * 3 + [NEXT_YEAR] * 3
    assert [row[2] for row in rows] == [None, "the February review", None, None, None, None]
    assert request["award"]["totals"]["approved"] == "1000.00"
    assert council_fund(world).committed.pence + council_fund(world, NEXT_YEAR).forward.pence == 1000_00


def test_an_award_running_into_a_closed_year_is_refused_and_writes_nothing(world, http):
    http.ok("POST", f"/clusters/{CLUSTER}/budgets/{NEXT_YEAR}/close", FINANCE)
    request = http.evidenced()
    with writes_nothing(world):
        response = post(
            http, f"/requests/{request['id']}/approve", LEAD, {**APPROVE_BODY, "award_period": ACADEMIC_YEAR}
        )
    assert_problem(response, 409, "conflict")
    assert "closed" in response.json()["detail"]


# -- payments against instalments -------------------------------------------------------------------------


def test_a_payment_pays_the_instalment_it_names_on_the_day_given(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR)
    paid = http.ok(
        "POST",
        f"/requests/{request['id']}/payments",
        FINANCE,
        {"amount": "200.00", "reference": "BACS-1", "instalment": 2, "paid_on": "2027-01-04"},
        201,
    )
    assert instalments(paid, "paid", "unpaid") == [("0.00", "300.00"), ("200.00", "25.00"), ("0.00", "375.00")]
    assert paid["amount_paid"] == "200.00"
    history = http.ok("GET", f"/requests/{request['id']}/history", FINANCE)["items"]
    payment = history[-1]
    assert payment["type"] == "PaymentRecorded"
    assert payment["data"]["instalments"] == [{"number": 2, "amount": "200.00"}]
    assert payment["data"]["paid_on"] == "2027-01-04"


def test_a_payment_naming_no_instalment_pays_the_unheld_ones_in_order(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR, held_instalments=HOLD_FIRST)
    paid = http.ok(
        "POST", f"/requests/{request['id']}/payments", FINANCE, {"amount": "200.00", "reference": "BACS-2"}, 201
    )
    assert instalments(paid, "paid") == [("0.00",), ("200.00",), ("0.00",)]
    assert budget(world).paid.pence == 200_00


def test_next_years_share_is_paid_only_once_an_allocation_covers_it(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR)
    body = {"amount": "375.00", "reference": "BACS-5", "instalment": 3}
    with writes_nothing(world):
        response = post(http, f"/requests/{request['id']}/payments", FINANCE, body)
    assert_problem(response, 409, "conflict")
    http.ok("POST", f"/clusters/{CLUSTER}/budgets/{NEXT_YEAR}/allocations", FINANCE, {"amount": "1000.00"}, 201)
    paid = http.ok("POST", f"/requests/{request['id']}/payments", FINANCE, body, 201)
    assert instalments(paid, "paid")[2] == ("375.00",)
    assert (budget(world, NEXT_YEAR).forward.pence, budget(world, NEXT_YEAR).paid.pence) == (0, 375_00)


def test_a_held_instalment_cannot_be_paid(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR, held_instalments=HOLD_FIRST)
    body = {"amount": "1.00", "reference": "BACS-3", "instalment": 1}
    with writes_nothing(world):
        response = post(http, f"/requests/{request['id']}/payments", FINANCE, body)
    assert_problem(response, 409, "conflict")
    assert "held" in response.json()["detail"]


def test_a_payment_over_what_the_instalment_has_unpaid_is_409(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR)
    body = {"amount": "300.01", "reference": "BACS-4", "instalment": 1}
    with writes_nothing(world):
        response = post(http, f"/requests/{request['id']}/payments", FINANCE, body)
    assert_problem(response, 409, "conflict")


# -- holds -------------------------------------------------------------------------------------------------


def test_the_lead_holds_an_instalment_and_lifts_the_hold(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR)
    path = f"/requests/{request['id']}/instalments/2"
    held = http.ok("POST", f"{path}/hold", LEAD, {"condition": "the spring review"})
    assert instalments(held, "held_until")[1] == ("the spring review",)
    assert held["award"]["totals"]["held"] == "225.00"
    assert held["version"] == request["version"] + 1
    lifted = http.ok("POST", f"{path}/lift-hold", LEAD, {"note": "Reviewed in February."})
    assert instalments(lifted, "held_until")[1] == (None,)
    assert lifted["award"]["totals"]["held"] == "0.00"
    http.ok("POST", f"{path}/hold", LEAD, {"condition": "another review"})
    # The note is optional, and so is the body.
    assert instalments(http.ok("POST", f"{path}/lift-hold", LEAD), "held_until")[1] == (None,)


@pytest.mark.parametrize(
    ("action", "body"),
    [("hold", {"condition": "twice"}), ("lift-hold", {"note": ""})],
    ids=["holding a held instalment", "lifting a hold not there"],
)
def test_holding_twice_or_lifting_a_hold_not_there_is_409(world, http, action, body):
    request = awarded(http, award_period=ACADEMIC_YEAR, held_instalments=HOLD_FIRST)
    number = 1 if action == "hold" else 2
    with writes_nothing(world):
        response = post(http, f"/requests/{request['id']}/instalments/{number}/{action}", LEAD, body)
    assert_problem(response, 409, "conflict")


def test_an_instalment_paid_in_full_cannot_be_held(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR)
    http.ok(
        "POST",
        f"/requests/{request['id']}/payments",
        FINANCE,
        {"amount": "300.00", "reference": "B", "instalment": 1},
        201,
    )
    with writes_nothing(world):
        response = post(http, f"/requests/{request['id']}/instalments/1/hold", LEAD, {"condition": "late"})
    assert_problem(response, 409, "conflict")


def test_holding_an_instalment_of_a_request_not_yet_approved_is_409(world, http):
    request = http.evidenced()
    with writes_nothing(world):
        response = post(http, f"/requests/{request['id']}/instalments/1/hold", LEAD, {"condition": "a plan"})
    assert_problem(response, 409, "conflict")


@pytest.mark.parametrize(
    ("path", "actor", "body"),
    [
        ("instalments/4/hold", LEAD, {"condition": "x"}),
        ("instalments/4/lift-hold", LEAD, None),
        ("instalments/0/hold", LEAD, {"condition": "x"}),
        ("instalments/01/hold", LEAD, {"condition": "x"}),
        ("instalments/one/hold", LEAD, {"condition": "x"}),
        ("instalments/-1/hold", LEAD, {"condition": "x"}),
        ("instalments/99999999999999999999/hold", LEAD, {"condition": "x"}),
        ("recoveries/1/receipts", FINANCE, {"amount": "1.00", "reference": "R"}),
        ("recoveries/x/receipts", FINANCE, {"amount": "1.00", "reference": "R"}),
    ],
)
def test_an_instalment_or_recovery_the_award_lacks_is_404(world, http, path, actor, body):
    request = awarded(http, award_period=ACADEMIC_YEAR)
    with writes_nothing(world):
        response = post(http, f"/requests/{request['id']}/{path}", actor, body)
    assert_problem(response, 404, "not-found")


def test_the_council_manages_its_own_awards_and_the_lead_does_not(world, http):
    escalated = http.escalated(amount_requested="6000.00")
    http.ok("POST", f"/requests/{escalated['id']}/council-decision", COUNCIL, {"decision": "approve", "reason": "Yes."})
    path = f"/requests/{escalated['id']}"
    with writes_nothing(world):
        assert_problem(post(http, f"{path}/instalments/1/hold", LEAD, {"condition": "x"}), 403, "forbidden")
        assert_problem(post(http, f"{path}/release", LEAD, RELEASE), 403, "forbidden")
    held = http.ok("POST", f"{path}/instalments/1/hold", COUNCIL, {"condition": "a reviewed plan"})
    assert held["award"]["totals"]["held"] != "0.00"
    released = http.ok("POST", f"{path}/release", COUNCIL, RELEASE)
    assert released["status"] == "released"
    assert council_fund(world).committed.pence == 0


# -- releases --------------------------------------------------------------------------------------------


def test_a_release_gives_what_is_unpaid_back_to_the_budgets_it_was_committed_on(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR)
    http.ok(
        "POST",
        f"/requests/{request['id']}/payments",
        FINANCE,
        {"amount": "300.00", "reference": "B", "instalment": 1},
        201,
    )
    released = http.ok("POST", f"/requests/{request['id']}/release", LEAD, RELEASE)
    assert released["status"] == "released"
    assert released["amount_released"] == "600.00"
    assert instalments(released, "released", "unpaid") == [("0.00", "0.00"), ("225.00", "0.00"), ("375.00", "0.00")]
    totals = released["award"]["totals"]
    assert (totals["committed"], totals["paid"], totals["scheduled_unpaid"], totals["held"]) == (
        "300.00", "300.00", "0.00", "0.00",
    )  # fmt: skip
    this_year, next_year = budget(world), budget(world, NEXT_YEAR)
    assert (this_year.committed.pence, this_year.available.pence) == (300_00, 4700_00)
    assert (next_year.forward.pence, next_year.released.pence) == (0, 375_00)
    row = http.ok("GET", f"/requests?cluster_id={CLUSTER}&status=released", LEAD)["items"]
    assert [(item["id"], item["amount_released"]) for item in row] == [(request["id"], "600.00")]


def test_a_partial_release_takes_from_the_last_instalment_back(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR)
    released = http.ok("POST", f"/requests/{request['id']}/release", LEAD, {**RELEASE, "amount": "400.00"})
    assert released["status"] == "cluster_approved"
    assert instalments(released, "released") == [("0.00",), ("25.00",), ("375.00",)]
    assert budget(world).available.pence == 5000_00 - 500_00


@pytest.mark.parametrize("paid", ["0.00", "900.00"], ids=["more than is unpaid", "nothing unpaid"])
def test_releasing_more_than_is_unpaid_is_409(world, http, paid):
    request = awarded(http, "900.00")
    if paid != "0.00":
        http.ok("POST", f"/requests/{request['id']}/payments", FINANCE, {"amount": paid, "reference": "B"}, 201)
    with writes_nothing(world):
        response = post(http, f"/requests/{request['id']}/release", LEAD, {**RELEASE, "amount": "900.01"})
    assert_problem(response, 409, "conflict")


# -- recoveries --------------------------------------------------------------------------------------------


def paid_award(http: Http, amount: str = "500.00") -> dict[str, Any]:
    request = awarded(http, "1000.00")
    http.ok("POST", f"/requests/{request['id']}/payments", FINANCE, {"amount": amount, "reference": "BACS-P"}, 201)
    return request


def test_finance_raises_a_recovery_and_records_what_comes_in(world, http):
    request = paid_award(http)
    raised = http.ok("POST", f"/requests/{request['id']}/recoveries", FINANCE, RECOVERY, 201)
    assert raised["award"]["recoveries"] == [
        {"number": 1, "financial_year": YEAR, "amount": "50.00", "reason_code": "overpayment",
         "note": "A week not used.", "received": "0.00", "outstanding": "50.00"},
    ]  # fmt: skip
    assert budget(world).available.pence == 4000_00  # raising one moves nothing
    path = f"/requests/{request['id']}/recoveries/1/receipts"
    receipt = {"amount": "30.00", "reference": "REMIT-1", "received_on": "2026-10-01"}
    received = http.ok("POST", path, FINANCE, receipt, 201)
    assert received["award"]["recoveries"][0]["outstanding"] == "20.00"
    totals = received["award"]["totals"]
    assert (totals["recovered"], totals["paid"], totals["paid_out"], totals["committed"]) == (
        "30.00", "470.00", "500.00", "970.00",
    )  # fmt: skip
    fund = budget(world)
    assert (fund.recovered.pence, fund.available.pence, fund.paid.pence) == (30_00, 4030_00, 470_00)
    received_rest = http.ok("POST", path, FINANCE, {"amount": "20.00", "reference": "REMIT-2"}, 201)
    assert received_rest["award"]["recoveries"][0]["outstanding"] == "0.00"
    history = http.ok("GET", f"/requests/{request['id']}/history", FINANCE)["items"]
    assert [item["type"] for item in history[-3:]] == ["RecoveryRaised", "RecoveryReceived", "RecoveryReceived"]
    assert history[-2]["data"]["received_on"] == "2026-10-01"


@pytest.mark.parametrize(
    "body",
    [{**RECOVERY, "amount": "500.01"}, {**RECOVERY, "financial_year": NEXT_YEAR}],
    ids=["more than was paid", "a year nothing was paid for"],
)
def test_a_recovery_over_what_was_paid_for_the_year_is_409(world, http, body):
    request = paid_award(http)
    with writes_nothing(world):
        response = post(http, f"/requests/{request['id']}/recoveries", FINANCE, body)
    assert_problem(response, 409, "conflict")


def test_a_receipt_over_what_is_still_to_come_in_is_409(world, http):
    request = paid_award(http)
    http.ok("POST", f"/requests/{request['id']}/recoveries", FINANCE, RECOVERY, 201)
    with writes_nothing(world):
        response = post(
            http, f"/requests/{request['id']}/recoveries/1/receipts", FINANCE, {"amount": "50.01", "reference": "R"}
        )
    assert_problem(response, 409, "conflict")


def test_a_recovery_from_a_paid_request_received_after_its_year_closed_is_that_years_income(world, http):
    request = paid_award(http, "1000.00")
    assert http.request(request["id"])["status"] == "paid"
    http.ok("POST", f"/requests/{request['id']}/recoveries", FINANCE, RECOVERY, 201)
    http.ok("POST", f"/clusters/{CLUSTER}/budgets/{YEAR}/close", FINANCE)
    available = budget(world).available
    http.ok(
        "POST", f"/requests/{request['id']}/recoveries/1/receipts", FINANCE, {"amount": "50.00", "reference": "R"}, 201
    )
    fund = budget(world)
    assert (fund.income.pence, fund.available) == (50_00, available)


# -- closing a year ----------------------------------------------------------------------------------------


def test_finance_closes_a_clusters_year_carrying_money_forward(world, http, client):
    http.approved("1000.00")
    response = post(http, f"/clusters/{CLUSTER}/budgets/{YEAR}/close", FINANCE, {"carry_forward": "1500.00"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "cluster_id": CLUSTER, "financial_year": YEAR, "closed": True, "committed_unpaid": "1000.00",
        "released": "0.00", "available_before": "4000.00", "carried_forward": "1500.00", "carried_to": NEXT_YEAR,
        "available": "2500.00", "version": budget(world).version,
    }  # fmt: skip
    assert_etag_matches(response)
    assert budget(world, NEXT_YEAR).allocated.pence == 1500_00
    with writes_nothing(world):
        again = post(http, f"/clusters/{CLUSTER}/budgets/{YEAR}/close", FINANCE)
        allocation = post(http, f"/clusters/{CLUSTER}/budgets/{YEAR}/allocations", FINANCE, {"amount": "1.00"})
        submission = client.post("/requests", json=_submission(), headers=auth(HEAD))
    for refused in (again, allocation, submission):
        assert_problem(refused, 409, "conflict")


def _submission() -> dict[str, Any]:
    from tests.support import submission

    return submission()


def test_a_close_with_requests_waiting_on_the_year_is_409_naming_them(world, http):
    waiting = {http.submit()["id"], http.evidenced()["id"]}
    http.approved()  # not waiting: approved
    with writes_nothing(world):
        response = post(http, f"/clusters/{CLUSTER}/budgets/{YEAR}/close", FINANCE, {"carry_forward": "1.00"})
    body = assert_problem(response, 409, "conflict")
    assert set(body["request_ids"]) == waiting
    assert all(request_id in body["detail"] for request_id in waiting)
    # Another cluster's year waits on nothing of this cluster's.
    http.ok("POST", f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/close", FINANCE)


def test_the_council_fund_waits_only_on_requests_escalated_to_it(world, http):
    http.submit()
    escalated = http.escalated(amount_requested="6000.00")
    with writes_nothing(world):
        response = post(http, f"/council/budgets/{YEAR}/close", FINANCE)
    assert assert_problem(response, 409, "conflict")["request_ids"] == [escalated["id"]]
    http.ok("POST", f"/requests/{escalated['id']}/council-decision", COUNCIL, {"decision": "decline", "reason": "No."})
    closed = http.ok("POST", f"/council/budgets/{YEAR}/close", FINANCE, {"carry_forward": "2000.00"})
    assert (closed["cluster_id"], closed["carried_to"], closed["available"]) == (None, NEXT_YEAR, "18000.00")
    assert council_fund(world, NEXT_YEAR).allocated.pence == 2000_00


def test_carrying_forward_more_than_is_available_is_422(world, http):
    with writes_nothing(world):
        response = post(http, f"/clusters/{CLUSTER}/budgets/{YEAR}/close", FINANCE, {"carry_forward": "5000.01"})
    assert_problem(response, 422, "validation-error")


def test_a_year_with_money_committed_ahead_of_its_allocation_cannot_close(world, http):
    awarded(http, award_period=ACADEMIC_YEAR)  # 375.00 committed ahead on next year's empty budget
    with writes_nothing(world):
        response = post(http, f"/clusters/{CLUSTER}/budgets/{NEXT_YEAR}/close", FINANCE)
    assert_problem(response, 409, "insufficient-funds")


@pytest.mark.parametrize(
    "path",
    [
        f"/clusters/no-such-cluster/budgets/{YEAR}/close",
        f"/clusters/{CLUSTER}/budgets/2026-28/close",
        f"/clusters/{CLUSTER}/budgets/twenty/close",
        "/council/budgets/2026/close",
    ],
)
def test_closing_a_cluster_or_year_that_does_not_exist_is_404(world, http, path):
    with writes_nothing(world):
        assert_problem(post(http, path, FINANCE), 404, "not-found")


# -- If-Match and Idempotency-Key ----------------------------------------------------------------------------


def award_commands(http: Http) -> list[tuple[str, Any, Any, int]]:
    """(path, actor, body, success status) for each award command, each ready to run."""
    held = awarded(http, award_period=ACADEMIC_YEAR, held_instalments=HOLD_FIRST)
    recovering = paid_award(http)
    http.ok("POST", f"/requests/{recovering['id']}/recoveries", FINANCE, RECOVERY, 201)
    to_hold, to_release, to_pay, to_recover = (awarded(http, "100.00") for _ in range(4))
    http.ok("POST", f"/requests/{to_recover['id']}/payments", FINANCE, {"amount": "100.00", "reference": "B"}, 201)
    return [
        (f"/requests/{to_hold['id']}/instalments/1/hold", LEAD, {"condition": "a plan"}, 200),
        (f"/requests/{held['id']}/instalments/1/lift-hold", LEAD, {"note": "seen"}, 200),
        (f"/requests/{to_release['id']}/release", LEAD, RELEASE, 200),
        (f"/requests/{to_pay['id']}/payments", FINANCE, {"amount": "1.00", "reference": "R", "instalment": 2}, 201),
        (f"/requests/{to_recover['id']}/recoveries", FINANCE, RECOVERY, 201),
        (f"/requests/{recovering['id']}/recoveries/1/receipts", FINANCE, {"amount": "5.00", "reference": "R"}, 201),
        (f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/close", FINANCE, None, 200),
        (f"/council/budgets/{NEXT_YEAR}/close", FINANCE, None, 200),
    ]


def version_now(world: FundingApplication, http: Http, path: str) -> int:
    if path.startswith("/requests/"):
        return int(http.request(path.split("/")[2])["version"])
    if path.startswith("/council/"):
        return council_fund(world, NEXT_YEAR).version
    return budget(world, YEAR, OTHER_CLUSTER).version


def test_every_award_command_honours_if_match(world, http):
    # Budgets closed here exist first, so that they have a version to match.
    http.ok("POST", f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/allocations", FINANCE, {"amount": "1.00"}, 201)
    http.ok("POST", f"/council/budgets/{NEXT_YEAR}/allocations", FINANCE, {"amount": "1.00"}, 201)
    for path, actor, body, status in award_commands(http):
        version = version_now(world, http, path)
        with writes_nothing(world):
            stale = post(http, path, actor, body, {"If-Match": f'"{version - 1}"'})
        assert_problem(stale, 412, "precondition-failed")
        fresh = post(http, path, actor, body, {"If-Match": f'"{version}"'})
        assert fresh.status_code == status, (path, fresh.text)
        assert fresh.json()["version"] > version
        assert_etag_matches(fresh)
        assert_money_2dp(fresh.json())


@pytest.mark.parametrize("command", ["release", "payment", "receipt", "close"])
def test_a_repeat_with_the_same_idempotency_key_moves_money_once(world, http, command):
    request = paid_award(http, "400.00")
    http.ok("POST", f"/requests/{request['id']}/recoveries", FINANCE, RECOVERY, 201)
    path, actor, body = {
        "release": (f"/requests/{request['id']}/release", LEAD, {**RELEASE, "amount": "100.00"}),
        "payment": (
            f"/requests/{request['id']}/payments",
            FINANCE,
            {"amount": "16.66", "reference": "R", "instalment": 1},
        ),
        "receipt": (f"/requests/{request['id']}/recoveries/1/receipts", FINANCE, {"amount": "10.00", "reference": "R"}),
        "close": (f"/clusters/{OTHER_CLUSTER}/budgets/{YEAR}/close", FINANCE, {"carry_forward": "0.00"}),
    }[command]
    headers = {"Idempotency-Key": f"award-{command}"}
    first = post(http, path, actor, body, headers)
    assert first.status_code in (200, 201), first.text
    with writes_nothing(world):
        again = post(http, path, actor, body, headers)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["idempotent-replayed"] == "true"


# -- the request's history ---------------------------------------------------------------------------------


def test_a_request_has_no_award_until_it_is_approved(world, http):
    request = http.evidenced()
    assert (request["award"], request["amount_released"]) == (None, "0.00")
    listed = http.ok("GET", f"/requests?cluster_id={CLUSTER}", LEAD)["items"]
    assert [(item["id"], item["amount_released"]) for item in listed] == [(request["id"], "0.00")]


def test_the_history_shows_the_award_and_every_award_event_as_json(world, http):
    request = awarded(http, award_period=ACADEMIC_YEAR, held_instalments=HOLD_FIRST)
    path = f"/requests/{request['id']}"
    http.ok("POST", f"{path}/instalments/1/lift-hold", LEAD, {"note": "Reviewed."})
    http.ok("POST", f"{path}/instalments/2/hold", LEAD, {"condition": "the spring review"})
    http.ok("POST", f"{path}/payments", FINANCE, {"amount": "300.00", "reference": "B", "paid_on": "2026-09-07"}, 201)
    http.ok("POST", f"{path}/release", LEAD, {**RELEASE, "amount": "100.00"})
    http.ok("POST", f"{path}/recoveries", FINANCE, RECOVERY, 201)
    http.ok("POST", f"{path}/recoveries/1/receipts", FINANCE, {"amount": "50.00", "reference": "R-1"}, 201)

    items = http.ok("GET", f"{path}/history", HEAD)["items"]
    assert [item["type"] for item in items[2:]] == [
        "ClusterApproved", "InstalmentHoldLifted", "InstalmentHeld", "PaymentRecorded", "AwardReleased",
        "RecoveryRaised", "RecoveryReceived",
    ]  # fmt: skip
    award = items[2]["data"]["award"]
    assert award["period"] == ACADEMIC_YEAR and award["schedule"] == "termly" and award["recoveries"] == []
    assert award["instalments"][0] == {
        "number": 1, "due_on": "2026-09-01", "financial_year": YEAR, "amount": "300.00", "paid": "0.00",
        "released": "0.00", "held_until": "a reviewed provision plan",
    }  # fmt: skip
    data = [item["data"] for item in items[3:]]
    assert data[0] == {"number": 1, "note": "Reviewed."}
    assert data[1] == {"number": 2, "condition": "the spring review"}
    assert data[2]["instalments"] == [{"number": 1, "amount": "300.00"}] and data[2]["paid_on"] == "2026-09-07"
    assert data[3] == {**RELEASE, "amount": "100.00", "instalments": [{"number": 3, "amount": "100.00"}]}
    assert data[4] == {**RECOVERY, "number": 1}
    assert data[5]["number"] == 1 and data[5]["amount"] == "50.00"
    roles = [item["actor"]["role"] for item in items[3:]]
    assert roles == ["cluster_lead", "cluster_lead", "finance", "cluster_lead", "finance", "finance"]
    assert_money_2dp(items)
