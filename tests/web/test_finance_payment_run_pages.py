"""Finance's payment run and remittance pages, in process, on SQLite and on PostgreSQL, over the demo
year: the instalments due by a date with their total; a run made of them (a retried post makes one);
its file, the same bytes as the application writes; the bank's remittance built from that file,
imported, paying the instalments and moving the balances; a remittance whose lines name no run
line or carry another amount, reported and recording nothing; cancelling a run; bad input refused
with the error summary and nothing changed; every other role refused.

The demo is loaded as on 30 November 2026 (its second run takes what is due on the day it is loaded,
so the day is fixed): PR-000001 is paid and PR-000002 is open, holding the council-approved request's
first two instalments (£5,000.00 and £4,000.00). By 31 March 2027 two more instalments are due, in no
run (£5,000.00): that request's third (£3,000.00) and the cluster-approved request's spring term
(£2,000.00), both due on 1 January 2027; its summer term is held. The run a test makes is the third.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from funding_engine.dev_mode import DEV_YEAR
from tests.web.pages import csrf_from, signed_in
from tests.web.test_finance_pages import banner, error_summary, once_key, tables
from web.finance.remittances import MAX_UPLOAD_BYTES
from web.kit import money

FINANCE = demo.FINANCE
YEAR = str(DEV_YEAR)
NORTHMERE = "northmere-coast"
DUE = "/finance/runs/due"
BY_MARCH = {"due_by-day": "31", "due_by-month": "3", "due_by-year": "2027"}
REMITTANCE = "/finance/runs/remittance"
DEMO_DAY = date(2026, 11, 30)  # after the run of September to November, before the spring term is due


@pytest.fixture
def demo_day(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before the demo is copied: its copy is of a demo loaded as of this day (tests/demo_copies.py).
    monkeypatch.setattr(FundingApplication, "today", staticmethod(lambda: DEMO_DAY))


@pytest.fixture
def loaded(demo_day: None, demo_app: FundingApplication) -> FundingApplication:
    return demo_app


@pytest.fixture
def number(loaded: FundingApplication) -> int:
    """The number of the run the test makes: the next after the demo's (PR-000001 paid, PR-000002 open)."""
    return max(run.number for run in loaded.payment_runs(FINANCE).items) + 1


def reference(number: int) -> str:
    return f"PR-{number:06d}"


@pytest.fixture
def client(loaded: FundingApplication) -> Any:
    with signed_in(loaded, "finance officer") as signed:
        yield signed


def head(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def summary(page: str) -> str:
    return html.unescape(" ".join(error_summary(page)))


def text_of(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.DOTALL)
    assert found, element_id
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()))


def run_form(client: Any, query: dict[str, str] = BY_MARCH) -> dict[str, str]:
    """The "Create payment run" form of the due page for ``query``, as the browser would post it."""
    page = client.get(DUE, params=query).text
    form = re.search(r'<form method="post" action="/finance/runs".*?</form>', page, re.DOTALL)
    assert form, "no create form"
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form.group(0)))


def create_run(client: Any, query: dict[str, str] = BY_MARCH) -> Any:
    return client.post("/finance/runs", data=run_form(client, query))


def upload(client: Any, data: bytes, filename: str = "remittance.csv", once: str | None = None) -> Any:
    page = client.get(REMITTANCE).text
    fields = {"csrf_token": csrf_from(page), "once": once or once_key(page, REMITTANCE)}
    return client.post(REMITTANCE, data=fields, files={"file": (filename, data, "text/csv")})


def run_file(client: Any, number: int) -> str:
    answer = client.get(f"/finance/runs/{number}/download.csv")
    assert answer.status_code == 200
    return answer.text


