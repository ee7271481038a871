"""`GET /audit/decisions/{position}/context` on both stores (issue 14): the council reads a decision
with the request before it, the budget it found, the policy it pinned, its evidence and the chain's
proof; anyone else is refused, and a position that holds no decision is a 404."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_money_2dp, assert_problem, auth
from tests.support import COUNCIL, FINANCE, HEAD, LEAD, evidenced_request, set_up_world

REASON = "Spend evidence shows the school's own SEN funding is spent."


@pytest.fixture
def approval(app):
    set_up_world(app, budget="5000.00")
    request = evidenced_request(app, amount_requested="1200.00")
    app.approve(LEAD, request.id, "1200.00", REASON)
    (decision,) = app.replay_decisions(COUNCIL).decisions
    return request.id, decision.position


def test_the_council_reads_a_decision_in_its_context(client, approval):
    request_id, position = approval
    answer = client.get(f"/audit/decisions/{position}/context", headers=auth(COUNCIL))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["position"], body["kind"], body["request_id"]) == (position, "ClusterApproved", str(request_id))
    assert (body["amount"], body["reason"], body["actor"]["role"]) == ("1200.00", REASON, "cluster_lead")
    assert body["request"]["status"] == "evidenced" and body["request"]["decisions"] == []
    fund = body["fund"]
    assert (fund["fund"], fund["allocated"], fund["committed"], fund["available"]) == (
        "cluster",
        "5000.00",
        "0.00",
        "5000.00",
    )
    assert body["policy"]["recorded"] is True and body["policy"]["pin"]["council_version"] == 0
    assert {p["name"]: p["value"] for p in body["policy"]["parameters"]}["award_cap"] == "10000000.00"
    assert body["evidence_review"]["request_id"] == str(request_id)
    assert body["proof"]["ok"] is True and len(body["proof"]["decision_link"]) == 64
    assert_money_2dp(body)


@pytest.mark.parametrize("actor", [FINANCE, LEAD, HEAD])
def test_only_the_council_reads_a_context(client, approval, actor):
    _, position = approval
    assert_problem(client.get(f"/audit/decisions/{position}/context", headers=auth(actor)), 403, "forbidden")


@pytest.mark.parametrize("position", ["1", "0", "-1", "1_0", "x", "99999999", str(2**63), "١"])
def test_a_position_without_a_decision_is_a_404(client, approval, position):
    assert_problem(client.get(f"/audit/decisions/{position}/context", headers=auth(COUNCIL)), 404, "not-found")
