"""The school's pages in process, on SQLite and on PostgreSQL: starting a request through every
question to the confirmation, spend evidence with hashed documents, answering an information
request, withdrawing; bad inputs kept with the error summary; CSRF, another school and another
role refused, with nothing changed."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from domain.values import RequestStatus
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import current_financial_year
from tests.web.pages import csrf_from, post_form, signed_in
from web.school import evidence as school_evidence
from web.school.start import DRAFT_COOKIE

SCHOOL = "school 990001 (northmere-coast)"
OTHER_SCHOOL = "school 990201 (marshfield-vale)"
LEAD = "lead, northmere-coast"
YEAR = str(current_financial_year())


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def own_requests(app: FundingApplication, urn: str = "990001") -> list[Any]:
    return app.read_models.list_requests(demo.school(urn)).items


def answer_questions(client: TestClient) -> None:
    """Every question of a new request answered well, ending on the check page."""
    steps = [
        ("/school/requests/new", {"financial_year": YEAR, "reason": "complex_needs"}, "/school/requests/new/pupils"),
        (
            "/school/requests/new/pupils",
            {"pupil_count": "2", "needs_summary": "Two pupils with hearing loss need interpreters in lessons."},
            "/school/requests/new/provision",
        ),
        (
            "/school/requests/new/provision",
            {
                "rows": "3",
                "category-1": "interpreters",
                "amount-1": "£2,500",
                "category-2": "therapies",
                "amount-2": "1000.50",
                "action": "continue",
            },
            "/school/requests/new/amount",
        ),
    ]
    for url, data, goes_to in steps:
        answer = post_form(client, url, url, data)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == goes_to
    amount_page = client.get("/school/requests/new/amount")
    assert 'value="3,500.50"' in amount_page.text  # the provision's total, offered as the answer
    assert "Your planned provision adds up to £3,500.50" in amount_page.text
    answer = post_form(
        client, "/school/requests/new/amount", "/school/requests/new/amount", {"amount_requested": "3,400"}
    )
    assert answer.headers["location"] == "/school/requests/new/check"


def draft_id_in(page: str) -> str:
    found = re.search(r'name="draft_id" value="([0-9a-f]{32})"', page)
    assert found, page
    return found.group(1)


def error_summary(page: httpx.Response) -> list[str]:
    return re.findall(r'<a href="#([^"]+)"', page.text.split("govuk-error-summary__list", 1)[1].split("</ul>", 1)[0])


def test_a_school_starts_a_request_through_every_question(loaded):
    client = signed_in(loaded, SCHOOL)
    before = len(own_requests(loaded))
    home = client.get("/school/requests")
    assert 'href="/school/requests/new"' in home.text and "Start a request" in home.text
    answer_questions(client)

    check = client.get("/school/requests/new/check")
    assert check.status_code == 200
    assert "<title>Check your answers before submitting your request - SEND top-up funding</title>" in check.text
    for shown in ("Pupils with complex needs", "Interpreters: £2,500.00", "Therapies: £1,000.50", "£3,400.00", YEAR):
        assert shown in check.text
    for step in ("/school/requests/new", "/school/requests/new/pupils", "/school/requests/new/provision"):
        assert f'href="{step}"' in check.text  # a Change link back to each question
    draft_id = draft_id_in(check.text)

    submitted = client.post(
        "/school/requests/new/check", data={"csrf_token": csrf_from(check.text), "draft_id": draft_id}
    )
    assert submitted.status_code == 303
    assert submitted.headers["location"] == f"/school/requests/{draft_id}/submitted"
    assert f'{DRAFT_COOKIE}=""' in submitted.headers["set-cookie"]  # the draft is forgotten
    made = loaded.get_request(demo.school("990001"), UUID(draft_id))
    assert made.status is RequestStatus.SUBMITTED and made.amount_requested.pence == 340000
    assert str(made.cluster_id) == "northmere-coast" and made.pupil_count == 2
    assert [(line.category.value, line.amount.pence) for line in made.planned_provision] == [
        ("interpreters", 250000),
        ("therapies", 100050),
    ]
    confirmation = client.get(submitted.headers["location"])
    assert "govuk-panel--confirmation" in confirmation.text and draft_id[:8].upper() in confirmation.text

    # The back button and a second press of "Submit request": the same request, not another.
    again = client.post("/school/requests/new/check", data={"csrf_token": csrf_from(check.text), "draft_id": draft_id})
    assert again.status_code == 303 and again.headers["location"] == f"/school/requests/{draft_id}/submitted"
    assert len(own_requests(loaded)) == before + 1
    listing = client.get("/school/requests")
    assert draft_id[:8].upper() in listing.text and "Your action: add spend evidence" in listing.text


def test_a_draft_still_held_submits_once(loaded):
    """Two posts of the same draft (a double click before the cookie is forgotten) make one request."""
    client = signed_in(loaded, SCHOOL)
    answer_questions(client)
    check = client.get("/school/requests/new/check").text
    draft_cookie = client.cookies[DRAFT_COOKIE]
    data = {
        "csrf_token": csrf_from(check),
        "draft_id": draft_id_in(check),
    }
    first = client.post("/school/requests/new/check", data=data)
    client.cookies.set(DRAFT_COOKIE, draft_cookie)
    second = client.post("/school/requests/new/check", data=data)
    assert first.headers["location"] == second.headers["location"]
    assert len(own_requests(loaded)) == 3


def test_bad_answers_are_kept_with_the_error_summary(loaded):
    client = signed_in(loaded, SCHOOL)
    answer = post_form(client, "/school/requests/new", "/school/requests/new", {"financial_year": "1999-00"})
    assert answer.status_code == 400
    assert answer.text.count("govuk-error-summary") >= 1 and error_summary(answer) == ["financial_year", "reason"]
    assert "<title>Error: What is the request for?" in answer.text

    post_form(
        client, "/school/requests/new", "/school/requests/new", {"financial_year": YEAR, "reason": "complex_needs"}
    )
    typed = "A pupil needs <b>support</b>"
    answer = post_form(
        client,
        "/school/requests/new/pupils",
        "/school/requests/new/pupils",
        {"pupil_count": "two", "needs_summary": typed},
    )
    assert answer.status_code == 400 and error_summary(answer) == ["pupil_count"]
    assert 'value="two"' in answer.text and "A pupil needs &lt;b&gt;support&lt;/b&gt;" in answer.text
    answer = post_form(
        client,
        "/school/requests/new/pupils",
        "/school/requests/new/pupils",
        {"pupil_count": "2001", "needs_summary": " "},
    )
    assert error_summary(answer) == ["pupil_count", "needs_summary"]

    answer = post_form(
        client,
        "/school/requests/new/provision",
        "/school/requests/new/provision",
        {"rows": "3", "category-1": "interpreters", "amount-1": "12.345", "amount-2": "40", "action": "continue"},
    )
    assert answer.status_code == 400 and error_summary(answer) == ["amount-1", "category-2"]
    assert 'value="12.345"' in answer.text and 'value="40"' in answer.text
    answer = post_form(client, "/school/requests/new/provision", "/school/requests/new/provision", {"rows": "3"})
    assert answer.status_code == 400 and error_summary(answer) == ["category-1"]
    # "Add another line" keeps what was typed, half-typed lines too, and shows one more row.
    answer = post_form(
        client,
        "/school/requests/new/provision",
        "/school/requests/new/provision",
        {"rows": "3", "category-1": "therapies", "action": "add"},
    )
    assert answer.status_code == 200 and 'name="category-4"' in answer.text and 'name="category-5"' not in answer.text
    assert '<option value="therapies" selected>' in answer.text

    answer = post_form(client, "/school/requests/new/amount", "/school/requests/new/amount", {"amount_requested": "0"})
    assert answer.status_code == 400 and error_summary(answer) == ["amount_requested"]
    # Nothing was answered wrongly into the draft, and nothing submitted: the check page is not yet open.
    assert client.get("/school/requests/new/check").headers["location"] == "/school/requests/new/pupils"
    assert len(own_requests(loaded)) == 2


def test_evidence_with_hashed_documents_then_an_answer_to_the_lead(loaded):
    client = signed_in(loaded, SCHOOL)
    request_id = next(row.request_id for row in own_requests(loaded) if row.status == "submitted")
    page_url = f"/school/requests/{request_id}/evidence"
    page = client.get(page_url)
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    document = b"%PDF-1.4 spend summary\r\n\x00\xff binary bytes\r\n"
    fields = {
        "csrf_token": csrf_from(page.text),
        "notional_sen_budget": "18,500",
        "rows": "3",
        "category-1": "one_to_one_and_small_group_support",
        "amount-1": "12400",
        "note-1": "three teaching assistants",
        "action": "save",
    }
    answer = client.post(
        page_url, data=fields, files={"documents": ("C:\\Users\\senco\\spend.pdf", document, "application/pdf")}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/funding-requests/{request_id}"
    evidenced = loaded.get_request(demo.school("990001"), UUID(request_id))
    assert evidenced.status is RequestStatus.EVIDENCED
    assert evidenced.evidence.notional_sen_budget.pence == 1850000
    assert [(d.name, d.sha256) for d in evidenced.evidence.documents] == [
        ("spend.pdf", hashlib.sha256(document).hexdigest())
    ]
    assert "Spend evidence added" in client.get(answer.headers["location"]).text

    loaded.request_information(demo.lead("northmere-coast"), UUID(request_id), "Which therapies, and how often?")
    request_page = client.get(f"/funding-requests/{request_id}")
    assert "govuk-notification-banner" in request_page.text and "Which therapies, and how often?" in request_page.text
    assert "Answer the information request" in request_page.text
    assert "Your action: answer the information request" in client.get("/school/requests").text

    page = client.get(page_url)
    assert "<title>Answer the information request" in page.text and "Which therapies, and how often?" in page.text
    assert 'value="18,500.00"' in page.text and "spend.pdf" in page.text  # the evidence given before, to change
    kept = {
        "csrf_token": csrf_from(page.text),
        "notional_sen_budget": "18500.00",
        "rows": "3",
        "category-1": "therapies",
        "amount-1": "3800",
        "note-1": "weekly speech and language therapy",
        "document-name-1": "spend.pdf",
        "document-sha256-1": hashlib.sha256(document).hexdigest(),
        "keep": "1",
        "action": "save",
    }
    answer = client.post(page_url, data=kept, files={"documents": ("", b"", "application/octet-stream")})
    assert answer.status_code == 303
    answered = loaded.get_request(demo.school("990001"), UUID(request_id))
    assert answered.status is RequestStatus.EVIDENCED
    assert [line.note for line in answered.evidence.spend] == ["weekly speech and language therapy"]
    assert [d.name for d in answered.evidence.documents] == ["spend.pdf"]
    assert "Your answer was sent to the cluster lead" in client.get(answer.headers["location"]).text


def test_bad_evidence_is_kept_and_files_are_not_asked_for_again(loaded):
    client = signed_in(loaded, SCHOOL)
    request_id = next(row.request_id for row in own_requests(loaded) if row.status == "submitted")
    page_url = f"/school/requests/{request_id}/evidence"
    fields = {
        "csrf_token": csrf_from(client.get(page_url).text),
        "notional_sen_budget": "lots",
        "rows": "3",
        "category-1": "therapies",
        "amount-1": "",
        "note-1": "typed note",
        "action": "save",
    }
    answer = client.post(page_url, data=fields, files={"documents": ("letter.pdf", b"letter", "application/pdf")})
    assert answer.status_code == 400
    assert error_summary(answer) == ["notional_sen_budget", "amount-1"]
    assert 'value="lots"' in answer.text and 'value="typed note"' in answer.text
    assert 'name="document-name-1" value="letter.pdf"' in answer.text
    assert f'value="{hashlib.sha256(b"letter").hexdigest()}"' in answer.text
    assert loaded.get_request(demo.school("990001"), UUID(request_id)).evidence is None


def test_files_too_large_or_a_broken_form_change_nothing(loaded, monkeypatch):
    monkeypatch.setattr(school_evidence, "MAX_UPLOAD_BYTES", 1000)
    client = signed_in(loaded, SCHOOL)
    request_id = next(row.request_id for row in own_requests(loaded) if row.status == "submitted")
    page_url = f"/school/requests/{request_id}/evidence"
    fields = {"csrf_token": csrf_from(client.get(page_url).text), "notional_sen_budget": "1", "category-1": "therapies"}
    answer = client.post(page_url, data={**fields, "amount-1": "1"}, files={"documents": ("big.pdf", b"x" * 2000)})
    assert answer.status_code == 413 and error_summary(answer) == ["documents"]
    broken = client.post(page_url, content=b"--x\r\n", headers={"content-type": "multipart/form-data"})
    assert broken.status_code == 403
    assert loaded.get_request(demo.school("990001"), UUID(request_id)).evidence is None


def test_a_school_withdraws_with_a_reason(loaded):
    client = signed_in(loaded, SCHOOL)
    request_id = next(row.request_id for row in own_requests(loaded) if row.status == "submitted")
    url = f"/school/requests/{request_id}/withdraw"
    page = client.get(url)
    assert page.status_code == 200 and "You cannot undo this" in page.text
    assert "None</textarea>" not in page.text
    blank = post_form(client, url, url, {"reason": "  "})
    assert blank.status_code == 400 and error_summary(blank) == ["reason"]
    done = post_form(client, url, url, {"reason": "The pupil moved to another school."})
    assert done.status_code == 303 and done.headers["location"] == f"/funding-requests/{request_id}"
    assert loaded.get_request(demo.school("990001"), UUID(request_id)).status is RequestStatus.WITHDRAWN
    assert "You withdrew the request" in client.get(done.headers["location"]).text
    assert client.get(url).status_code == 409  # a withdrawn request cannot be withdrawn again
    approved = next(row.request_id for row in own_requests(loaded) if row.status == "cluster_approved")
    assert client.get(f"/school/requests/{approved}/evidence").status_code == 409


def test_a_form_without_its_csrf_token_changes_nothing(loaded):
    client = signed_in(loaded, SCHOOL)
    request_id = next(row.request_id for row in own_requests(loaded) if row.status == "submitted")
    answer_questions(client)
    check = client.get("/school/requests/new/check").text
    draft_id = draft_id_in(check)
    posts = [
        ("/school/requests/new/check", {"draft_id": draft_id}, None),
        (f"/school/requests/{request_id}/withdraw", {"reason": "no longer needed"}, None),
        (
            f"/school/requests/{request_id}/evidence",
            {"notional_sen_budget": "1", "category-1": "therapies", "amount-1": "1"},
            None,
        ),
        (
            f"/school/requests/{request_id}/evidence",
            {"notional_sen_budget": "1", "category-1": "therapies", "amount-1": "1"},
            {"documents": ("a.pdf", b"a", "application/pdf")},
        ),
    ]
    for url, data, files in posts:
        for token in ({}, {"csrf_token": "forged"}):
            answer = client.post(url, data={**data, **token}, files=files)
            assert answer.status_code == 403, (url, answer.text)
            assert "The form had expired" in answer.text
    assert len(own_requests(loaded)) == 2
    assert loaded.get_request(demo.school("990001"), UUID(request_id)).version == 1


def test_another_schools_request_is_not_there(loaded):
    client = signed_in(loaded, OTHER_SCHOOL)
    request_id = next(row.request_id for row in own_requests(loaded) if row.status == "submitted")
    token = csrf_from(client.get("/school/requests/new").text)
    for path in ("evidence", "withdraw", "submitted"):
        assert client.get(f"/school/requests/{request_id}/{path}").status_code == 404
    assert (
        client.post(
            f"/school/requests/{request_id}/withdraw", data={"csrf_token": token, "reason": "mine now"}
        ).status_code
        == 404
    )
    evidence = {
        "csrf_token": token,
        "notional_sen_budget": "1",
        "category-1": "therapies",
        "amount-1": "1",
        "action": "save",
    }
    assert client.post(f"/school/requests/{request_id}/evidence", data=evidence).status_code == 404
    assert (
        client.post(
            f"/school/requests/{request_id}/evidence",
            data=evidence,
            files={"documents": ("a.pdf", b"a", "application/pdf")},
        ).status_code
        == 404
    )
    # A check page posted with another school's request id does not lead to it: back to the start.
    posted = client.post("/school/requests/new/check", data={"csrf_token": token, "draft_id": request_id})
    assert posted.status_code == 303 and posted.headers["location"] == "/school/requests/new"
    assert client.get("/school/requests/not-a-request/evidence").status_code == 404
    untouched = loaded.get_request(demo.school("990001"), UUID(request_id))
    assert untouched.status is RequestStatus.SUBMITTED and untouched.version == 1


def test_a_lead_cannot_use_the_school_pages(loaded):
    client = signed_in(loaded, LEAD)
    request_id = next(row.request_id for row in own_requests(loaded) if row.status == "submitted")
    token = csrf_from(client.get("/sign-out").text)
    for url in (
        "/school/requests",
        "/school/requests/new",
        "/school/requests/new/check",
        f"/school/requests/{request_id}/evidence",
        f"/school/requests/{request_id}/withdraw",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(f"/school/requests/{request_id}/withdraw", data={"csrf_token": token, "reason": "x"}).status_code
        == 403
    )
    assert (
        client.post(
            "/school/requests/new", data={"csrf_token": token, "financial_year": YEAR, "reason": "complex_needs"}
        ).status_code
        == 403
    )
    assert loaded.get_request(demo.school("990001"), UUID(request_id)).status is RequestStatus.SUBMITTED


def test_a_draft_cookie_altered_or_from_another_person_is_not_used(loaded):
    client = signed_in(loaded, SCHOOL)
    post_form(
        client, "/school/requests/new", "/school/requests/new", {"financial_year": YEAR, "reason": "complex_needs"}
    )
    value = client.cookies[DRAFT_COOKIE]
    assert 'value="complex_needs" checked' in client.get("/school/requests/new").text
    other = signed_in(loaded, OTHER_SCHOOL)
    other.cookies.set(DRAFT_COOKIE, value)
    assert 'value="complex_needs" checked' not in other.get("/school/requests/new").text
    body, mac = value.split(".")
    client.cookies.set(DRAFT_COOKIE, body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac)
    assert 'value="complex_needs" checked' not in client.get("/school/requests/new").text
