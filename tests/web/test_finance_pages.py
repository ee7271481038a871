"""Finance's pages in process, on SQLite and on PostgreSQL, over the demo year: balances and their
totals to the penny against the read models, allocations and adjustments, payments (a retried post
pays once), reconciliation clean and with a planted difference, the ledger's CSV (opened in
LibreOffice), other roles refused and a forged form changing nothing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.errors import NotPermitted
from domain.money import Money
from domain.values import FinancialYear, RequestStatus
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import current_financial_year
from funding_engine.demo_money import CARRIED_FORWARD
from funding_engine.dev_mode import DEV_YEAR
from tests.api.test_reconciliation_of_a_damaged_log import EventTable
from tests.integration.test_ledger_spreadsheet import open_in_libreoffice
from tests.web.pages import csrf_from, post_form, signed_in
from web.app import money
from web.finance import pages as finance

YEAR = str(DEV_YEAR)
NEXT_YEAR = str(FinancialYear(DEV_YEAR.start_year + 1))
LAST_YEAR = str(FinancialYear(DEV_YEAR.start_year - 1))
YEAR_AFTER_NEXT = str(FinancialYear(DEV_YEAR.start_year + 2))
FINANCE = demo.FINANCE
PAGES = [
    f"/finance/balances?financial_year={YEAR}",
    f"/finance/balances/northmere-coast?financial_year={YEAR}",
    f"/finance/allocations?financial_year={YEAR}",
    f"/finance/payments?financial_year={YEAR}",
    f"/finance/reconcile?financial_year={YEAR}",
    f"/finance/ledger?financial_year={YEAR}",
    f"/finance/ledger/download.csv?financial_year={YEAR}",
]


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


@pytest.fixture
def client(loaded: FundingApplication) -> Iterator[Any]:
    with signed_in(loaded, "finance officer") as signed:
        yield signed


# -- reading pages ---------------------------------------------------------------------------------


class Tables(HTMLParser):
    """Each table's rows of cell texts, by the table's id (and by ``data-difference``)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "table":
            self.current = self.tables.setdefault(named.get("id") or named.get("data-difference") or "", [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.current is not None:
            self.current[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def tables(page: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


def error_summary(page: str) -> list[str]:
    summary = re.search(r'<div class="govuk-error-summary".*?</ul>', page, re.DOTALL)
    assert summary, "no error summary"
    return [
        " ".join(re.sub(r"<[^>]+>", "", item).split())
        for item in re.findall(r"<li>(.*?)</li>", summary.group(0), re.DOTALL)
    ]


def banner(page: str) -> str:
    found = re.search(
        r'<div class="govuk-notification-banner govuk-notification-banner--success".*?</div>\s*</div>', page, re.DOTALL
    )
    assert found, "no success banner"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


def once_key(page: str, action: str) -> str:
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', page, re.DOTALL)
    assert form, action
    key = re.search(r'name="once" value="([0-9a-f]{32})"', form.group(0))
    assert key
    return key.group(1)


def ledger(app: FundingApplication, year: str = YEAR) -> list[dict[str, str]]:
    out = io.StringIO()
    app.read_models.write_ledger_csv(FINANCE, year, out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def balance(app: FundingApplication, cluster_id: str, year: str = YEAR) -> Any:
    return app.read_models.balance(FINANCE, cluster_id, year)


def payable(app: FundingApplication, status: RequestStatus) -> Any:
    (row,) = app.read_models.list_requests(FINANCE, status=status, financial_year=YEAR).items
    return row


# ================================================================================================
# Balances
# ================================================================================================


def test_balances_show_every_cluster_and_the_totals_to_the_penny(loaded, client):
    page = client.get(f"/finance/balances?financial_year={YEAR}")

    assert page.status_code == 200, page.text
    assert f"<title>Balances for {YEAR} - SEND top-up funding</title>" in page.text
    rows, totals = loaded.read_models.balances(FINANCE, YEAR)
    shown = tables(page.text)["cluster-balances"]
    assert shown[0] == [
        "Cluster",
        "Allocated",
        "Committed",
        "Commissioned",
        "Paid",
        "Available",
        "Pending",
        "Escalated",
    ]
    names = {cluster_id: name for cluster_id, (name, _, _) in demo.CLUSTERS.items()}
    figures = ("allocated", "committed", "commissioned", "paid", "available")
    expected = [
        [
            names[row.cluster_id],
            *(money(getattr(row.figures, n)) for n in figures),
            money(row.pending),
            money(row.escalated),
        ]
        for row in rows.items
    ]
    assert shown[1:-1] == expected
    t = totals.figures
    assert shown[-1] == [
        "Total, all clusters", money(t.allocated), money(t.committed), money(t.commissioned), money(t.paid),
        money(t.available), money(totals.pending), money(totals.escalated),
    ]  # fmt: skip
    assert t.allocated == 113_000_00  # 60,000 + 45,000 + 8,000: the demo's budgets
    fund = loaded.read_models.council_fund_balance(FINANCE, YEAR).figures
    assert tables(page.text)["council-fund"][1] == [
        money(fund.allocated),
        money(fund.committed),
        money(fund.paid),
        money(fund.available),
    ]
    assert money(100_000_00) in page.text
    assert f'href="/finance/balances/northmere-coast?financial_year={YEAR}"' in page.text


def test_the_balances_default_to_this_financial_year_and_offer_the_years_with_money(loaded, client):
    page = client.get("/finance/balances")

    assert page.status_code == 200
    this_year = str(current_financial_year())
    assert f'<option value="{this_year}" selected>' in page.text
    assert f'<option value="{YEAR}"' in page.text


def test_a_malformed_year_is_an_error_on_the_selector(client):
    page = client.get("/finance/balances?financial_year=2026-2027")

    assert page.status_code == 400
    assert error_summary(page.text) == ["Enter a financial year like 2026-27"]
    assert "<title>Error: Balances for" in page.text
    assert 'href="#financial_year"' in page.text


def test_many_clusters_are_shown_a_page_at_a_time_with_totals_over_all(loaded, client, monkeypatch):
    monkeypatch.setattr(finance, "BALANCES_PER_PAGE", 2)
    _, totals = loaded.read_models.balances(FINANCE, YEAR)
    url, seen = f"/finance/balances?financial_year={YEAR}", []
    while url:
        page = client.get(url)
        assert page.status_code == 200
        shown = tables(page.text)["cluster-balances"]
        seen += [row[0] for row in shown[1:-1]]
        assert shown[-1][1] == money(totals.figures.allocated)  # totals over every page, on every page
        found = re.search(r'<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="next">', page.text)
        url = f"/finance/balances{found.group(1).replace('&amp;', '&')}" if found else ""
    assert sorted(seen) == sorted(name for name, _, _ in demo.CLUSTERS.values())
    assert client.get(f"/finance/balances?financial_year={YEAR}&cursor=not-ours").status_code == 404


def test_a_cluster_page_shows_its_budget_and_requests(loaded, client):
    page = client.get(f"/finance/balances/northmere-coast?financial_year={YEAR}")

    assert page.status_code == 200
    row = balance(loaded, "northmere-coast")
    assert money(row.figures.available) in page.text and money(row.figures.commissioned) in page.text
    requests = loaded.read_models.list_requests(FINANCE, cluster_id="northmere-coast", financial_year=YEAR).items
    told = [story for story in demo.STORIES if story.urn in demo.CLUSTERS["northmere-coast"][1]]
    assert len(tables(page.text)["cluster-requests"][1:]) == len(requests) == len(told) == 5
    assert client.get(f"/finance/balances/no-such-cluster?financial_year={YEAR}").status_code == 404
    assert client.get("/finance/balances/NOT%20A%20CLUSTER").status_code == 404


def test_the_years_with_money_are_read_from_both_balance_tables(loaded):
    # The demo closed last year into this one, and committed an award's summer ahead on next year's
    # budget (a cluster balance only): three years, newest first.
    assert loaded.read_models.funded_years(FINANCE) == [NEXT_YEAR, YEAR, LAST_YEAR]
    loaded.allocate_council_fund(FINANCE, YEAR_AFTER_NEXT, "10.00")  # a council fund balance only
    assert loaded.read_models.funded_years(FINANCE) == [YEAR_AFTER_NEXT, NEXT_YEAR, YEAR, LAST_YEAR]
    with pytest.raises(NotPermitted):
        loaded.read_models.funded_years(demo.school("990001"))


# ================================================================================================
# Allocations and adjustments
# ================================================================================================


def allocate(client: Any, data: dict[str, str], action: str = "/finance/allocations/cluster") -> httpx.Response:
    page = client.get(f"/finance/allocations?financial_year={YEAR}").text
    return client.post(action, data={"csrf_token": csrf_from(page), "once": once_key(page, action), **data})


def test_an_allocation_adds_to_a_cluster_budget(loaded, client):
    before = balance(loaded, "fenwick-broads").figures.allocated
    answer = allocate(
        client,
        {
            "cluster_id": "fenwick-broads",
            "financial_year": YEAR,
            "direction": "increase",
            "amount": "£2,500.50",
            "note": "in-year top-up",
        },
    )

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/finance/allocations?financial_year={YEAR}"
    assert balance(loaded, "fenwick-broads").figures.allocated == before + 2_500_50
    assert ledger(loaded)[-1]["movement"] == "allocation" and ledger(loaded)[-1]["reference"] == "in-year top-up"
    shown = client.get(answer.headers["location"]).text
    assert f"£2,500.50 added to the fenwick-broads budget for {YEAR}" in banner(shown)


def test_an_adjustment_takes_money_back_as_a_negative_allocation(loaded, client):
    before = balance(loaded, "northmere-coast").figures
    answer = allocate(
        client,
        {
            "cluster_id": "northmere-coast",
            "financial_year": YEAR,
            "direction": "decrease",
            "amount": "1000",
            "note": "returned",
        },
    )

    assert answer.status_code == 303, answer.text
    after = balance(loaded, "northmere-coast").figures
    assert (after.allocated, after.available) == (before.allocated - 1_000_00, before.available - 1_000_00)
    last = ledger(loaded)[-1]
    assert (last["movement"], last["amount"]) == ("adjustment", "-1000.00")
    assert "£1,000.00 taken back from the northmere-coast budget" in banner(client.get(answer.headers["location"]).text)


def test_the_council_fund_is_allocated_for_any_year(loaded, client):
    answer = allocate(
        client,
        {
            "fund_financial_year": NEXT_YEAR,
            "fund_direction": "increase",
            "fund_amount": "75000",
            "fund_note": "next year's fund",
        },
        "/finance/allocations/council-fund",
    )

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/finance/allocations?financial_year={NEXT_YEAR}"
    assert loaded.read_models.council_fund_balance(FINANCE, NEXT_YEAR).figures.allocated == 75_000_00
    assert loaded.read_models.council_fund_balance(FINANCE, YEAR).figures.allocated == 100_000_00


def test_taking_back_more_than_is_available_is_refused_and_changes_nothing(loaded, client):
    before, movements = balance(loaded, "northmere-coast"), len(ledger(loaded))
    typed = {
        "cluster_id": "northmere-coast",
        "financial_year": YEAR,
        "direction": "decrease",
        "amount": "60000",
        "note": "all of it",
    }
    answer = allocate(client, typed)

    assert answer.status_code == 409
    available = money(before.figures.available)
    assert error_summary(answer.text) == [
        (
            f"You can take back at most {available} from the northmere-coast budget for {YEAR}: "
            "the rest is committed to approved requests or commissioned services"
        )
    ]
    assert 'value="60000"' in answer.text and "all of it</textarea>" in answer.text
    assert ">None</textarea>" not in answer.text  # the other form's empty note stays empty
    assert re.search(r'value="decrease"\s+checked', answer.text)
    assert balance(loaded, "northmere-coast") == before
    assert len(ledger(loaded)) == movements


def test_a_bad_allocation_form_shows_each_mistake_and_keeps_what_was_typed(loaded, client):
    movements = len(ledger(loaded))
    answer = allocate(client, {"cluster_id": "", "financial_year": YEAR, "amount": "twelve", "note": "kept"})

    assert answer.status_code == 400
    assert error_summary(answer.text) == [
        "Select a cluster",
        "Select whether to add money or take it back",
        "The amount must be an amount in pounds, like 1,250.00",
    ]
    assert 'value="twelve"' in answer.text and "kept</textarea>" in answer.text
    unknown = allocate(
        client, {"cluster_id": "atlantis", "financial_year": YEAR, "direction": "increase", "amount": "5"}
    )
    assert unknown.status_code == 400
    assert error_summary(unknown.text) == ["Cluster atlantis not found"]
    malformed = allocate(
        client, {"cluster_id": "NOT A SLUG", "financial_year": YEAR, "direction": "increase", "amount": "5"}
    )
    assert malformed.status_code == 400
    assert 'href="#cluster_id"' in malformed.text and "Cluster id must be a lower-case slug" in malformed.text
    assert len(ledger(loaded)) == movements


def test_a_retried_allocation_allocates_once(loaded, client):
    page = client.get(f"/finance/allocations?financial_year={YEAR}").text
    data = {
        "csrf_token": csrf_from(page), "once": once_key(page, "/finance/allocations/cluster"),
        "cluster_id": "marshfield-vale", "financial_year": YEAR, "direction": "increase", "amount": "300", "note": "",
    }  # fmt: skip
    before = balance(loaded, "marshfield-vale").figures.allocated

    first = client.post("/finance/allocations/cluster", data=data)
    again = client.post("/finance/allocations/cluster", data=data)

    assert first.status_code == again.status_code == 303
    assert balance(loaded, "marshfield-vale").figures.allocated == before + 300_00
    assert "already been sent" in banner(client.get(again.headers["location"]).text)
    changed = client.post("/finance/allocations/cluster", data={**data, "amount": "400"})
    assert changed.status_code == 409
    assert "already sent with other details" in error_summary(changed.text)[0]
    assert balance(loaded, "marshfield-vale").figures.allocated == before + 300_00


# ================================================================================================
# Payments
# ================================================================================================


def test_the_payments_page_lists_approved_requests_with_money_outstanding(loaded, client):
    page = client.get(f"/finance/payments?financial_year={YEAR}")

    assert page.status_code == 200
    cluster = payable(loaded, RequestStatus.CLUSTER_APPROVED)
    council = payable(loaded, RequestStatus.COUNCIL_APPROVED)
    rows = tables(page.text)["awaiting-payment"][1:]
    assert [row[0] for row in rows] == [cluster.request_id[:8].upper(), council.request_id[:8].upper()]
    # The demo paid the academic-year award's autumn term, 4/12 of £8,000.00 (rounded down to the penny).
    assert rows[0][4:7] == ["£8,000.00", "£2,666.66", "£5,333.34"]
    assert rows[1][4:7] == ["£12,000.00", "£0.00", "£12,000.00"]  # in the open run, not yet paid
    assert "£17,333.34" in page.text  # outstanding in all
    assert f'href="/finance/requests/{cluster.request_id}/payment"' in page.text


def test_recording_a_payment(loaded, client):
    row = payable(loaded, RequestStatus.COUNCIL_APPROVED)
    url = f"/finance/requests/{row.request_id}/payment"
    form = client.get(url)
    assert form.status_code == 200
    assert re.search(
        r'id="amount" name="amount" type="text" spellcheck="false" value="5000.00"', form.text
    )  # what is unpaid on the first instalment: 5/12 of the year's £12,000.00
    assert 'name="instalment" type="radio" value="1" checked' in form.text

    answer = client.post(
        url,
        data={
            "csrf_token": csrf_from(form.text),
            "once": once_key(form.text, url),
            "instalment": "1",
            "amount": "2,000",
            "paid_on-day": "3",
            "paid_on-month": "4",
            "paid_on-year": str(DEV_YEAR.start_year),
            "reference": "BACS-990202-01",
        },
    )

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/finance/payments?financial_year={YEAR}"
    after = loaded.read_models.list_requests(FINANCE, status=RequestStatus.COUNCIL_APPROVED, financial_year=YEAR).items[
        0
    ]
    assert after.amount_paid == 2_000_00
    assert loaded.read_models.council_fund_balance(FINANCE, YEAR).figures.paid == 2_000_00
    assert "Payment of £2,000.00 recorded" in banner(client.get(answer.headers["location"]).text)
    request_page = client.get(f"/funding-requests/{row.request_id}").text
    assert tables(request_page)["payments-so-far"][1][1:] == [
        f"3 April {DEV_YEAR.start_year}", "1", "BACS-990202-01", FINANCE.sub, "£2,000.00"
    ]  # fmt: skip
    assert "£10,000.00" in request_page and f'href="{url}"' in request_page


def test_an_overpayment_is_refused_and_changes_nothing(loaded, client):
    row = payable(loaded, RequestStatus.CLUSTER_APPROVED)
    url = f"/finance/requests/{row.request_id}/payment"
    answer = post_form(client, url, url, {"once": "a" * 32, "amount": "5333.35", "reference": "BACS-1"})

    assert answer.status_code == 409
    # £5,333.34 is outstanding, but the summer's £3,333.34 of it is held: £2,000.00 can be paid now.
    limit = (
        "The amount paid must be at most £2,000.00, what can be paid now: "
        "£3,333.34 more is held until its condition is met"
    )
    assert error_summary(answer.text) == [limit]
    assert 'value="5333.35"' in answer.text and 'value="BACS-1"' in answer.text
    assert payable(loaded, RequestStatus.CLUSTER_APPROVED) == row
    # Within what is outstanding, but more than can be paid now.
    held = post_form(client, url, url, {"once": "f" * 32, "amount": "2000.01", "reference": "BACS-1"})
    assert held.status_code == 409
    assert error_summary(held.text) == [limit]
    assert payable(loaded, RequestStatus.CLUSTER_APPROVED) == row
    blank = post_form(client, url, url, {"once": "b" * 32, "amount": "", "reference": ""})
    assert blank.status_code == 400
    assert error_summary(blank.text) == ["Enter the amount", "Enter the payment reference"]


def test_a_retried_payment_pays_once(loaded, client):
    row = payable(loaded, RequestStatus.CLUSTER_APPROVED)
    url = f"/finance/requests/{row.request_id}/payment"
    form = client.get(url).text
    data = {"csrf_token": csrf_from(form), "once": once_key(form, url), "amount": "1500", "reference": "BACS-990001-02"}
    payments = len([m for m in ledger(loaded) if m["movement"] == "payment"])

    first = client.post(url, data=data)
    again = client.post(url, data=data)  # a double click, or back and send again

    assert first.status_code == again.status_code == 303
    assert payable(loaded, RequestStatus.CLUSTER_APPROVED).amount_paid == row.amount_paid + 1_500_00
    assert len([m for m in ledger(loaded) if m["movement"] == "payment"]) == payments + 1
    assert "recorded once, and not again" in banner(client.get(again.headers["location"]).text)
    changed = client.post(url, data={**data, "amount": "100"})
    assert changed.status_code == 409
    assert "already sent with other details" in error_summary(changed.text)[0]
    assert payable(loaded, RequestStatus.CLUSTER_APPROVED).amount_paid == row.amount_paid + 1_500_00 == 4_166_66
    fresh = client.get(url).text
    assert once_key(fresh, url) != data["once"]  # the next payment is a new form


def test_a_request_paid_in_full_offers_no_payment(loaded, client):
    # The council's award: nothing of it is held (the cluster's award holds its summer term).
    row = payable(loaded, RequestStatus.COUNCIL_APPROVED)
    url = f"/finance/requests/{row.request_id}/payment"
    assert (
        post_form(client, url, url, {"once": "c" * 32, "amount": "12000", "reference": "BACS-final"}).status_code == 303
    )

    page = client.get(url)
    assert page.status_code == 200
    assert "it is paid in full" in page.text and 'name="amount"' not in page.text
    token = csrf_from(client.get(f"/finance/allocations?financial_year={YEAR}").text)
    refused = client.post(url, data={"csrf_token": token, "once": "d" * 32, "amount": "1", "reference": "x"})
    assert refused.status_code == 409
    assert 'href="#payment-position"' in refused.text and 'id="payment-position"' in refused.text
    assert loaded.get_request(FINANCE, UUID(row.request_id)).status is RequestStatus.PAID
    assert "Record a payment" not in client.get(f"/funding-requests/{row.request_id}").text


def test_a_payment_form_without_its_one_time_key_changes_nothing(loaded, client):
    row = payable(loaded, RequestStatus.CLUSTER_APPROVED)
    url = f"/finance/requests/{row.request_id}/payment"
    answer = post_form(client, url, url, {"amount": "10", "reference": "BACS-x"})

    assert answer.status_code == 403
    assert payable(loaded, RequestStatus.CLUSTER_APPROVED) == row


# ================================================================================================
# Reconciliation
# ================================================================================================


def test_an_untouched_year_reconciles_all_clear(loaded, client):
    page = client.get(f"/finance/reconcile?financial_year={YEAR}")

    assert page.status_code == 200
    assert "All clear." in page.text and "Differences found" not in page.text
    shown = tables(page.text)
    assert all(row[-1] == "Matches" for row in shown["reconciled-tables"][1:])
    assert len(shown["reconciled-tables"][1:]) == 18
    assert [row[0] for row in shown["reconciled-budgets"][1:]] == sorted(demo.CLUSTERS)
    assert shown["reconciled-budgets"][1][:2] == ["fenwick-broads", "£45,000.00"]
    assert shown["reconciled-fund"][1][:2] == ["Council fund", "£100,000.00"]
    assert "data-differs" not in page.text


def test_a_planted_difference_is_highlighted_with_both_figures(loaded, client):
    loaded.read_side.make_fresh()  # every row written before it is tampered with
    with loaded.read_side.database.transaction() as cursor:
        cursor.execute(
            "UPDATE cluster_balances SET allocated = allocated + 1 WHERE cluster_id = ? AND financial_year = ?",
            ("fenwick-broads", YEAR),
        )
        assert cursor.rowcount == 1

    page = client.get(f"/finance/reconcile?financial_year={YEAR}")

    assert page.status_code == 200
    assert "All clear." not in page.text
    assert "Differences found. 1 of 18 read-model tables differ from the event log" in page.text
    shown = tables(page.text)
    budgets = shown["reconciled-budgets"][1:]
    assert [row[0] for row in budgets] == ["fenwick-broads | Differs", "marshfield-vale", "northmere-coast"]
    assert budgets[0][1] == "Differs | Read model: £45,000.01 | Event log: £45,000.00"  # allocated
    assert budgets[0][4] == "Differs | Read model: £40,000.01 | Event log: £40,000.00"  # available
    assert budgets[0][2] == "£5,000.00"  # committed, as both have it: £5,400.00 less the £400.00 recovered
    assert page.text.count("data-differs=") == 2
    results = {row[0].split()[-1]: row for row in shown["reconciled-tables"][1:]}
    assert results["cluster_balances"][1:] == ["3", "1", "0", "0", "Differs"]
    assert all(row[-1] == "Matches" for name, row in results.items() if name != "cluster_balances")
    assert "first difference, at cluster_id fenwick-broads" in page.text
    assert shown["cluster_balances"][1:] == [
        ["allocated", "£45,000.01", "£45,000.00"],
        ["available", "£40,000.01", "£40,000.00"],
    ]


def test_a_damaged_event_log_is_reported_with_its_position(loaded, client, database_url):
    loaded.read_side.make_fresh()  # the read models have every event before the damage
    with loaded.read_side.database.reading() as cursor:
        cursor.execute("SELECT position FROM finance_ledger WHERE reference = 'BACS-990101-01'")
        position = int(cursor.fetchone()[0])
    EventTable(database_url).update(position, "topic", "domain.funds:ClusterBudget.PaymentForged")

    page = client.get(f"/finance/reconcile?financial_year={YEAR}")

    assert page.status_code == 200
    said = f"nothing was reconciled: the event log cannot be read at position {position}"
    assert f"The event log could not be read, so {said}" in page.text
    assert "All clear." not in page.text and "reconciled-tables" not in page.text


# ================================================================================================
# The ledger
# ================================================================================================


def test_the_ledger_downloads_as_csv_whose_sums_match_the_balances(loaded, client):
    page = client.get(f"/finance/ledger?financial_year={YEAR}")
    assert page.status_code == 200
    assert f'href="/finance/ledger/download.csv?financial_year={YEAR}"' in page.text

    download = client.get(f"/finance/ledger/download.csv?financial_year={YEAR}")

    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == f'attachment; filename="ledger-{YEAR}.csv"'
    out = io.StringIO()
    loaded.read_models.write_ledger_csv(FINANCE, YEAR, out)
    assert download.text == out.getvalue()
    movements = list(csv.DictReader(io.StringIO(download.text)))
    totals, fund = (
        loaded.read_models.balances(FINANCE, YEAR)[1].figures,
        loaded.read_models.council_fund_balance(FINANCE, YEAR).figures,
    )

    def pence(kind: str) -> int:
        return sum(int(Decimal(m["amount"]) * 100) for m in movements if m["movement"] == kind)

    # A fund's year is allocated by what last year carried in and by this year's allocations.
    carried_in = sum(Money.parse(amount).pence for amount in CARRIED_FORWARD.values())
    assert pence("carry_forward_in") == carried_in == 13_500_00
    assert pence("allocation") + pence("carry_forward_in") == totals.allocated + fund.allocated
    assert pence("recovery") == 400_00  # the demo's recovery takes back part of a payment
    assert pence("payment") - pence("recovery") == totals.paid + fund.paid
    assert pence("commission") == totals.commissioned
    malformed = client.get("/finance/ledger/download.csv?financial_year=2026/27")
    assert (malformed.status_code, malformed.headers["location"]) == (303, "/finance/ledger?financial_year=2026/27")
    assert client.get(malformed.headers["location"]).status_code == 400


def test_a_long_ledger_streams_whole(loaded, client, monkeypatch):
    monkeypatch.setattr(finance, "CHUNK_CHARACTERS", 100)  # many chunks through the queue
    for number in range(30):
        loaded.allocate_budget(FINANCE, "marshfield-vale", YEAR, "1.00", f"top-up {number}")

    download = client.get(f"/finance/ledger/download.csv?financial_year={YEAR}")

    out = io.StringIO()
    loaded.read_models.write_ledger_csv(FINANCE, YEAR, out)
    assert download.text == out.getvalue()
    assert download.text.count("top-up") == 30


def test_the_downloaded_ledger_opens_in_a_spreadsheet_with_the_same_totals(loaded, client, tmp_path: Path):
    file = tmp_path / "ledger.csv"
    file.write_bytes(client.get(f"/finance/ledger/download.csv?financial_year={YEAR}").content)

    (sheet,) = open_in_libreoffice([file], tmp_path)

    header = [cell.value for cell in sheet[0]]
    rows = [dict(zip(header, (cell.value for cell in row), strict=True)) for row in sheet[1:]]
    assert not any(cell.data_type == "f" for row in sheet for cell in row)
    totals, fund = (
        loaded.read_models.balances(FINANCE, YEAR)[1].figures,
        loaded.read_models.council_fund_balance(FINANCE, YEAR).figures,
    )

    def pounds(kind: str) -> Decimal:
        return sum((Decimal(str(r["amount"])) for r in rows if r["movement"] == kind), Decimal(0))

    # A release takes back what was committed, a recovery what was paid (and its commitment with it);
    # the demo holds a released award and a recovered one, so both sums are really netted here.
    assert pounds("release") > 0 and pounds("recovery") > 0
    assert pounds("carry_forward_in") > 0  # last year's close carried money in
    assert pounds("allocation") + pounds("carry_forward_in") == Decimal(totals.allocated + fund.allocated) / 100
    assert pounds("payment") - pounds("recovery") == Decimal(totals.paid + fund.paid) / 100
    committed = pounds("commitment") + pounds("forward_covered") - pounds("release") - pounds("recovery")
    assert committed == Decimal(totals.committed + fund.committed) / 100
    assert all(isinstance(r["amount"], int | float) for r in rows)  # numbers, not text, to the spreadsheet


# ================================================================================================
# Who may, and forged forms
# ================================================================================================


@pytest.mark.parametrize("label", ["council officer", "lead, northmere-coast", "school 990001 (northmere-coast)"])
def test_other_roles_may_not_open_or_post_finance_pages(loaded, label):
    row = payable(loaded, RequestStatus.CLUSTER_APPROVED)
    with signed_in(loaded, label) as other:
        for url in [*PAGES, f"/finance/requests/{row.request_id}/payment"]:
            assert other.get(url).status_code == 403, url
        token = csrf_from(other.get("/sign-out").text)  # a valid token: the role alone is refused
        for action, data in [
            (
                "/finance/allocations/cluster",
                {"cluster_id": "northmere-coast", "financial_year": YEAR, "direction": "increase", "amount": "5"},
            ),
            (
                "/finance/allocations/council-fund",
                {"fund_financial_year": YEAR, "fund_direction": "increase", "fund_amount": "5"},
            ),
            (f"/finance/requests/{row.request_id}/payment", {"amount": "5", "reference": "x"}),
        ]:
            assert other.post(action, data={"csrf_token": token, "once": "e" * 32, **data}).status_code == 403
    assert balance(loaded, "northmere-coast").figures.allocated == 60_000_00
    assert payable(loaded, RequestStatus.CLUSTER_APPROVED) == row


def test_signed_out_visitors_are_sent_to_sign_in(loaded):
    with signed_in(loaded, "finance officer") as client:
        client.cookies.clear()
        answer = client.get(f"/finance/balances?financial_year={YEAR}")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=")


def test_a_post_without_a_valid_csrf_token_changes_nothing(loaded, client):
    row = payable(loaded, RequestStatus.CLUSTER_APPROVED)
    page = client.get(f"/finance/allocations?financial_year={YEAR}").text
    once = once_key(page, "/finance/allocations/cluster")
    for token in ({}, {"csrf_token": "forged"}):
        allocation = {
            "once": once,
            "cluster_id": "northmere-coast",
            "financial_year": YEAR,
            "direction": "increase",
            "amount": "5",
        }
        assert client.post("/finance/allocations/cluster", data={**token, **allocation}).status_code == 403
        payment = {"once": once, "amount": "5", "reference": "x"}
        assert client.post(f"/finance/requests/{row.request_id}/payment", data={**token, **payment}).status_code == 403
    assert balance(loaded, "northmere-coast").figures.allocated == 60_000_00
    assert payable(loaded, RequestStatus.CLUSTER_APPROVED) == row