def remittance_for(file_text: str, amounts: dict[int, str] | None = None, extra: str = "") -> bytes:
    """The bank's remittance of a run file: every line paid on 7 December 2026 (``amounts`` by
    the file's row, from 0, to pay another amount)."""
    rows = list(csv.DictReader(io.StringIO(file_text)))
    lines = [
        f"{row['line_reference']},{(amounts or {}).get(number, row['amount'])},07/12/2026"
        for number, row in enumerate(rows)
    ]
    return ("reference,amount,date\n" + "\n".join(lines) + "\n" + extra).encode()


def council_row(file_text: str) -> tuple[int, dict[str, str]]:
    """The run file's row (from 0) paying the council-approved request's £3,000.00, and the row: the
    run's two lines are due on the same day, so which of them comes first is not fixed."""
    rows = list(csv.DictReader(io.StringIO(file_text)))
    ((index, row),) = [(index, row) for index, row in enumerate(rows) if row["cost_centre"] == "council"]
    assert row["amount"] == "3000.00"
    return index, row


def unpaid_instalments(app: FundingApplication) -> list[tuple[str, int, int]]:
    rows = app.instalments_due(FINANCE, "2027-03-31", limit=100).items
    return [(row.request_id, row.number, row.unpaid) for row in rows]


# -- what is due ------------------------------------------------------------------------------------


def test_the_instalments_due_by_a_date_are_listed_with_their_total(loaded, client):
    page = client.get(DUE, params=BY_MARCH)

    assert page.status_code == 200
    rows = tables(page.text)["instalments-due"][1:]
    due = unpaid_instalments(loaded)
    assert len(rows) == len(due) == 2
    assert [row[-1] for row in rows] == [money(unpaid) for _, _, unpaid in due]  # earliest first, as the application
    assert sorted(row[-1] for row in rows) == ["£2,000.00", "£3,000.00"]  # not the £5,000.00 and £4,000.00 in PR-000002
    assert text_of(page.text, "total-due") == "£5,000.00"
    assert 'action="/finance/runs"' in page.text


def test_the_date_is_today_until_another_is_chosen(client):
    page = client.get(DUE).text
    today = today_in_england()
    assert f'name="due_by-day" type="text" value="{today.day}"' in page
    assert f'name="due_by-year" type="text" value="{today.year}"' in page


@pytest.mark.parametrize(
    ("filters", "amounts"),
    [
        ({"funded_by": "council"}, ["£3,000.00"]),
        ({"cluster_id": NORTHMERE}, ["£2,000.00"]),
        ({"financial_year": "2027-28"}, []),
    ],
)
def test_the_filters_narrow_the_list(client, filters, amounts):
    page = client.get(DUE, params={**BY_MARCH, **filters}).text
    shown = [row[-1] for row in tables(page).get("instalments-due", [[]])[1:]]
    assert sorted(shown) == sorted(amounts)
    assert ('id="nothing-due"' in page) == (not amounts)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({**BY_MARCH, "due_by-day": "32"}, "due_by-day", "The date instalments are due by must be a real date"),
        ({**BY_MARCH, "due_by-year": ""}, "due_by-day", "Enter the day, month and year instalments are due by"),
        ({**BY_MARCH, "funded_by": "school"}, "funded_by", "Choose whose awards to pay, or all of them"),
        ({**BY_MARCH, "financial_year": "2026"}, "financial_year", "Choose a financial year like 2026-27"),
        ({**BY_MARCH, "cluster_id": "nowhere"}, "cluster_id", "Choose a cluster from the list, or all clusters"),
    ],
)
def test_a_bad_date_or_filter_is_an_error_on_its_field(client, query, field, message):
    page = client.get(DUE, params=query)
    assert page.status_code == 400
    assert summary(page.text).startswith(message)
    assert f'href="#{field}"' in page.text
    assert 'action="/finance/runs"' not in page.text  # no run is offered on a list not shown


# -- making a run -----------------------------------------------------------------------------------


