"""A decision in its context and the replay of every decision, as the council's pages, on both
stores (issue 14), over the demo year."""

from __future__ import annotations

import re

import pytest

from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from tests.web.pages import signed_in


@pytest.fixture
def loaded(demo_app: FundingApplication) -> FundingApplication:
    return demo_app


def test_the_decision_log_links_each_request_decision_to_its_context(loaded):
    client = signed_in(loaded, "council officer")
    log = client.get("/council/decisions").text
    positions = re.findall(r'href="/council/decisions/(\d+)"', log)
    replayed = {str(decision.position) for decision in loaded.replay_decisions(demo.COUNCIL).decisions}
    assert positions and set(positions) == replayed


def test_a_council_approval_in_its_context(loaded):
    council = next(d for d in loaded.replay_decisions(demo.COUNCIL).decisions if d.kind == "CouncilApproved")
    page = signed_in(loaded, "council officer").get(f"/council/decisions/{council.position}")
    assert page.status_code == 200
    text = page.text.replace("&#39;", "'")
    for expected in (
        "Approved by council in its context",
        "Escalated to council",  # the request just before the decision
        "Council fund",
        "Council policy version 0, as in force on",
        "Reproduced",
        "It would stand",
        "Intact",
    ):
        assert expected in text, expected


@pytest.mark.parametrize("position", ["1", "0", "abc", "99999999999999999999"])
def test_a_position_without_a_decision_is_not_found(loaded, position):
    assert signed_in(loaded, "council officer").get(f"/council/decisions/{position}").status_code == 404


def test_the_replay_page_lists_what_todays_policy_would_refuse(loaded):
    change = loaded.change_policy(
        demo.FINANCE, parameter="award_cap", value="7500", effective_from=today_in_england(), reason="Lower cap"
    )
    loaded.approve_policy_change(demo.COUNCIL, change.number)
    client = signed_in(loaded, "council officer")
    assert "Replay every decision now" in client.get("/council/audit/replay").text
    page = client.get("/council/audit/replay", params={"run": "yes"})
    assert page.status_code == 200 and "0 not reproduced" in page.text
    assert page.text.count('href="/council/decisions/') == 2  # the two awards above today's cap
    assert signed_in(loaded, "finance officer").get("/council/audit/replay").status_code == 403
