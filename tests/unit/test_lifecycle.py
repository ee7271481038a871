"""The request lifecycle as ``domain/lifecycle.py`` states it, held to the aggregate that follows it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from domain.funding_request import TRANSITION_OF, FundingRequest
from domain.funds import ClusterBudget
from domain.lifecycle import (
    AWAITING_COUNCIL,
    BUDGET_DECISIONS,
    FINAL_STATUSES,
    LOGGED_DECISIONS,
    OPEN_STATUSES,
    PAYABLE_STATUSES,
    TRANSITIONS,
    enters,
    leaves,
    status_after_money,
)
from domain.money import Money
from domain.values import DecisionKind, RequestStatus

S = RequestStatus


def request_event_classes() -> set[type]:
    return {
        value
        for value in vars(FundingRequest).values()
        if isinstance(value, type)
        and issubclass(value, FundingRequest.Event)
        # The library's own bases: every event of ours is one, and none is ever recorded as itself.
        and value not in (FundingRequest.Event, FundingRequest.Created)
    }


def test_every_event_of_a_request_has_a_transition_and_every_transition_an_event():
    assert set(TRANSITION_OF) == request_event_classes()
    assert {cls.__name__ for cls in TRANSITION_OF} == set(TRANSITIONS)


def test_a_budget_decision_names_an_event_of_the_budget():
    for name in BUDGET_DECISIONS:
        assert issubclass(getattr(ClusterBudget, name), ClusterBudget.Event)


def test_each_decision_kind_is_recorded_by_exactly_one_event():
    recorded = [transition.records for transition in TRANSITIONS.values() if transition.records is not None]
    recorded += list(BUDGET_DECISIONS.values())
    assert sorted(recorded, key=lambda kind: kind.value) == sorted(DecisionKind, key=lambda kind: kind.value)


def test_the_decision_log_shows_every_decision_but_a_withdrawal():
    assert set(DecisionKind) - LOGGED_DECISIONS == {DecisionKind.WITHDRAWAL}


def test_every_status_is_reached_by_some_event_and_final_statuses_lead_nowhere():
    # Paid and released are reached through ``status_after_money``.
    reached = {transition.leads_to for transition in TRANSITIONS.values()} | {S.PAID, S.RELEASED}
    assert reached - {None} == set(S)
    for name, transition in TRANSITIONS.items():
        if transition.allowed_from & FINAL_STATUSES:
            # Only a recovery follows a final status, and it leaves the status as it is.
            assert name in {"RecoveryRaised", "RecoveryReceived"}
            assert transition.leads_to is None


def test_the_status_sets_do_not_overlap():
    sets = [OPEN_STATUSES, AWAITING_COUNCIL, PAYABLE_STATUSES, FINAL_STATUSES]
    assert sum(len(statuses) for statuses in sets) == len(set().union(*sets)) == len(S)


@dataclass
class _Figures:
    unpaid: Money
    released: Money


@pytest.mark.parametrize(
    ("unpaid", "released", "expected"),
    [
        (Money(50), Money(0), S.CLUSTER_APPROVED),
        (Money(50), Money(20), S.CLUSTER_APPROVED),
        (Money(0), Money(0), S.PAID),
        (Money(0), Money(1), S.RELEASED),
    ],
)
def test_a_request_is_paid_or_released_once_nothing_is_left_to_pay(unpaid, released, expected):
    assert status_after_money(S.CLUSTER_APPROVED, _Figures(unpaid, released)) is expected


def test_pending_and_escalated_move_with_the_events_the_lifecycle_says():
    leaving_open = {name for name, transition in TRANSITIONS.items() if leaves(OPEN_STATUSES, transition)}
    into_open = {name for name, transition in TRANSITIONS.items() if enters(OPEN_STATUSES, transition)}
    into_council = {name for name, transition in TRANSITIONS.items() if enters(AWAITING_COUNCIL, transition)}
    leaving_council = {name for name, transition in TRANSITIONS.items() if leaves(AWAITING_COUNCIL, transition)}

    assert into_open == {"Submitted"}
    assert leaving_open == {"ClusterApproved", "ClusterDeclined", "Escalated", "Withdrawn"}
    assert into_council == {"Escalated"}
    assert leaving_council == {"CouncilApproved", "CouncilDeclined"}