def test_creating_a_run_takes_every_instalment_listed_and_a_retried_post_makes_one(loaded, client, number):
    listed = unpaid_instalments(loaded)
    before = {run.number for run in loaded.payment_runs(FINANCE).items}
    form = run_form(client)

    first = client.post("/finance/runs", data=form)
    again = client.post("/finance/runs", data=form)

    assert (number, before) == (3, {1, 2})  # the demo's two runs, and this one
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == "/finance/runs/3"
    page = client.get("/finance/runs/3").text
    assert "That form had already been sent: payment run PR-000003 was created once, and not again" in banner(page)
    (run,) = [run for run in loaded.payment_runs(FINANCE).items if run.number not in before]
    assert sorted((line.request_id.hex, line.instalment, line.amount.pence) for line in run.lines) == sorted(listed)
    assert unpaid_instalments(loaded) == []  # all of them are in the open run now
    lines = tables(page)["run-lines"]
    assert [row[0] for row in lines[1:]] == ["PR-000003-0001", "PR-000003-0002"]
    assert sorted(row[1:2] + row[3:6] for row in lines[1:]) == [  # both due the same day: in either order
        ["990001 | Northmere Primary School (fictional)", NORTHMERE, "1 January 2027", "£2,000.00"],
        ["990202 | Little Marshfield Nursery School (fictional)", "council", "1 January 2027", "£3,000.00"],
    ]
    assert text_of(page, "run-total") == "£5,000.00"
    listing = tables(client.get("/finance/runs").text)["payment-runs"]
    assert listing[1][0] == "PR-000003" and listing[1][-2:] == ["£5,000.00", "Open"]


def test_a_run_of_nothing_due_is_refused_and_writes_nothing(loaded, client):
    create_run(client)
    page = client.get(REMITTANCE).text
    before = head(loaded)

    answer = client.post(
        "/finance/runs",
        data={"csrf_token": csrf_from(page), "once": "d" * 32, "due_by": "2027-03-31", "funded_by": "",
              "cluster_id": "", "financial_year": ""},
    )  # fmt: skip

    assert answer.status_code == 409
    assert summary(answer.text).startswith("Nothing is due by 2027-03-31")
    assert head(loaded) == before


def test_the_run_file_is_the_applications_to_the_byte(loaded, client, number):
    create_run(client)
    expected = io.StringIO(newline="")
    loaded.write_payment_run_file(FINANCE, number, expected)

    answer = client.get(f"/finance/runs/{number}/download.csv")

    assert answer.status_code == 200
    assert answer.content == expected.getvalue().encode()
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == f'attachment; filename="payment-run-{reference(number)}.csv"'


@pytest.mark.parametrize(
    "path", ["/finance/runs/{after}", "/finance/runs/0", "/finance/runs/abc", "/finance/runs/9/download.csv"]
)
def test_a_run_that_does_not_exist_is_not_found(client, number, path):
    create_run(client)
    assert client.get(f"/finance/runs/{number}").status_code == 200
    assert client.get(path.format(after=number + 1)).status_code == 404


# -- the bank's remittance ----------------------------------------------------------------------------


def test_a_remittance_built_from_the_run_file_pays_the_instalments_and_moves_the_balances(loaded, client, number):
    create_run(client)
    fund_paid = loaded.read_models.council_fund_balance(FINANCE, YEAR).figures.paid
    budget_paid = loaded.read_models.balance(FINANCE, NORTHMERE, YEAR).figures.paid

    answer = upload(client, remittance_for(run_file(client, number)))

    assert answer.status_code == 303
    report = client.get(answer.headers["location"]).text
    assert "remittance.csv imported: 2 payments of £5,000.00 recorded" in banner(report)
    paid = tables(report)["paid-lines"]
    assert [row[1] for row in paid[1:]] == [f"{reference(number)}-000{n}" for n in (1, 2)]
    assert sorted(row[4:] for row in paid[1:]) == [["7 December 2026", "£2,000.00"], ["7 December 2026", "£3,000.00"]]
    assert f'<a class="govuk-link" href="/finance/runs/{number}">{reference(number)}-0001</a>' in report
    assert "reported-lines" not in tables(report)
    run = loaded.payment_run(FINANCE, number)
    assert run.status == "paid"
    assert loaded.read_models.council_fund_balance(FINANCE, YEAR).figures.paid == fund_paid + 3_000_00
    assert loaded.read_models.balance(FINANCE, NORTHMERE, YEAR).figures.paid == budget_paid + 2_000_00
    for line in run.lines:
        award = loaded.get_request(FINANCE, line.request_id).award
        assert award is not None and not award.instalment(line.instalment).unpaid.is_positive
    page = client.get(f"/finance/runs/{number}").text
    assert [row[-1] for row in tables(page)["run-lines"][1:]] == ["Paid | on 7 December 2026"] * 2
    assert 'id="cancel-run"' not in page
    assert loaded.payment_run(FINANCE, 2).status == "open"  # the demo's run awaiting the bank is another's file


