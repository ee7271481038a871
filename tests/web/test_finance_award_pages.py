"""Finance's pages for the money after a decision, in process, on SQLite and on PostgreSQL, over the
demo year: a payment against a chosen instalment on the day it was paid; recoveries raised and
the money received against them; closing a cluster's budget or the council fund for a year, with
the carry-forward, and the refusal that lists the requests still waiting. Bad input is an error on
the form that changes nothing; other roles are refused.

The demo's council-approved request (£12,000.00, termly over 2026-27: £5,000.00 due 1 April 2026,
£4,000.00 on 1 September, £3,000.00 on 1 January 2027) is unpaid; its cluster-approved request has
£2,666.66 (its autumn term) paid in 2026-27. Fenwick Broads has no request waiting; Northmere Coast has three.
"""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from domain.values import FinancialYear
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.dev_mode import DEV_YEAR
from tests.web.pages import csrf_from, post_form, signed_in
from tests.web.test_finance_pages import banner, error_summary, once_key, tables

FINANCE = demo.FINANCE
YEAR, NEXT_YEAR = str(DEV_YEAR), str(FinancialYear(DEV_YEAR.start_year + 1))
FENWICK, NORTHMERE = "fenwick-broads", "northmere-coast"


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


@pytest.fixture
def client(loaded: FundingApplication) -> Any:
    with signed_in(loaded, "finance officer") as signed:
        yield signed


def request_in(app: FundingApplication, status: str) -> str:
    rows = app.read_models.list_requests(FINANCE, limit=100).items
    return next(row.request_id for row in rows if row.status == status)


def award_of(app: FundingApplication, request_id: str) -> Any:
    return app.get_request(FINANCE, UUID(request_id)).award


def version_of(app: FundingApplication, request_id: str) -> int:
    return app.get_request(FINANCE, UUID(request_id)).version


def summary(page: str) -> str:
    return html.unescape(" ".join(error_summary(page)))


def day_fields(name: str, day: date) -> dict[str, str]:
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}


# -- payments against instalments ----------------------------------------------------------------------


def test_a_payment_pays_the_chosen_instalment_on_the_day_it_was_paid(loaded, client):
    request_id = request_in(loaded, "council_approved")
    url = f"/finance/requests/{request_id}/payment"
    data = {"once": "a" * 32, "instalment": "2", "amount": "4,000", **day_fields("paid_on", date(2026, 9, 2))}

    answer = post_form(client, url, url, {**data, "reference": "BACS-990202-02"})

    assert answer.status_code == 303, summary(answer.text)
    assert "Payment of £4,000.00 recorded for instalment 2 of request" in banner(
        client.get(answer.headers["location"]).text
    )
    assert [i.paid.pence for i in award_of(loaded, request_id).instalments] == [0, 4_000_00, 0]
    (payment,) = [e for e in loaded.request_history(FINANCE, UUID(request_id)) if e.type == "PaymentRecorded"]
    assert payment.data["paid_on"] == date(2026, 9, 2)
    assert [(part.number, part.amount.pence) for part in payment.data["instalments"]] == [(2, 4_000_00)]
    assert loaded.read_models.council_fund_balance(FINANCE, YEAR).figures.paid == 4_000_00
    rows = tables(client.get(f"/funding-requests/{request_id}").text)["payments-so-far"]
    assert rows[1][1:] == ["2 September 2026", "2", "BACS-990202-02", FINANCE.sub, "£4,000.00"]


def test_a_held_instalment_is_not_offered_and_cannot_be_paid(loaded, client):
    request_id = request_in(loaded, "council_approved")
    loaded.hold_instalment(demo.COUNCIL, UUID(request_id), 1, "the annual review")
    url = f"/finance/requests/{request_id}/payment"
    page = client.get(url).text
    assert 'value="1"' not in page.split('name="instalment"', 1)[1].split("</fieldset>", 1)[0]
    assert 'name="instalment" type="radio" value="2" checked' in page  # the first payable instalment
    before = version_of(loaded, request_id)

    answer = post_form(client, url, url, {"once": "b" * 32, "instalment": "1", "amount": "10", "reference": "R"})

    assert answer.status_code == 409
    assert summary(answer.text) == "Instalment 1 is held until the annual review"
    assert 'href="#instalment"' in answer.text
    assert version_of(loaded, request_id) == before


