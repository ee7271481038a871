"""Spend evidence from a provision map in the web pages, in process on both stores: the SENCo chooses a
published version instead of typing; the request page shows the cited version (version, date, hash, its
own-budget lines, a link to the read-only map) and the warnings; typed evidence reads "Not from a
provision map"; an auditor reading as at the time of citing sees the same version; the needs overview."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.academic_year import AcademicYear
from domain.map_evidence import citation_of
from domain.values import RequestStatus
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.dev_mode import DEV_YEAR
from tests.unit.test_provision_maps import line_fields
from tests.web.pages import csrf_from, signed_in

SCHOOL = "school 990001 (northmere-coast)"
LEAD = "lead, northmere-coast"
OTHER_LEAD = "lead, marshfield-vale"
YEAR = AcademicYear(DEV_YEAR.start_year)


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def submitted_request(app: FundingApplication) -> str:
    rows = app.read_models.list_requests(demo.school("990001"), school_urn="990001").items
    return next(row.request_id for row in rows if row.status == "submitted")


def test_the_senco_uses_the_published_map_as_evidence(loaded):
    client = signed_in(loaded, SCHOOL)
    request_id = submitted_request(loaded)
    page_url = f"/school/requests/{request_id}/evidence"
    page = client.get(page_url)
    assert "Use your published provision map" in page.text
    assert f"{YEAR} provision map, version 1" in page.text

    answer = client.post(
        page_url,
        data={"csrf_token": csrf_from(page.text), "notional_sen_budget": "18500", "source": "map",
              "map_version": f"{YEAR.path}:1", "rows": "3", "action": "save"},
    )  # fmt: skip

    assert answer.status_code == 303, answer.text
    evidenced = loaded.get_request(demo.school("990001"), UUID(request_id))
    assert evidenced.status is RequestStatus.EVIDENCED
    assert evidenced.evidence.provision_map.version == 1
    shown = client.get(f"/funding-requests/{request_id}").text
    assert (
        "From the school&#39;s published provision map" in shown or "From the school's published provision map" in shown
    )
    assert f"/school/provision-maps/{YEAR.path}/versions/1" in shown


def test_choosing_the_map_without_a_version_or_neither_is_an_error_that_changes_nothing(loaded):
    client = signed_in(loaded, SCHOOL)
    request_id = submitted_request(loaded)
    page_url = f"/school/requests/{request_id}/evidence"
    for chosen, field in (
        ({"source": "map"}, "map_version"),
        ({}, "source"),
        ({"source": "map", "map_version": "2026-27:9"}, "map_version"),
    ):
        token = csrf_from(client.get(page_url).text)
        answer = client.post(page_url, data={"csrf_token": token, "notional_sen_budget": "100", "rows": "3", **chosen})
        assert answer.status_code == 400, answer.text
        assert f'href="#{field}' in answer.text
    assert loaded.get_request(demo.school("990001"), UUID(request_id)).evidence is None


def test_the_lead_sees_the_cited_version_its_lines_and_the_warnings_on_the_demo_request(loaded):
    # The demo's approved request cites its school's map: the lead's page shows it out of the box.
    client = signed_in(loaded, LEAD)
    cited = next(
        row.request_id
        for row in loaded.read_models.list_requests(demo.lead("northmere-coast")).items
        if row.status == "cluster_approved" and row.school_urn == "990001"
    )
    version = loaded.published_provision_map(demo.lead("northmere-coast"), "990001", YEAR, 1)

    page = client.get(f"/funding-requests/{cited}").text

    assert version.sha256 in page
    assert f"/cluster/provision-maps/990001/{YEAR.path}/versions/1" in page
    assert "Speech and language group" in page
    assert "below the expected £6,000.00 a pupil" in page
    assert 'href="#cited-provision-map"' in page


def test_a_map_of_a_year_outside_the_requests_financial_year_is_warned_of_on_the_request_page(loaded):
    head, old_year = demo.school("990001"), AcademicYear(DEV_YEAR.start_year - 2)
    loaded.open_provision_map(head, "990001", old_year)
    loaded.add_provision_line(
        head, "990001", old_year,
        line_fields(cost_basis="total", cost="30000.00", status="planned",
                    starts_on=str(old_year.starts_on), ends_on=str(old_year.ends_on)),
    )  # fmt: skip
    published = loaded.publish_provision_map(head, "990001", old_year).latest_published
    assert published is not None
    request_id = submitted_request(loaded)
    loaded.provide_evidence(
        head, UUID(request_id), notional_sen_budget="30000.00", documents=[], provision_map=citation_of(published)
    )
    warning = (
        f"The cited map is for the academic year {old_year} (1 September {old_year.start_year} to 31 August "
        f"{old_year.start_year + 1}), which has no day in the request&#39;s financial year {DEV_YEAR}"
    )

    for visitor in (LEAD, "council officer"):
        page = signed_in(loaded, visitor).get(f"/funding-requests/{request_id}")
        assert page.status_code == 200
        assert warning in page.text, visitor
    assert loaded.get_request(head, UUID(request_id)).status is RequestStatus.EVIDENCED  # a warning, not a refusal


def test_typed_evidence_is_shown_as_not_from_a_provision_map(loaded):
    client = signed_in(loaded, LEAD)
    typed = next(
        row.request_id for row in loaded.read_models.list_requests(demo.lead("northmere-coast")).items
        if row.status == "information_requested"
    )  # fmt: skip
    loaded.provide_evidence(demo.school("990003"), UUID(typed), **demo.EVIDENCE)

    assert "Not from a provision map" in client.get(f"/funding-requests/{typed}").text


def test_an_auditor_as_at_the_citing_sees_the_cited_version_after_the_map_changed(loaded):
    council = signed_in(loaded, "council officer")
    head = demo.school("990001")
    rows = loaded.read_models.list_requests(head, school_urn="990001").items
    request_id = next(row.request_id for row in rows if row.status == "cluster_approved")
    cited_at = next(
        entry.timestamp
        for entry in loaded.request_history(head, UUID(request_id))
        if entry.type == "SpendEvidenceProvided"
    )
    first = loaded.published_provision_map(head, "990001", YEAR, 1)
    loaded.add_provision_line(head, "990001", YEAR, line_fields(starts_on=YEAR.starts_on, ends_on=YEAR.ends_on))
    second = loaded.publish_provision_map(head, "990001", YEAR).latest_published

    page = council.get(f"/funding-requests/{request_id}", params={"as_of": cited_at.isoformat()}).text

    assert first.sha256 in page and second.sha256 not in page


def test_the_needs_overview_pages_suppress_small_counts(loaded):
    lead = signed_in(loaded, LEAD)
    page = lead.get("/cluster/needs-overview")
    assert page.status_code == 200, page.text
    assert "Suppressed" in page.text
    assert "<h1" in page.text and "Needs overview" in page.text

    council = signed_in(loaded, "council officer")
    chosen = council.get("/council/needs-overview", params={"cluster_id": "fenwick-broads", "academic_year": YEAR.path})
    assert chosen.status_code == 200 and "Fenwick Broads" in chosen.text
    bad = council.get("/council/needs-overview", params={"cluster_id": "no-such", "academic_year": "2026-2"})
    assert bad.status_code == 400


def test_another_role_cannot_open_the_needs_overview(loaded):
    assert signed_in(loaded, SCHOOL).get("/cluster/needs-overview").status_code == 403
    assert signed_in(loaded, OTHER_LEAD).get("/council/needs-overview").status_code == 403