def test_a_retried_import_records_the_file_once(loaded, client, number):
    create_run(client)
    fund_paid = loaded.read_models.council_fund_balance(FINANCE, YEAR).figures.paid
    data = remittance_for(run_file(client, number))
    key = "e" * 32

    first = upload(client, data, once=key)
    again = upload(client, data, once=key)

    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert "was imported once, and not again" in banner(client.get(again.headers["location"]).text)
    assert loaded.read_models.council_fund_balance(FINANCE, YEAR).figures.paid == fund_paid + 3_000_00


def test_an_unknown_reference_and_a_wrong_amount_are_reported_and_record_nothing(loaded, client, number):
    create_run(client)
    _, council = council_row(run_file(client, number))
    data = (
        f"reference,amount,date\n{council['line_reference']},2999.99,07/12/2026\nPR-000042-0001,100.00,07/12/2026\n"
    ).encode()
    before = head(loaded)

    answer = upload(client, data, filename="bank.csv")

    assert answer.status_code == 200
    assert head(loaded) == before
    assert 'id="nothing-recorded"' in answer.text
    reported = tables(answer.text)["reported-lines"]
    assert reported[1:] == [
        ["2", council["line_reference"], "The amount 2999.99 is not the 3000.00 of the run line"],
        ["3", "PR-000042-0001", "The reference matches no payment run line"],
    ]
    assert "paid-lines" not in tables(answer.text)
    assert loaded.payment_run(FINANCE, number).payments == []


def test_the_lines_that_pay_are_recorded_and_the_others_reported(loaded, client, number):
    create_run(client)
    file_text = run_file(client, number)
    index, council = council_row(file_text)
    data = remittance_for(file_text, amounts={index: "1.00"}, extra="PR-000042-0001,100.00,07/12/2026\n")

    answer = upload(client, data)

    report = client.get(answer.headers["location"]).text
    assert "1 payment of £2,000.00 recorded; 2 lines reported, recording nothing" in banner(report)
    assert [row[1] for row in tables(report)["reported-lines"][1:]] == [council["line_reference"], "PR-000042-0001"]
    run = loaded.payment_run(FINANCE, number)
    assert [run.line_reference(line.line) for line in run.awaiting] == [council["line_reference"]]


BAD_FILES = [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "photo.png", "photo.png: the file is not UTF-8 text (byte 1)"),
    (
        b"ref,amount,when\nPR-000001-0001,1.00,2026-12-07\n",
        "bank.csv",
        "bank.csv: line 1: the first line must be a header",
    ),
    (b"", "empty.csv", "Select the bank's remittance file (CSV)"),
]


@pytest.mark.parametrize(("data", "filename", "message"), BAD_FILES)
def test_a_file_that_is_not_a_remittance_is_refused_and_changes_nothing(loaded, client, data, filename, message):
    create_run(client)
    before = head(loaded)

    answer = upload(client, data, filename=filename)

    assert answer.status_code == 400
    assert summary(answer.text).startswith(message)
    assert 'href="#file"' in answer.text
    assert head(loaded) == before