BAD_PAYMENTS = [
    ({"instalment": ""}, 400, "Choose the instalment the payment is for"),
    (
        {"paid_on-day": "31", "paid_on-month": "2"},
        400,
        "The date the payment was made must be a real date, like 1 9 2026",
    ),
    ({"paid_on-year": ""}, 400, "Enter the day, month and year the payment was made"),
    ({"amount": "4000.01"}, 409, "The amount paid must be at most £4,000.00, what is unpaid on instalment 2"),
    ({"instalment": "7"}, 400, "The award has no instalment 7"),
]


@pytest.mark.parametrize(("typed", "status", "message"), BAD_PAYMENTS)
def test_a_bad_payment_is_an_error_on_the_form_and_changes_nothing(loaded, client, typed, status, message):
    request_id = request_in(loaded, "council_approved")
    url = f"/finance/requests/{request_id}/payment"
    data = {"once": "c" * 32, "instalment": "2", "amount": "100", **day_fields("paid_on", date(2026, 9, 2))}
    before = version_of(loaded, request_id)

    answer = post_form(client, url, url, {**data, "reference": "BACS-1", **typed})

    assert answer.status_code == status, summary(answer.text)
    assert summary(answer.text) == message
    assert 'value="BACS-1"' in answer.text  # what was typed is kept
    assert version_of(loaded, request_id) == before


# -- recoveries ----------------------------------------------------------------------------------------


def test_finance_raises_a_recovery_and_records_the_money_received(loaded, client):
    request_id = request_in(loaded, "cluster_approved")
    url = f"/finance/requests/{request_id}/recovery"
    form = client.get(url).text
    assert f'name="financial_year" type="radio" value="{YEAR}" checked' in form
    assert "£2,666.66 paid; up to £2,666.66 can be claimed back" in form
    available = loaded.budget_year_end(FINANCE, NORTHMERE, YEAR).available.pence

    raised = post_form(
        client, url, url, {"once": once_key(form, url), "financial_year": YEAR, "amount": "500", "reason_code":
                           "underspend", "note": "Sessions not delivered."},
    )  # fmt: skip

    assert raised.status_code == 303 and raised.headers["location"] == f"/funding-requests/{request_id}"
    request_page = client.get(raised.headers["location"]).text
    assert f"Recovery 1 of £500.00 raised on request {request_id[:8].upper()}" in banner(request_page)
    assert tables(request_page)["recoveries"][1:] == [
        ["1", YEAR, "Underspend", "Sessions not delivered.", "£500.00", "£0.00", "£500.00"],
        ["Total", "", "", "", "£500.00", "£0.00", "£500.00"],
    ]
    assert loaded.budget_year_end(FINANCE, NORTHMERE, YEAR).available.pence == available  # nothing moved yet

    receipt_url = f"/finance/requests/{request_id}/recovery-receipt"
    receipt = client.get(receipt_url).text
    assert 'name="recovery" type="radio" value="1" checked' in receipt and 'value="500.00"' in receipt
    data = {"csrf_token": csrf_from(receipt), "once": once_key(receipt, receipt_url), "recovery": "1",
            "amount": "300", **day_fields("received_on", date(2026, 10, 5)), "reference": "REMIT-77"}  # fmt: skip
    first, again = client.post(receipt_url, data=data), client.post(receipt_url, data=data)

    assert first.status_code == again.status_code == 303
    assert "recorded once, and not again" in banner(client.get(again.headers["location"]).text)
    award = award_of(loaded, request_id)
    assert award.recovered.pence == 300_00 and award.recoveries[0].outstanding.pence == 200_00
    assert loaded.budget_year_end(FINANCE, NORTHMERE, YEAR).available.pence == available + 300_00


