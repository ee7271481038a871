"""Cluster budgets and the council fund: available = allocated - committed - commissioned, never below zero."""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import CanMutateAggregate

from domain.errors import (
    AmountNotAllowed,
    InsufficientFunds,
    InvalidValue,
    PaymentExceedsApproved,
    YearClosed,
    YearNotClosable,
)
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.money import Money
from domain.values import Actor, ClusterId, CommissionedService, FinancialYear, SchoolUrn

YEAR = FinancialYear.parse("2026-27")
NEXT_YEAR = FinancialYear.parse("2027-28")
CLUSTER = ClusterId("northmere-coast")
OTHER_CLUSTER = ClusterId("fenwick-broads")
SCHOOL = SchoolUrn("900001")
SECOND_SCHOOL = SchoolUrn("900002")
OUTSIDER = SchoolUrn("900101")
MEMBERS = [SCHOOL, SECOND_SCHOOL]

FINANCE = Actor.finance("finance-officer-1")
LEAD = Actor.cluster_lead("lead-northmere", CLUSTER)
COUNCIL = Actor.council("council-officer-1")


def money(text: str) -> Money:
    return Money.parse(text)


def budget_with(allocated: str | None = "1000.00") -> ClusterBudget:
    budget = ClusterBudget.open(CLUSTER, YEAR, FINANCE)
    if allocated is not None:
        budget.allocate(money(allocated), "initial allocation", FINANCE)
    budget.collect_events()
    return budget


def fund_with(allocated: str | None = "1000.00") -> CouncilFund:
    fund = CouncilFund.open(YEAR, FINANCE)
    if allocated is not None:
        fund.allocate(money(allocated), "exceptional circumstances fund", FINANCE)
    fund.collect_events()
    return fund


def commission(budget: ClusterBudget, amount: str = "100.00", **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "service": CommissionedService.EDUCATIONAL_PSYCHOLOGY,
        "provider": "Example Psychology Partnership",
        "amount": money(amount),
        "school_urns": [SECOND_SCHOOL, SCHOOL],
        "description": "Twenty days of educational psychology across the cluster.",
        "members": MEMBERS,
        "actor": LEAD,
    }
    fields.update(overrides)
    budget.commission(**fields)


def state(aggregate: Any) -> dict[str, Any]:
    return {key: value for key, value in vars(aggregate).items() if key != "_pending_events"}


def replay(events: Sequence[CanMutateAggregate[UUID]]) -> Any:
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def assert_unchanged(fund: Fund, before: dict[str, Any]) -> None:
    assert list(fund.pending_events) == []
    assert state(fund) == before


# ---------------------------------------------------------------------------------------------
# Identity
# ---------------------------------------------------------------------------------------------


def test_budget_id_is_derived_from_cluster_and_year():
    first = ClusterBudget.open(CLUSTER, YEAR, FINANCE)
    second = ClusterBudget.open(CLUSTER, YEAR, LEAD)
    assert first.id == second.id == ClusterBudget.id_for(CLUSTER, YEAR)


def test_budget_ids_differ_by_year():
    assert ClusterBudget.id_for(CLUSTER, YEAR) != ClusterBudget.id_for(CLUSTER, NEXT_YEAR)


def test_budget_ids_differ_by_cluster():
    assert ClusterBudget.id_for(CLUSTER, YEAR) != ClusterBudget.id_for(OTHER_CLUSTER, YEAR)


def test_derived_ids_never_change():
    # Derived ids are stored for all time: changing the namespace or format would orphan every budget.
    assert str(ClusterBudget.id_for(CLUSTER, YEAR)) == "a6c6dc28-bf14-5e53-afa6-41b34c491df0"
    assert str(CouncilFund.id_for(YEAR)) == "ea0d91f3-e9ba-554a-85ad-7b3f0811a9e4"


def test_council_fund_id_is_one_per_year():
    assert CouncilFund.open(YEAR, FINANCE).id == CouncilFund.open(YEAR, FINANCE).id == CouncilFund.id_for(YEAR)
    assert CouncilFund.id_for(YEAR) != CouncilFund.id_for(NEXT_YEAR)


def test_council_fund_id_differs_from_every_cluster_budget_id():
    assert CouncilFund.id_for(YEAR) not in {ClusterBudget.id_for(c, YEAR) for c in (CLUSTER, OTHER_CLUSTER)}


