"""The policy through the application, on both stores (issue 14): changes and the second person,
what was in force at any moment, decisions that pin it, caps that refuse, and a race on the
council's per-term cap between two processes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.council_terms import CouncilTermAwards, SchoolTerm
from domain.errors import Conflict, InvalidValue, NotFound, NotPermitted, PolicyLimitExceeded
from domain.money import Money
from domain.values import Actor
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from funding_engine.settings import Settings
from tests.integration.test_races import race
from tests.support import (
    CLUSTER,
    COUNCIL,
    FINANCE,
    HEAD,
    LEAD,
    escalated_request,
    evidenced_request,
    set_up_world,
    writes_nothing,
)

REASON = "Spend evidence shows the school's own SEN funding is spent."
SECOND_OFFICER = Actor.council("council-officer-2")


def set_cap(app: FundingApplication, cap: str, *, cluster: str | None = None, by: Actor = COUNCIL):
    """A cap lowered from its default by far more than the threshold: proposed, then approved by finance."""
    change = app.change_policy(
        by,
        parameter="award_cap",
        value=cap,
        effective_from=today_in_england(),
        reason="Cabinet, 12 November, minute 14",
        cluster_id=cluster,
    )
    assert change.status == "awaiting_second_person"
    return app.approve_policy_change(FINANCE, change.number, cluster_id=cluster)


def test_a_large_change_counts_only_once_a_second_person_approves_it(app):
    change = app.change_policy(
        COUNCIL, parameter="award_cap", value="8000", effective_from=today_in_england(), reason="Cabinet minute 14"
    )
    assert app.policy_in_force().award_cap == Money.parse("10000000.00")
    with pytest.raises(NotPermitted):
        app.approve_policy_change(COUNCIL, change.number)
    approved = app.approve_policy_change(SECOND_OFFICER, change.number)
    assert (approved.status, approved.approved_by) == ("approved", SECOND_OFFICER)
    assert app.policy_in_force().award_cap == Money.parse("8000.00")


def test_only_the_council_and_finance_change_the_policy_and_a_refusal_writes_nothing(app):
    set_up_world(app)
    with writes_nothing(app):
        for actor in (LEAD, HEAD):
            with pytest.raises(NotPermitted):
                app.change_policy(
                    actor, parameter="award_cap", value="8000", effective_from=today_in_england(), reason="mine"
                )
        with pytest.raises(InvalidValue):
            app.change_policy(
                COUNCIL, parameter="award_cap", value="8000", effective_from=today_in_england() - timedelta(days=1),
                reason="back-dated",
            )  # fmt: skip
        with pytest.raises(NotFound):
            app.change_policy(
                COUNCIL, parameter="award_cap", value="8000", effective_from=today_in_england(), reason="x",
                cluster_id="no-such-cluster",
            )  # fmt: skip


def test_a_changed_cap_leaves_past_decisions_valid_and_explains_new_refusals(app):
    set_up_world(app, budget="50000.00")
    before = app.approve(LEAD, evidenced_request(app, amount_requested="9000.00").id, "9000.00", REASON)
    pinned_before = before.decisions[-1].policy
    set_cap(app, "5000")

    late = evidenced_request(app, amount_requested="9000.00")
    with writes_nothing(app), pytest.raises(PolicyLimitExceeded, match=r"5000\.00 \(council policy change 1"):
        app.approve(LEAD, late.id, "9000.00", REASON)
    within = app.approve(LEAD, late.id, "5000.00", REASON)

    # The earlier approval stands, pinned to the policy before the change; read back, that policy
    # allowed it, and today's would not.
    assert app.get_request(COUNCIL, before.id).status.value == "cluster_approved"
    assert pinned_before is not None and pinned_before.council_version == 0
    assert app.policy_as_pinned(pinned_before, before.cluster_id).award_cap == Money.parse("10000000.00")
    assert app.policy_in_force(before.cluster_id).award_cap == Money.parse("5000.00")
    pinned_after = within.decisions[-1].policy
    assert pinned_after is not None and pinned_after.council_version == 3
    assert app.policy_as_pinned(pinned_after, within.cluster_id).award_cap == Money.parse("5000.00")


def test_a_clusters_override_applies_to_its_decisions_only(app):
    set_up_world(app, budget="50000.00")
    set_cap(app, "3000", cluster=CLUSTER)
    assert app.policy_in_force(CLUSTER).award_cap == Money.parse("3000.00")
    assert app.policy_in_force().award_cap == Money.parse("10000000.00")
    request = evidenced_request(app, amount_requested="4000.00")
    with pytest.raises(PolicyLimitExceeded, match="cluster policy change 1"):
        app.approve(LEAD, request.id, "4000.00", REASON)
    approved = app.approve(LEAD, request.id, "3000.00", REASON)
    assert approved.decisions[-1].policy.cluster_version == 3


def test_the_policy_is_read_as_it_was_at_any_moment(app):
    start = datetime.now(UTC)
    change = app.change_policy(
        COUNCIL, parameter="decision_deadline_working_days", value="21", effective_from=today_in_england(),
        reason="A little more time for panels",
    )  # fmt: skip
    assert change.status == "approved"
    then, record = app.read_policy(HEAD, as_of=start)
    now, _ = app.read_policy(HEAD)
    assert then.number("decision_deadline_working_days") == 20 and then.pin.council_version == 0
    assert now.number("decision_deadline_working_days") == 21 and now.pin.council_version == 2
    assert record is not None and [c.value for c in record.changes] == ["21"]
    with pytest.raises(InvalidValue, match="time zone"):
        app.read_policy(HEAD, as_of=datetime.now())  # noqa: DTZ005 - a time without a zone is the point


def test_one_change_to_a_parameter_waits_at_a_time_and_a_rejected_one_never_counts(app):
    first = app.change_policy(
        COUNCIL, parameter="award_cap", value="8000", effective_from=today_in_england(), reason="Cabinet minute 14"
    )
    with pytest.raises(Conflict, match="awaiting a second person"):
        app.change_policy(
            FINANCE, parameter="award_cap", value="9000", effective_from=today_in_england(), reason="another view"
        )
    rejected = app.reject_policy_change(FINANCE, first.number, "Not agreed by the cabinet")
    assert rejected.status == "rejected"
    assert app.policy_in_force().award_cap == Money.parse("10000000.00")


def test_the_instalment_shares_of_the_policy_in_force_divide_a_termly_award(app):
    set_up_world(app, budget="50000.00")
    change = app.change_policy(
        FINANCE, parameter="instalment_shares", value="1,1,1", effective_from=today_in_england(),
        reason="Equal thirds from this year",
    )  # fmt: skip
    app.approve_policy_change(COUNCIL, change.number)
    request = evidenced_request(app, amount_requested="3000.00")
    approved = app.approve(
        LEAD, request.id, "3000.00", REASON, award_period={"starts_on": "2026-09-01", "ends_on": "2027-08-31"}
    )
    assert [instalment.amount for instalment in approved.award.instalments] == [Money.parse("1000.00")] * 3


def test_council_approvals_racing_in_one_term_never_pass_its_cap(app, make_app: Callable[[], FundingApplication]):
    """Six escalations of 3,000.00 decided at once by two processes against a per-term cap of
    10,000.00: three are approved, the rest refused by the cap, and the tally is exact."""
    set_up_world(app, budget="100.00", council_fund="100000.00")
    cap = app.change_policy(
        COUNCIL, parameter="council_term_cap", value="10000", effective_from=today_in_england(),
        reason="Cabinet minute 14: £10,000 a term",
    )  # fmt: skip
    app.approve_policy_change(FINANCE, cap.number)
    requests = [escalated_request(app, "3000.00", amount_requested="3000.00") for _ in range(6)]
    other = make_app()
    jobs = [
        ((app, other)[index % 2].decide_escalation, (COUNCIL, request.id, "approve", "Exceptional: agreed"))
        for index, request in enumerate(requests)
    ]

    results, errors = race(jobs)

    assert len(results) == 3, errors
    assert len(errors) == 3 and all(isinstance(error, PolicyLimitExceeded) for error in errors), errors
    fresh = make_app()
    fund = fresh.get_council_fund(FINANCE, "2026-27")
    assert fund.committed == Money.parse("9000.00")
    statuses = sorted(fresh.get_request(COUNCIL, request.id).status.value for request in requests)
    assert statuses == ["council_approved"] * 3 + ["escalated"] * 3


def test_a_setting_that_became_a_parameter_is_refused_with_where_it_lives_now(monkeypatch, database_url):
    monkeypatch.setenv("FUNDING_ENGINE_TERM_SHARES", "4,3,5")
    with pytest.raises(ValueError, match="instalment_shares"):
        Settings(database_url=database_url)


def test_a_council_approval_counts_in_the_term_of_the_day_it_pins(app, monkeypatch):
    """Across midnight at a term's start, the tally it counts in and the day it pins stay one term's."""
    set_up_world(app, budget="100.00", council_fund="100000.00")
    request = escalated_request(app, "3000.00", amount_requested="3000.00")
    days = iter([date(2027, 8, 31), date(2027, 9, 1), date(2027, 9, 1)])
    monkeypatch.setattr("funding_engine.application.requests.today_in_england", lambda: next(days))
    monkeypatch.setattr("funding_engine.application.policies.today_in_england", lambda: next(days))

    approved = app.decide_escalation(COUNCIL, request.id, "approve", "Exceptional: agreed")

    pinned = approved.decisions[-1].policy
    assert pinned is not None and pinned.on == date(2027, 8, 31)
    tally = app.repository.get(CouncilTermAwards.id_for(SchoolTerm.containing(pinned.on)))
    assert tally.awarded == Money.parse("3000.00")
