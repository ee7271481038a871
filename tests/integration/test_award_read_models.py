"""The read side of the money after a decision (issue 13), on SQLite and on PostgreSQL.

One log per store holds every award command (``run_every_award_command``): an award of 900.00 across
two financial years, committed ahead on the next year's empty budget and then covered, held, paid,
released and recovered; a council award of 2000.00, released in part and paid; the council fund's
year closed with 1000.00 carried forward, and a recovery received after the close, as income. The
balances, the ledger, the awards, the statements and the commitments by age are read back from it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.errors import NotFound, NotPermitted
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from projections.engine import Projector
from projections.read_models import read_models
from projections.read_models.awards import AWARDS_COLUMNS
from tests.conftest import STORES
from tests.integration.test_read_model_properties import (
    fresh_store,
    notification_source,
    separate_read_model_database,
)
from tests.integration.test_transcodings import NEXT_YEAR, run_every_award_command
from tests.support import (
    CLUSTER,
    COUNCIL,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    OTHER_LEAD,
    YEAR,
    evidenced_request,
    set_up_world,
)

APPROVAL_REASON = "Spend evidence shows the school's own SEN funding is fully used."


@dataclass
class MoneyYear:
    app: FundingApplication
    url: str
    spanning: UUID  # the lead's award of 900.00 across both years
    council: UUID  # the council's award of 2000.00, January to June 2027


def build_money_year(app: FundingApplication, url: str) -> MoneyYear:
    set_up_world(app, budget="5000.00", council_fund="5000.00")
    spanning = run_every_award_command(app)
    (council,) = app.read_models.list_requests(FINANCE, status="council_approved").items
    return MoneyYear(app, url, spanning, UUID(council.request_id))


@pytest.fixture(scope="module", params=STORES)
def money_year(request: pytest.FixtureRequest) -> Iterator[MoneyYear]:
    """The log of every award command, per store, for tests that only read it."""
    with fresh_store(request.param) as url:
        app = bootstrap(Settings(database_url=url))
        try:
            yield build_money_year(app, url)
        finally:
            app.close()


def ledger(app: FundingApplication, year: str) -> list[dict[str, Any]]:
    buffer = io.StringIO()
    app.read_models.write_ledger_csv(FINANCE, year, buffer)
    return list(csv.DictReader(io.StringIO(buffer.getvalue())))


def after(row: Any) -> dict[str, Any]:
    return {**row.after.money(), "closed": row.after.closed}


def nothing_after(**figures: Any) -> dict[str, Any]:
    return {**dict.fromkeys(("forward", "released", "recovered", "income", "carried_in", "carried_forward",
                             "unpaid_at_close"), 0), "closed": False, **figures}  # fmt: skip


# ================================================================================================
# Balances
# ================================================================================================


def test_a_recovery_received_while_open_comes_off_committed_and_paid_and_shows_as_recovered(money_year):
    row = money_year.app.read_models.balance(LEAD, CLUSTER, YEAR)

    assert (row.figures.committed, row.figures.paid, row.figures.available) == (47500, 25000, 452500)
    assert after(row) == nothing_after(recovered=5000)


def test_a_release_on_the_next_year_comes_off_its_committed_and_shows_as_released(money_year):
    row = money_year.app.read_models.balance(FINANCE, CLUSTER, NEXT_YEAR)

    assert (row.figures.allocated, row.figures.committed, row.figures.available) == (200000, 27500, 172500)
    assert after(row) == nothing_after(released=10000)


def test_a_closed_year_shows_what_it_carried_forward_was_unpaid_and_came_in_as_income(money_year):
    fund = money_year.app.read_models.council_fund_balance(FINANCE, YEAR)

    assert (fund.figures.allocated, fund.figures.committed, fund.figures.paid) == (400000, 99999, 33333)
    assert fund.figures.available == 300001
    assert after(fund) == nothing_after(income=2500, carried_forward=100000, unpaid_at_close=66666, closed=True)


def test_the_next_year_shows_what_was_carried_in(money_year):
    fund = money_year.app.read_models.council_fund_balance(COUNCIL, NEXT_YEAR)

    assert (fund.figures.allocated, fund.figures.committed, fund.figures.available) == (100000, 80001, 19999)
    assert after(fund) == nothing_after(carried_in=100000, released=20000)


def test_a_budget_closed_with_nothing_in_it_is_closed(money_year):
    row = money_year.app.read_models.balance(FINANCE, OTHER_CLUSTER, YEAR)

    assert after(row) == nothing_after(closed=True)


def test_the_totals_add_up_the_money_after_the_decisions(money_year):
    _, totals = money_year.app.read_models.balances(FINANCE, YEAR)
    _, next_totals = money_year.app.read_models.balances(FINANCE, NEXT_YEAR)

    # One budget of the year is closed, the other not: the year's budgets are not all closed.
    assert after(totals) == nothing_after(recovered=5000)
    assert after(next_totals) == nothing_after(released=10000)


def test_a_forward_commitment_shows_on_the_next_year_until_an_allocation_covers_it(app):
    set_up_world(app, budget="5000.00")
    request = evidenced_request(app, amount_requested="1200.00")
    period = {"starts_on": "2026-09-01", "ends_on": "2027-08-31"}
    app.approve(LEAD, request.id, "1200.00", APPROVAL_REASON, award_period=period, schedule="termly")
    ahead = app.read_models.balance(LEAD, CLUSTER, NEXT_YEAR)
    app.allocate_budget(FINANCE, CLUSTER, NEXT_YEAR, "300.00", "a first allocation")
    covered_in_part = app.read_models.balance(LEAD, CLUSTER, NEXT_YEAR)

    # Autumn and spring (4/12 and 3/12) fall in this year, summer (5/12) in the next.
    assert (ahead.figures.committed, ahead.after.forward, ahead.figures.available) == (0, 50000, 0)
    assert (covered_in_part.figures.committed, covered_in_part.after.forward) == (30000, 20000)
    assert covered_in_part.figures.available == 0
    assert app.read_models.balance(LEAD, CLUSTER, YEAR).figures.committed == 70000


# ================================================================================================
# The finance ledger
# ================================================================================================


def movements(rows: list[dict[str, Any]], fund: str, cluster_id: str = "") -> list[tuple[str, str, str, str]]:
    return [
        (row["movement"], row["amount"], row["available_after"], row["paid_after"])
        for row in rows
        if row["fund"] == fund and row["cluster_id"] == cluster_id
    ]


def test_the_ledger_shows_the_recovery_with_the_balances_after_it(money_year):
    rows = ledger(money_year.app, YEAR)

    assert movements(rows, "cluster", CLUSTER) == [
        ("allocation", "5000.00", "5000.00", "0.00"),
        ("commitment", "525.00", "4475.00", "0.00"),
        ("payment", "300.00", "4475.00", "300.00"),
        ("recovery", "50.00", "4525.00", "250.00"),
    ]
    (recovery,) = [row for row in rows if row["movement"] == "recovery"]
    assert (recovery["reference"], recovery["request_id"]) == ("REMIT-1", str(money_year.spanning))


def test_the_ledger_shows_the_forward_commitment_its_covering_and_the_release_on_the_next_year(money_year):
    rows = ledger(money_year.app, NEXT_YEAR)

    assert movements(rows, "cluster", CLUSTER) == [
        ("forward_commitment", "375.00", "0.00", "0.00"),
        ("allocation", "2000.00", "2000.00", "0.00"),
        ("forward_covered", "375.00", "1625.00", "0.00"),
        ("release", "100.00", "1725.00", "0.00"),
    ]
    (covered,) = [row for row in rows if row["movement"] == "forward_covered" and row["fund"] == "cluster"]
    assert covered["actor_sub"] == ""  # the allocation just before it names who


def test_the_ledger_shows_the_close_and_the_income_after_it_on_the_closed_year(money_year):
    rows = ledger(money_year.app, YEAR)

    assert movements(rows, "council") == [
        ("allocation", "5000.00", "5000.00", "0.00"),
        ("commitment", "999.99", "4000.01", "0.00"),
        ("payment", "333.33", "4000.01", "333.33"),
        ("year_close", "1000.00", "3000.01", "333.33"),
        ("income", "25.00", "3000.01", "333.33"),
    ]
    (close,) = [row for row in rows if row["movement"] == "year_close" and row["fund"] == "council"]
    assert close["reference"] == "committed but unpaid at close: 666.66"
    assert movements(rows, "cluster", OTHER_CLUSTER) == [("year_close", "0.00", "0.00", "0.00")]


def test_the_allocation_a_close_carries_forward_is_the_next_years_carry_forward_in(money_year):
    rows = ledger(money_year.app, NEXT_YEAR)

    assert movements(rows, "council") == [
        ("forward_commitment", "1000.01", "0.00", "0.00"),
        ("release", "200.00", "0.00", "0.00"),
        ("carry_forward_in", "1000.00", "1000.00", "0.00"),
        ("forward_covered", "800.01", "199.99", "0.00"),
    ]
    (release,) = [row for row in rows if row["movement"] == "release" and row["fund"] == "council"]
    assert release["reference"] == "200.00 of it committed ahead"


def test_an_allocation_whose_note_says_carried_forward_is_not_a_carry_in(app):
    set_up_world(app, budget="5000.00")
    app.allocate_budget(FINANCE, CLUSTER, NEXT_YEAR, "10.00", f"carried forward from {YEAR}")
    app.close_budget_year(FINANCE, CLUSTER, YEAR, "20.00")
    app.allocate_budget(FINANCE, CLUSTER, NEXT_YEAR, "30.00", f"carried forward from {YEAR}")

    kinds = [(row["movement"], row["amount"]) for row in ledger(app, NEXT_YEAR)]
    row = app.read_models.balance(FINANCE, CLUSTER, NEXT_YEAR)

    assert kinds == [("allocation", "10.00"), ("carry_forward_in", "20.00"), ("allocation", "30.00")]
    assert (row.figures.allocated, row.after.carried_in) == (6000, 2000)


def test_a_carry_in_split_from_its_close_across_batches_is_still_recognised(money_year, tmp_path):
    """One event per batch: the close and the allocation it carries forward are never seen together."""
    app = money_year.app
    whole = owned_rows(app.fresh_read_models())
    with separate_read_model_database(money_year.url, tmp_path) as database:
        projector = Projector(database, notification_source(app), read_models(), batch_size=1)
        projector.create_tables()
        projector.catch_up()
        one_by_one = owned_rows(database)

    assert one_by_one == whole
    assert any(row[5] == "carry_forward_in" for row in one_by_one["finance_ledger"])


def owned_rows(database: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the read models own (the audit chain apart), in a stable order."""
    owned = sorted({table for projection in read_models() for table in projection.tables})
    with database.reading() as cursor:
        dumped = {}
        for table in owned:
            cursor.execute(f"SELECT * FROM {table}")
            dumped[table] = sorted((tuple(row) for row in cursor.fetchall()), key=str)
    return dumped


