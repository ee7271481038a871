"""The council's pages in process, on SQLite and on PostgreSQL, over the demo year: escalations
with the cluster's position, the decision form and its refusals, the decision log's filters and
CSV (opened in LibreOffice Calc), the audit check before and after tampering, a request as it
was, and that nobody else may use any of it."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime, timedelta
from uuid import UUID

import pytest

from domain.values import RequestStatus
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.dev_mode import DEV_YEAR
from tests.integration.tampering import Intruder
from tests.integration.test_ledger_spreadsheet import open_in_libreoffice
from tests.web.pages import csrf_from, post_form, signed_in
from web.labels import ENGLAND

COUNCIL = demo.COUNCIL
COUNCIL_PAGES = ["/council/escalations", "/council/decisions", "/council/decisions.csv", "/council/audit"]
OTHER_ROLES = ["finance officer", "lead, marshfield-vale", "school 990201 (marshfield-vale)"]
HEADER = [
    "position", "kind", "request_id", "school_urn", "cluster_id", "financial_year", "actor_sub", "actor_role",
    "decided_at", "amount", "reason_code", "reason", "details",
]  # fmt: skip


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def escalated(app: FundingApplication) -> UUID:
    """The demo's one request awaiting the council: 990201's £9,500, escalated with £8,000 available."""
    (row,) = app.read_models.list_requests(COUNCIL, status="escalated").items
    return UUID(row.request_id)


def fund_available(app: FundingApplication) -> int:
    return app.read_models.council_fund_balance(COUNCIL, DEV_YEAR).figures.available


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def table_rows(page: str) -> list[str]:
    """The text of each row of the page's table body."""
    body = re.search(r'<tbody class="govuk-table__body">(.*?)</tbody>', page, re.DOTALL)
    return [text_of(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.DOTALL)] if body else []


def error_summary(page: str) -> str:
    found = re.search(r'<div class="govuk-error-summary".*?</ul>', page, re.DOTALL)
    return text_of(found.group(0)) if found else ""


# -- escalations -------------------------------------------------------------------------------------


def test_escalations_show_the_clusters_position_then_and_now(loaded):
    request_id = escalated(loaded)
    loaded.allocate_budget(demo.FINANCE, "marshfield-vale", DEV_YEAR, "500.00", "a late top-up")

    page = signed_in(loaded, "council officer").get("/council/escalations")

    assert page.status_code == 200
    assert "<title>Escalations awaiting decision - SEND top-up funding</title>" in page.text
    (row,) = table_rows(page.text)
    assert row.startswith(request_id.hex[:8].upper())
    assert "990201 marshfield-vale £9,500.00 Today £8,000.00 £8,500.00 Decide" in row
    assert f'href="/council/requests/{request_id.hex}/decision"' in page.text


def test_with_no_escalation_waiting_the_page_says_so(loaded):
    loaded.decide_escalation(COUNCIL, escalated(loaded), "decline", "Met through the EHCP route.")

    page = signed_in(loaded, "council officer").get("/council/escalations")

    assert page.status_code == 200 and table_rows(page.text) == []
    assert "No request is waiting for the council's decision." in text_of(page.text)


# -- the decision form ---------------------------------------------------------------------------------


def test_the_form_shows_the_escalation_and_the_council_fund_before_and_after(loaded):
    request_id = escalated(loaded)

    page = signed_in(loaded, "council officer").get(f"/council/requests/{request_id.hex}/decision")

    assert page.status_code == 200
    text = text_of(page.text)
    assert f"Decide on request {request_id.hex[:8].upper()}" in text
    assert "Cluster's available balance when it escalated £8,000.00" in text
    assert "Available now £88,000.00" in text  # £100,000 less the £12,000 approved for 990202
    assert "Available after approving £9,500.00 £78,500.00" in text
    assert 'id="amount" name="amount" type="text" spellcheck="false" value="9500.00"' in page.text


def test_the_council_approves_part_of_an_escalation(loaded):
    request_id, before = escalated(loaded), fund_available(loaded)
    client = signed_in(loaded, "council officer")
    form = f"/council/requests/{request_id.hex}/decision"

    answer = post_form(client, form, form, {"decision": "approve", "amount": "£9,000", "reason": "Exceptional."})

    assert answer.status_code == 303 and answer.headers["location"] == "/council/escalations"
    request = loaded.get_request(COUNCIL, request_id)
    assert (request.status, request.amount_approved.pence, request.funded_by) == (
        RequestStatus.COUNCIL_APPROVED,
        900_000,
        "council",
    )
    assert fund_available(loaded) == before - 900_000
    after = client.get("/council/escalations")
    assert f"Request {request_id.hex[:8].upper()} approved: £9,000.00 from the council fund" in after.text
    assert table_rows(after.text) == []