def test_bad_recoveries_are_errors_on_the_form_and_change_nothing(loaded, client):
    request_id = request_in(loaded, "cluster_approved")
    url = f"/finance/requests/{request_id}/recovery"
    before = version_of(loaded, request_id)
    too_much = {"once": "d" * 32, "financial_year": YEAR, "amount": "2666.67", "reason_code": "other", "note": "n"}
    blank = {"once": "e" * 32, "financial_year": NEXT_YEAR, "amount": "", "reason_code": "", "note": ""}

    refused, empty = post_form(client, url, url, too_much), post_form(client, url, url, blank)

    assert refused.status_code == 409
    assert summary(refused.text) == f"Only 2666.66 paid for {YEAR} is not already being recovered"
    assert empty.status_code == 400
    assert error_summary(empty.text) == [
        "Choose the financial year whose payments are claimed back",
        "Enter the amount to recover",
        "Choose why the money is claimed back",
        "Explain the recovery: the school and the council&#39;s auditors read this",
    ]
    assert version_of(loaded, request_id) == before
    loaded.raise_recovery(FINANCE, UUID(request_id), YEAR, "100", "overpayment", "Paid twice.")
    receipt_url = f"/finance/requests/{request_id}/recovery-receipt"
    received = {"recovery": "1", "amount": "100.01", **day_fields("received_on", date(2026, 10, 5)), "reference": "R"}
    over = post_form(client, receipt_url, receipt_url, {"once": "f" * 32, **received})
    assert over.status_code == 409 and summary(over.text) == "Only 100.00 of recovery 1 is still to come in"
    assert award_of(loaded, request_id).recovered.pence == 0


def test_a_request_with_nothing_to_recover_says_so(loaded, client):
    unpaid = request_in(loaded, "council_approved")
    nothing_paid = client.get(f"/finance/requests/{unpaid}/recovery")
    assert nothing_paid.status_code == 409 and "Nothing paid on this request can be claimed back" in nothing_paid.text
    nothing_owed = client.get(f"/finance/requests/{unpaid}/recovery-receipt")
    assert nothing_owed.status_code == 409 and "No recovery on this request has money still to come in" in (
        nothing_owed.text
    )
    page = client.get(f"/funding-requests/{request_in(loaded, 'cluster_approved')}").text
    assert "/recovery" in page and "/recovery-receipt" not in page


# -- closing a year -----------------------------------------------------------------------------------