def test_opening_a_budget_records_cluster_year_and_actor():
    budget = ClusterBudget.open(CLUSTER, YEAR, FINANCE)
    (opened,) = budget.collect_events()
    assert isinstance(opened, ClusterBudget.Opened)
    assert (opened.cluster_id, opened.financial_year, opened.actor) == (CLUSTER, YEAR, FINANCE)


def test_a_new_budget_reads_as_zeros():
    budget = ClusterBudget.open(CLUSTER, YEAR, FINANCE)
    assert budget.figures().named() == dict.fromkeys(
        ("allocated", "committed", "commissioned", "available", "paid"), Money(0)
    )
    assert budget.commission_count == 0


def test_a_new_council_fund_reads_as_zeros():
    fund = CouncilFund.open(YEAR, FINANCE)
    assert set(fund.figures().named().values()) == {Money(0)}


# ---------------------------------------------------------------------------------------------
# Allocation
# ---------------------------------------------------------------------------------------------


def test_allocation_adds_to_allocated_and_available():
    budget = budget_with(None)
    budget.allocate(money("5000.00"), "initial allocation", FINANCE)
    (event,) = budget.collect_events()
    assert isinstance(event, ClusterBudget.FundsAllocated)
    assert (event.amount, event.note, event.actor) == (money("5000.00"), "initial allocation", FINANCE)
    assert budget.allocated == budget.available == money("5000.00")


def test_allocations_accumulate():
    budget = budget_with("1000.00")
    budget.allocate(money("250.50"), "", FINANCE)
    assert budget.allocated == money("1250.50")


def test_negative_allocation_takes_back_unspent_money():
    budget = budget_with("1000.00")
    budget.allocate(money("-400.00"), "mid-year clawback", FINANCE)
    (event,) = budget.collect_events()
    assert isinstance(event, ClusterBudget.FundsAllocated)
    assert event.amount == money("-400.00")
    assert budget.allocated == budget.available == money("600.00")


def test_negative_allocation_may_take_available_to_exactly_zero():
    budget = budget_with("1000.00")
    budget.commit(uuid4(), money("600.00"), LEAD)
    budget.allocate(money("-400.00"), "clawback", FINANCE)
    assert budget.available == Money(0)


def test_negative_allocation_may_not_take_available_below_zero():
    budget = budget_with("1000.00")
    budget.commit(uuid4(), money("600.00"), LEAD)
    budget.collect_events()
    before = copy.deepcopy(state(budget))
    with pytest.raises(InsufficientFunds):
        budget.allocate(money("-400.01"), "clawback", FINANCE)
    assert_unchanged(budget, before)


def test_negative_allocation_on_an_empty_budget_is_refused():
    budget = budget_with(None)
    with pytest.raises(InsufficientFunds):
        budget.allocate(money("-0.01"), "clawback", FINANCE)
    assert list(budget.pending_events) == []


def test_zero_allocation_is_refused():
    budget = budget_with("1000.00")
    before = copy.deepcopy(state(budget))
    with pytest.raises(InvalidValue, match="zero"):
        budget.allocate(Money(0), "nothing", FINANCE)
    assert_unchanged(budget, before)


def test_allocation_note_may_not_hold_control_characters():
    budget = budget_with(None)
    with pytest.raises(InvalidValue):
        budget.allocate(money("10.00"), "note\x1b[2J", FINANCE)
    assert list(budget.pending_events) == []


# ---------------------------------------------------------------------------------------------
# Commitment
# ---------------------------------------------------------------------------------------------


def test_commitment_reserves_money_for_a_request():
    budget = budget_with("1000.00")
    request_id = uuid4()
    budget.commit(request_id, money("300.00"), LEAD)
    (event,) = budget.collect_events()
    assert isinstance(event, ClusterBudget.FundsCommitted)
    assert (event.request_id, event.amount, event.actor) == (request_id, money("300.00"), LEAD)
    assert budget.committed == money("300.00")
    assert budget.available == money("700.00")


def test_commitment_may_use_exactly_what_is_available():
    budget = budget_with("1000.00")
    budget.commit(uuid4(), money("1000.00"), LEAD)
    assert budget.available == Money(0)