def test_the_council_declines_an_escalation_and_the_fund_is_untouched(loaded):
    request_id, before = escalated(loaded), fund_available(loaded)
    client = signed_in(loaded, "council officer")
    form = f"/council/requests/{request_id.hex}/decision"

    answer = post_form(client, form, form, {"decision": "decline", "amount": "9500.00", "reason": "EHCP route."})

    assert answer.status_code == 303
    assert loaded.get_request(COUNCIL, request_id).status is RequestStatus.COUNCIL_DECLINED
    assert fund_available(loaded) == before
    assert "declined by the council" in client.get("/council/escalations").text


@pytest.mark.parametrize(
    ("data", "status", "messages"),
    [
        ({}, 400, ["Select whether the council approves or declines", "Enter the reason"]),
        ({"decision": "approve", "amount": "lots", "reason": "Yes."}, 400, ["must be an amount in pounds"]),
        ({"decision": "approve", "amount": "9600", "reason": "Yes."}, 400, ["must be at most the £9,500.00 escalated"]),
        ({"decision": "maybe", "reason": "Yes."}, 400, ["Select whether"]),
        ({"decision": "decline", "reason": "a\x00b"}, 400, ["Reason must not contain control characters"]),
    ],
    ids=["empty", "not-pounds", "over-escalated", "unknown-decision", "control-character"],
)
def test_a_bad_decision_is_refused_on_the_form_and_changes_nothing(loaded, data, status, messages):
    request_id = escalated(loaded)
    version, before = loaded.get_request(COUNCIL, request_id).version, fund_available(loaded)
    client = signed_in(loaded, "council officer")
    form = f"/council/requests/{request_id.hex}/decision"

    answer = post_form(client, form, form, data)

    assert answer.status_code == status
    assert answer.text.count('class="govuk-error-summary"') == 1
    for message in messages:
        assert message in error_summary(answer.text)
    assert "<title>Error: Decide on request" in answer.text
    if data.get("amount"):
        assert f'value="{data["amount"]}"' in answer.text  # what was typed, kept
    assert loaded.get_request(COUNCIL, request_id).version == version
    assert fund_available(loaded) == before


def test_approving_more_than_the_council_fund_has_is_refused_with_the_fund_figures(loaded):
    request_id = escalated(loaded)
    loaded.allocate_council_fund(demo.FINANCE, DEV_YEAR, "-85000.00", "moved to high needs")  # £3,000 left
    client = signed_in(loaded, "council officer")
    form = f"/council/requests/{request_id.hex}/decision"
    assert "The council fund does not have £9,500.00 available" in text_of(client.get(form).text)

    answer = post_form(client, form, form, {"decision": "approve", "amount": "9500", "reason": "Exceptional."})

    assert answer.status_code == 409
    summary = "The council fund for 2026-27 has £3,000.00 available, not the £9,500.00 to approve"
    assert summary in error_summary(answer.text)
    assert 'href="#amount"' in answer.text
    assert loaded.get_request(COUNCIL, request_id).status is RequestStatus.ESCALATED
    assert fund_available(loaded) == 300_000


def test_a_request_not_awaiting_the_council_cannot_be_decided(loaded):
    submitted = loaded.read_models.list_requests(COUNCIL, status="submitted").items[0]
    client = signed_in(loaded, "council officer")
    form = f"/council/requests/{submitted.request_id}/decision"

    shown = client.get(form)
    token = csrf_from(client.get("/sign-out").text)  # the page has no form to take one from
    answer = client.post(form, data={"csrf_token": token, "decision": "decline", "reason": "No."})

    for page in (shown, answer):
        assert page.status_code == 409
        assert "This request is not awaiting a council decision: it is submitted" in error_summary(page.text)
        assert 'name="decision"' not in page.text
    assert loaded.get_request(COUNCIL, UUID(submitted.request_id)).status is RequestStatus.SUBMITTED


def test_a_decision_taken_meanwhile_refuses_the_second(loaded):
    request_id = escalated(loaded)
    client = signed_in(loaded, "council officer")
    form = f"/council/requests/{request_id.hex}/decision"
    token = csrf_from(client.get(form).text)
    loaded.decide_escalation(COUNCIL, request_id, "decline", "Decided by a colleague.")

    answer = client.post(form, data={"csrf_token": token, "decision": "approve", "amount": "9500", "reason": "Yes."})

    assert answer.status_code == 409
    assert "This request is not awaiting a council decision: it is declined by council" in error_summary(answer.text)
    assert loaded.get_request(COUNCIL, request_id).status is RequestStatus.COUNCIL_DECLINED