def test_a_file_too_large_is_refused_and_changes_nothing(loaded, client):
    before = head(loaded)
    answer = upload(client, b"reference,amount,date\n" + b"x" * (MAX_UPLOAD_BYTES + 1))
    assert answer.status_code == 413
    assert summary(answer.text) == "The file must be smaller than 1 MB"
    assert head(loaded) == before


def test_a_remittance_that_does_not_exist_is_not_found(loaded, client):
    request_id = loaded.read_models.list_requests(FINANCE).items[0].request_id
    for remittance_id in ("not-a-remittance", UUID(int=7).hex, request_id):
        assert client.get(f"{REMITTANCE}/{remittance_id}").status_code == 404


# -- cancelling -------------------------------------------------------------------------------------


def test_cancelling_a_run_withdraws_its_lines_and_their_instalments_are_due_again(loaded, client, number):
    listed = unpaid_instalments(loaded)
    create_run(client)
    cancel = f"/finance/runs/{number}/cancel"
    form = client.get(cancel).text
    assert text_of(form, "withdrawn-total") == "£5,000.00"
    fields = {"csrf_token": csrf_from(form), "once": once_key(form, cancel), "version": "1"}

    empty = client.post(cancel, data={**fields, "reason": " "})
    assert empty.status_code == 400
    assert summary(empty.text) == "Enter why the run is cancelled"
    answer = client.post(cancel, data={**fields, "reason": "The bank returned the file."})
    again = client.post(cancel, data={**fields, "reason": "The bank returned the file."})

    assert answer.status_code == again.status_code == 303
    page = client.get(f"/finance/runs/{number}").text
    assert f"payment run {reference(number)} was cancelled once" in banner(page)
    assert re.search(r"Why it was cancelled\s*</dt>\s*<dd[^>]*>\s*The bank returned the file.", page)
    assert 'id="cancel-run"' not in page
    run = loaded.payment_run(FINANCE, number)
    assert run.status == "cancelled" and run.cancel_reason == "The bank returned the file."
    assert unpaid_instalments(loaded) == listed and len(listed) == 2
    fresh = {**fields, "once": "f" * 32, "version": str(run.version), "reason": "Again."}
    refused = client.post(cancel, data=fresh)
    assert refused.status_code == 409
    assert summary(refused.text) == f"Payment run {reference(number)} is already cancelled"
    assert 'href="#why-not"' in refused.text and 'id="why-not"' in refused.text
    assert client.get(cancel).status_code == 409


def test_a_cancel_on_a_run_that_changed_since_the_page_was_opened_is_refused(loaded, client, number):
    create_run(client)
    cancel = f"/finance/runs/{number}/cancel"
    form = client.get(cancel).text
    upload(client, remittance_for(run_file(client, number), amounts={0: "1.00"}))  # the run moves on: a line paid
    before = head(loaded)
    fields = {"csrf_token": csrf_from(form), "once": once_key(form, cancel), "version": "1"}

    answer = client.post(cancel, data={**fields, "reason": "The bank returned the file."})

    assert answer.status_code == 409
    assert summary(answer.text).startswith("The run changed while you had this page open")
    assert head(loaded) == before


# -- who may -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("visitor", ["school 990001 (northmere-coast)", "lead, northmere-coast", "council officer"])
def test_no_one_but_finance_opens_or_posts_to_the_payment_run_pages(loaded, visitor):
    number = loaded.create_payment_run(FINANCE, "2027-03-31").number
    client = signed_in(loaded, visitor)
    token = csrf_from(client.get("/sign-out").text)
    before = head(loaded)
    run = f"/finance/runs/{number}"
    for path in ("/finance/runs", DUE, run, f"{run}/download.csv", f"{run}/cancel", REMITTANCE):
        assert client.get(path).status_code == 403, path
    for path in ("/finance/runs", f"{run}/cancel", REMITTANCE):
        answer = client.post(path, data={"csrf_token": token, "once": "a" * 32, "reason": "x", "due_by": "2027-03-31"})
        assert answer.status_code == 403, path
    assert head(loaded) == before
