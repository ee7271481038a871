"""The policy's rules: changing a parameter, the second person, what is in force on a day, and the
limits decisions read from it (issue 14)."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import pytest

from domain.council_terms import CouncilTermAwards, SchoolTerm
from domain.errors import Conflict, EscalationNotAllowed, InvalidValue, NotFound, NotPermitted, PolicyLimitExceeded
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget
from domain.money import Money
from domain.policy import Policy, PolicyInForce
from domain.policy_parameters import PARAMETERS, needs_second_person, spec_of
from domain.policy_pin import PolicyPin
from domain.schedules import TermShares
from domain.values import Actor, ClusterId, FinancialYear, ProvisionCategory, ProvisionLine, SchoolUrn, TopUpReason
from domain.working_days import WorkingDays

TODAY = date(2026, 11, 30)
COUNCIL = Actor.council("officer-1")
FINANCE = Actor.finance("finance-1")
NORTH = ClusterId("northmere")


def council_policy() -> Policy:
    return Policy.open(None, COUNCIL)


def change(policy: Policy, parameter: str, value: str, *, replaces: str | None = None, on: date = TODAY, by=COUNCIL):
    current = replaces if replaces is not None else PARAMETERS[parameter].default
    return policy.change(
        parameter, value, on, "Cabinet, minute 14", by, replaces=current, threshold_percent=10, today=TODAY
    )


def in_force(council: Policy | None, cluster: Policy | None = None, on: date = TODAY) -> PolicyInForce:
    versions = (0 if council is None else council.version, 0 if cluster is None else cluster.version)
    return PolicyInForce.of(council, cluster, PolicyPin(*versions, on))


# -- parameters ----------------------------------------------------------------------------------


def test_a_policy_without_changes_decides_by_the_engines_former_constants():
    defaults = PolicyInForce.defaults(TODAY)
    assert defaults.instalment_shares == TermShares(4, 3, 5)
    assert defaults.money("expected_own_spend_per_pupil") == Money(600_000)
    assert defaults.number("provision_review_weeks") == 13
    assert defaults.number("escalation_threshold_percent") == 100
    assert defaults.source_text("award_cap") == "the default"


@pytest.mark.parametrize(
    ("parameter", "given", "stored"),
    [
        ("award_cap", "10000", "10000.00"),
        ("instalment_shares", " 3, 3,6", "3,3,6"),
        ("letter_deadline_working_days", "5", "5"),
    ],
)
def test_values_are_stored_in_their_canonical_form(parameter, given, stored):
    assert spec_of(parameter).canonical(given) == stored


@pytest.mark.parametrize(
    ("parameter", "given"),
    [
        ("award_cap", "0"),
        ("award_cap", "-5"),
        ("award_cap", "12.345"),
        ("escalation_threshold_percent", "101"),
        ("decision_deadline_working_days", "0"),
        ("decision_deadline_working_days", "2.5"),
        ("instalment_shares", "4,3"),
        ("provision_review_weeks", ""),
    ],
)
def test_a_value_outside_its_kind_or_limits_is_refused(parameter, given):
    with pytest.raises(InvalidValue):
        spec_of(parameter).canonical(given)


def test_an_unknown_parameter_is_refused_naming_the_known_ones():
    with pytest.raises(InvalidValue, match="award_cap"):
        spec_of("overspend_allowed")


@pytest.mark.parametrize(
    ("parameter", "old", "new", "second"),
    [
        ("award_cap", "10000.00", "11000.00", False),  # exactly 10%: not more than the threshold
        ("award_cap", "10000.00", "11000.01", True),
        ("award_cap", "10000.00", "8999.99", True),
        ("decision_deadline_working_days", "20", "22", False),
        ("decision_deadline_working_days", "20", "23", True),
        ("expected_own_spend_per_pupil", "0.00", "1.00", True),  # any change from nothing is large
        ("instalment_shares", "4,3,5", "4,4,4", True),
        ("second_person_threshold_percent", "10", "11", True),
    ],
)
def test_a_change_needs_a_second_person_when_it_moves_a_value_by_more_than_the_threshold(parameter, old, new, second):
    assert needs_second_person(spec_of(parameter), old, new, 10) is second


# -- changing ------------------------------------------------------------------------------------


def test_a_small_change_counts_at_once_and_records_who_why_and_from_when():
    policy = council_policy()
    made = change(policy, "decision_deadline_working_days", "21")
    assert made.status == "approved"
    assert (made.proposed_by, made.reason, made.effective_from) == (COUNCIL, "Cabinet, minute 14", TODAY)
    assert in_force(policy).number("decision_deadline_working_days") == 21
    assert [type(e).__name__ for e in policy.collect_events()] == ["Opened", "ChangeMade"]


def test_a_large_change_waits_for_a_second_person_and_counts_only_once_approved():
    policy = council_policy()
    proposed = change(policy, "award_cap", "10000")
    assert proposed.status == "awaiting_second_person"
    assert in_force(policy).award_cap == Money.parse("10000000.00")
    with pytest.raises(NotPermitted, match="someone other than its proposer"):
        policy.approve_change(1, Actor.council("officer-1"))
    approved = policy.approve_change(1, FINANCE)
    assert (approved.status, approved.approved_by) == ("approved", FINANCE)
    assert in_force(policy).award_cap == Money.parse("10000.00")


def test_a_waiting_change_may_be_rejected_and_then_never_counts():
    policy = council_policy()
    change(policy, "award_cap", "10000")
    rejected = policy.reject_change(1, "the cabinet has not agreed it", FINANCE)
    assert rejected.status == "rejected"
    with pytest.raises(Conflict, match="rejected"):
        policy.approve_change(1, FINANCE)
    assert in_force(policy).award_cap == Money.parse("10000000.00")


def test_a_second_change_to_a_parameter_waits_until_the_first_is_decided():
    policy = council_policy()
    change(policy, "award_cap", "10000")
    with pytest.raises(Conflict, match="awaiting a second person"):
        change(policy, "award_cap", "12000")


def test_no_change_takes_effect_in_the_past_or_more_than_two_years_ahead():
    policy = council_policy()
    with pytest.raises(InvalidValue, match="in the past"):
        change(policy, "letter_deadline_working_days", "6", on=TODAY - timedelta(days=1))
    with pytest.raises(InvalidValue, match="two years"):
        change(policy, "letter_deadline_working_days", "6", on=TODAY + timedelta(days=800))


def test_a_change_to_the_same_value_is_refused():
    with pytest.raises(InvalidValue, match="already"):
        change(council_policy(), "letter_deadline_working_days", "5")


def test_a_change_needs_a_reason():
    with pytest.raises(InvalidValue, match="reason"):
        council_policy().change(
            "letter_deadline_working_days", "6", TODAY, " ", COUNCIL, replaces="5", threshold_percent=10, today=TODAY
        )


def test_a_cluster_overrides_only_what_a_cluster_may_set():
    cluster = Policy.open(NORTH, COUNCIL)
    with pytest.raises(InvalidValue, match="council's policy only"):
        change(cluster, "council_term_cap", "10000")
    change(cluster, "instalment_shares", "1,1,1")
    cluster.approve_change(1, FINANCE)
    council = council_policy()
    change(council, "instalment_shares", "2,2,2")
    council.approve_change(1, FINANCE)
    assert in_force(council, cluster).instalment_shares == TermShares(1, 1, 1)
    assert in_force(council).instalment_shares == TermShares(2, 2, 2)
    assert in_force(council, cluster).source_text("instalment_shares").startswith("cluster policy change 1")


def test_approving_a_change_that_does_not_exist_is_not_found():
    with pytest.raises(NotFound):
        council_policy().approve_change(3, FINANCE)


# -- in force on a day, at a version -------------------------------------------------------------


def test_a_change_takes_effect_on_its_date_and_the_latest_to_take_effect_wins():
    policy = council_policy()
    april = date(2027, 4, 1)
    change(policy, "decision_deadline_working_days", "21", on=april)
    change(policy, "decision_deadline_working_days", "19")
    assert in_force(policy, on=TODAY).number("decision_deadline_working_days") == 19
    assert in_force(policy, on=april).number("decision_deadline_working_days") == 21


def test_what_was_in_force_is_read_back_at_any_earlier_version():
    policy = council_policy()
    change(policy, "decision_deadline_working_days", "21")
    version_then = policy.version
    change(policy, "decision_deadline_working_days", "22", replaces="21")
    then = PolicyInForce.of(policy, None, PolicyPin(version_then, 0, TODAY))
    assert then.number("decision_deadline_working_days") == 21
    assert in_force(policy).number("decision_deadline_working_days") == 22


def test_a_change_approved_late_counts_from_its_approval_not_before():
    policy = council_policy()
    change(policy, "award_cap", "10000")
    before_approval = policy.version
    policy.approve_change(1, FINANCE)
    assert PolicyInForce.of(policy, None, PolicyPin(before_approval, 0, TODAY)).award_cap == Money(10_000_000_00)


# -- decisions read it ---------------------------------------------------------------------------


def evidenced_request(amount: str = "9000") -> FundingRequest:
    request = FundingRequest.submit(
        school_urn=SchoolUrn("100001"),
        cluster_id=NORTH,
        financial_year=FinancialYear(2026),
        amount_requested=Money.parse(amount),
        reason=TopUpReason.COMPLEX_NEEDS,
        pupil_count=2,
        needs_summary="two pupils with complex needs",
        planned_provision=[ProvisionLine(ProvisionCategory.THERAPIES, Money.parse(amount))],
        actor=Actor.school("head-1", "100001"),
    )
    from domain.values import SpendLine

    request.provide_evidence(
        Money.parse("20000"),
        [SpendLine(ProvisionCategory.THERAPIES, Money.parse("20000"), "")],
        [],
        Actor.school("head-1", "100001"),
    )
    return request


def funded_budget(pounds: str = "50000") -> ClusterBudget:
    budget = ClusterBudget.open(NORTH, FinancialYear(2026), FINANCE)
    budget.allocate(Money.parse(pounds), "", FINANCE)
    return budget


def capped(cap: str) -> PolicyInForce:
    policy = council_policy()
    change(policy, "award_cap", cap)
    policy.approve_change(1, FINANCE)
    return in_force(policy)


def test_an_approval_above_the_award_cap_is_refused_naming_the_change_that_set_it():
    request, budget = evidenced_request(), funded_budget()
    with pytest.raises(PolicyLimitExceeded, match=r"8000\.00 \(council policy change 1"):
        request.approve(
            Money.parse("8500"),
            "meets criteria",
            "",
            Actor.cluster_lead("lead-1", NORTH),
            budget,
            policy=capped("8000"),
        )
    assert budget.committed == Money.zero()


def test_an_approval_pins_the_policy_it_was_taken_under():
    request, budget = evidenced_request(), funded_budget()
    policy = capped("9000")
    request.approve(
        Money.parse("9000"), "meets criteria", "", Actor.cluster_lead("lead-1", NORTH), budget, policy=policy
    )
    assert request.decisions[-1].policy == policy.pin == PolicyPin(3, 0, TODAY)


def test_escalation_follows_the_policy_threshold():
    lead = Actor.cluster_lead("lead-1", NORTH)
    policy = council_policy()
    change(policy, "escalation_threshold_percent", "50")
    policy.approve_change(1, FINANCE)
    # 5,000 available of 9,000 requested: below 100% of it, not below 50%.
    with pytest.raises(EscalationNotAllowed, match="50%"):
        evidenced_request().escalate(
            Money.parse("9000"), "three new pupils", lead, funded_budget("5000"), in_force(policy)
        )
    request = evidenced_request()
    request.escalate(Money.parse("9000"), "three new pupils", lead, funded_budget("5000"))
    assert request.amount_escalated == Money.parse("9000")


def test_the_council_term_cap_counts_every_award_decided_in_the_term():
    tally = CouncilTermAwards.open(SchoolTerm.containing(TODAY))
    cap = Money.parse("10000")
    tally.count(uuid4(), Money.parse("6000"), cap, "the default", COUNCIL)
    with pytest.raises(PolicyLimitExceeded, match=r"4000\.00 is left, 5000\.00 is 1000\.00 over"):
        tally.count(uuid4(), Money.parse("5000"), cap, "the default", COUNCIL)
    tally.count(uuid4(), Money.parse("4000"), cap, "the default", COUNCIL)
    assert tally.awarded == cap


@pytest.mark.parametrize(
    ("day", "term"),
    [
        (date(2026, 9, 1), "autumn term 2026/27"),
        (date(2027, 1, 4), "spring term 2026/27"),
        (date(2027, 8, 31), "summer term 2026/27"),
    ],
)
def test_school_terms_follow_the_instalments_terms(day, term):
    assert str(SchoolTerm.containing(day)) == term


# -- working days --------------------------------------------------------------------------------


def test_working_days_skip_weekends_and_bank_holidays():
    christmas = WorkingDays.with_holidays([date(2026, 12, 25), date(2026, 12, 28)])
    assert christmas.add(date(2026, 12, 24), 2) == date(2026, 12, 30)
    assert christmas.between(date(2026, 12, 24), date(2026, 12, 30)) == 2
    assert christmas.add(date(2026, 11, 27), 5) == date(2026, 12, 4)  # a Friday to the next Friday
    assert christmas.between(date(2026, 12, 30), date(2026, 12, 24)) == 0
