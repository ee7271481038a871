"""Any decision replayed, on both stores (issue 14): the demo year reproduces every stored outcome;
a decision today's policy would refuse is named with why; a decision whose record the rules of its
time do not reproduce is caught; and the command line says the same."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from domain.errors import NotFound, NotPermitted
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget
from domain.money import Money
from domain.policy_pin import PolicyPin
from domain.values import ClusterId, FinancialYear
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from funding_engine.dev_mode import DEV_YEAR
from tests.support import CLUSTER, COUNCIL, FINANCE, LEAD, YEAR, evidenced_request, set_up_world

REASON = "Spend evidence shows the school's own SEN funding is spent."


def lower_the_cap(app: FundingApplication, cap: str) -> None:
    """A large change, so approved by a second person (the demo's actors are other people)."""
    change = app.change_policy(
        COUNCIL, parameter="award_cap", value=cap, effective_from=today_in_england(), reason="Cabinet minute 14"
    )
    app.approve_policy_change(FINANCE, change.number)


def test_replaying_the_demo_year_reproduces_every_stored_outcome(demo_app):
    app = demo_app
    report = app.replay_decisions(demo.COUNCIL)
    kinds = {decision.kind for decision in report.decisions}
    assert {"ClusterApproved", "ClusterDeclined", "Escalated", "CouncilApproved", "CouncilDeclined"} <= kinds
    assert report.not_reproduced == [] and report.reproduced == len(report.decisions) >= 10
    assert report.refused_today == []  # the demo's cap of 15,000.00 is above every award it made
    # A cap of 7,500.00 would refuse its awards of 8,000.00 (the cluster's) and 12,000.00 (the
    # council's); they stand, decided under the policy before it.
    lower_the_cap(app, "7500")
    refused = app.replay_decisions(demo.COUNCIL).refused_today
    assert [decision.kind for decision in refused] == ["ClusterApproved", "CouncilApproved"]
    assert all("largest single award of 7500.00" in (decision.refused_today or "") for decision in refused)


def test_a_decision_is_replayed_with_the_policy_it_pinned_and_with_todays(app):
    set_up_world(app, budget="50000.00")
    approved = app.approve(LEAD, evidenced_request(app, amount_requested="9000.00").id, "9000.00", REASON)
    lower_the_cap(app, "5000")

    report = app.replay_decisions(COUNCIL)

    (decision,) = report.decisions
    assert (decision.request_id, decision.kind, decision.reproduced) == (approved.id, "ClusterApproved", True)
    assert decision.pinned.startswith("council policy version 0")
    assert decision.refused_today is not None and "5000.00 (council policy change 1" in decision.refused_today
    again = app.replay_decisions(COUNCIL, decision.position)
    assert again.decisions == [decision]


def test_a_recorded_decision_the_rules_of_its_time_would_not_reproduce_is_caught(app):
    """An approval above the cap of the policy it names (as a faulty version of the engine might
    have written) is saved past the application; the replay says which, and why."""
    set_up_world(app, budget="50000.00")
    lower_the_cap(app, "5000")
    pinned = app.policy_in_force(ClusterId(CLUSTER)).pin
    request = app.repository.get(evidenced_request(app, amount_requested="9000.00").id)
    budget = app.repository.get(ClusterBudget.id_for(ClusterId(CLUSTER), FinancialYear.parse(YEAR)))
    assert isinstance(request, FundingRequest)
    request.approve(Money.parse("9000.00"), REASON, "", LEAD, budget)  # no policy given: no cap checked
    approval = request.pending_events[-1]
    object.__setattr__(approval, "policy", pinned)  # but recorded as decided under the capped policy
    app.save(request, budget)

    report = app.replay_decisions(COUNCIL)

    (decision,) = report.not_reproduced
    assert decision.request_id == request.id and isinstance(pinned, PolicyPin)
    assert decision.problem is not None and decision.problem.startswith("refused: 9000.00 is more than")


def test_only_the_council_replays_and_a_position_without_a_decision_is_not_found(app):
    set_up_world(app)
    with pytest.raises(NotPermitted):
        app.replay_decisions(FINANCE)
    with pytest.raises(NotFound):
        app.replay_decisions(COUNCIL, 1)


def test_the_command_line_replays_and_fails_when_a_decision_is_not_reproduced(tmp_path):
    url = f"sqlite:///{tmp_path / 'replay.sqlite3'}"
    from funding_engine.bootstrap import bootstrap
    from funding_engine.settings import Settings

    with bootstrap(Settings(database_url=url)) as app:
        demo.load(app, DEV_YEAR, say=lambda _: None)
    env = {"FUNDING_ENGINE_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "funding_engine.cli", "audit", "replay", "--json"],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": ":".join(sys.path)},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["replayed"] == report["reproduced"] >= 10 and report["not_reproduced"] == 0
    assert report["refused_today"] == 0
