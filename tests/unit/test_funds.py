"""Cluster budgets and the council fund: available = allocated - committed - commissioned, never below zero."""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import CanMutateAggregate

from domain.errors import AmountNotAllowed, InsufficientFunds, InvalidValue, PaymentExceedsApproved
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
