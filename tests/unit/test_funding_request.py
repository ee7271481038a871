"""The funding request lifecycle: every rule in DESIGN.md and every transition in API.md.

A "world" is one fresh request with its cluster budget and the council fund for the year. By
default the cluster has 800.00 available and the school asks for 1000.00, so the cluster can approve
a part (500.00) and the request can also be escalated (800.00 < 1000.00).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import CanMutateAggregate

from domain.awards import ReleaseReason
from domain.errors import (
    AmountNotAllowed,
    Conflict,
    EscalationNotAllowed,
    EvidenceRequired,
    InsufficientFunds,
    InvalidTransition,
    InvalidValue,
    PaymentExceedsApproved,
)
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.money import Money
from domain.values import (
    Actor,
    ClusterId,
    DecisionKind,
    DeclineReasonCode,
    EvidenceDocument,
    FinancialYear,
    ProvisionCategory,
    ProvisionLine,
    RequestStatus,
    Role,
    SchoolUrn,
    SpendLine,
    TopUpReason,
)

S = RequestStatus

YEAR = FinancialYear.parse("2026-27")
NEXT_YEAR = FinancialYear.parse("2027-28")
CLUSTER = ClusterId("northmere-coast")
OTHER_CLUSTER = ClusterId("fenwick-broads")
SCHOOL = SchoolUrn("900001")

HEAD = Actor.school("senco-900001", SCHOOL)
LEAD = Actor.cluster_lead("lead-northmere", CLUSTER)
COUNCIL = Actor.council("council-officer-1")
FINANCE = Actor.finance("finance-officer-1")


def money(text: str) -> Money:
    return Money.parse(text)


REQUESTED = money("1000.00")
CLUSTER_APPROVES = money("500.00")
NOTIONAL = money("12000.00")
SPEND = [
    SpendLine.parse("one_to_one_and_small_group_support", "9000.00", "two teaching assistants"),
    SpendLine.parse("therapies", "3000.00", "speech and language sessions"),
]
DOCUMENTS = [EvidenceDocument("sen-spend-2026.pdf", "ab" * 32)]


# ---------------------------------------------------------------------------------------------
# The world and how to drive it
# ---------------------------------------------------------------------------------------------


@dataclass
class World:
    request: FundingRequest
    budget: ClusterBudget
    fund: CouncilFund
    history: dict[str, list[Any]] = field(default_factory=dict)

    def settle(self) -> None:
        """Collect every pending event (as a save would), keeping them for replay tests."""
        for name in ("request", "budget", "fund"):
            self.history.setdefault(name, []).extend(getattr(self, name).collect_events())

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {name: copy.deepcopy(state(getattr(self, name))) for name in ("request", "budget", "fund")}

    def assert_nothing_happened(self, before: dict[str, dict[str, Any]]) -> None:
        assert list(self.request.pending_events) == []
        assert list(self.budget.pending_events) == []
        assert list(self.fund.pending_events) == []
        assert self.snapshot() == before


def state(aggregate: Any) -> dict[str, Any]:
    return {key: value for key, value in vars(aggregate).items() if key != "_pending_events"}


def replay(events: Sequence[CanMutateAggregate[UUID]]) -> Any:
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def new_world(
    *, available: str | None = "800.00", council_fund: str = "5000.00", requested: Money = REQUESTED
) -> World:
    budget = ClusterBudget.open(CLUSTER, YEAR, FINANCE)
    if available is not None:
        budget.allocate(money(available), "initial allocation", FINANCE)
    fund = CouncilFund.open(YEAR, FINANCE)
    fund.allocate(money(council_fund), "exceptional circumstances fund", FINANCE)
    request = FundingRequest.submit(**submission(amount_requested=requested))
    world = World(request, budget, fund)
    world.settle()
    return world


def submission(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "school_urn": SCHOOL,
        "cluster_id": CLUSTER,
        "financial_year": YEAR,
        "amount_requested": REQUESTED,
        "reason": TopUpReason.COMPLEX_NEEDS,
        "pupil_count": 2,
        "needs_summary": "Two pupils with complex communication needs need daily small-group support.",
        "planned_provision": [ProvisionLine(ProvisionCategory.ONE_TO_ONE_AND_SMALL_GROUP_SUPPORT, REQUESTED)],
        "actor": HEAD,
    }
    fields.update(overrides)
    return fields


def paying_fund(world: World) -> Fund:
    return world.fund if world.request.funded_by == "council" else world.budget


# Each command called with arguments that are valid wherever its status allows it.
COMMANDS: dict[str, Callable[[World], None]] = {
    "provide_evidence": lambda w: w.request.provide_evidence(NOTIONAL, SPEND, DOCUMENTS, HEAD),
    "request_information": lambda w: w.request.request_information("Please send the provision map.", LEAD),
    "approve": lambda w: w.request.approve(CLUSTER_APPROVES, "Spend evidence shows need.", "", LEAD, w.budget),
    "decline": lambda w: w.request.decline(DeclineReasonCode.NOT_ELIGIBLE, "Outside the scheme.", LEAD),
    "escalate": lambda w: w.request.escalate(REQUESTED, "Two new arrivals mid-year.", LEAD, w.budget),
    "approve_as_council": lambda w: w.request.approve_as_council(None, "Exceptional case.", COUNCIL, w.fund),
    "decline_as_council": lambda w: w.request.decline_as_council("Not exceptional.", COUNCIL),
    "withdraw": lambda w: w.request.withdraw("Needs now met by the school.", HEAD),
    "record_payment": lambda w: w.request.record_payment(money("100.00"), "PAY-0001", FINANCE, paying_fund(w)),
    "hold_instalment": lambda w: w.request.hold_instalment(1, "a reviewed provision plan", LEAD),
    "release": lambda w: w.request.release(ReleaseReason.PUPIL_LEFT, "Moved out of county.", LEAD, paying_fund(w)),
}


def pay_in_full(world: World) -> None:
    world.request.record_payment(world.request.amount_outstanding, "PAY-FULL", FINANCE, paying_fund(world))


# How to reach each status from a fresh submission.
ROUTES: dict[RequestStatus, list[Callable[[World], None]]] = {
    S.SUBMITTED: [],
    S.EVIDENCED: [COMMANDS["provide_evidence"]],
    S.INFORMATION_REQUESTED: [COMMANDS["provide_evidence"], COMMANDS["request_information"]],
    S.CLUSTER_APPROVED: [COMMANDS["provide_evidence"], COMMANDS["approve"]],
    S.CLUSTER_DECLINED: [COMMANDS["decline"]],
    S.ESCALATED: [COMMANDS["provide_evidence"], COMMANDS["escalate"]],
    S.COUNCIL_APPROVED: [COMMANDS["provide_evidence"], COMMANDS["escalate"], COMMANDS["approve_as_council"]],
    S.COUNCIL_DECLINED: [COMMANDS["provide_evidence"], COMMANDS["escalate"], COMMANDS["decline_as_council"]],
    S.WITHDRAWN: [COMMANDS["withdraw"]],
    S.PAID: [COMMANDS["provide_evidence"], COMMANDS["approve"], pay_in_full],
    S.RELEASED: [COMMANDS["provide_evidence"], COMMANDS["approve"], COMMANDS["release"]],
}


def world_in(status: RequestStatus, **world_options: Any) -> World:
    world = new_world(**world_options)
    for step in ROUTES[status]:
        step(world)
        world.settle()
    assert world.request.status is status
    return world


# API.md "Transitions", written out by hand.
ALLOWED_FROM: dict[str, set[RequestStatus]] = {
    "provide_evidence": {S.SUBMITTED, S.EVIDENCED, S.INFORMATION_REQUESTED},
    "request_information": {S.SUBMITTED, S.EVIDENCED},
    "approve": {S.EVIDENCED},
    "escalate": {S.EVIDENCED},
    "decline": {S.SUBMITTED, S.EVIDENCED, S.INFORMATION_REQUESTED},
    "withdraw": {S.SUBMITTED, S.EVIDENCED, S.INFORMATION_REQUESTED},
    "approve_as_council": {S.ESCALATED},
    "decline_as_council": {S.ESCALATED},
    "record_payment": {S.CLUSTER_APPROVED, S.COUNCIL_APPROVED},
    "hold_instalment": {S.CLUSTER_APPROVED, S.COUNCIL_APPROVED},
    "release": {S.CLUSTER_APPROVED, S.COUNCIL_APPROVED},
}

# What an allowed command records on the request, and the status it leaves (None: unchanged).
OUTCOMES: dict[str, tuple[type, RequestStatus | None]] = {
    "provide_evidence": (FundingRequest.SpendEvidenceProvided, S.EVIDENCED),
    "request_information": (FundingRequest.InformationRequested, S.INFORMATION_REQUESTED),
    "approve": (FundingRequest.ClusterApproved, S.CLUSTER_APPROVED),
    "escalate": (FundingRequest.Escalated, S.ESCALATED),
    "decline": (FundingRequest.ClusterDeclined, S.CLUSTER_DECLINED),
    "withdraw": (FundingRequest.Withdrawn, S.WITHDRAWN),
    "approve_as_council": (FundingRequest.CouncilApproved, S.COUNCIL_APPROVED),
    "decline_as_council": (FundingRequest.CouncilDeclined, S.COUNCIL_DECLINED),
    "record_payment": (FundingRequest.PaymentRecorded, None),  # a part payment leaves it approved
    "hold_instalment": (FundingRequest.InstalmentHeld, None),
    "release": (FundingRequest.AwardReleased, S.RELEASED),  # everything unpaid, by default
}

ALLOWED_CASES = [
    pytest.param(status, command, id=f"{command}-from-{status.value}")
    for command in COMMANDS
    for status in RequestStatus
    if status in ALLOWED_FROM[command]
]
REFUSED_CASES = [
    pytest.param(status, command, id=f"{command}-from-{status.value}")
    for command in COMMANDS
    for status in RequestStatus
    if status not in ALLOWED_FROM[command]
]
FINAL_STATUSES = [S.CLUSTER_DECLINED, S.COUNCIL_DECLINED, S.WITHDRAWN, S.PAID, S.RELEASED]


# ---------------------------------------------------------------------------------------------
# The transition table
# ---------------------------------------------------------------------------------------------


def test_transition_table_covers_every_status_and_command():
    assert len(ALLOWED_CASES) + len(REFUSED_CASES) == len(RequestStatus) * len(COMMANDS) == 121
    assert set(ROUTES) == set(RequestStatus)


@pytest.mark.parametrize(("status", "command"), ALLOWED_CASES)
def test_command_is_allowed_from_status(status, command):
    world = world_in(status)
    funded_by = world.request.funded_by

    COMMANDS[command](world)

    event_class, new_status = OUTCOMES[command]
    assert [type(event) for event in world.request.collect_events()] == [event_class]
    assert world.request.status is (new_status or status)
    budget_events = [type(event) for event in world.budget.collect_events()]
    fund_events = [type(event) for event in world.fund.collect_events()]
    if command == "approve":
        assert (budget_events, fund_events) == ([ClusterBudget.FundsCommitted], [])
    elif command == "approve_as_council":
        assert (budget_events, fund_events) == ([], [CouncilFund.FundsCommitted])
    elif command == "record_payment" and funded_by == "cluster":
        assert (budget_events, fund_events) == ([ClusterBudget.PaymentRecorded], [])
    elif command == "record_payment":
        assert (budget_events, fund_events) == ([], [CouncilFund.PaymentRecorded])
    elif command == "release" and funded_by == "cluster":
        assert (budget_events, fund_events) == ([ClusterBudget.FundsReleased], [])
    elif command == "release":
        assert (budget_events, fund_events) == ([], [CouncilFund.FundsReleased])
    else:
        assert (budget_events, fund_events) == ([], [])


@pytest.mark.parametrize(("status", "command"), REFUSED_CASES)
def test_command_is_an_invalid_transition_from_status_and_records_nothing(status, command):
    world = world_in(status)
    before = world.snapshot()

    with pytest.raises(InvalidTransition, match=status.value):
        COMMANDS[command](world)

    world.assert_nothing_happened(before)
    assert world.request.status is status


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("status", FINAL_STATUSES, ids=lambda status: status.value)
def test_final_statuses_allow_no_further_command(status, command):
    world = world_in(status)
    with pytest.raises(InvalidTransition):
        COMMANDS[command](world)
    assert list(world.request.pending_events) == []


def test_invalid_transition_is_a_conflict():
    assert issubclass(InvalidTransition, Conflict)


# ---------------------------------------------------------------------------------------------
# Submission
# ---------------------------------------------------------------------------------------------


def test_submission_records_the_request_as_submitted():
    request = FundingRequest.submit(**submission())
    (event,) = request.collect_events()
    assert isinstance(event, FundingRequest.Submitted)
    assert (event.school_urn, event.cluster_id, event.financial_year) == (SCHOOL, CLUSTER, YEAR)
    assert (event.amount_requested, event.reason, event.pupil_count) == (REQUESTED, TopUpReason.COMPLEX_NEEDS, 2)
    assert event.actor == HEAD
    assert request.status is S.SUBMITTED
    assert request.submitted_by == HEAD
    assert (request.amount_approved, request.amount_paid, request.amount_escalated) == (Money(0), Money(0), None)
    assert (request.evidence, request.decisions, request.funded_by) == (None, [], None)


def test_submission_may_name_its_own_id():
    request_id = uuid4()
    assert FundingRequest.submit(**submission(), request_id=request_id).id == request_id


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_submission_needs_a_positive_amount(amount):
    with pytest.raises(InvalidValue, match="amount_requested"):
        FundingRequest.submit(**submission(amount_requested=money(amount)))


def test_submission_needs_planned_provision():
    with pytest.raises(InvalidValue, match="planned_provision"):
        FundingRequest.submit(**submission(planned_provision=[]))


def test_submission_has_at_most_fifty_lines_of_planned_provision():
    line = ProvisionLine(ProvisionCategory.THERAPIES, money("10.00"))
    FundingRequest.submit(**submission(planned_provision=[line] * 50))
    with pytest.raises(InvalidValue, match="50"):
        FundingRequest.submit(**submission(planned_provision=[line] * 51))


@pytest.mark.parametrize("summary", ["", "   ", "x" * 4001, "summary\x00"])
def test_submission_needs_a_sensible_needs_summary(summary):
    with pytest.raises(InvalidValue, match="needs_summary"):
        FundingRequest.submit(**submission(needs_summary=summary))


@pytest.mark.parametrize("count", [0, 2001, True])
def test_submission_needs_a_sensible_pupil_count(count):
    with pytest.raises(InvalidValue, match="pupil_count"):
        FundingRequest.submit(**submission(pupil_count=count))


# ---------------------------------------------------------------------------------------------
# Spend evidence and information requests
# ---------------------------------------------------------------------------------------------


def test_spend_evidence_is_recorded_with_who_provided_it_and_when():
    world = world_in(S.SUBMITTED)
    COMMANDS["provide_evidence"](world)
    (event,) = world.request.collect_events()
    evidence = world.request.evidence
    assert evidence is not None
    assert (evidence.notional_sen_budget, evidence.spend, evidence.documents) == (NOTIONAL, SPEND, DOCUMENTS)
    assert (evidence.provided_by, evidence.provided_at) == (HEAD, event.timestamp)
    assert evidence.total_spent == money("12000.00")


def test_new_spend_evidence_replaces_the_old():
    world = world_in(S.EVIDENCED)
    newer = [SpendLine.parse("note_takers", "250.00")]
    world.request.provide_evidence(money("500.00"), newer, [], HEAD)
    assert world.request.evidence is not None
    assert world.request.evidence.spend == newer
    assert world.request.evidence.notional_sen_budget == money("500.00")


def test_spend_evidence_needs_at_least_one_line_of_spend():
    world = world_in(S.SUBMITTED)
    before = world.snapshot()
    with pytest.raises(InvalidValue, match="spend"):
        world.request.provide_evidence(NOTIONAL, [], DOCUMENTS, HEAD)
    world.assert_nothing_happened(before)


def test_spend_evidence_refuses_a_negative_notional_budget():
    world = world_in(S.SUBMITTED)
    with pytest.raises(InvalidValue, match="notional_sen_budget"):
        world.request.provide_evidence(money("-1.00"), SPEND, DOCUMENTS, HEAD)
    assert list(world.request.pending_events) == []


def test_spend_evidence_has_at_most_fifty_lines():
    world = world_in(S.SUBMITTED)
    with pytest.raises(InvalidValue):
        world.request.provide_evidence(NOTIONAL, SPEND * 26, DOCUMENTS, HEAD)
    with pytest.raises(InvalidValue):
        world.request.provide_evidence(NOTIONAL, SPEND, DOCUMENTS * 51, HEAD)
    assert list(world.request.pending_events) == []


def test_information_request_needs_a_question():
    world = world_in(S.EVIDENCED)
    with pytest.raises(InvalidValue, match="question"):
        world.request.request_information("  ", LEAD)
    assert list(world.request.pending_events) == []


def test_answering_an_information_request_with_evidence_makes_the_request_evidenced_again():
    world = world_in(S.INFORMATION_REQUESTED)
    COMMANDS["provide_evidence"](world)
    assert world.request.status is S.EVIDENCED


# ---------------------------------------------------------------------------------------------
# Cluster approval
# ---------------------------------------------------------------------------------------------


def test_approval_needs_spend_evidence():
    world = world_in(S.SUBMITTED)
    before = world.snapshot()
    with pytest.raises(Conflict):
        world.request.approve(CLUSTER_APPROVES, "Looks right.", "", LEAD, world.budget)
    world.assert_nothing_happened(before)
    assert world.budget.committed == Money(0)


def test_spend_evidence_guard_names_the_missing_evidence():
    world = world_in(S.SUBMITTED)
    with pytest.raises(EvidenceRequired):
        world.request.check_has_spend_evidence()
    world_in(S.EVIDENCED).request.check_has_spend_evidence()


def test_approval_commits_on_the_budget_in_the_same_batch():
    world = world_in(S.EVIDENCED)

    world.request.approve(CLUSTER_APPROVES, "Spend evidence shows need.", "Review at Easter.", LEAD, world.budget)

    (approved,) = world.request.collect_events()
    (committed,) = world.budget.collect_events()
    assert isinstance(approved, FundingRequest.ClusterApproved)
    assert (approved.amount, approved.reason, approved.conditions, approved.actor) == (
        CLUSTER_APPROVES,
        "Spend evidence shows need.",
        "Review at Easter.",
        LEAD,
    )
    assert isinstance(committed, ClusterBudget.FundsCommitted)
    assert (committed.request_id, committed.amount, committed.actor) == (world.request.id, CLUSTER_APPROVES, LEAD)
    assert world.request.amount_approved == CLUSTER_APPROVES
    assert world.request.conditions == "Review at Easter."
    assert world.request.funded_by == "cluster"
    assert world.budget.committed == CLUSTER_APPROVES
    assert world.budget.available == money("300.00")
    assert list(world.fund.pending_events) == []


def test_approval_may_be_for_the_full_amount_requested():
    world = world_in(S.EVIDENCED, available="5000.00")
    world.request.approve(REQUESTED, "Fully justified.", "", LEAD, world.budget)
    assert world.request.amount_approved == REQUESTED


def test_approved_amount_may_not_exceed_amount_requested():
    world = world_in(S.EVIDENCED, available="5000.00")
    before = world.snapshot()
    with pytest.raises(AmountNotAllowed):
        world.request.approve(money("1000.01"), "Generous.", "", LEAD, world.budget)
    world.assert_nothing_happened(before)


@pytest.mark.parametrize("amount", ["0.00", "-100.00"])
def test_approved_amount_must_be_positive(amount):
    world = world_in(S.EVIDENCED)
    before = world.snapshot()
    with pytest.raises(AmountNotAllowed):
        world.request.approve(money(amount), "Nothing.", "", LEAD, world.budget)
    world.assert_nothing_happened(before)


def test_approval_beyond_available_is_insufficient_funds_and_changes_nothing():
    world = world_in(S.EVIDENCED)  # 800.00 available
    before = world.snapshot()
    with pytest.raises(InsufficientFunds):
        world.request.approve(money("800.01"), "Needed.", "", LEAD, world.budget)
    world.assert_nothing_happened(before)
    assert world.request.status is S.EVIDENCED


def test_approval_may_use_exactly_what_is_available():
    world = world_in(S.EVIDENCED)
    world.request.approve(money("800.00"), "Needed.", "", LEAD, world.budget)
    assert world.budget.available == Money(0)


@pytest.mark.parametrize(
    ("cluster", "year"), [(OTHER_CLUSTER, YEAR), (CLUSTER, NEXT_YEAR)], ids=["other-cluster", "other-year"]
)
def test_approval_against_another_budget_is_refused(cluster, year):
    world = world_in(S.EVIDENCED)
    wrong = ClusterBudget.open(cluster, year, FINANCE)
    wrong.allocate(money("5000.00"), "", FINANCE)
    wrong.collect_events()
    before = world.snapshot()
    with pytest.raises(InvalidValue):
        world.request.approve(CLUSTER_APPROVES, "Needed.", "", LEAD, wrong)
    world.assert_nothing_happened(before)
    assert list(wrong.pending_events) == []
    assert wrong.committed == Money(0)


def test_approval_conditions_are_optional_but_may_not_hold_control_characters():
    world = world_in(S.EVIDENCED)
    before = world.snapshot()
    with pytest.raises(InvalidValue, match="conditions"):
        world.request.approve(CLUSTER_APPROVES, "Needed.", "\x1b[2J", LEAD, world.budget)
    world.assert_nothing_happened(before)


# ---------------------------------------------------------------------------------------------
# Escalation
# ---------------------------------------------------------------------------------------------


def test_escalation_is_refused_when_the_cluster_can_afford_the_request():
    world = world_in(S.EVIDENCED, available="1000.00")  # exactly the amount requested
    before = world.snapshot()
    with pytest.raises(EscalationNotAllowed):
        world.request.escalate(REQUESTED, "Exceptional.", LEAD, world.budget)
    world.assert_nothing_happened(before)


def test_escalation_is_allowed_when_the_cluster_is_a_penny_short():
    world = world_in(S.EVIDENCED, available="999.99")
    world.request.escalate(REQUESTED, "Two new arrivals mid-year.", LEAD, world.budget)
    (event,) = world.request.collect_events()
    assert isinstance(event, FundingRequest.Escalated)
    assert (event.amount, event.cluster_available, event.actor) == (REQUESTED, money("999.99"), LEAD)
    assert event.exceptional_circumstances == "Two new arrivals mid-year."
    assert world.request.status is S.ESCALATED
    assert world.request.amount_escalated == REQUESTED


def test_escalation_leaves_the_budget_untouched():
    world = world_in(S.EVIDENCED)
    budget_before = copy.deepcopy(state(world.budget))
    world.request.escalate(REQUESTED, "Exceptional.", LEAD, world.budget)
    assert list(world.budget.pending_events) == []
    assert state(world.budget) == budget_before


def test_escalation_needs_a_written_statement_of_exceptional_circumstances():
    world = world_in(S.EVIDENCED)
    before = world.snapshot()
    with pytest.raises(InvalidValue, match="exceptional_circumstances"):
        world.request.escalate(REQUESTED, "   ", LEAD, world.budget)
    world.assert_nothing_happened(before)


def test_escalated_amount_may_not_exceed_amount_requested():
    world = world_in(S.EVIDENCED)
    before = world.snapshot()
    with pytest.raises(AmountNotAllowed):
        world.request.escalate(money("1000.01"), "Exceptional.", LEAD, world.budget)
    world.assert_nothing_happened(before)


@pytest.mark.parametrize("amount", ["0.00", "-50.00"])
def test_escalated_amount_must_be_positive(amount):
    world = world_in(S.EVIDENCED)
    before = world.snapshot()
    with pytest.raises(AmountNotAllowed):
        world.request.escalate(money(amount), "Exceptional.", LEAD, world.budget)
    world.assert_nothing_happened(before)


def test_escalation_may_be_for_less_than_requested():
    world = world_in(S.EVIDENCED)
    world.request.escalate(money("700.00"), "Exceptional.", LEAD, world.budget)
    assert world.request.amount_escalated == money("700.00")


def test_escalation_without_any_budget_is_allowed():
    world = world_in(S.EVIDENCED)
    world.request.escalate(REQUESTED, "The cluster has no budget for the year yet.", LEAD, None)
    (event,) = world.request.collect_events()
    assert isinstance(event, FundingRequest.Escalated)
    assert event.cluster_available == Money(0)
    assert world.request.status is S.ESCALATED


def test_escalation_against_another_clusters_budget_is_refused():
    world = world_in(S.EVIDENCED)
    wrong = ClusterBudget.open(OTHER_CLUSTER, YEAR, FINANCE)
    before = world.snapshot()
    with pytest.raises(InvalidValue):
        world.request.escalate(REQUESTED, "Exceptional.", LEAD, wrong)
    world.assert_nothing_happened(before)


# ---------------------------------------------------------------------------------------------
# Council decision
# ---------------------------------------------------------------------------------------------


def escalated_world(escalated: str = "700.00", council_fund: str = "5000.00") -> World:
    world = world_in(S.EVIDENCED, council_fund=council_fund)
    world.request.escalate(money(escalated), "Two new arrivals mid-year.", LEAD, world.budget)
    world.settle()
    return world


def test_council_approval_defaults_to_the_escalated_amount():
    world = escalated_world("700.00")
    world.request.approve_as_council(None, "Exceptional case.", COUNCIL, world.fund)
    (event,) = world.request.collect_events()
    assert isinstance(event, FundingRequest.CouncilApproved)
    assert (event.amount, event.reason, event.actor) == (money("700.00"), "Exceptional case.", COUNCIL)
    assert world.request.amount_approved == money("700.00")
    assert world.request.funded_by == "council"


def test_council_approval_may_not_exceed_the_escalated_amount():
    world = escalated_world("700.00")
    before = world.snapshot()
    with pytest.raises(AmountNotAllowed):
        world.request.approve_as_council(money("700.01"), "Generous.", COUNCIL, world.fund)
    world.assert_nothing_happened(before)


def test_council_approval_may_be_for_less_than_escalated():
    world = escalated_world("700.00")
    world.request.approve_as_council(money("400.00"), "Part funded.", COUNCIL, world.fund)
    assert world.request.amount_approved == money("400.00")
    assert world.fund.committed == money("400.00")


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_council_approved_amount_must_be_positive(amount):
    world = escalated_world()
    before = world.snapshot()
    with pytest.raises(AmountNotAllowed):
        world.request.approve_as_council(money(amount), "Nothing.", COUNCIL, world.fund)
    world.assert_nothing_happened(before)


def test_council_approval_commits_against_the_council_fund_in_the_same_batch():
    world = escalated_world("700.00")
    world.request.approve_as_council(None, "Exceptional case.", COUNCIL, world.fund)
    (committed,) = world.fund.collect_events()
    assert isinstance(committed, CouncilFund.FundsCommitted)
    assert (committed.request_id, committed.amount, committed.actor) == (world.request.id, money("700.00"), COUNCIL)
    assert [type(event) for event in world.request.collect_events()] == [FundingRequest.CouncilApproved]
    assert world.fund.available == money("4300.00")
    assert list(world.budget.pending_events) == []
    assert world.budget.committed == Money(0)


def test_council_approval_beyond_the_fund_is_insufficient_funds_and_changes_nothing():
    world = escalated_world("700.00", council_fund="699.99")
    before = world.snapshot()
    with pytest.raises(InsufficientFunds):
        world.request.approve_as_council(None, "Exceptional case.", COUNCIL, world.fund)
    world.assert_nothing_happened(before)
    assert world.request.status is S.ESCALATED


def test_council_approval_from_another_years_fund_is_refused():
    world = escalated_world()
    wrong = CouncilFund.open(NEXT_YEAR, FINANCE)
    wrong.allocate(money("5000.00"), "", FINANCE)
    wrong.collect_events()
    before = world.snapshot()
    with pytest.raises(InvalidValue):
        world.request.approve_as_council(None, "Exceptional case.", COUNCIL, wrong)
    world.assert_nothing_happened(before)
    assert list(wrong.pending_events) == []


def test_council_decline_records_the_decision():
    world = escalated_world()
    world.request.decline_as_council("Not exceptional.", COUNCIL)
    (event,) = world.request.collect_events()
    assert isinstance(event, FundingRequest.CouncilDeclined)
    assert (event.reason, event.actor) == ("Not exceptional.", COUNCIL)
    assert world.request.status is S.COUNCIL_DECLINED
    assert world.request.amount_approved == Money(0)


# ---------------------------------------------------------------------------------------------
# Payments
# ---------------------------------------------------------------------------------------------


def test_a_part_payment_leaves_the_request_approved():
    world = world_in(S.CLUSTER_APPROVED)
    world.request.record_payment(money("499.99"), "PAY-0001", FINANCE, world.budget)
    assert world.request.status is S.CLUSTER_APPROVED
    assert world.request.amount_paid == money("499.99")
    assert world.request.amount_outstanding == money("0.01")


def test_request_is_paid_when_payments_reach_the_approved_amount():
    world = world_in(S.CLUSTER_APPROVED)
    world.request.record_payment(money("200.00"), "PAY-0001", FINANCE, world.budget)
    world.request.record_payment(money("300.00"), "PAY-0002", FINANCE, world.budget)
    assert world.request.status is S.PAID
    assert world.request.amount_paid == CLUSTER_APPROVES
    assert world.request.amount_outstanding == Money(0)


def test_payment_is_recorded_on_the_request_and_the_budget_that_approved_it():
    world = world_in(S.CLUSTER_APPROVED)
    world.request.record_payment(money("200.00"), "PAY-0001", FINANCE, world.budget)
    (on_request,) = world.request.collect_events()
    (on_budget,) = world.budget.collect_events()
    assert isinstance(on_request, FundingRequest.PaymentRecorded)
    assert (on_request.amount, on_request.reference, on_request.actor) == (money("200.00"), "PAY-0001", FINANCE)
    assert isinstance(on_budget, ClusterBudget.PaymentRecorded)
    assert (on_budget.request_id, on_budget.amount, on_budget.reference) == (
        world.request.id,
        money("200.00"),
        "PAY-0001",
    )
    assert world.budget.paid == money("200.00")


def test_payment_may_not_exceed_the_approved_amount():
    world = world_in(S.CLUSTER_APPROVED)
    before = world.snapshot()
    with pytest.raises(PaymentExceedsApproved):
        world.request.record_payment(money("500.01"), "PAY-0001", FINANCE, world.budget)
    world.assert_nothing_happened(before)


def test_payment_may_not_exceed_what_is_still_unpaid():
    world = world_in(S.CLUSTER_APPROVED)
    world.request.record_payment(money("300.00"), "PAY-0001", FINANCE, world.budget)
    world.settle()
    before = world.snapshot()
    with pytest.raises(PaymentExceedsApproved):
        world.request.record_payment(money("200.01"), "PAY-0002", FINANCE, world.budget)
    world.assert_nothing_happened(before)


@pytest.mark.parametrize("amount", ["0.00", "-10.00"])
def test_payment_must_be_positive(amount):
    world = world_in(S.CLUSTER_APPROVED)
    before = world.snapshot()
    with pytest.raises(InvalidValue):
        world.request.record_payment(money(amount), "PAY-0001", FINANCE, world.budget)
    world.assert_nothing_happened(before)


@pytest.mark.parametrize("reference", ["", "  ", "x" * 201])
def test_payment_needs_a_reference(reference):
    world = world_in(S.CLUSTER_APPROVED)
    before = world.snapshot()
    with pytest.raises(InvalidValue, match="reference"):
        world.request.record_payment(money("100.00"), reference, FINANCE, world.budget)
    world.assert_nothing_happened(before)


def test_a_cluster_approved_request_may_not_be_paid_from_the_council_fund():
    world = world_in(S.CLUSTER_APPROVED)
    before = world.snapshot()
    with pytest.raises(InvalidValue, match="the fund that approved it"):
        world.request.record_payment(money("100.00"), "PAY-0001", FINANCE, world.fund)
    world.assert_nothing_happened(before)


def test_a_cluster_approved_request_may_not_be_paid_from_another_clusters_budget():
    world = world_in(S.CLUSTER_APPROVED)
    wrong = ClusterBudget.open(OTHER_CLUSTER, YEAR, FINANCE)
    wrong.allocate(money("1000.00"), "", FINANCE)
    wrong.commit(world.request.id, money("500.00"), LEAD)
    wrong.collect_events()
    before = world.snapshot()
    with pytest.raises(InvalidValue, match="the fund that approved it"):
        world.request.record_payment(money("100.00"), "PAY-0001", FINANCE, wrong)
    world.assert_nothing_happened(before)
    assert list(wrong.pending_events) == []


def test_a_council_approved_request_may_not_be_paid_from_the_cluster_budget():
    world = world_in(S.COUNCIL_APPROVED, available="800.00")
    world.budget.commit(world.request.id, money("100.00"), LEAD)  # so the budget could pay, if allowed
    world.settle()
    before = world.snapshot()
    with pytest.raises(InvalidValue, match="the fund that approved it"):
        world.request.record_payment(money("100.00"), "PAY-0001", FINANCE, world.budget)
    world.assert_nothing_happened(before)


def test_a_council_approved_request_is_paid_from_the_council_fund():
    world = world_in(S.COUNCIL_APPROVED)
    world.request.record_payment(REQUESTED, "PAY-C-0001", FINANCE, world.fund)
    assert world.request.status is S.PAID
    assert world.fund.paid == REQUESTED
    assert [type(event) for event in world.fund.collect_events()] == [CouncilFund.PaymentRecorded]
    assert list(world.budget.pending_events) == []


def test_a_council_approved_request_may_not_be_paid_from_another_years_fund():
    world = world_in(S.COUNCIL_APPROVED)
    wrong = CouncilFund.open(NEXT_YEAR, FINANCE)
    before = world.snapshot()
    with pytest.raises(InvalidValue):
        world.request.record_payment(money("100.00"), "PAY-C-0001", FINANCE, wrong)
    world.assert_nothing_happened(before)


# ---------------------------------------------------------------------------------------------
# Decline and withdrawal
# ---------------------------------------------------------------------------------------------


def test_decline_records_its_code_and_reason():
    world = world_in(S.EVIDENCED)
    world.request.decline(DeclineReasonCode.NEEDS_MET_WITHIN_SCHOOL_RESOURCES, "Within budget.", LEAD)
    (event,) = world.request.collect_events()
    assert isinstance(event, FundingRequest.ClusterDeclined)
    assert (event.reason_code, event.reason, event.actor) == (
        DeclineReasonCode.NEEDS_MET_WITHIN_SCHOOL_RESOURCES,
        "Within budget.",
        LEAD,
    )
    assert world.request.status is S.CLUSTER_DECLINED


def test_withdrawal_records_its_reason():
    world = world_in(S.INFORMATION_REQUESTED)
    world.request.withdraw("Needs now met by the school.", HEAD)
    (event,) = world.request.collect_events()
    assert isinstance(event, FundingRequest.Withdrawn)
    assert (event.reason, event.actor) == ("Needs now met by the school.", HEAD)
    assert world.request.status is S.WITHDRAWN


@pytest.mark.parametrize("command", list(COMMANDS))
def test_withdrawal_is_final(command):
    world = world_in(S.WITHDRAWN)
    with pytest.raises(InvalidTransition, match="withdrawn"):
        COMMANDS[command](world)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("status", [S.CLUSTER_DECLINED, S.COUNCIL_DECLINED], ids=lambda status: status.value)
def test_decline_is_final(status, command):
    world = world_in(status)
    with pytest.raises(InvalidTransition, match="declined"):
        COMMANDS[command](world)


# ---------------------------------------------------------------------------------------------
# Every decision carries a reason, and the decision record says who decided what and why
# ---------------------------------------------------------------------------------------------

DECISIONS_WITH_TEXT: dict[str, tuple[RequestStatus, Callable[[World, str], None]]] = {
    "request_information": (S.EVIDENCED, lambda w, text: w.request.request_information(text, LEAD)),
    "approve": (S.EVIDENCED, lambda w, text: w.request.approve(CLUSTER_APPROVES, text, "", LEAD, w.budget)),
    "decline": (S.EVIDENCED, lambda w, text: w.request.decline(DeclineReasonCode.OTHER, text, LEAD)),
    "escalate": (S.EVIDENCED, lambda w, text: w.request.escalate(REQUESTED, text, LEAD, w.budget)),
    "approve_as_council": (S.ESCALATED, lambda w, text: w.request.approve_as_council(None, text, COUNCIL, w.fund)),
    "decline_as_council": (S.ESCALATED, lambda w, text: w.request.decline_as_council(text, COUNCIL)),
    "withdraw": (S.SUBMITTED, lambda w, text: w.request.withdraw(text, HEAD)),
}


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "x" * 4001, "reason\x07"], ids=repr)
@pytest.mark.parametrize("decision", list(DECISIONS_WITH_TEXT))
def test_every_decision_needs_a_sensible_reason(decision, text):
    status, decide = DECISIONS_WITH_TEXT[decision]
    world = world_in(status)
    before = world.snapshot()
    with pytest.raises(InvalidValue):
        decide(world, text)
    world.assert_nothing_happened(before)


def test_decisions_record_kind_actor_amount_and_reason():
    world = world_in(S.EVIDENCED)
    world.request.request_information("Please send the provision map.", LEAD)
    world.request.provide_evidence(NOTIONAL, SPEND, DOCUMENTS, HEAD)
    world.request.approve(CLUSTER_APPROVES, "Spend evidence shows need.", "", LEAD, world.budget)

    kinds = [(d.kind, d.actor, d.amount, d.reason, d.reason_code) for d in world.request.decisions]
    assert kinds == [
        (DecisionKind.INFORMATION_REQUEST, LEAD, None, "Please send the provision map.", None),
        (DecisionKind.CLUSTER_APPROVAL, LEAD, CLUSTER_APPROVES, "Spend evidence shows need.", None),
    ]


def test_decision_times_are_the_event_times():
    world = world_in(S.EVIDENCED)
    world.request.request_information("Please send the provision map.", LEAD)
    (event,) = world.request.collect_events()
    assert world.request.decisions[-1].decided_at == event.timestamp


def test_decline_decision_records_its_code():
    world = world_in(S.SUBMITTED)
    world.request.decline(DeclineReasonCode.INSUFFICIENT_EVIDENCE, "No spend shown.", LEAD)
    (decision,) = world.request.decisions
    assert (decision.kind, decision.actor, decision.amount, decision.reason, decision.reason_code) == (
        DecisionKind.CLUSTER_DECLINE,
        LEAD,
        None,
        "No spend shown.",
        DeclineReasonCode.INSUFFICIENT_EVIDENCE,
    )


def test_escalation_and_council_decisions_are_recorded_in_order():
    world = escalated_world("700.00")
    world.request.approve_as_council(money("650.00"), "Exceptional case.", COUNCIL, world.fund)
    kinds = [(d.kind, d.actor.role, d.amount, d.reason) for d in world.request.decisions]
    assert kinds == [
        (DecisionKind.ESCALATION, Role.CLUSTER_LEAD, money("700.00"), "Two new arrivals mid-year."),
        (DecisionKind.COUNCIL_APPROVAL, Role.COUNCIL, money("650.00"), "Exceptional case."),
    ]


def test_council_decline_and_withdrawal_are_recorded_as_decisions():
    declined = escalated_world()
    declined.request.decline_as_council("Not exceptional.", COUNCIL)
    assert [(d.kind, d.actor, d.reason) for d in declined.request.decisions][-1] == (
        DecisionKind.COUNCIL_DECLINE,
        COUNCIL,
        "Not exceptional.",
    )
    withdrawn = world_in(S.WITHDRAWN)
    assert [(d.kind, d.actor, d.reason) for d in withdrawn.request.decisions] == [
        (DecisionKind.WITHDRAWAL, HEAD, "Needs now met by the school.")
    ]


def test_every_event_records_who_acted():
    world = world_in(S.PAID)
    expected_roles = [Role.SCHOOL, Role.SCHOOL, Role.CLUSTER_LEAD, Role.FINANCE]
    assert [event.actor.role for event in world.history["request"]] == expected_roles


def test_a_request_carries_counts_and_a_summary_but_no_pupil_identity():
    request = FundingRequest.submit(**submission())
    assert {"pupil_count", "needs_summary"} <= set(vars(request))
    assert not any("name" in key or "pupil_id" in key or "upn" in key for key in vars(request))


# ---------------------------------------------------------------------------------------------
# Replay
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(RequestStatus), ids=lambda status: status.value)
def test_replaying_a_requests_events_rebuilds_the_same_request(status):
    world = world_in(status)
    events = world.history["request"]

    rebuilt = replay(events)

    assert isinstance(rebuilt, FundingRequest)
    assert rebuilt.id == world.request.id
    assert rebuilt.version == len(events)
    assert state(rebuilt) == state(world.request)


@pytest.mark.parametrize("status", [S.PAID, S.COUNCIL_APPROVED], ids=lambda status: status.value)
def test_replaying_the_budget_and_fund_rebuilds_the_same_money(status):
    world = world_in(status)
    assert state(replay(world.history["budget"])) == state(world.budget)
    assert state(replay(world.history["fund"])) == state(world.fund)


def test_council_approval_never_commits_on_a_cluster_budget():
    world = world_in(S.ESCALATED)
    before = world.snapshot()
    with pytest.raises(InvalidValue):
        world.request.approve_as_council(None, "Exceptional case.", COUNCIL, world.budget)  # type: ignore[arg-type]
    world.assert_nothing_happened(before)


def test_decline_needs_a_decline_reason_code():
    world = world_in(S.EVIDENCED)
    before = world.snapshot()
    with pytest.raises(InvalidValue):
        world.request.decline("not_eligible", "Outside the scheme.", LEAD)  # type: ignore[arg-type]
    world.assert_nothing_happened(before)


def test_submission_refuses_an_amount_over_the_ten_million_limit():
    with pytest.raises(InvalidValue):
        FundingRequest.submit(**submission(amount_requested=money("10000000.01")))