def test_commitment_beyond_available_is_refused():
    budget = budget_with("1000.00")
    before = copy.deepcopy(state(budget))
    with pytest.raises(InsufficientFunds):
        budget.commit(uuid4(), money("1000.01"), LEAD)
    assert_unchanged(budget, before)


def test_commitment_on_a_budget_with_nothing_allocated_is_refused():
    budget = budget_with(None)
    with pytest.raises(InsufficientFunds):
        budget.commit(uuid4(), money("0.01"), LEAD)


@pytest.mark.parametrize("amount", ["0.00", "-10.00"])
def test_commitment_must_be_positive(amount):
    budget = budget_with("1000.00")
    before = copy.deepcopy(state(budget))
    with pytest.raises(AmountNotAllowed):
        budget.commit(uuid4(), money(amount), LEAD)
    assert_unchanged(budget, before)


def test_available_is_allocated_less_committed_less_commissioned():
    budget = budget_with("1000.00")
    budget.commit(uuid4(), money("250.00"), LEAD)
    commission(budget, "100.00")
    budget.allocate(money("-50.00"), "clawback", FINANCE)
    assert budget.allocated == money("950.00")
    assert budget.committed == money("250.00")
    assert budget.commissioned == money("100.00")
    assert budget.available == money("600.00")
    assert budget.figures().available == money("600.00")


def test_available_never_goes_below_zero_under_any_sequence_of_commands():
    generator = random.Random(20262027)
    budget = ClusterBudget.open(CLUSTER, YEAR, FINANCE)
    allocated = committed = commissioned = refused = 0
    for _ in range(2_000):
        pence = generator.randint(1, 50_000)
        choice = generator.choice(["allocate", "clawback", "commit", "commission"])
        try:
            if choice == "allocate":
                budget.allocate(Money(pence), "", FINANCE)
                allocated += pence
            elif choice == "clawback":
                budget.allocate(Money(-pence), "", FINANCE)
                allocated -= pence
            elif choice == "commit":
                budget.commit(uuid4(), Money(pence), LEAD)
                committed += pence
            else:
                commission(budget, str(Money(pence)))
                commissioned += pence
        except InsufficientFunds:
            refused += 1
        assert budget.available.pence == allocated - committed - commissioned >= 0
    assert 100 < refused < 1_900  # both paths were exercised
    assert replay(budget.collect_events()).available == budget.available


# ---------------------------------------------------------------------------------------------
# Commissioning
# ---------------------------------------------------------------------------------------------


def test_commission_records_the_service_for_named_member_schools():
    budget = budget_with("1000.00")
    commission(budget, "400.00")
    (event,) = budget.collect_events()
    assert isinstance(event, ClusterBudget.ServiceCommissioned)
    assert event.service is CommissionedService.EDUCATIONAL_PSYCHOLOGY
    assert event.provider == "Example Psychology Partnership"
    assert event.amount == money("400.00")
    assert event.school_urns == [SCHOOL, SECOND_SCHOOL]  # sorted
    assert event.actor == LEAD
    assert budget.commissioned == money("400.00")
    assert budget.available == money("600.00")
    assert budget.commission_count == 1


def test_commission_beyond_available_is_refused():
    budget = budget_with("1000.00")
    before = copy.deepcopy(state(budget))
    with pytest.raises(InsufficientFunds):
        commission(budget, "1000.01")
    assert_unchanged(budget, before)


def test_commissioned_money_is_no_longer_available_to_commit():
    budget = budget_with("1000.00")
    commission(budget, "900.00")
    with pytest.raises(InsufficientFunds):
        budget.commit(uuid4(), money("100.01"), LEAD)


def test_commission_names_at_least_one_school():
    budget = budget_with("1000.00")
    with pytest.raises(InvalidValue, match="at least one school"):
        commission(budget, school_urns=[])
    assert list(budget.pending_events) == []


def test_commission_names_each_school_once():
    budget = budget_with("1000.00")
    with pytest.raises(InvalidValue, match="once"):
        commission(budget, school_urns=[SCHOOL, SECOND_SCHOOL, SCHOOL])
    assert list(budget.pending_events) == []