# ================================================================================================
# Awards
# ================================================================================================


def award_row(app: FundingApplication, request_id: UUID) -> dict[str, Any]:
    with app.fresh_read_models().reading() as cursor:
        cursor.execute(f"SELECT {', '.join(AWARDS_COLUMNS)} FROM awards WHERE request_id = ?", (request_id.hex,))
        return dict(zip(AWARDS_COLUMNS, cursor.fetchone(), strict=True))


def test_an_award_row_has_its_figures_as_the_domain_works_them_out(money_year):
    row = award_row(money_year.app, money_year.spanning)
    request = money_year.app.get_request(FINANCE, money_year.spanning)
    award = request.award
    assert award is not None

    assert {key: row[key] for key in ("approved", "paid_out", "released", "recovered", "held", "scheduled_unpaid")} == {
        "approved": 90000,
        "paid_out": 30000,
        "released": 10000,
        "recovered": 5000,
        "held": 22500,  # the spring instalment, held until the spring review
        "scheduled_unpaid": 27500,
    }
    assert (row["funded_by"], row["financial_years"], row["school_urn"]) == ("cluster", f"{YEAR},{NEXT_YEAR}", "900001")
    assert award.committed.pence == award.paid.pence + row["scheduled_unpaid"] + row["held"]


def test_a_council_awards_row_says_the_council_funded_it(money_year):
    row = award_row(money_year.app, money_year.council)

    assert (row["funded_by"], row["approved"], row["paid_out"], row["released"], row["recovered"]) == (
        "council", 200000, 33333, 20000, 2500,
    )  # fmt: skip