def test_finance_closes_a_budget_year_and_carries_money_forward(loaded, client):
    url = f"/finance/balances/{FENWICK}/close?financial_year={YEAR}"
    page = client.get(url)
    assert page.status_code == 200
    figures = {row[0]: row[1] for row in summary_rows(page.text)}
    assert figures["Allocated"] == "£45,000.00" and figures["Committed but unpaid"] == "£0.00"
    assert figures["Released from awards"] == "£0.00" and figures["Available"] == "£40,000.00"

    answer = post_form(
        client, url, f"/finance/balances/{FENWICK}/close", {**hidden(page.text), "carry_forward": "1,000"}
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/finance/balances/{FENWICK}?financial_year={YEAR}"
    message = banner(client.get(answer.headers["location"]).text)
    assert f"The {FENWICK} budget for {YEAR} is closed: £1,000.00 carried forward to {NEXT_YEAR}" in message
    assert loaded.budget_year_end(FINANCE, FENWICK, YEAR).closed
    assert loaded.budget_year_end(FINANCE, FENWICK, NEXT_YEAR).allocated.pence == 1_000_00
    closed = client.get(url).text
    assert "This year is closed" in closed and 'name="carry_forward"' not in closed


def test_a_close_refused_while_requests_wait_lists_them(loaded, client):
    url = f"/finance/balances/{NORTHMERE}/close?financial_year={YEAR}"
    page = client.get(url).text
    waiting = [row.request_id for row in loaded.read_models.list_requests(FINANCE, cluster_id=NORTHMERE).items
               if row.status in ("submitted", "evidenced", "information_requested")]  # fmt: skip
    assert len(waiting) == 3

    answer = post_form(client, url, f"/finance/balances/{NORTHMERE}/close", {**hidden(page), "carry_forward": "0"})

    assert answer.status_code == 409
    assert error_summary(answer.text) == [
        "The year cannot close while 3 requests still wait on it: each must be decided first"
    ]
    assert 'href="#waiting"' in answer.text and 'id="waiting"' in answer.text
    for request_id in waiting:
        assert f'href="/funding-requests/{request_id}"' in answer.text
    assert not loaded.budget_year_end(FINANCE, NORTHMERE, YEAR).closed


def test_the_council_fund_closes_once_no_escalation_waits(loaded, client):
    url = f"/finance/council-fund/close?financial_year={YEAR}"
    escalated = request_in(loaded, "escalated")
    refused = post_form(
        client, url, "/finance/council-fund/close", {**hidden(client.get(url).text), "carry_forward": "0"}
    )
    assert refused.status_code == 409 and f'href="/funding-requests/{escalated}"' in refused.text

    loaded.decide_escalation(demo.COUNCIL, UUID(escalated), "decline", "Not exceptional.")
    closed = post_form(
        client, url, "/finance/council-fund/close", {**hidden(client.get(url).text), "carry_forward": "0"}
    )

    assert closed.status_code == 303 and closed.headers["location"] == f"/finance/balances?financial_year={YEAR}"
    assert f"The council fund for {YEAR} is closed" in banner(client.get(closed.headers["location"]).text)
    assert loaded.council_fund_year_end(FINANCE, YEAR).closed


def test_a_bad_close_is_an_error_on_the_form_and_closes_nothing(loaded, client):
    url = f"/finance/balances/{FENWICK}/close?financial_year={YEAR}"
    action = f"/finance/balances/{FENWICK}/close"
    form = hidden(client.get(url).text)
    typo = post_form(client, url, action, {**form, "carry_forward": "lots"})
    too_much = post_form(client, url, action, {**form, "carry_forward": "40000.01"})
    stale = post_form(client, url, action, {**form, "version": str(int(form["version"]) - 1), "carry_forward": "0"})

    assert typo.status_code == 400 and error_summary(typo.text) == [
        "The amount to carry forward must be an amount in pounds, like 1,250.00"
    ]
    assert 'value="lots"' in typo.text
    assert too_much.status_code == 400
    assert summary(too_much.text) == "At most the 40000.00 available can be carried forward"
    assert stale.status_code == 409 and "The figures changed while you had this page open" in summary(stale.text)
    assert not loaded.budget_year_end(FINANCE, FENWICK, YEAR).closed


@pytest.mark.parametrize("label", ["council officer", "lead, northmere-coast", "school 990001 (northmere-coast)"])
def test_other_roles_may_not_open_or_post_these_pages(loaded, label):
    request_id = request_in(loaded, "cluster_approved")
    urls = [
        f"/finance/requests/{request_id}/recovery",
        f"/finance/requests/{request_id}/recovery-receipt",
        f"/finance/balances/{NORTHMERE}/close",
        "/finance/council-fund/close",
    ]
    before = version_of(loaded, request_id)
    with signed_in(loaded, label) as other:
        token = csrf_from(other.get("/sign-out").text)
        for url in urls:
            assert other.get(url).status_code == 403, url
            data = {"csrf_token": token, "once": "9" * 32, "financial_year": YEAR, "amount": "1",
                    "reason_code": "other", "note": "n", "carry_forward": "0"}  # fmt: skip
            assert other.post(url, data=data).status_code == 403, url
    assert version_of(loaded, request_id) == before
    assert not loaded.budget_year_end(FINANCE, NORTHMERE, YEAR).closed


# -- reading the close page ----------------------------------------------------------------------------


def summary_rows(page: str) -> list[list[str]]:
    """The close page's figures, as (key, value) rows."""
    block = page.split('id="year-end-figures"', 1)[1].split("</dl>", 1)[0]
    keys = [" ".join(re.sub(r"<[^>]+>", "", k).split()) for k in re.findall(r"<dt[^>]*>(.*?)</dt>", block, re.DOTALL)]
    values = [" ".join(re.sub(r"<[^>]+>", "", v).split()) for v in re.findall(r"<dd[^>]*>(.*?)</dd>", block, re.DOTALL)]
    return [[key, value] for key, value in zip(keys, values, strict=True)]


def hidden(page: str) -> dict[str, str]:
    """The close form's hidden fields: its year and the version the figures were read at."""
    form = page.split('name="carry_forward"', 1)[0].rsplit("<form", 1)[1]
    return dict(re.findall(r'<input type="hidden" name="(financial_year|version)" value="([^"]*)"', form))