def test_commission_names_only_member_schools():
    budget = budget_with("1000.00")
    with pytest.raises(InvalidValue, match=str(OUTSIDER)):
        commission(budget, school_urns=[SCHOOL, OUTSIDER])
    assert list(budget.pending_events) == []


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_commission_amount_must_be_positive(amount):
    budget = budget_with("1000.00")
    with pytest.raises(InvalidValue):
        commission(budget, amount)
    assert budget.commissioned == Money(0)
    assert list(budget.pending_events) == []


@pytest.mark.parametrize("field", ["provider", "description"])
def test_commission_needs_a_provider_and_a_description(field):
    budget = budget_with("1000.00")
    with pytest.raises(InvalidValue, match=field):
        commission(budget, **{field: "   "})
    assert list(budget.pending_events) == []


# ---------------------------------------------------------------------------------------------
# Payments
# ---------------------------------------------------------------------------------------------


def test_payment_is_recorded_against_a_commitment():
    budget = budget_with("1000.00")
    request_id = uuid4()
    budget.commit(request_id, money("500.00"), LEAD)
    budget.collect_events()
    budget.record_payment(request_id, money("200.00"), "PAY-0001", FINANCE)
    (event,) = budget.collect_events()
    assert isinstance(event, ClusterBudget.PaymentRecorded)
    assert (event.request_id, event.amount, event.reference, event.actor) == (
        request_id,
        money("200.00"),
        "PAY-0001",
        FINANCE,
    )
    assert budget.paid == money("200.00")


def test_paid_money_stays_committed_and_does_not_change_available():
    budget = budget_with("1000.00")
    request_id = uuid4()
    budget.commit(request_id, money("500.00"), LEAD)
    budget.record_payment(request_id, money("500.00"), "PAY-0001", FINANCE)
    assert budget.committed == money("500.00")
    assert budget.available == money("500.00")


def test_payments_may_not_exceed_commitments():
    budget = budget_with("1000.00")
    request_id = uuid4()
    budget.commit(request_id, money("500.00"), LEAD)
    budget.record_payment(request_id, money("300.00"), "PAY-0001", FINANCE)
    budget.collect_events()
    before = copy.deepcopy(state(budget))
    with pytest.raises(PaymentExceedsApproved):
        budget.record_payment(request_id, money("200.01"), "PAY-0002", FINANCE)
    assert_unchanged(budget, before)


def test_payment_from_a_budget_with_no_commitments_is_refused():
    budget = budget_with("1000.00")
    with pytest.raises(PaymentExceedsApproved):
        budget.record_payment(uuid4(), money("0.01"), "PAY-0001", FINANCE)


@pytest.mark.parametrize("amount", ["0.00", "-100.00"])
def test_payment_must_be_positive(amount):
    budget = budget_with("1000.00")
    request_id = uuid4()
    budget.commit(request_id, money("500.00"), LEAD)
    budget.collect_events()
    before = copy.deepcopy(state(budget))
    with pytest.raises(AmountNotAllowed):
        budget.record_payment(request_id, money(amount), "PAY-0001", FINANCE)
    assert_unchanged(budget, before)


# ---------------------------------------------------------------------------------------------
# Council fund: same rules
# ---------------------------------------------------------------------------------------------


def test_council_fund_allocates_commits_and_pays():
    fund = fund_with("5000.00")
    request_id = uuid4()
    fund.commit(request_id, money("1200.00"), COUNCIL)
    fund.record_payment(request_id, money("1200.00"), "PAY-C-0001", FINANCE)
    kinds = [type(event) for event in fund.collect_events()]
    assert kinds == [CouncilFund.FundsCommitted, CouncilFund.PaymentRecorded]
    assert fund.figures().named() == {
        "allocated": money("5000.00"),
        "committed": money("1200.00"),
        "commissioned": Money(0),
        "available": money("3800.00"),
        "paid": money("1200.00"),
    }


def test_council_fund_commitment_beyond_available_is_refused():
    fund = fund_with("500.00")
    before = copy.deepcopy(state(fund))
    with pytest.raises(InsufficientFunds, match="council fund for 2026-27"):
        fund.commit(uuid4(), money("500.01"), COUNCIL)
    assert_unchanged(fund, before)


def test_council_fund_negative_allocation_may_not_take_available_below_zero():
    fund = fund_with("500.00")
    fund.commit(uuid4(), money("300.00"), COUNCIL)
    with pytest.raises(InsufficientFunds):
        fund.allocate(money("-200.01"), "clawback", FINANCE)
    fund.allocate(money("-200.00"), "clawback", FINANCE)
    assert fund.available == Money(0)


