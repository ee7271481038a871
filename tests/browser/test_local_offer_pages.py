"""The Local Offer in Chromium on both stores: a family finds a school's report with nobody signed
in (searching with the GET form, no sign-in redirect on the way), reports a broken link, and the
school's SENCo works through the checklist; axe-core on every page, error summaries included."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from domain.sen_report_checklist import CHECKLIST, AssessmentKind, Rating
from funding_engine import demo
from tests.browser.conftest import LiveServer, serious_violations, sign_in_as


@pytest.fixture
def live_server(demo_server: LiveServer) -> LiveServer:
    """Every test here starts from the demo year: the server is over a copy of it."""
    return demo_server


TITLE = "SEND top-up funding"


def looked_at(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=shots / f"{name}.png", full_page=True)
    assert serious_violations(page) == [], name


def test_a_family_finds_a_schools_report_without_signing_in(web_page: Page, live_server: LiveServer, tmp_path: Path):
    page = web_page
    answer = page.goto(f"{live_server.url}/local-offer")
    assert answer is not None and answer.status == 200 and answer.request.redirected_from is None
    expect(page).to_have_title(f"Schools' SEN Information Reports - {TITLE}")
    looked_at(page, tmp_path, "01-listing")

    page.get_by_label("Cluster", exact=True).select_option(label="Marshfield Vale (fictional)")
    page.get_by_role("button", name="Search").click()
    assert "cluster=marshfield-vale" in page.url and "/sign-in" not in page.url
    rows = page.locator("#schools tbody tr")
    expect(rows).to_have_count(2)
    report = page.get_by_role("link", name="Read the report of Marshfield Vale All-Through School (fictional)")
    expect(report).to_have_attribute("href", "https://www.school-990201.example.org/send-information-report")
    expect(report).to_have_attribute("rel", "noopener noreferrer")
    looked_at(page, tmp_path, "02-searched-by-cluster")

    page.get_by_label("School name, URN or cluster").fill("nowhere")
    page.get_by_label("Cluster", exact=True).select_option(label="All clusters")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#no-schools")).to_contain_text("No school matches your search")
    page.get_by_role("link", name="see every school").click()
    expect(page.locator("#schools tbody tr")).to_have_count(len(demo.SEN_REPORTS))
    expect(page.locator('tr[data-urn="990003"]')).to_contain_text("Review overdue")
    expect(page.locator('tr[data-urn="990103"]')).to_contain_text("Not published here yet")
    assert page.context.cookies() == [] or all(cookie["name"] != "session" for cookie in page.context.cookies())


def test_anyone_reports_a_broken_link_and_a_long_note_is_refused(
    web_page: Page, live_server: LiveServer, tmp_path: Path
):
    page = web_page
    page.goto(f"{live_server.url}/local-offer")
    page.get_by_role("link", name="Report a broken link for Little Marshfield Nursery School (fictional)").click()
    expect(page.get_by_role("heading", name="Report a broken link")).to_be_visible()
    looked_at(page, tmp_path, "03-broken-link")

    # The browser's own maxlength stops typing at 500; a note pasted past it by a script is refused.
    page.locator("#note").evaluate("box => { box.removeAttribute('maxlength'); box.value = 'x'.repeat(501) }")
    page.get_by_role("button", name="Report the broken link").click()
    expect(page).to_have_title(f"Error: Report a broken link - {TITLE}")
    expect(page.get_by_role("alert")).to_contain_text("500 characters or fewer")
    looked_at(page, tmp_path, "04-broken-link-error")

    page.get_by_label("What went wrong (optional)").fill("The page says it has moved.")
    page.get_by_role("button", name="Report the broken link").click()
    expect(page.get_by_role("heading", name="Broken link reported")).to_be_visible()
    looked_at(page, tmp_path, "05-broken-link-sent")
    notes = [link.note for link in live_server.app.read_models.local_offer.overview(demo.COUNCIL).broken_links]
    assert "The page says it has moved." in notes


def test_a_senco_assesses_the_schools_report_against_the_checklist(
    web_page: Page, live_server: LiveServer, tmp_path: Path
):
    page = web_page
    sign_in_as(page, live_server, "school 990201 (marshfield-vale)")
    page.get_by_role("link", name="SEN Information Report").click()
    expect(page).to_have_title(f"Your SEN Information Report - {TITLE}")
    looked_at(page, tmp_path, "06-school-task-list")

    page.get_by_role("link", name="Assess your report against the checklist").click()
    first = CHECKLIST[0]
    page.locator(f"#item-{first.key}").get_by_label("Not met").check()
    page.get_by_label(f"Note on {first.reference} (optional)").fill("We do not yet list every kind of need.")
    # Earlier answers come back ticked: clear one so the error summary shows.
    page.locator(f"input[name='rating-{CHECKLIST[-1].key}']").evaluate_all(
        "boxes => boxes.forEach(b => b.checked = false)"
    )
    page.get_by_role("button", name="Save self-assessment").click()
    expect(page.get_by_role("alert")).to_contain_text(CHECKLIST[-1].reference)
    looked_at(page, tmp_path, "07-self-assessment-error")

    page.locator(f"#item-{CHECKLIST[-1].key}").get_by_label("Met", exact=True).check()
    page.get_by_role("button", name="Save self-assessment").click()
    expect(page.get_by_role("alert", name="Success")).to_contain_text("Your self-assessment is saved")
    looked_at(page, tmp_path, "08-self-assessment-saved")

    latest = live_server.app.get_sen_report(demo.COUNCIL, "990201").latest[AssessmentKind.SELF_ASSESSMENT]
    assert latest.ratings[first.key] is Rating.NOT_MET
    assert latest.notes[first.key] == "We do not yet list every kind of need."