# ================================================================================================
# Year-end statements
# ================================================================================================


def adds_up(statement: Any) -> bool:
    net_committed = statement.committed - statement.forward_commitments - statement.released - statement.recovered
    return statement.available == (
        statement.opening_allocation + statement.allocations + statement.carried_in - statement.carried_forward
        - statement.commissioned - net_committed
    )  # fmt: skip


def test_the_council_funds_statement_for_a_closed_year(money_year):
    statement = money_year.app.read_models.council_fund_statement(FINANCE, YEAR)

    assert (statement.opening_allocation, statement.allocations, statement.carried_in) == (500000, 0, 0)
    assert (statement.committed, statement.paid, statement.income) == (99999, 33333, 2500)
    assert (statement.carried_forward, statement.unpaid_at_close, statement.closed) == (100000, 66666, True)
    assert statement.available == 300001 and adds_up(statement)


def test_the_council_funds_statement_for_the_year_it_carried_into(money_year):
    statement = money_year.app.read_models.council_fund_statement(COUNCIL, NEXT_YEAR)

    assert (statement.opening_allocation, statement.carried_in, statement.committed) == (0, 100000, 100001)
    assert (statement.released, statement.forward_commitments, statement.unpaid_at_close) == (20000, 0, None)
    assert statement.available == 19999 and adds_up(statement)