def test_an_unknown_request_has_no_decision_form(loaded):
    client = signed_in(loaded, "council officer")
    for path in ("/council/requests/not-an-id/decision", f"/council/requests/{'0' * 32}/decision"):
        assert client.get(path).status_code == 404


# -- the decision log ------------------------------------------------------------------------------------


def log_rows(client, **query: str) -> list[str]:
    page = client.get("/council/decisions", params=query)
    assert page.status_code == 200, page.text
    return table_rows(page.text)


def test_the_log_lists_every_decision_newest_first(loaded):
    rows = log_rows(signed_in(loaded, "council officer"))

    assert len(rows) == 12  # the demo year's ten decisions, the released award's approval and last year's commission
    assert "Declined by council" in rows[0] and "Provision is available through the EHCP route." in rows[0]
    assert "Service commissioned" in rows[-2] and "£7,500.00" in rows[-2] and "Budget" in rows[-2]
    assert "Service commissioned" in rows[-1] and "£9,000.00" in rows[-1] and "A specialist teacher" in rows[-1]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"cluster": "fenwick-broads"}, ["Declined by cluster", "Approved by cluster"]),
        ({"school": "990201"}, ["Declined by council", "Escalated to council", "Escalated to council"]),
        ({"kind": "information_request"}, ["Information requested"]),
        ({"decider": "demo-council-officer"}, ["Declined by council", "Approved by council"]),
        ({"cluster": "marshfield-vale", "kind": "escalation", "school": "990202"}, ["Escalated to council"]),
    ],
    ids=["cluster", "school", "kind", "decider", "together"],
)
def test_each_filter_narrows_the_log(loaded, query, expected):
    rows = log_rows(signed_in(loaded, "council officer"), **query)

    assert [next(label for label in expected if label in row) for row in rows] == expected
    for value in query.values():
        if value not in ("information_request", "escalation"):
            assert all(value in row for row in rows)


def test_dates_narrow_the_log_to_whole_days_in_england(loaded):
    client = signed_in(loaded, "council officer")
    today = datetime.now(ENGLAND).date()
    day = timedelta(days=1)

    assert len(log_rows(client, **{"from": str(today), "to": str(today)})) == 12
    assert log_rows(client, **{"from": str(today + day)}) == []
    assert log_rows(client, to=str(today - day)) == []
    assert "No decision matches these filters." in client.get("/council/decisions", params={"to": "2001-01-01"}).text


def test_the_log_pages_through_older_decisions_keeping_the_filters(loaded):
    for number in range(55):
        loaded.request_information(demo.lead("northmere-coast"), _information_requested(loaded), f"Question {number}?")
    client = signed_in(loaded, "council officer")

    first = client.get("/council/decisions", params={"kind": "information_request"})
    older = re.search(r'href="(/council/decisions\?kind=information_request&amp;cursor=[^"]+)"', first.text)
    assert older, first.text
    second = client.get(html.unescape(older.group(1)))

    assert len(table_rows(first.text)) == 50 and len(table_rows(second.text)) == 6
    assert "Question 54?" in table_rows(first.text)[0] and "Please show" in table_rows(second.text)[-1]


def _information_requested(app: FundingApplication) -> UUID:
    """A northmere request that can be asked another question (answer the last one first)."""
    row = app.read_models.list_requests(COUNCIL, school_urn="990003").items[0]
    request_id = UUID(row.request_id)
    if row.status == "information_requested":
        app.provide_evidence(demo.school("990003"), request_id, **demo.EVIDENCE)
    return request_id


@pytest.mark.parametrize("path", ["/council/decisions", "/council/decisions.csv"])
def test_bad_filters_are_a_400_page_with_a_message_on_each(loaded, path):
    query = {"from": "2027-02-30", "to": "soon", "cluster": "atlantis", "school": "99020", "kind": "vote"}
    answer = signed_in(loaded, "council officer").get(path, params=query)

    assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/html")
    summary = error_summary(answer.text)
    for message in (
        "The from date must be a real date",
        "The to date must be a real date",
        "Select a cluster from the list",
        "Enter a school URN of 6 digits",
        "Select a kind of decision from the list",
    ):
        assert message in summary
    assert 'value="99020"' in answer.text and table_rows(answer.text) == []