def test_council_fund_zero_allocation_is_refused():
    with pytest.raises(InvalidValue):
        fund_with(None).allocate(Money(0), "", FINANCE)


def test_council_fund_payments_may_not_exceed_commitments():
    fund = fund_with("500.00")
    request_id = uuid4()
    fund.commit(request_id, money("300.00"), COUNCIL)
    with pytest.raises(PaymentExceedsApproved):
        fund.record_payment(request_id, money("300.01"), "PAY-C-0001", FINANCE)


# ---------------------------------------------------------------------------------------------
# Replay
# ---------------------------------------------------------------------------------------------


def test_replaying_a_budgets_events_rebuilds_the_same_budget():
    budget = ClusterBudget.open(CLUSTER, YEAR, FINANCE)
    budget.allocate(money("1000.00"), "initial", FINANCE)
    request_id = uuid4()
    budget.commit(request_id, money("300.00"), LEAD)
    commission(budget, "150.00")
    budget.record_payment(request_id, money("100.00"), "PAY-0001", FINANCE)
    budget.allocate(money("-50.00"), "clawback", FINANCE)
    events = budget.collect_events()

    rebuilt = replay(events)

    assert isinstance(rebuilt, ClusterBudget)
    assert state(rebuilt) == state(budget)
    assert rebuilt.version == len(events) == 6


def test_replaying_a_council_funds_events_rebuilds_the_same_fund():
    fund = CouncilFund.open(YEAR, FINANCE)
    fund.allocate(money("2000.00"), "initial", FINANCE)
    request_id = uuid4()
    fund.commit(request_id, money("900.00"), COUNCIL)
    fund.record_payment(request_id, money("450.00"), "PAY-C-0001", FINANCE)
    events = fund.collect_events()

    rebuilt = replay(events)

    assert isinstance(rebuilt, CouncilFund)
    assert state(rebuilt) == state(fund)


# ---------------------------------------------------------------------------------------------
# Forward commitments: an award's share for a year with no allocation yet
# ---------------------------------------------------------------------------------------------


def next_year_budget(allocated: str | None = None) -> ClusterBudget:
    budget = ClusterBudget.open(CLUSTER, NEXT_YEAR, FINANCE)
    if allocated is not None:
        budget.allocate(money(allocated), "next year's allocation", FINANCE)
    budget.collect_events()
    return budget


def test_a_later_years_share_is_committed_ahead_while_that_year_has_no_allocation():
    budget = next_year_budget()
    request_id = uuid4()
    budget.commit(request_id, money("500.00"), LEAD, ahead_allowed=True)
    (event,) = budget.collect_events()
    assert isinstance(event, Fund.FundsCommittedForward)
    assert (event.request_id, event.amount) == (request_id, money("500.00"))
    assert (budget.forward, budget.committed, budget.available) == (money("500.00"), Money(0), Money(0))


def test_forward_commitments_add_up_while_the_year_still_has_no_allocation():
    budget = next_year_budget()
    budget.commit(uuid4(), money("500.00"), LEAD, ahead_allowed=True)
    budget.commit(uuid4(), money("250.00"), LEAD, ahead_allowed=True)
    assert budget.forward == money("750.00")


def test_nothing_is_committed_ahead_on_the_requests_own_year():
    with pytest.raises(InsufficientFunds):
        next_year_budget().commit(uuid4(), money("0.01"), LEAD)


def test_the_next_allocation_covers_forward_commitments_first():
    budget = next_year_budget()
    budget.commit(uuid4(), money("500.00"), LEAD, ahead_allowed=True)
    budget.collect_events()

    budget.allocate(money("300.00"), "first part", FINANCE)

    allocated, covered = budget.collect_events()
    assert isinstance(allocated, ClusterBudget.FundsAllocated)
    assert isinstance(covered, Fund.ForwardCommitmentsCovered)
    assert covered.amount == money("300.00")
    assert (budget.forward, budget.committed, budget.available) == (money("200.00"), money("300.00"), Money(0))

    budget.allocate(money("1000.00"), "the rest", FINANCE)

    assert [type(e).__name__ for e in budget.collect_events()] == ["FundsAllocated", "ForwardCommitmentsCovered"]
    assert (budget.forward, budget.committed, budget.available) == (Money(0), money("500.00"), money("800.00"))