def test_a_budgets_statement_splits_its_allocations_and_adds_up(money_year):
    statement = money_year.app.read_models.budget_statement(LEAD, CLUSTER, YEAR)

    assert (statement.fund, statement.cluster_id, statement.opening_allocation) == ("cluster", CLUSTER, 500000)
    assert (statement.committed, statement.recovered, statement.paid) == (52500, 5000, 25000)
    assert statement.closed is False and adds_up(statement)


def test_a_later_allocation_and_an_adjustment_are_the_statements_allocations(app):
    set_up_world(app, budget="5000.00")
    app.allocate_budget(FINANCE, CLUSTER, YEAR, "700.00", "a top-up")
    app.allocate_budget(FINANCE, CLUSTER, YEAR, "-200.00", "returned")

    statement = app.read_models.budget_statement(FINANCE, CLUSTER, YEAR)

    assert (statement.opening_allocation, statement.allocations, statement.available) == (500000, 50000, 550000)


def test_a_lead_reads_only_its_own_clusters_statement_and_a_school_none(money_year):
    read = money_year.app.read_models

    with pytest.raises(NotPermitted):
        read.budget_statement(OTHER_LEAD, CLUSTER, YEAR)
    with pytest.raises(NotPermitted):
        read.budget_statement(HEAD, CLUSTER, YEAR)
    with pytest.raises(NotPermitted):
        read.council_fund_statement(LEAD, YEAR)
    with pytest.raises(NotFound):
        read.budget_statement(FINANCE, "no-such-cluster", YEAR)


# ================================================================================================
# Commitments by age
# ================================================================================================


def bands(result: Any) -> dict[tuple[str, str | None], list[tuple[int, int, int]]]:
    return {(f.fund, f.cluster_id): [(b.unpaid, b.held, b.awards) for b in f.bands] for f in result.funds}


