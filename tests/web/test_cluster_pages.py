"""The cluster lead's pages in process, on SQLite and on PostgreSQL, over the demo year: the work
queue and its filters, the request page's budget figures, each decision and each refusal, the
commissions and the budget; and that nobody else reaches them or changes anything through them.

The demo's Northmere Coast budget: £60,000.00 (£58,000.00 allocated and £2,000.00 carried forward from
last year), £7,500.00 commissioned, one £8,000.00 academic-year top-up approved termly (autumn
£2,666.66 paid, spring £2,000.00 committed, summer £3,333.34 committed ahead on next year's budget) and
one £3,000.00 monthly top-up released after three months (£1,285.71 paid, £1,714.29 released), so
£5,952.37 committed, £3,952.37 paid and £46,547.63 available; its open requests ask for £4,200.00
(submitted), £6,500.00 (evidence added) and £3,100.00 (information requested), in that order.
Marshfield Vale has £8,000.00 available.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from domain.errors import NotPermitted
from domain.values import FinancialYear, RequestStatus
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.application.read_models import MovementTotalRow, RequestRow
from funding_engine.dev_mode import DEV_YEAR
from tests.web.pages import client_for, csrf_from, post_form, signed_in
from web.cluster import pages as cluster
from web.cluster.budget import cumulative_by_month, month_index, months_begun, split_in_proportion

NORTHMERE, MARSHFIELD = "northmere-coast", "marshfield-vale"
LEAD, OTHER_LEAD = f"lead, {NORTHMERE}", f"lead, {MARSHFIELD}"
YEAR = str(DEV_YEAR)


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def requests_of(app: FundingApplication, cluster_id: str) -> list[RequestRow]:
    return app.read_models.list_requests(demo.lead(cluster_id), limit=100).items


def one(app: FundingApplication, cluster_id: str, status: str) -> RequestRow:
    return next(row for row in requests_of(app, cluster_id) if row.status == status)


def references(page: str) -> list[str]:
    """The request references in a page's table, in order."""
    return re.findall(r'href="/funding-requests/([0-9a-f]{32})"', page)


def error_summary(page: str) -> list[str]:
    found = re.search(r'govuk-error-summary__list">(.*?)</ul>', page, re.DOTALL)
    assert found, "no error summary"
    links = re.findall(r"<a [^>]*>(.*?)</a>", found.group(1), re.DOTALL)
    return [html.unescape(re.sub(r"\s+", " ", text).strip()) for text in links]


def available(app: FundingApplication, cluster_id: str) -> int:
    return app.read_models.balance(demo.lead(cluster_id), cluster_id, YEAR).figures.available


def versions(app: FundingApplication, cluster_id: str) -> list[tuple[str, str, int]]:
    return [(row.request_id, row.status, row.version) for row in requests_of(app, cluster_id)]


def evidenced_request(app: FundingApplication, urn: str, amount: str) -> UUID:
    """A new request from ``urn`` with the demo's spend evidence, ready to decide."""
    head = demo.school(urn)
    made = app.submit_request(
        head,
        school_urn=urn,
        financial_year=YEAR,
        amount_requested=amount,
        reason="complex_needs",
        pupil_count=1,
        needs_summary="A pupil with complex needs.",
        planned_provision=[
            {"category": "therapies", "amount": "3000.00"},
            {"category": "personal_care", "amount": "1000.00"},
        ],
    )
    app.provide_evidence(head, made.id, **demo.EVIDENCE)
    return made.id


def decide(client: Any, request_id: str, slug: str, data: dict[str, str]) -> Any:
    url = f"/cluster/requests/{request_id}/{slug}"
    return post_form(client, url, url, data)


# -- the work queue ------------------------------------------------------------------------------


def test_the_queue_lists_the_clusters_open_requests_oldest_first(loaded):
    page = signed_in(loaded, LEAD).get("/cluster/queue")
    assert page.status_code == 200
    assert "<title>Work queue - SEND top-up funding</title>" in page.text
    open_rows = [row for row in requests_of(loaded, NORTHMERE) if row.status in cluster.OPEN_IN_ORDER]
    assert [row.amount_requested for row in open_rows] == [420000, 650000, 310000]
    assert references(page.text) == [row.request_id for row in open_rows]
    for text in ("£4,200.00", "£6,500.00", "£3,100.00", "Submitted", "Evidence added", "Information requested"):
        assert text in page.text
    assert "Waiting" in page.text and "Today" in page.text  # every demo request was submitted just now
    assert "£8,000.00" not in page.text  # approved: no longer in the queue
    assert "990201" not in page.text  # another cluster's school


