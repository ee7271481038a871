"""Finance's reports on a fund's year in process, on SQLite and on PostgreSQL, over the demo year:
the year-end statement of a cluster's budget and of the council fund (and its CSV), every fund's
statement in a list, and the committed-but-unpaid money by the age of its awards. A forward
commitment (an award's instalment on a year with no allocation yet) shows on the lead's budget page
and on finance's. A malformed year is an error on the page; other roles are refused.

The demo's Fenwick Broads budget (£45,000.00, £1,500.00 of it carried in from last year; £5,400.00
paid and £400.00 of it recovered, so £40,000.00 available) has no request waiting, so it closes.
The demo's academic-year award already commits its summer term (£3,333.34) on Northmere Coast's next
year; the evidenced request approved over the academic year puts £2,708.34 more there, ahead of any
allocation.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from domain.formatting import pounds
from domain.money import Money
from domain.values import FinancialYear
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.demo_money import CARRIED_FORWARD, this_years_allocation
from funding_engine.dev_mode import DEV_YEAR
from tests.web.pages import signed_in
from tests.web.test_finance_pages import error_summary, tables
from web.kit import money

FINANCE = demo.FINANCE
YEAR, NEXT_YEAR = str(DEV_YEAR), str(FinancialYear(DEV_YEAR.start_year + 1))
FENWICK, NORTHMERE = "fenwick-broads", "northmere-coast"
AHEAD = 270_834  # the academic-year award's April instalment, on the next year's budget
DEMO_AHEAD = 333_334  # the demo's academic-year award: its summer term, 5/12 of £8,000.00, committed ahead


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


@pytest.fixture
def client(loaded: FundingApplication) -> Any:
    with signed_in(loaded, "finance officer") as signed:
        yield signed


def statement_rows(page: str) -> dict[str, str]:
    return {row[0]: row[1] for row in tables(page)["statement"][1:]}


def year_status(page: str) -> str:
    found = re.search(r'<p class="govuk-body" id="year-status">(.*?)</p>', page, re.DOTALL)
    assert found, "no year status"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def expected_rows(s: Any, *, council: bool = False) -> dict[str, str]:
    rows = {
        "Carried in": money(s.carried_in),
        "First allocation": money(s.opening_allocation),
        "Later allocations and adjustments": money(s.allocations),
        "Committed to awards": money(s.committed),
        "Committed ahead of an allocation": money(s.forward_commitments),
        "Paid": money(s.paid),
        "Released from awards": money(s.released),
        "Recovered": money(s.recovered),
        "Income after the close": money(s.income),
        "Committed but unpaid at the close": "Not closed yet"
        if s.unpaid_at_close is None
        else money(s.unpaid_at_close),
        "Carried forward": money(s.carried_forward),
        "Closing balance (available)": money(s.available),
    }
    if not council:
        rows["Commissioned services"] = money(s.commissioned)
    return rows


def approve_over_the_academic_year(app: FundingApplication) -> str:
    """Northmere's evidenced request, approved termly from September: its April instalment is next year's."""
    request_id = app.read_models.list_requests(demo.lead(NORTHMERE), status="evidenced").items[0].request_id
    period = {"starts_on": date(DEV_YEAR.start_year, 9, 1), "ends_on": date(DEV_YEAR.start_year + 1, 8, 31)}
    app.approve(demo.lead(NORTHMERE), UUID(request_id), "6500", "Evidence is sound.", award_period=period,
                schedule="termly")  # fmt: skip
    return request_id


# -- the statement -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cluster_id", [FENWICK, NORTHMERE])
def test_a_budgets_statement_is_the_applications_and_agrees_with_its_balance(loaded, client, cluster_id):
    page = client.get(f"/finance/balances/{cluster_id}/statement?financial_year={YEAR}")

    assert page.status_code == 200, page.text
    statement = loaded.read_models.budget_statement(FINANCE, cluster_id, YEAR)
    assert statement_rows(page.text) == expected_rows(statement)
    balance = loaded.read_models.balance(FINANCE, cluster_id, YEAR)
    shown = statement_rows(page.text)
    assert shown["Closing balance (available)"] == money(balance.figures.available)
    assert shown["Paid"] == money(balance.figures.paid)
    # One allocation each in the demo, after what last year's close carried in.
    assert shown["Carried in"] == money(Money.parse(CARRIED_FORWARD[cluster_id]))
    assert shown["First allocation"] == money(this_years_allocation(cluster_id, demo.CLUSTERS[cluster_id][2]))
    assert balance.figures.allocated == Money.parse(demo.CLUSTERS[cluster_id][2]).pence  # the two together
    assert year_status(page.text) == f"The {YEAR} year is Open"
    assert f'href="/finance/balances/{cluster_id}/statement.csv?financial_year={YEAR}"' in page.text


def test_the_council_funds_statement_is_the_applications(loaded, client):
    page = client.get(f"/finance/council-fund/statement?financial_year={YEAR}")

    assert page.status_code == 200
    statement = loaded.read_models.council_fund_statement(FINANCE, YEAR)
    assert statement_rows(page.text) == expected_rows(statement, council=True)
    assert statement_rows(page.text)["Carried in"] == "£10,000.00"
    assert statement_rows(page.text)["First allocation"] == "£90,000.00"  # £100,000.00 with what was carried in
    fund = loaded.read_models.council_fund_balance(FINANCE, YEAR)
    assert statement_rows(page.text)["Closing balance (available)"] == money(fund.figures.available)


def test_after_a_close_the_statement_shows_the_carry_forward_and_the_year_closed(loaded, client):
    url = f"/finance/balances/{FENWICK}/statement?financial_year={YEAR}"
    assert "Close the " + YEAR + " year" in client.get(url).text
    loaded.close_budget_year(FINANCE, FENWICK, YEAR, "1000.00")

    page = client.get(url).text

    shown = statement_rows(page)
    assert shown["Carried forward"] == "£1,000.00"
    assert shown["Committed but unpaid at the close"] == money(
        loaded.read_models.budget_statement(FINANCE, FENWICK, YEAR).unpaid_at_close or 0
    )
    assert shown["Closing balance (available)"] == "£39,000.00"  # £40,000.00 less what went on
    assert year_status(page) == f"The {YEAR} year is Closed"
    assert "This year is closed" in page and "Close the " + YEAR + " year" not in page
    following = statement_rows(client.get(f"/finance/balances/{FENWICK}/statement?financial_year={NEXT_YEAR}").text)
    assert following["Carried in"] == "£1,000.00"
    listing = tables(client.get(f"/finance/reports/statements?financial_year={YEAR}").text)["statements"]
    fenwick = next(row for row in listing if row[0] == demo.CLUSTERS[FENWICK][0])
    assert fenwick[1] == "Closed" and fenwick[5] == "£1,000.00" and fenwick[6] == "£39,000.00"


def test_the_statement_downloads_as_csv_with_numbers(loaded, client):
    answer = client.get(f"/finance/balances/{NORTHMERE}/statement.csv?financial_year={YEAR}")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert f'filename="statement-{NORTHMERE}-{YEAR}.csv"' in answer.headers["content-disposition"]
    (row,) = list(csv.DictReader(io.StringIO(answer.text)))
    statement = loaded.read_models.budget_statement(FINANCE, NORTHMERE, YEAR)
    assert (row["financial_year"], row["fund"], row["cluster_id"], row["closed"]) == (YEAR, "cluster", NORTHMERE, "no")
    assert row["available"] == pounds(statement.available) and row["paid"] == pounds(statement.paid)
    assert row["committed"] == pounds(statement.committed) and row["committed_unpaid_at_close"] == ""
    council = client.get(f"/finance/council-fund/statement.csv?financial_year={YEAR}")
    (fund_row,) = list(csv.DictReader(io.StringIO(council.text)))
    assert fund_row["fund"] == "council" and fund_row["opening_allocation"] == "90000.00"
    assert fund_row["carried_in"] == "10000.00"


def test_every_funds_statement_is_listed_and_linked(loaded, client):
    page = client.get(f"/finance/reports/statements?financial_year={YEAR}")

    assert page.status_code == 200
    rows = tables(page.text)["statements"][1:]
    assert [row[0] for row in rows] == ["Council fund", *sorted(name for name, _, _ in demo.CLUSTERS.values())]
    assert {row[1] for row in rows} == {"Open"}
    assert f'href="/finance/council-fund/statement?financial_year={YEAR}"' in page.text
    assert f'href="/finance/balances/{NORTHMERE}/statement?financial_year={YEAR}"' in page.text
    reports = client.get("/finance/reports").text
    assert 'href="/finance/reports/statements"' in reports and 'href="/finance/reports/commitments-by-age"' in reports
    balances = client.get(f"/finance/balances?financial_year={YEAR}").text
    assert f'href="/finance/reports/statements?financial_year={YEAR}"' in balances
    assert f'href="/finance/council-fund/statement?financial_year={YEAR}"' in balances
    cluster = client.get(f"/finance/balances/{NORTHMERE}?financial_year={YEAR}").text
    assert f'href="/finance/balances/{NORTHMERE}/statement?financial_year={YEAR}"' in cluster


# -- commitments by age --------------------------------------------------------------------------------


def test_commitments_by_age_add_up_to_what_is_committed_and_unpaid(loaded, client):
    approve_over_the_academic_year(loaded)

    page = client.get(f"/finance/reports/commitments-by-age?financial_year={YEAR}")

    assert page.status_code == 200
    rows = tables(page.text)["commitments-by-age"]
    assert rows[0] == ["Fund", "Under 3 months", "3 to 6 months", "6 to 12 months", "Over 12 months", "Unpaid",
                       "Of it, held"]  # fmt: skip
    report = loaded.read_models.commitments_by_age(FINANCE, YEAR)
    names = {cluster_id: name for cluster_id, (name, _, _) in demo.CLUSTERS.items()}
    unpaid = {
        "Council fund": loaded.council_fund_year_end(FINANCE, YEAR).committed_unpaid.pence,
        **{names[c]: loaded.budget_year_end(FINANCE, c, YEAR).committed_unpaid.pence for c in names},
    }
    assert len(rows) == len(report.funds) + 2 and len(report.funds) >= 2
    for row, fund in zip(rows[1:-1], report.funds, strict=True):
        assert row[1:5] == [money(band.unpaid) for band in fund.bands]
        assert row[5] == money(fund.unpaid) == money(unpaid[row[0]])  # the bands add up to the unpaid money
    total = sum(fund.unpaid for fund in report.funds)
    assert rows[-1][0] == "Total, every fund" and rows[-1][5] == money(total)
    assert rows[-1][1:5] == [money(sum(f.bands[i].unpaid for f in report.funds)) for i in range(4)]
    assert total == sum(unpaid.values())


# -- a forward commitment ------------------------------------------------------------------------------


def test_a_forward_commitment_shows_to_the_lead_and_to_finance(loaded, client):
    assert loaded.budget_year_end(FINANCE, NORTHMERE, NEXT_YEAR).forward.pence == DEMO_AHEAD
    approve_over_the_academic_year(loaded)
    assert loaded.budget_year_end(FINANCE, NORTHMERE, NEXT_YEAR).forward.pence == DEMO_AHEAD + AHEAD
    ahead = money(DEMO_AHEAD + AHEAD)

    with signed_in(loaded, f"lead, {NORTHMERE}") as lead:
        budget = lead.get(f"/cluster/budget?year={NEXT_YEAR}")
    assert budget.status_code == 200
    after = {row[0]: row[1] for row in tables(budget.text)["budget-after-decisions"][1:]}
    assert after["Committed ahead of the year's allocation"] == ahead
    assert f"The {NEXT_YEAR} year is open" in budget.text

    cluster = client.get(f"/finance/balances/{NORTHMERE}?financial_year={NEXT_YEAR}").text
    assert "Committed ahead of this year&#39;s allocation" in cluster and ahead in cluster
    balances = client.get(f"/finance/balances?financial_year={NEXT_YEAR}").text
    assert f"{demo.CLUSTERS[NORTHMERE][0]} {ahead}" in " ".join(balances.split())
    statement = statement_rows(client.get(f"/finance/balances/{NORTHMERE}/statement?financial_year={NEXT_YEAR}").text)
    assert statement["Committed ahead of an allocation"] == ahead
    assert statement["Committed to awards"] == ahead


# -- bad input and other roles ---------------------------------------------------------------------------

PAGES = [
    f"/finance/balances/{NORTHMERE}/statement",
    "/finance/council-fund/statement",
    "/finance/reports/statements",
    "/finance/reports/commitments-by-age",
]


@pytest.mark.parametrize("url", PAGES)
def test_a_malformed_year_is_an_error_on_the_page(client, url):
    page = client.get(f"{url}?financial_year=2026-2027")

    assert page.status_code == 400
    assert error_summary(page.text) == ["Enter a financial year like 2026-27"]
    assert 'href="#financial_year"' in page.text


def test_a_malformed_year_or_cluster_on_a_download_is_not_a_500(client):
    answer = client.get(f"/finance/balances/{NORTHMERE}/statement.csv?financial_year=soon")
    assert answer.status_code == 303
    assert client.get(answer.headers["location"]).status_code == 400
    assert client.get("/finance/balances/no-such-cluster/statement?financial_year=" + YEAR).status_code == 404
    assert client.get("/finance/balances/NOT%20A%20CLUSTER/statement.csv").status_code == 404


@pytest.mark.parametrize("label", ["council officer", f"lead, {NORTHMERE}", "school 990001 (northmere-coast)"])
def test_other_roles_may_not_open_these_pages(loaded, label):
    urls = [*PAGES, f"/finance/balances/{NORTHMERE}/statement.csv", "/finance/council-fund/statement.csv",
            "/finance/reports"]  # fmt: skip
    with signed_in(loaded, label) as other:
        for url in urls:
            assert other.get(f"{url}?financial_year={YEAR}").status_code == 403, url
