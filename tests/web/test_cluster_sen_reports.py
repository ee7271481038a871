"""The lead's read-only pages of its cluster's SEN Information Reports, in process, on SQLite and on
PostgreSQL, over the demo year: every school of the cluster with its report link, dates, overdue
flag and latest assessments; one school's report and ratings; nothing of another cluster's; and
reading changes nothing."""

from __future__ import annotations

import re

import pytest

from funding_engine import demo
from funding_engine.application import FundingApplication
from tests.web.pages import signed_in

LEAD = "lead, northmere-coast"


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def head(app: FundingApplication) -> int:
    return app.recorder.max_notification_id() or 0


def row_of(page: str, urn: str) -> str:
    found = re.search(rf'<tr class="govuk-table__row" data-urn="{urn}">(.*?)</tr>', page, re.DOTALL)
    assert found, urn
    return found.group(1)


def test_the_lead_sees_each_of_its_schools_report_with_dates_overdue_flag_and_latest_assessments(loaded):
    client = signed_in(loaded, LEAD)
    before = head(loaded)
    page = client.get("/cluster/sen-reports")

    assert page.status_code == 200
    assert re.findall(r'data-urn="(\d{6})"', page.text) == ["990001", "990002", "990003"]
    first = row_of(page.text, "990001")
    assert 'href="https://www.school-990001.example.org/send-information-report"' in first
    assert 'href="/cluster/sen-reports/990001"' in first
    assert "23 met, 0 partly met, 0 not met" in first  # the school's self-assessment
    assert "21 met, 1 partly met, 1 not met" in first and "Items not met" in first  # the council's audit
    assert "Review overdue" in row_of(page.text, "990003")  # published 400 days ago
    assert "Review overdue" not in first
    assert row_of(page.text, "990002").count("Not assessed") == 2
    assert "3 schools: 0 with no report registered, 1 overdue for review." in page.text
    assert "990201" not in page.text  # another cluster's school
    assert head(loaded) == before


def test_a_school_with_no_report_is_listed_as_missing_without_a_link(loaded):
    loaded.add_school(demo.COUNCIL, "northmere-coast", "990004")
    loaded.register_school(demo.COUNCIL, "990004", "Harbour Academy (fictional)", "secondary", "northmere-coast")
    page = signed_in(loaded, LEAD).get("/cluster/sen-reports")

    row = row_of(page.text, "990004")
    assert "No report registered" in row and "Harbour Academy (fictional)" in row
    assert "href=" not in row
    assert "4 schools: 1 with no report registered, 1 overdue for review." in page.text


def test_the_lead_reads_one_schools_report_and_its_ratings_but_not_the_publics_broken_link_reports(loaded):
    page = signed_in(loaded, LEAD).get("/cluster/sen-reports/990001")

    assert page.status_code == 200
    assert "SEN Information Report of school 990001" in page.text
    assert "The report does not say where the county&#39;s Local Offer is published." in page.text
    assert "The council&#39;s latest audit" in page.text and "The school&#39;s latest self-assessment" in page.text
    assert "Audit this report" not in page.text
    assert "Broken links reported" not in page.text
    council = signed_in(loaded, "council officer").get("/council/local-offer/990001")
    assert "Audit this report" in council.text and "Broken links reported" in council.text


@pytest.mark.parametrize("urn", ["990201", "990103", "999999", "not-a-urn"])
def test_a_school_outside_the_leads_cluster_or_unknown_is_a_page_that_does_not_exist(loaded, urn):
    assert signed_in(loaded, LEAD).get(f"/cluster/sen-reports/{urn}").status_code == 404


def test_the_other_lead_sees_only_its_own_cluster(loaded):
    page = signed_in(loaded, "lead, marshfield-vale").get("/cluster/sen-reports")
    assert re.findall(r'data-urn="(\d{6})"', page.text) == ["990201", "990202"]
    assert signed_in(loaded, "lead, marshfield-vale").get("/cluster/sen-reports/990001").status_code == 404


@pytest.mark.parametrize("visitor", ["school 990001 (northmere-coast)", "council officer", "finance officer"])
def test_only_a_lead_opens_the_page(loaded, visitor):
    assert signed_in(loaded, visitor).get("/cluster/sen-reports").status_code == 403