def test_an_allocation_with_nothing_forward_covers_nothing():
    budget = next_year_budget()
    budget.allocate(money("100.00"), "", FINANCE)
    assert [type(e).__name__ for e in budget.collect_events()] == ["FundsAllocated"]


def test_nothing_else_is_committed_or_commissioned_while_forward_commitments_are_uncovered():
    partly = next_year_budget()
    partly.commit(uuid4(), money("500.00"), LEAD, ahead_allowed=True)
    partly.allocate(money("200.00"), "not enough to cover", FINANCE)
    partly.collect_events()
    before = copy.deepcopy(state(partly))
    with pytest.raises(InsufficientFunds, match="committed ahead"):
        partly.commit(uuid4(), money("0.01"), LEAD)
    with pytest.raises(InsufficientFunds, match="committed ahead"):
        partly.commit(uuid4(), money("0.01"), LEAD, ahead_allowed=True)  # it has an allocation now
    with pytest.raises(InsufficientFunds, match="committed ahead"):
        commission(partly, "0.01")
    assert_unchanged(partly, before)


def test_a_payment_may_not_draw_on_a_share_still_committed_ahead():
    budget = next_year_budget()
    request_id = uuid4()
    budget.commit(request_id, money("500.00"), LEAD, ahead_allowed=True)
    with pytest.raises(PaymentExceedsApproved, match=r"500\.00 committed ahead of its allocation.*allocates"):
        budget.record_payment(request_id, money("0.01"), "PAY-1", FINANCE)
    budget.allocate(money("200.00"), "covers 200.00", FINANCE)
    budget.record_payment(request_id, money("200.00"), "PAY-1", FINANCE)
    with pytest.raises(PaymentExceedsApproved):
        budget.record_payment(request_id, money("0.01"), "PAY-2", FINANCE)


# ---------------------------------------------------------------------------------------------
# Releases and recoveries on a fund
# ---------------------------------------------------------------------------------------------


def test_a_release_returns_committed_money_to_available():
    budget = budget_with("1000.00")
    request_id = uuid4()
    budget.commit(request_id, money("600.00"), LEAD)
    budget.record_payment(request_id, money("100.00"), "PAY-1", FINANCE)
    budget.collect_events()

    budget.release(request_id, money("500.00"), LEAD)

    (event,) = budget.collect_events()
    assert isinstance(event, Fund.FundsReleased)
    assert (event.amount, event.uncovered) == (money("500.00"), Money(0))
    assert (budget.committed, budget.paid, budget.released, budget.available) == (
        money("100.00"),
        money("100.00"),
        money("500.00"),
        money("900.00"),
    )


def test_a_release_is_bounded_by_what_is_committed_and_unpaid():
    budget = budget_with("1000.00")
    request_id = uuid4()
    budget.commit(request_id, money("600.00"), LEAD)
    budget.record_payment(request_id, money("100.00"), "PAY-1", FINANCE)
    budget.collect_events()
    before = copy.deepcopy(state(budget))
    with pytest.raises(PaymentExceedsApproved):
        budget.release(request_id, money("500.01"), LEAD)
    for amount in ("0.00", "-1.00"):
        with pytest.raises(AmountNotAllowed):
            budget.release(request_id, money(amount), LEAD)
    assert_unchanged(budget, before)


def test_a_release_gives_back_what_is_still_forward_first():
    budget = next_year_budget()
    request_id = uuid4()
    budget.commit(request_id, money("500.00"), LEAD, ahead_allowed=True)
    budget.allocate(money("200.00"), "covers 200.00 of it", FINANCE)
    budget.collect_events()

    budget.release(request_id, money("400.00"), LEAD)

    (event,) = budget.collect_events()
    assert isinstance(event, Fund.FundsReleased)
    assert (event.amount, event.uncovered) == (money("400.00"), money("300.00"))
    assert (budget.forward, budget.committed, budget.available) == (Money(0), money("100.00"), money("100.00"))