def test_a_to_date_before_the_from_date_and_a_bad_cursor_are_refused(loaded):
    client = signed_in(loaded, "council officer")

    backwards = client.get("/council/decisions", params={"from": "2027-03-02", "to": "2027-03-01"})
    forged = client.get("/council/decisions", params={"cursor": "bm90LWEtbGlzdA"})
    long_decider = client.get("/council/decisions", params={"decider": "x" * 201})

    assert backwards.status_code == 400 and "The to date must be the same as or after" in backwards.text
    assert forged.status_code == 400 and "The page link is not one this service gave out" in forged.text
    assert long_decider.status_code == 400
    assert "Actor must be at most 200 characters" in error_summary(long_decider.text)


def hostile_decisions(app: FundingApplication) -> dict[str, str]:
    """Decisions whose reasons a spreadsheet would run as formulas; what each reason should show."""
    request_id = escalated(app)
    app.decide_escalation(COUNCIL, request_id, "decline", '=HYPERLINK("http://x","y")\r@SUM(1,1)')
    lead = demo.lead("northmere-coast")
    app.request_information(lead, _information_requested(app), "-2+3")
    return {"council_decline": '\'=HYPERLINK("http://x","y")\n\'@SUM(1,1)', "information_request": "'-2+3"}


def test_the_csv_has_every_matching_decision_with_2dp_money_and_guarded_text(loaded):
    hostile_decisions(loaded)
    client = signed_in(loaded, "council officer")

    answer = client.get("/council/decisions.csv", params={"cluster": "marshfield-vale"})

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    attachment = r'attachment; filename="decision-log-\d{4}-\d{2}-\d{2}\.csv"'
    assert re.fullmatch(attachment, answer.headers["content-disposition"])
    rows = list(csv.reader(io.StringIO(answer.text, newline="")))
    assert rows[0] == HEADER
    by = {name: [row[index] for row in rows[1:]] for index, name in enumerate(HEADER)}
    kinds = ["council_decline", "council_decline", "escalation", "council_approval", "escalation", "escalation"]
    assert by["kind"] == kinds
    assert set(by["cluster_id"]) == {"marshfield-vale"}
    assert by["amount"] == ["", "", "15000.00", "12000.00", "12000.00", "9500.00"]
    assert by["reason"][0] == '\'=HYPERLINK("http://x","y")\r\'@SUM(1,1)'
    assert all(str(UUID(value)) == value for value in by["request_id"])
    everything = list(csv.reader(io.StringIO(client.get("/council/decisions.csv").text, newline="")))
    assert len(everything) == 1 + 14  # the demo's 12 decisions and the 2 hostile ones


def test_the_csv_opens_in_a_spreadsheet_with_no_formula_and_the_values_as_written(loaded, tmp_path):
    shown = hostile_decisions(loaded)
    answer = signed_in(loaded, "council officer").get("/council/decisions.csv")
    assert answer.status_code == 200
    exported = tmp_path / "decisions.csv"
    exported.write_bytes(answer.content)

    (sheet,) = open_in_libreoffice([exported], tmp_path)

    assert [cell.value for cell in sheet[0]] == HEADER
    assert len(sheet) == 1 + 14 and all(len(row) == len(HEADER) for row in sheet)
    assert [cell.coordinate for row in sheet for cell in row if cell.data_type == "f"] == []
    cells = {name: [row[index] for row in sheet[1:]] for index, name in enumerate(HEADER)}
    reasons: dict[str, str] = {}
    for kind, reason in zip(cells["kind"], cells["reason"], strict=True):
        reasons.setdefault(kind.value, reason.value)  # newest first: the hostile ones
    assert reasons["council_decline"] == shown["council_decline"]
    assert reasons["information_request"] == shown["information_request"]
    amounts = [cell.value for cell in cells["amount"] if cell.value is not None]
    assert all(cell.data_type == "n" for cell in cells["amount"] if cell.value is not None)
    assert sorted(amounts) == sorted([12000, 15000, 12000, 9500, 8000, 5400, 3000, 7500, 9000])


# -- the audit check --------------------------------------------------------------------------------------


