"""A decision in its context, on both stores (issue 14): the request just before it, the budget as it
found it, the policy it pinned, its evidence, and the chain's proof, which fails once a stored
event is edited."""

from __future__ import annotations

import pytest

from domain.errors import NotFound, NotPermitted
from domain.money import Money
from domain.values import RequestStatus
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from tests.integration.test_audit_chain import StoredEvents, insert_a_space
from tests.support import COUNCIL, FINANCE, LEAD, evidenced_request, set_up_world

REASON = "Spend evidence shows the school's own SEN funding is spent."


def decision_positions(app: FundingApplication) -> dict[str, int]:
    return {decision.kind: decision.position for decision in app.replay_decisions(COUNCIL).decisions}


def test_an_approval_in_its_context(app):
    set_up_world(app, budget="5000.00")
    request = evidenced_request(app, amount_requested="1200.00")
    app.approve(LEAD, request.id, "1200.00", REASON)
    change = app.change_policy(
        COUNCIL, parameter="award_cap", value="1000", effective_from=today_in_england(), reason="Cabinet minute 14"
    )
    app.approve_policy_change(FINANCE, change.number)

    context = app.decision_context(COUNCIL, decision_positions(app)["ClusterApproved"])

    assert context.kind == "ClusterApproved" and context.decision.amount == Money.parse("1200.00")
    assert context.request.status is RequestStatus.EVIDENCED and context.request.id == request.id
    assert context.fund is not None
    assert (context.fund.committed, context.fund.available) == (Money(0), Money.parse("5000.00"))  # before it
    # The policy it was decided under, not today's lower cap.
    assert context.policy_recorded and context.policy.award_cap == Money.parse("10000000.00")
    assert context.evidence.warnings == [] or all(w.code for w in context.evidence.warnings)
    assert context.proof.ok and context.proof.decision_link is not None and context.proof.first_bad_position is None


def test_a_decline_reads_the_budget_as_it_stood_then(app):
    set_up_world(app, budget="5000.00")
    request = evidenced_request(app)
    app.decline(LEAD, request.id, "insufficient_evidence", "The evidence does not show the spend.")
    app.allocate_budget(FINANCE, "northmere-coast", "2026-27", "1000.00", "more money later")

    context = app.decision_context(COUNCIL, decision_positions(app)["ClusterDeclined"])

    assert context.fund is not None and context.fund.allocated == Money.parse("5000.00")


def test_the_proof_fails_once_a_stored_event_is_edited(app, database_url):
    set_up_world(app, budget="5000.00")
    request = evidenced_request(app)
    app.approve(LEAD, request.id, "1000.00", REASON)
    position = decision_positions(app)["ClusterApproved"]
    assert app.decision_context(COUNCIL, position).proof.ok  # chained, before anyone edits the log
    events = StoredEvents(database_url)
    events.set_state(position - 1, insert_a_space(events.state(position - 1)))

    proof = app.decision_context(COUNCIL, position).proof

    assert (proof.ok, proof.first_bad_position) == (False, position - 1)


def test_only_the_council_reads_a_context_and_only_of_a_decision(app):
    set_up_world(app)
    with pytest.raises(NotPermitted):
        app.decision_context(FINANCE, 1)
    with pytest.raises(NotFound):
        app.decision_context(COUNCIL, 1)  # the first cluster's registration, not a decision