def test_a_recovery_received_returns_paid_money_to_available():
    budget = budget_with("1000.00")
    request_id = uuid4()
    budget.commit(request_id, money("600.00"), LEAD)
    budget.record_payment(request_id, money("600.00"), "PAY-1", FINANCE)
    budget.collect_events()

    budget.receive_recovery(request_id, money("150.00"), "REMIT-1", FINANCE)

    (event,) = budget.collect_events()
    assert isinstance(event, Fund.RecoveryReceived)
    assert (event.amount, event.reference, event.as_income) == (money("150.00"), "REMIT-1", False)
    assert (budget.committed, budget.paid, budget.recovered, budget.income, budget.available) == (
        money("450.00"),
        money("450.00"),
        money("150.00"),
        Money(0),
        money("550.00"),
    )


def test_a_recovery_on_an_open_fund_is_bounded_by_what_it_paid():
    budget = budget_with("1000.00")
    request_id = uuid4()
    budget.commit(request_id, money("600.00"), LEAD)
    budget.record_payment(request_id, money("100.00"), "PAY-1", FINANCE)
    with pytest.raises(PaymentExceedsApproved):
        budget.receive_recovery(request_id, money("100.01"), "REMIT-1", FINANCE)
    with pytest.raises(AmountNotAllowed):
        budget.receive_recovery(request_id, Money(0), "REMIT-1", FINANCE)


# ---------------------------------------------------------------------------------------------
# Year-end close
# ---------------------------------------------------------------------------------------------


def closed_budget(carry_forward: str = "0.00") -> tuple[ClusterBudget, ClusterBudget, UUID]:
    """A budget of 1000.00 with 600.00 committed, 100.00 paid and 50.00 released, closed."""
    budget = budget_with("1000.00")
    request_id = uuid4()
    budget.commit(request_id, money("600.00"), LEAD)
    budget.record_payment(request_id, money("100.00"), "PAY-1", FINANCE)
    budget.release(request_id, money("50.00"), LEAD)
    following = next_year_budget()
    budget.close(money(carry_forward), [], FINANCE, following)
    return budget, following, request_id


def test_closing_records_what_was_committed_unpaid_released_and_carried_forward():
    budget, following, _ = closed_budget("200.00")

    closed = budget.collect_events()[-1]
    assert isinstance(closed, Fund.YearClosed)
    assert (closed.committed_unpaid, closed.released, closed.carried_forward, closed.available_before) == (
        money("450.00"),
        money("50.00"),
        money("200.00"),
        money("450.00"),
    )
    assert budget.closed
    assert (budget.allocated, budget.available) == (money("800.00"), money("250.00"))
    (carried,) = following.collect_events()
    assert isinstance(carried, ClusterBudget.FundsAllocated)
    assert (carried.amount, carried.note) == (money("200.00"), "carried forward from 2026-27")
    assert following.allocated == following.available == money("200.00")


def test_a_carry_forward_covers_the_next_years_forward_commitments_first():
    budget = budget_with("1000.00")
    following = next_year_budget()
    following.commit(uuid4(), money("300.00"), LEAD, ahead_allowed=True)
    following.collect_events()

    budget.close(money("1000.00"), [], FINANCE, following)

    assert [type(e).__name__ for e in following.collect_events()] == ["FundsAllocated", "ForwardCommitmentsCovered"]
    assert (following.forward, following.committed, following.available) == (
        Money(0),
        money("300.00"),
        money("700.00"),
    )


def test_closing_without_a_carry_forward_touches_nothing_else():
    budget, following, _ = closed_budget()
    assert [type(e).__name__ for e in budget.collect_events()][-1] == "YearClosed"
    assert list(following.collect_events()) == []
    assert budget.available == money("450.00")


def test_a_carry_forward_above_what_is_available_is_refused():
    budget = budget_with("1000.00")
    budget.commit(uuid4(), money("600.00"), LEAD)
    budget.collect_events()
    following = next_year_budget()
    before = copy.deepcopy(state(budget))
    for amount in ("400.01", "-0.01"):
        with pytest.raises(AmountNotAllowed):
            budget.close(money(amount), [], FINANCE, following)
    assert_unchanged(budget, before)
    assert list(following.collect_events()) == []


def test_carrying_forward_needs_the_next_years_fund():
    budget = budget_with("1000.00")
    with pytest.raises(InvalidValue, match="next year"):
        budget.close(money("1.00"), [], FINANCE, None)
    budget.close(Money(0), [], FINANCE, None)  # nothing to carry: nothing needed
    assert budget.closed