def log_length(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def test_the_audit_page_runs_the_check_only_when_asked(loaded):
    client = signed_in(loaded, "council officer")

    first = client.get("/council/audit")
    checked = client.get("/council/audit", params={"check": "yes"})

    assert first.status_code == 200 and "Check the audit chain now" in first.text and "Events checked" not in first.text
    assert checked.status_code == 200
    assert "<title>Audit check: passed - SEND top-up funding</title>" in checked.text
    text = text_of(checked.text)
    assert f"Events checked {log_length(loaded):,}" in text
    assert "First bad position in the log None" in text
    assert loaded.verify_audit_chain(COUNCIL).head in text
    assert "no anchor folder is configured" in text and "Check again" in text


def test_the_audit_page_shows_the_first_bad_position_after_tampering(loaded, database_url):
    loaded.read_side.make_fresh()  # chained, as the follower does within moments of each command
    intruder, position = Intruder(database_url), 5
    [(state,)] = intruder.execute("SELECT state FROM {events} WHERE {position} = ?", (position,))
    with intruder.cursor() as cursor:
        cursor.execute("UPDATE {events} SET state = ? WHERE {position} = ?", (b"{ " + bytes(state)[1:], position))

    checked = signed_in(loaded, "council officer").get("/council/audit", params={"check": "yes"})

    assert checked.status_code == 200
    assert "<title>Audit check: failed - SEND top-up funding</title>" in checked.text
    assert "First bad position in the log 5" in text_of(checked.text)


# -- the request page: deciding, and the request as it was -------------------------------------------------


def test_the_request_page_offers_the_decision_and_the_past(loaded):
    request_id = escalated(loaded)
    client = signed_in(loaded, "council officer")

    page = client.get(f"/funding-requests/{request_id.hex}")

    assert page.status_code == 200
    assert f'href="/council/requests/{request_id.hex}/decision"' in page.text
    assert f'action="/funding-requests/{request_id.hex}"' in page.text and 'name="as_of"' in page.text
    decided = loaded.read_models.list_requests(COUNCIL, status="council_approved").items[0]
    other = client.get(f"/funding-requests/{decided.request_id}")
    assert f"/council/requests/{decided.request_id}/decision" not in other.text and 'name="as_of"' in other.text


def test_the_request_as_it_was_before_the_council_decided(loaded):
    request_id = escalated(loaded)
    escalated_at = loaded.request_history(COUNCIL, request_id)[-1].timestamp
    loaded.decide_escalation(COUNCIL, request_id, "approve", "Exceptional.")
    client = signed_in(loaded, "council officer")

    then = client.get(f"/funding-requests/{request_id.hex}", params={"as_of": escalated_at.isoformat()})

    assert then.status_code == 200
    text = text_of(then.text)
    assert "This is the request as it was at" in text and "Its status now: Approved by council" in text
    assert "Escalated to council" in text and "Approved by the council" not in text


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2001-01-01T09:00", "The request did not exist yet at 1 January 2001, 9:00am: it was submitted"),
        ("yesterday", "Enter a date and time"),
        ("9999-12-31T23:59-05:00", "Enter a date and time between the years 1 and 9999"),
    ],
)
def test_a_moment_the_request_cannot_be_seen_at_is_an_error_not_a_crash(loaded, as_of, message):
    request_id = escalated(loaded)

    page = signed_in(loaded, "council officer").get(f"/funding-requests/{request_id.hex}", params={"as_of": as_of})

    assert page.status_code == 400
    assert message in error_summary(page.text)
    assert f'value="{as_of}"' in page.text


# -- who may use these pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("label", OTHER_ROLES)
def test_other_roles_get_403_on_every_council_page_and_cannot_decide(loaded, label):
    request_id = escalated(loaded)
    client = signed_in(loaded, label)
    form = f"/council/requests/{request_id.hex}/decision"

    for path in [*COUNCIL_PAGES, "/council/audit?check=yes", form]:
        assert client.get(path).status_code == 403, path
    token = csrf_from(client.get("/sign-out").text)
    answer = client.post(form, data={"csrf_token": token, "decision": "approve", "amount": "9500", "reason": "Mine."})

    assert answer.status_code == 403
    assert loaded.get_request(COUNCIL, request_id).status is RequestStatus.ESCALATED


def test_signed_out_visitors_are_sent_to_sign_in(loaded):
    client = signed_in(loaded, "council officer")
    client.cookies.clear()
    answer = client.get("/council/decisions", params={"kind": "escalation"})

    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2Fcouncil%2Fdecisions%3Fkind%3Descalation"


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_decision_without_a_valid_csrf_token_changes_nothing(loaded, token):
    request_id = escalated(loaded)
    client = signed_in(loaded, "council officer")
    form = f"/council/requests/{request_id.hex}/decision"
    client.get(form)
    data = {"decision": "approve", "amount": "9500", "reason": "Exceptional."}

    answer = client.post(form, data=data if token is None else {**data, "csrf_token": token})

    assert answer.status_code == 403 and "The form had expired" in answer.text
    assert loaded.get_request(COUNCIL, request_id).status is RequestStatus.ESCALATED
