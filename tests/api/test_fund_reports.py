"""The money after a decision over HTTP (issue 13): balances, year-end statements, commitments by age,
and reconciliation's invariants, on SQLite and on PostgreSQL, against the log of every award command."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import STORES, assert_money_2dp, assert_problem, auth, client_for, fresh_store, writes_nothing
from tests.integration.test_transcodings import NEXT_YEAR, run_every_award_command
from tests.support import CLUSTER, COUNCIL, FINANCE, HEAD, LEAD, OTHER_CLUSTER, OTHER_LEAD, YEAR, set_up_world

STATEMENT_FIELDS = {
    "fund", "cluster_id", "financial_year", "closed", "opening_allocation", "allocations", "carried_in", "committed",
    "forward_commitments", "commissioned", "paid", "released", "recovered", "income", "carried_forward",
    "committed_unpaid_at_close", "available", "version",
}  # fmt: skip
AFTER_DECISIONS = ("forward", "released", "recovered", "income", "carried_in", "carried_forward")


@dataclass
class World:
    app: Any
    client: Any

    def get(self, path: str, actor: Any = FINANCE, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=auth(actor))

    def ok(self, path: str, actor: Any = FINANCE, **params: Any) -> dict[str, Any]:
        response = self.get(path, actor, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert_money_2dp(body)
        return body


@pytest.fixture(scope="module", params=STORES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with fresh_store(request.param, tmp_path_factory.mktemp(f"fund-reports-{request.param}")) as make:
        app = make()
        set_up_world(app, budget="5000.00", council_fund="5000.00")
        run_every_award_command(app)
        with client_for(app) as client:
            yield World(app, client)


# -- balances: additive fields -------------------------------------------------------------------------


def test_a_budget_shows_the_money_after_the_decisions_as_2dp_strings(world):
    this_year = world.ok(f"/clusters/{CLUSTER}/budgets/{YEAR}", LEAD)
    next_year = world.ok(f"/clusters/{CLUSTER}/budgets/{NEXT_YEAR}", LEAD)

    assert {name: this_year[name] for name in (*AFTER_DECISIONS, "closed")} == {
        **dict.fromkeys(AFTER_DECISIONS, "0.00"), "recovered": "50.00", "closed": False
    }  # fmt: skip
    assert (this_year["committed"], this_year["paid"], this_year["available"]) == ("475.00", "250.00", "4525.00")
    assert (next_year["released"], next_year["forward"], next_year["committed"]) == ("100.00", "0.00", "275.00")


def test_the_council_fund_shows_its_close_and_its_carry_in(world):
    closed = world.ok(f"/council/budgets/{YEAR}")
    carried_into = world.ok(f"/council/budgets/{NEXT_YEAR}", COUNCIL)

    assert (closed["closed"], closed["carried_forward"], closed["income"], closed["allocated"]) == (
        True, "1000.00", "25.00", "4000.00",
    )  # fmt: skip
    assert (carried_into["closed"], carried_into["carried_in"]) == (False, "1000.00")
    assert carried_into["released"] == "200.00"


def test_balances_totals_add_up_the_new_figures(world):
    body = world.ok("/balances", COUNCIL, financial_year=YEAR)

    assert {name: body["totals"][name] for name in AFTER_DECISIONS} == {
        **dict.fromkeys(AFTER_DECISIONS, "0.00"), "recovered": "50.00"
    }  # fmt: skip
    closed = {item["cluster_id"]: item["closed"] for item in body["items"]}
    assert closed == {OTHER_CLUSTER: True, CLUSTER: False}


# -- year-end statements -----------------------------------------------------------------------------


def test_the_council_funds_statement_of_its_closed_year(world):
    response = world.get(f"/council/budgets/{YEAR}/statement")
    body = response.json()

    assert response.status_code == 200 and set(body) == STATEMENT_FIELDS
    assert_money_2dp(body)
    assert response.headers["etag"] == f'"{body["version"]}"'
    assert {key: body[key] for key in ("fund", "cluster_id", "closed", "opening_allocation", "committed", "paid",
                                       "income", "carried_forward", "committed_unpaid_at_close", "available")} == {
        "fund": "council", "cluster_id": None, "closed": True, "opening_allocation": "5000.00",
        "committed": "999.99", "paid": "333.33", "income": "25.00", "carried_forward": "1000.00",
        "committed_unpaid_at_close": "666.66", "available": "3000.01",
    }  # fmt: skip


def test_a_budgets_statement_for_its_lead(world):
    body = world.ok(f"/clusters/{CLUSTER}/budgets/{NEXT_YEAR}/statement", LEAD)

    assert {key: body[key] for key in ("fund", "cluster_id", "opening_allocation", "committed", "released",
                                       "forward_commitments", "committed_unpaid_at_close", "available")} == {
        "fund": "cluster", "cluster_id": CLUSTER, "opening_allocation": "2000.00", "committed": "375.00",
        "released": "100.00", "forward_commitments": "0.00", "committed_unpaid_at_close": None,
        "available": "1725.00",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("path", "actor", "status", "kind"),
    [
        (f"/clusters/{CLUSTER}/budgets/{YEAR}/statement", OTHER_LEAD, 403, "forbidden"),
        (f"/clusters/{CLUSTER}/budgets/{YEAR}/statement", HEAD, 403, "forbidden"),
        (f"/council/budgets/{YEAR}/statement", LEAD, 403, "forbidden"),
        (f"/clusters/no-such-cluster/budgets/{YEAR}/statement", FINANCE, 404, "not-found"),
        (f"/clusters/{CLUSTER}/budgets/2026-2027/statement", FINANCE, 404, "not-found"),
        ("/council/budgets/26-27/statement", FINANCE, 404, "not-found"),
    ],
)
def test_a_statement_refused_or_not_found_is_a_problem_and_writes_nothing(world, path, actor, status, kind):
    with writes_nothing(world.app):
        assert_problem(world.get(path, actor), status, kind)


# -- commitments by age --------------------------------------------------------------------------------


def test_commitments_by_age_over_http(world):
    body = world.ok("/finance/commitments-by-age", FINANCE, financial_year=YEAR, as_of="2027-08-15")

    assert (body["financial_year"], body["as_of"]) == (YEAR, "2027-08-15")
    assert [(fund["fund"], fund["cluster_id"], fund["unpaid"], fund["held"]) for fund in body["funds"]] == [
        ("council", None, "666.66", "0.00"),
        ("cluster", CLUSTER, "225.00", "225.00"),
    ]
    assert [(band["band"], band["unpaid"], band["awards"]) for band in body["funds"][0]["bands"]] == [
        ("months_0_3", "0.00", 0), ("months_3_6", "0.00", 0), ("months_6_12", "666.66", 1),
        ("months_over_12", "0.00", 0),
    ]  # fmt: skip


def test_a_lead_gets_its_own_clusters_commitments_and_a_school_none(world):
    mine = world.ok("/finance/commitments-by-age", LEAD, financial_year=NEXT_YEAR)

    assert [(fund["fund"], fund["cluster_id"], fund["unpaid"]) for fund in mine["funds"]] == [
        ("cluster", CLUSTER, "275.00")
    ]
    with writes_nothing(world.app):
        assert_problem(world.get("/finance/commitments-by-age", OTHER_LEAD, cluster_id=CLUSTER), 403, "forbidden")
        assert_problem(world.get("/finance/commitments-by-age", HEAD), 403, "forbidden")


@pytest.mark.parametrize(
    "params",
    [{"financial_year": "2026-2027"}, {"cluster_id": "Not A Slug"}, {"as_of": "2027-02-30"}, {"as_of": "soon"}],
)
def test_a_bad_commitments_query_is_422(world, params):
    with writes_nothing(world.app):
        assert_problem(world.get("/finance/commitments-by-age", COUNCIL, **params), 422, "validation-error")


# -- reconciliation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [YEAR, NEXT_YEAR])
def test_reconciliation_reports_the_awards_invariants(world, year):
    body = world.ok("/finance/reconciliation", FINANCE, financial_year=year)

    assert body["consistent"] is True
    assert [(check["holds"], check["failing"], check["first_failures"]) for check in body["invariants"]] == [
        (True, 0, []),
        (True, 0, []),
    ]
    assert body["invariants_position"] == world.app.recorder.max_notification_id()
    assert [entry["name"] for entry in body["read_models"]][-3:] == ["awards", "awards_instalments", "awards_requests"]