def test_closing_is_refused_while_requests_wait_on_the_year_and_names_them():
    budget = budget_with("1000.00")
    waiting = [str(uuid4()), str(uuid4())]
    with pytest.raises(YearNotClosable) as refused:
        budget.close(Money(0), waiting, FINANCE, next_year_budget())
    assert refused.value.request_ids == waiting
    assert all(request_id in str(refused.value) for request_id in waiting)
    assert not budget.closed


def test_closing_is_refused_while_forward_commitments_are_uncovered():
    budget = next_year_budget()
    budget.commit(uuid4(), money("300.00"), LEAD, ahead_allowed=True)
    budget.collect_events()
    with pytest.raises(InsufficientFunds, match="committed ahead"):
        budget.close(Money(0), [], FINANCE, None)
    assert not budget.closed


def test_a_year_closes_once():
    budget, following, _ = closed_budget()
    with pytest.raises(YearClosed):
        budget.close(Money(0), [], FINANCE, following)


def test_a_closed_year_refuses_allocations_commitments_and_commissions():
    budget, _, _ = closed_budget()
    budget.collect_events()
    before = copy.deepcopy(state(budget))
    with pytest.raises(YearClosed):
        budget.allocate(money("1.00"), "", FINANCE)
    with pytest.raises(YearClosed):
        budget.allocate(money("-1.00"), "", FINANCE)
    with pytest.raises(YearClosed):
        budget.commit(uuid4(), money("1.00"), LEAD)
    with pytest.raises(YearClosed):
        budget.commit(uuid4(), money("1.00"), LEAD, ahead_allowed=True)
    with pytest.raises(YearClosed):
        commission(budget, "1.00")
    assert_unchanged(budget, before)


def test_a_closed_year_still_pays_and_releases_what_was_committed():
    budget, _, request_id = closed_budget()
    budget.collect_events()
    budget.record_payment(request_id, money("150.00"), "PAY-2", FINANCE)
    budget.release(request_id, money("300.00"), LEAD)
    assert [type(e).__name__ for e in budget.collect_events()] == ["PaymentRecorded", "FundsReleased"]
    assert (budget.committed, budget.paid, budget.released) == (money("250.00"), money("250.00"), money("350.00"))


def test_a_recovery_received_on_a_closed_year_is_income_and_moves_no_figure():
    budget, _, request_id = closed_budget()
    budget.collect_events()
    figures = budget.figures()

    budget.receive_recovery(request_id, money("100.00"), "REMIT-1", FINANCE)

    (event,) = budget.collect_events()
    assert isinstance(event, Fund.RecoveryReceived)
    assert event.as_income
    assert budget.income == money("100.00")
    assert budget.recovered == Money(0)
    assert budget.figures() == figures


def test_a_council_fund_closes_by_the_same_rules():
    fund = fund_with("1000.00")
    following = CouncilFund.open(NEXT_YEAR, FINANCE)
    fund.close(money("400.00"), [], FINANCE, following)
    assert fund.closed
    assert following.allocated == money("400.00")
    with pytest.raises(YearClosed):
        fund.commit(uuid4(), money("1.00"), COUNCIL)


def test_replaying_a_funds_money_after_the_decision_rebuilds_the_same_fund():
    budget, following = ClusterBudget.open(CLUSTER, YEAR, FINANCE), ClusterBudget.open(CLUSTER, NEXT_YEAR, FINANCE)
    forward, request_id = uuid4(), uuid4()
    following.commit(forward, money("300.00"), LEAD, ahead_allowed=True)
    budget.allocate(money("1000.00"), "initial", FINANCE)
    budget.commit(request_id, money("600.00"), LEAD)
    budget.record_payment(request_id, money("100.00"), "PAY-1", FINANCE)
    budget.release(request_id, money("50.00"), LEAD)
    budget.receive_recovery(request_id, money("10.00"), "REMIT-1", FINANCE)
    budget.close(money("100.00"), [], FINANCE, following)
    budget.receive_recovery(request_id, money("10.00"), "REMIT-2", FINANCE)
    following.release(forward, money("250.00"), LEAD)
    for fund in (budget, following):
        rebuilt = replay(fund.collect_events())
        assert state(rebuilt) == state(fund)
    assert (following.forward, following.committed, following.available) == (Money(0), money("50.00"), money("50.00"))