def test_the_queue_filters_by_school_status_and_year(loaded):
    client = signed_in(loaded, LEAD)
    by_status = {row.status: row.request_id for row in requests_of(loaded, NORTHMERE)}
    assert references(client.get("/cluster/queue?status=evidenced").text) == [by_status["evidenced"]]
    assert len(references(client.get("/cluster/queue?status=any").text)) == 5
    assert references(client.get("/cluster/queue?status=released").text) == [by_status["released"]]
    assert references(client.get("/cluster/queue?status=cluster_approved").text) == [by_status["cluster_approved"]]
    assert references(client.get("/cluster/queue?school=990003").text) == [by_status["information_requested"]]
    assert len(references(client.get(f"/cluster/queue?year={YEAR}").text)) == 3
    other_year = str(FinancialYear(DEV_YEAR.start_year - 1))
    empty = client.get(f"/cluster/queue?year={other_year}&school=990001")
    assert empty.status_code == 200 and references(empty.text) == []
    assert "No requests match these filters." in empty.text
    assert f'<option value="{other_year}" selected>' in empty.text  # the filters stay as chosen


def test_a_bad_filter_is_an_error_on_the_form_not_a_failure(loaded):
    client = signed_in(loaded, LEAD)
    page = client.get("/cluster/queue?status=lost&year=2026&school=12")
    assert page.status_code == 400
    assert error_summary(page.text) == [
        "Choose one of the cluster's schools",
        "Choose a status from the list",
        "Choose a financial year, like 2026-27",
    ]
    assert "<title>Error: Work queue" in page.text
    forged = client.get("/cluster/queue?after=not-a-cursor")
    assert forged.status_code == 400 and "start again from the first" in forged.text
    # Another cluster's school is not refused by the page; the application lists nothing of it.
    assert references(client.get("/cluster/queue?school=990201&status=any").text) == []