def test_commitments_by_age_are_each_funds_unpaid_money_for_the_year(money_year):
    result = money_year.app.read_models.commitments_by_age(FINANCE, YEAR)

    assert bands(result) == {
        ("council", None): [(66666, 0, 1), (0, 0, 0), (0, 0, 0), (0, 0, 0)],
        ("cluster", CLUSTER): [(22500, 22500, 1), (0, 0, 0), (0, 0, 0), (0, 0, 0)],
    }
    assert [fund.fund for fund in result.funds] == ["council", "cluster"]


def test_commitments_age_as_the_day_asked_about_moves_on(money_year):
    today = money_year.app.today()
    read = money_year.app.read_models

    def aged(days: int) -> list[str]:
        (council, _) = read.commitments_by_age(FINANCE, NEXT_YEAR, as_of=today + timedelta(days=days)).funds
        return [band.band for band in council.bands if band.unpaid]

    seen = [aged(days) for days in (0, 100, 200, 400)]

    assert seen == [["months_0_3"], ["months_3_6"], ["months_6_12"], ["months_over_12"]]


def test_commitments_by_age_on_the_next_year_include_the_forward_share(money_year):
    result = money_year.app.read_models.commitments_by_age(COUNCIL, NEXT_YEAR)

    assert {key: value[0] for key, value in bands(result).items()} == {
        ("council", None): (80001, 0, 1),
        ("cluster", CLUSTER): (27500, 0, 1),
    }


def test_a_lead_sees_only_its_own_clusters_commitments(money_year):
    read = money_year.app.read_models

    mine = read.commitments_by_age(LEAD, YEAR)
    theirs = read.commitments_by_age(OTHER_LEAD, YEAR)

    assert [(f.fund, f.cluster_id) for f in mine.funds] == [("cluster", CLUSTER)]
    assert theirs.funds == []
    with pytest.raises(NotPermitted):
        read.commitments_by_age(OTHER_LEAD, YEAR, cluster_id=CLUSTER)
    with pytest.raises(NotPermitted):
        read.commitments_by_age(HEAD, YEAR)
    assert read.commitments_by_age(FINANCE, YEAR, cluster_id="no-such-cluster").funds == []


def test_commitments_by_age_far_back_in_time_put_everything_in_the_first_band(money_year):
    result = money_year.app.read_models.commitments_by_age(FINANCE, YEAR, as_of=date(1, 2, 1))

    assert all(fund.bands[0].unpaid == fund.unpaid for fund in result.funds)


# ================================================================================================
# Reconciliation
# ================================================================================================


@pytest.mark.parametrize("year", [YEAR, NEXT_YEAR])
def test_every_new_event_reconciles_to_the_penny_and_the_invariants_hold(money_year, year):
    result = money_year.app.read_models.reconcile(FINANCE, year)

    assert result.consistent, [table for table in result.tables if not table.consistent]
    assert [(check.holds, check.failures) for check in result.invariants] == [(True, []), (True, [])]
    assert result.invariants_position == money_year.app.recorder.max_notification_id()
    checked = {check.name.split(":")[0]: check.checked for check in result.invariants}
    # This year: two awards, and three funds (two budgets and the council fund); the next year's
    # funds are checked with the year before's awards that run into them.
    assert checked == ({"on every award": 2, "on every fund": 3} if year == YEAR else
                       {"on every award": 0, "on every fund": 2})  # fmt: skip
    tables = {table.name: table.rows_checked for table in result.tables}
    assert (tables["awards"], tables["awards_instalments"]) == ((2, 9) if year == YEAR else (0, 0))


def test_the_ledger_csv_carries_every_new_movement(money_year):
    kinds = {row["movement"] for year in (YEAR, NEXT_YEAR) for row in ledger(money_year.app, year)}

    assert kinds >= {"forward_commitment", "forward_covered", "release", "recovery", "income", "year_close",
                     "carry_forward_in"}  # fmt: skip