def test_the_queue_pages_through_with_the_filters_kept(loaded, monkeypatch):
    monkeypatch.setattr(cluster, "QUEUE_PAGE_SIZE", 2)
    client = signed_in(loaded, LEAD)
    first = client.get("/cluster/queue?status=any")
    assert len(references(first.text)) == 2
    next_link = re.search(r'href="(/cluster/queue\?[^"]*after=[^"]+)"', first.text)
    assert next_link, first.text
    second = client.get(next_link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert len(references(second.text)) == 2  # status=any kept: 5 requests in all
    assert "First page" in second.text
    last_link = re.search(r'href="(/cluster/queue\?[^"]*after=[^"]+)"', second.text)
    assert last_link, second.text
    third = client.get(last_link.group(1).replace("&amp;", "&"))
    assert third.status_code == 200
    assert len(references(third.text)) == 1
    every = references(first.text) + references(second.text) + references(third.text)
    assert every == [r.request_id for r in requests_of(loaded, NORTHMERE)]
    assert "First page" in third.text and "Next page" not in third.text


def test_the_read_model_lists_several_statuses_at_once(loaded):
    lead = demo.lead(NORTHMERE)
    statuses = (RequestStatus.SUBMITTED, "information_requested")
    page = loaded.read_models.list_requests(lead, statuses=statuses)
    assert [row.status for row in page.items] == ["submitted", "information_requested"]
    assert loaded.read_models.list_requests(lead, statuses=[]).items == []
    both = loaded.read_models.list_requests(lead, statuses=statuses, status="submitted").items
    assert [row.status for row in both] == ["submitted"]
    everything = loaded.read_models.list_requests(lead).items
    assert len(everything) == 5  # no statuses: as before


# -- the request page and the decisions -----------------------------------------------------------


def test_the_request_page_shows_the_budget_before_and_after_and_the_evidence_beside_it(loaded):
    row = one(loaded, NORTHMERE, "evidenced")
    page = signed_in(loaded, LEAD).get(f"/funding-requests/{row.request_id}")
    assert page.status_code == 200
    assert available(loaded, NORTHMERE) == 4_654_763
    text = re.sub(r"\s+", " ", page.text)
    assert re.search(r"Available now</th> <td[^>]*>£46,547.63", text)
    assert re.search(r"Available after approving the amount requested</th> <td[^>]*>£40,047.63", text)
    assert re.search(r"One-to-one and small group support</th> <td[^>]*>£6,500.00</td> <td[^>]*>£12,400.00", text)
    assert re.search(r"Therapies</th> <td[^>]*>None</td> <td[^>]*>£3,800.00", text)
    for slug in ("approve", "decline", "request-information"):
        assert f'href="/cluster/requests/{row.request_id}/{slug}"' in page.text
    assert f"/cluster/requests/{row.request_id}/escalate" not in page.text  # the cluster can afford it


def test_a_lead_approves_and_the_budget_moves_by_the_amount_to_the_penny(loaded):
    row = one(loaded, NORTHMERE, "evidenced")
    client = signed_in(loaded, LEAD)
    form = client.get(f"/cluster/requests/{row.request_id}/approve")
    assert form.status_code == 200
    assert 'value="6500.00"' in form.text  # the amount defaults to the amount requested
    answer = decide(client, row.request_id, "approve", {"amount": "£6,123.45", "reason": "Evidence is sound."})
    assert answer.status_code == 303 and answer.headers["location"] == "/cluster/queue"
    assert available(loaded, NORTHMERE) == 4_654_763 - 612_345
    approved = loaded.get_request(demo.lead(NORTHMERE), UUID(row.request_id))
    assert approved.status is RequestStatus.CLUSTER_APPROVED and approved.amount_approved.pence == 612_345
    queue = client.get("/cluster/queue")
    assert "You approved £6,123.45 for request" in queue.text
    assert row.request_id not in queue.text


def test_a_lead_declines_with_a_coded_reason(loaded):
    row = one(loaded, NORTHMERE, "submitted")
    client = signed_in(loaded, LEAD)
    form = client.get(f"/cluster/requests/{row.request_id}/decline")
    for label in ("Not enough evidence", "Needs can be met within the school&#39;s resources", "Not eligible"):
        assert label in form.text
    answer = decide(client, row.request_id, "decline", {"reason_code": "not_eligible", "reason": "Outside the scheme."})
    assert answer.status_code == 303
    declined = loaded.get_request(demo.lead(NORTHMERE), UUID(row.request_id))
    assert declined.status is RequestStatus.CLUSTER_DECLINED
    assert "You declined request" in client.get("/cluster/queue").text


def test_a_lead_asks_the_school_for_information(loaded):
    row = one(loaded, NORTHMERE, "evidenced")
    client = signed_in(loaded, LEAD)
    answer = decide(client, row.request_id, "request-information", {"question": "Which terms does this cover?"})
    assert answer.status_code == 303
    asked = loaded.get_request(demo.lead(NORTHMERE), UUID(row.request_id))
    assert asked.status is RequestStatus.INFORMATION_REQUESTED


def test_a_lead_escalates_what_the_cluster_cannot_afford(loaded):
    request_id = evidenced_request(loaded, "990202", "9000.00")
    client = signed_in(loaded, OTHER_LEAD)
    page = client.get(f"/funding-requests/{request_id.hex}")
    text = re.sub(r"\s+", " ", page.text)
    assert re.search(r"Available after approving the amount requested</th> <td[^>]*>-£1,000.00", text)
    assert "it is £1,000.00 short" in text
    assert f"/cluster/requests/{request_id.hex}/escalate" in page.text
    answer = decide(
        client, request_id.hex, "escalate", {"amount": "9000", "exceptional_circumstances": "Needs arose in March."}
    )
    assert answer.status_code == 303
    escalated = loaded.get_request(demo.lead(MARSHFIELD), request_id)
    assert escalated.status is RequestStatus.ESCALATED and escalated.amount_escalated.pence == 900_000
    assert available(loaded, MARSHFIELD) == 800_000  # an escalation commits nothing of the cluster's


REFUSALS = [
    # (the request's cluster and status, decision, form, status code, message in the summary)
    ((NORTHMERE, "submitted"), "approve", {"amount": "100", "reason": "r"}, 409, "Cannot approve a request that is"),
    ((NORTHMERE, "evidenced"), "approve", {"amount": "6500.01", "reason": "r"}, 400, "is more than the 6500.00"),
    ((NORTHMERE, "evidenced"), "escalate", {"amount": "100", "exceptional_circumstances": "e"}, 409, "enough for"),
    ((NORTHMERE, "cluster_approved"), "decline", {"reason_code": "other", "reason": "r"}, 409, "Cannot decline"),
    ((NORTHMERE, "information_requested"), "request-information", {"question": "q"}, 409, "Cannot request"),
    ((NORTHMERE, "evidenced"), "approve", {"amount": "", "reason": ""}, 400, "Enter the amount to approve"),
    ((NORTHMERE, "evidenced"), "approve", {"amount": "lots", "reason": "r"}, 400, "must be an amount in pounds"),
    ((NORTHMERE, "evidenced"), "decline", {"reason_code": "made-up", "reason": "r"}, 400, "Choose why you are"),
    ((NORTHMERE, "evidenced"), "request-information", {"question": " "}, 400, "Enter what you need"),
    ((NORTHMERE, "evidenced"), "escalate", {"amount": "1", "exceptional_circumstances": ""}, 400, "Describe the"),
    ((NORTHMERE, "evidenced"), "approve", {"amount": "1", "reason": "r" * 5000}, 400, "Reason"),
]


@pytest.mark.parametrize(("where", "slug", "data", "status", "message"), REFUSALS)
def test_a_refused_decision_is_an_error_on_its_form_and_changes_nothing(loaded, where, slug, data, status, message):
    row = one(loaded, *where)
    client = signed_in(loaded, LEAD)
    before, money_before = versions(loaded, NORTHMERE), available(loaded, NORTHMERE)
    answer = decide(client, row.request_id, slug, data)
    assert answer.status_code == status, answer.text
    summary = error_summary(answer.text)
    assert len(summary) >= 1 and message.lower() in " ".join(summary).lower(), summary
    assert "<title>Error: " in answer.text
    for name, value in data.items():
        if name != "reason_code" and value.strip() and len(value) < 100:
            assert value in answer.text  # what the lead typed is kept
    assert versions(loaded, NORTHMERE) == before and available(loaded, NORTHMERE) == money_before


def test_approving_more_than_the_cluster_has_is_refused_with_the_figures(loaded):
    request_id = evidenced_request(loaded, "990202", "9000.00")
    client = signed_in(loaded, OTHER_LEAD)
    answer = decide(client, request_id.hex, "approve", {"amount": "9000", "reason": "Needed."})
    assert answer.status_code == 409
    (message,) = error_summary(answer.text)
    assert "8000.00 available; 9000.00 is needed" in message
    assert loaded.get_request(demo.lead(MARSHFIELD), request_id).status is RequestStatus.EVIDENCED
    assert available(loaded, MARSHFIELD) == 800_000


def test_a_decision_on_a_request_that_changed_meanwhile_is_refused(loaded):
    row = one(loaded, NORTHMERE, "evidenced")
    client = signed_in(loaded, LEAD)
    url = f"/cluster/requests/{row.request_id}/approve"
    token = csrf_from(client.get(url).text)
    stale = str(row.version - 1)
    answer = client.post(url, data={"csrf_token": token, "version": stale, "amount": "10", "reason": "r"})
    assert answer.status_code == 409 and "changed while you had this page open" in answer.text
    assert f'name="version" value="{row.version}"' in answer.text  # the page now carries the current version
    assert one(loaded, NORTHMERE, "evidenced").version == row.version


# -- who may reach these pages -----------------------------------------------------------------------


def test_a_lead_of_another_cluster_finds_no_such_request_and_changes_nothing(loaded):
    row = one(loaded, NORTHMERE, "evidenced")
    intruder = signed_in(loaded, OTHER_LEAD)
    before = versions(loaded, NORTHMERE)
    assert intruder.get(f"/funding-requests/{row.request_id}").status_code == 404
    token = csrf_from(intruder.get("/cluster/commissions").text)
    forms = {
        "approve": {"amount": "100", "reason": "r"},
        "decline": {"reason_code": "other", "reason": "r"},
        "request-information": {"question": "q"},
        "escalate": {"amount": "100", "exceptional_circumstances": "e"},
    }
    for slug, data in forms.items():
        url = f"/cluster/requests/{row.request_id}/{slug}"
        assert intruder.get(url).status_code == 404
        answer = intruder.post(url, data={"csrf_token": token, **data})
        assert answer.status_code == 404 and "Page not found" in answer.text
    assert intruder.get("/cluster/requests/not-a-uuid/approve").status_code == 404
    assert versions(loaded, NORTHMERE) == before


def test_a_decision_without_a_valid_csrf_token_changes_nothing(loaded):
    row = one(loaded, NORTHMERE, "evidenced")
    client = signed_in(loaded, LEAD)
    client.get(f"/cluster/requests/{row.request_id}/approve")
    before, money_before = versions(loaded, NORTHMERE), available(loaded, NORTHMERE)
    for token in ({}, {"csrf_token": "forged"}):
        answer = client.post(
            f"/cluster/requests/{row.request_id}/approve", data={**token, "amount": "10", "reason": "r"}
        )
        assert answer.status_code == 403
    commission = client.post("/cluster/commissions", data={"csrf_token": "forged", "service": "camhs"})
    assert commission.status_code == 403
    assert versions(loaded, NORTHMERE) == before and available(loaded, NORTHMERE) == money_before


def test_a_school_cannot_reach_the_leads_pages(loaded):
    row = one(loaded, NORTHMERE, "submitted")  # the school's own request
    school = signed_in(loaded, "school 990001 (northmere-coast)")
    before = versions(loaded, NORTHMERE)
    for url in (
        "/cluster/queue",
        "/cluster/budget",
        "/cluster/commissions",
        f"/cluster/requests/{row.request_id}/approve",
    ):
        assert school.get(url).status_code == 403, url
    token = csrf_from(school.get("/sign-out").text)
    decline = school.post(
        f"/cluster/requests/{row.request_id}/decline", data={"csrf_token": token, "reason_code": "other"}
    )
    assert decline.status_code == 403
    assert school.post("/cluster/commissions", data={"csrf_token": token}).status_code == 403
    assert versions(loaded, NORTHMERE) == before
    assert "Your decision" not in school.get(f"/funding-requests/{row.request_id}").text


def test_signed_out_visitors_are_sent_to_sign_in(loaded):
    visitor = client_for(loaded)
    for url in ("/cluster/queue", "/cluster/budget?year=2026-27", "/cluster/commissions"):
        answer = visitor.get(url)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in?next=")


# -- commissions ------------------------------------------------------------------------------------


def test_the_commissions_page_lists_the_years_commissions(loaded):
    page = signed_in(loaded, LEAD).get(f"/cluster/commissions?year={YEAR}")
    assert page.status_code == 200
    assert "Educational psychology" in page.text and "Coastline Educational Psychology (fictional)" in page.text
    assert "990001, 990002, 990003" in page.text and "£7,500.00" in page.text
    assert "which has £46,547.63 available" in page.text
    other = signed_in(loaded, OTHER_LEAD).get(f"/cluster/commissions?year={YEAR}")
    assert "Coastline" not in other.text and "commissioned no services" in other.text


def test_a_lead_commissions_a_service(loaded):
    client = signed_in(loaded, LEAD)
    url = f"/cluster/commissions?year={YEAR}"
    token = csrf_from(client.get(url).text)
    data = {
        "csrf_token": token,
        "year": YEAR,
        "service": "camhs",
        "provider": "Harbour CAMHS (fictional)",
        "amount": "2,000.50",
        "school_urns": ["990001", "990003"],
        "description": "Drop-in clinics each fortnight.",
    }
    answer = client.post("/cluster/commissions", data=data)
    assert answer.status_code == 303 and answer.headers["location"] == url
    assert available(loaded, NORTHMERE) == 4_654_763 - 200_050
    page = client.get(url)
    assert "You commissioned CAMHS from Harbour CAMHS (fictional) for £2,000.50" in page.text
    assert "990001, 990003" in page.text


def test_a_refused_commission_keeps_what_was_typed_and_changes_nothing(loaded):
    client = signed_in(loaded, OTHER_LEAD)
    token = csrf_from(client.get(f"/cluster/commissions?year={YEAR}").text)
    base = {
        "csrf_token": token,
        "year": YEAR,
        "service": "camhs",
        "provider": "Valley CAMHS",
        "description": "Clinics.",
    }
    too_much = client.post("/cluster/commissions", data={**base, "amount": "8000.01", "school_urns": "990201"})
    assert too_much.status_code == 409
    assert "8000.00 available" in error_summary(too_much.text)[0]
    assert "Valley CAMHS" in too_much.text and 'value="990201" checked' in too_much.text.replace("\n", " ")
    empty = client.post("/cluster/commissions", data={"csrf_token": token, "year": YEAR})
    assert empty.status_code == 400
    assert error_summary(empty.text) == [
        "Choose the service you are commissioning",
        "Enter who provides the service",
        "Enter the cost",
        "Choose at least one school the service is for",
        "Describe what the service will do",
    ]
    outsider = client.post("/cluster/commissions", data={**base, "amount": "10", "school_urns": "990001"})
    assert outsider.status_code == 400
    assert error_summary(outsider.text) == ["Not schools of cluster marshfield-vale: 990001"]
    assert available(loaded, MARSHFIELD) == 800_000


# -- the budget ---------------------------------------------------------------------------------------


def test_the_budget_page_gives_every_figure_and_both_charts_with_tables(loaded):
    page = signed_in(loaded, LEAD).get(f"/cluster/budget?year={YEAR}")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    for figure, amount in (
        ("Allocated", "£60,000.00"),
        ("Committed", "£5,952.37"),
        ("Commissioned", "£7,500.00"),
        ("Available", "£46,547.63"),
        ("Paid", "£3,952.37"),
        ("Pending", "£13,800.00"),
        ("Escalated", "£0.00"),
    ):
        assert re.search(rf"{figure}</th> <td[^>]*>{re.escape(amount)}", text), figure
    assert text.count('role="img"') == 2
    assert "Show the budget over the year as a table" in text and "Show the spend by category as a table" in text
    # The month table's last row is where the budget stands now.
    last_month = re.findall(r"<tr class=\"govuk-table__row\"> <th[^>]*>(\w{3})</th>((?: <td[^>]*>[^<]*</td>){4})", text)
    assert last_month, "no month rows"
    assert re.findall(r">([^<]+)</td>", last_month[-1][1]) == ["£60,000.00", "£5,952.37", "£7,500.00", "£3,952.37"]
    # Spend by category: the approved top-up under its provision, the commission under its service.
    assert re.search(r"Therapies</th> <td[^>]*>£8,000.00</td> <td[^>]*>1</td>", text)
    assert re.search(r"Educational psychology \(commissioned\)</th> <td[^>]*>£7,500.00", text)
    assert re.search(r"Total</th> <td[^>]*>£15,500.00", text)


def test_spend_by_category_shares_an_approval_across_its_provision_to_the_penny(loaded):
    request_id = evidenced_request(loaded, "990002", "4000.00")  # planned: therapies 3000, personal care 1000
    loaded.approve(demo.lead(NORTHMERE), request_id, "1000.01", "Part of it.")
    text = re.sub(r"\s+", " ", signed_in(loaded, LEAD).get(f"/cluster/budget?year={YEAR}").text)
    # £1,000.01 in the proportion 3:1 is £750.0075 and £250.0025: the odd penny goes to the larger remainder.
    assert re.search(r"Personal care</th> <td[^>]*>£250.00</td>", text)
    assert re.search(r"Therapies</th> <td[^>]*>£8,750.01</td> <td[^>]*>2</td>", text)
    assert re.search(r"Total</th> <td[^>]*>£16,500.01", text)


def test_a_budget_with_nothing_yet_says_so(loaded):
    page = signed_in(loaded, LEAD).get(f"/cluster/budget?year={FinancialYear(DEV_YEAR.start_year + 1)}")
    assert page.status_code == 200
    assert "Nothing has moved on the budget" in page.text and "has not committed or commissioned anything" in page.text
    assert 'role="img"' not in page.text
    bad = signed_in(loaded, LEAD).get("/cluster/budget?year=twenty")
    assert bad.status_code == 400 and error_summary(bad.text) == ["Choose a financial year, like 2026-27"]


def test_the_new_queries_are_scoped_like_the_budget(loaded):
    read = loaded.read_models
    lead = demo.lead(NORTHMERE)
    commissions = read.commissions(lead, NORTHMERE, YEAR).items
    assert [(row.kind, row.amount) for row in commissions] == [("commission", 750_000)]
    totals = read.budget_movement_totals(lead, NORTHMERE, YEAR)
    by_kind: dict[str, int] = {}
    for row in totals:
        by_kind[row.movement] = by_kind.get(row.movement, 0) + row.amount
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d", row.hour) and row.count >= 1
    # This year's allocation is the total less last year's carry; the approvals commit the academic-year award's
    # autumn and spring (its summer is committed ahead on next year) and the whole monthly award, then release
    # what the monthly award had not paid (four of its seven months).
    assert by_kind == {
        "allocation": 5_800_000,
        "carry_forward_in": 200_000,
        "commission": 750_000,
        "commitment": 266_666 + 200_000 + 300_000,
        "payment": 266_666 + 3 * 42_857,
        "release": 171_429,
    }
    assert read.commissions(demo.COUNCIL, NORTHMERE, YEAR).items == commissions
    for outsider in (demo.lead(MARSHFIELD), demo.school("990201")):
        with pytest.raises(NotPermitted):
            read.commissions(outsider, NORTHMERE, YEAR)
        with pytest.raises(NotPermitted):
            read.budget_movement_totals(outsider, NORTHMERE, YEAR)


# -- the arithmetic behind the budget page ---------------------------------------------------------------


def test_split_in_proportion_adds_up_exactly():
    assert split_in_proportion(100_001, [("a", 3), ("b", 1)]) == {"a": 75_001, "b": 25_000}
    assert split_in_proportion(100, [("a", 1), ("b", 1), ("c", 1)]) == {"a": 34, "b": 33, "c": 33}
    assert split_in_proportion(7, [("only", 5)]) == {"only": 7}
    shares = split_in_proportion(999_999_99, [(str(i), i + 1) for i in range(10)])
    assert sum(shares.values()) == 999_999_99
    with pytest.raises(ValueError, match="more than zero"):
        split_in_proportion(5, [("a", 0)])


def test_a_movement_counts_in_its_month_in_england():
    year = FinancialYear(2026)
    # 23:30 UTC on 30 April 2026 is 00:30 on 1 May in England (summer time).
    assert month_index(datetime(2026, 4, 30, 23, 30, tzinfo=UTC), year) == 1
    assert month_index(datetime(2026, 4, 30, 22, 59, tzinfo=UTC), year) == 0
    assert month_index(datetime(2026, 3, 1, tzinfo=UTC), year) == 0  # before the year: April
    assert month_index(datetime(2027, 5, 1, tzinfo=UTC), year) == 11  # after it: March
    assert month_index(datetime(2027, 1, 15, tzinfo=UTC), year) == 9
    assert [months_begun(year, day) for day in (date(2026, 3, 31), date(2026, 4, 1), date(2026, 11, 29))] == [0, 1, 8]
    assert months_begun(year, date(2027, 4, 1)) == 12


def test_running_totals_by_month():
    year = FinancialYear(2026)
    totals = [
        MovementTotalRow("2026-03-20T10", "allocation", 1_000_00, 1),
        MovementTotalRow("2026-04-30T23", "commitment", 200_00, 2),  # 1 May in England
        MovementTotalRow("2026-06-01T09", "adjustment", -100_00, 1),
        MovementTotalRow("2026-06-02T09", "payment", 50_00, 1),
        MovementTotalRow("2026-06-02T10", "commission", 30_00, 1),
    ]
    shown, running = cumulative_by_month(totals, year, date(2026, 7, 10))
    assert shown == 4
    assert running == {
        "allocated": [1_000_00, 1_000_00, 900_00, 900_00],
        "committed": [0, 200_00, 200_00, 200_00],
        "commissioned": [0, 0, 30_00, 30_00],
        "paid": [0, 0, 50_00, 50_00],
    }
    assert cumulative_by_month([], year, date(2026, 3, 1)) == (0, {f: [] for f in running})
