"""Every use case through ``FundingApplication``, on SQLite and on PostgreSQL.

Each refused or failed command is also checked to have written nothing to the event log.

Each test gets a ``World`` of its own: two new clusters, their schools and their leads, and (when
it needs the council fund) a financial year of its own. Worlds share one store per module and
store kind, so a test pays for a few commands rather than for a new store. Tests that need a store
to themselves (two processes, the list of every cluster) use the ``app``/``make_app`` fixtures.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from domain.errors import (
    AlreadyExists,
    AmountNotAllowed,
    EscalationNotAllowed,
    InsufficientFunds,
    InvalidTransition,
    InvalidValue,
    NotFound,
    NotPermitted,
    PaymentExceedsApproved,
    SchoolInAnotherCluster,
    SchoolNotInCluster,
    StaleVersion,
)
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund
from domain.money import Money
from domain.values import Actor, ClusterId, DecisionKind, DeclineReasonCode, FinancialYear, RequestStatus, SchoolUrn
from funding_engine.application import FundingApplication, FundStatement
from tests.conftest import STORES
from tests.support import (
    CLUSTER,
    COUNCIL,
    EVIDENCE,
    FINANCE,
    OTHER_CLUSTER,
    YEAR,
    log_position,
    set_up_world,
    store_factory,
    submission,
    writes_nothing,
)

S = RequestStatus
REASON = "Spend evidence shows the school's own SEN funding is fully used."
CIRCUMSTANCES = "Three pupils with EHCPs joined mid-year after a special school closed."
# No world allocates anything in this year.
UNALLOCATED_YEAR = "2098-99"

_world_numbers = itertools.count(1)
_spare_urns = (str(urn) for urn in itertools.count(500000))  # schools no world starts with
_council_years: dict[int, Iterator[int]] = {}  # per application (so per store): the next year to hand out


def money(value: str) -> Money:
    return Money.parse(value)


# ================================================================================================
# Worlds
# ================================================================================================


class World:
    """Two clusters of this test's own: ``cluster`` (schools ``school``, ``second_school``; 5,000.00
    for ``year``) and ``other_cluster`` (``other_school``), with their leads and school staff."""

    def __init__(self, app: FundingApplication, *, budget: str = "5000.00", council_fund: str | None = None) -> None:
        n = next(_world_numbers)
        self.app = app
        self.cluster, self.other_cluster = f"northmere-{n}", f"fenwick-{n}"
        self.school, self.second_school, self.other_school, self.new_school = (
            f"{100000 + 4 * n + offset}" for offset in range(4)
        )
        self.lead = Actor.cluster_lead(f"lead-northmere-{n}", self.cluster)
        self.other_lead = Actor.cluster_lead(f"lead-fenwick-{n}", self.other_cluster)
        self.head = Actor.school(f"senco-{self.school}", self.school)
        self.second_head = Actor.school(f"senco-{self.second_school}", self.second_school)
        self.other_head = Actor.school(f"senco-{self.other_school}", self.other_school)
        self.unclustered_head = Actor.school(f"senco-{self.new_school}", self.new_school)
        self.year = YEAR
        if council_fund is not None:
            # The council fund is per year, so a world that uses it has a year of its own.
            start = next(_council_years.setdefault(id(app), itertools.count(2000)))
            if start >= FinancialYear.parse(UNALLOCATED_YEAR).start_year:
                raise RuntimeError("out of financial years for council-fund worlds: split the module")
            self.year = str(FinancialYear(start))

        app.register_cluster(COUNCIL, self.cluster, "Northmere Coast")
        app.register_cluster(COUNCIL, self.other_cluster, "Fenwick Broads")
        app.add_school(COUNCIL, self.cluster, self.school)
        app.add_school(COUNCIL, self.cluster, self.second_school)
        app.add_school(COUNCIL, self.other_cluster, self.other_school)
        app.allocate_budget(FINANCE, self.cluster, self.year, budget, "initial allocation")
        if council_fund is not None:
            app.allocate_council_fund(FINANCE, self.year, council_fund, "exceptional circumstances fund")

    def school_joining(self) -> str:
        """A new school, added to ``cluster`` now."""
        urn = next(_spare_urns)
        self.app.add_school(COUNCIL, self.cluster, urn)
        return urn

    # -- requests in each state ------------------------------------------------------------------

    def submit(self, actor: Actor | None = None, **overrides: Any) -> FundingRequest:
        fields = submission(**{"school_urn": self.school, "financial_year": self.year, **overrides})
        return self.app.submit_request(actor or self.head, **fields)

    def evidenced(self, **overrides: Any) -> FundingRequest:
        request = self.submit(**overrides)
        return self.app.provide_evidence(self.head, request.id, **EVIDENCE)

    def approved(self, amount: str = "1000.00", **overrides: Any) -> FundingRequest:
        return self.app.approve(self.lead, self.evidenced(**overrides).id, amount, REASON)

    def escalated(self, amount: str, amount_requested: str) -> FundingRequest:
        request = self.evidenced(amount_requested=amount_requested)
        return self.app.escalate(self.lead, request.id, amount, CIRCUMSTANCES)

    def commission(self, actor: Actor | None = None, **overrides: Any) -> ClusterBudget:
        fields: dict[str, Any] = {
            "service": "educational_psychology",
            "provider": "Northmere Educational Psychology Service",
            "amount": "1200.00",
            "school_urns": [self.school, self.second_school],
            "description": "Twelve EP sessions shared by the two schools.",
        }
        fields.update(overrides)
        return self.app.commission_service(actor or self.lead, self.cluster, self.year, **fields)

    # -- reading ---------------------------------------------------------------------------------

    def budget(self) -> FundStatement:
        return self.app.get_budget(FINANCE, self.cluster, self.year)

    def council_fund(self) -> FundStatement:
        return self.app.get_council_fund(FINANCE, self.year)

    def status(self, request: FundingRequest) -> RequestStatus:
        return self.app.get_request(COUNCIL, request.id).status


@pytest.fixture(scope="module", params=STORES)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], FundingApplication]]:
    """One store per kind for this module; every world below lives in it."""
    with store_factory(request.param, tmp_path_factory.mktemp("application")) as make_app:
        yield make_app


@pytest.fixture(scope="module")
def shared_app(store: Callable[[], FundingApplication]) -> FundingApplication:
    return store()


@pytest.fixture
def world(shared_app: FundingApplication) -> World:
    return World(shared_app)


@pytest.fixture
def council_world(shared_app: FundingApplication) -> World:
    """A world that also has 5,000.00 in the council fund for a year of its own."""
    return World(shared_app, council_fund="5000.00")


# ================================================================================================
# Clusters and schools
# ================================================================================================


def test_a_registered_cluster_can_be_read_with_no_schools(shared_app):
    cluster_id = f"brecklands-{uuid.uuid4().hex[:8]}"
    shared_app.register_cluster(COUNCIL, cluster_id, "Brecklands")

    cluster = shared_app.get_cluster(FINANCE, cluster_id)

    assert (cluster.cluster_id, cluster.name, cluster.school_urns) == (ClusterId(cluster_id), "Brecklands", [])


def test_registering_an_existing_cluster_raises_already_exists_and_writes_nothing(world):
    with writes_nothing(world.app), pytest.raises(AlreadyExists):
        world.app.register_cluster(COUNCIL, world.cluster, "Another Northmere")


def test_every_registered_cluster_is_listed_in_id_order(app):
    set_up_world(app)

    clusters = app.read_models.list_clusters(FINANCE)
    assert [str(cluster.cluster_id) for cluster in clusters] == sorted([CLUSTER, OTHER_CLUSTER])


def test_an_added_school_is_a_member_of_the_cluster(world):
    world.app.add_school(COUNCIL, world.cluster, world.new_school)

    assert SchoolUrn(world.new_school) in world.app.get_cluster(COUNCIL, world.cluster).school_urns
    assert world.app.cluster_of_school(world.new_school) == ClusterId(world.cluster)


def test_adding_a_school_to_an_unknown_cluster_raises_not_found_and_writes_nothing(world):
    with writes_nothing(world.app), pytest.raises(NotFound):
        world.app.add_school(COUNCIL, "no-such-cluster", world.new_school)


def test_adding_a_school_already_in_the_cluster_writes_nothing(world):
    with writes_nothing(world.app):
        cluster = world.app.add_school(COUNCIL, world.cluster, world.school)

    assert cluster.school_urns.count(SchoolUrn(world.school)) == 1


def test_adding_a_school_in_another_cluster_raises_and_writes_nothing(world):
    with writes_nothing(world.app), pytest.raises(SchoolInAnotherCluster):
        world.app.add_school(COUNCIL, world.other_cluster, world.school)

    assert SchoolUrn(world.school) not in world.app.get_cluster(COUNCIL, world.other_cluster).school_urns


def test_a_removed_school_leaves_its_cluster_and_may_join_another(world):
    world.app.remove_school(COUNCIL, world.cluster, world.second_school)
    world.app.add_school(COUNCIL, world.other_cluster, world.second_school)

    assert SchoolUrn(world.second_school) not in world.app.get_cluster(COUNCIL, world.cluster).school_urns
    assert world.app.cluster_of_school(world.second_school) == ClusterId(world.other_cluster)


def test_removing_a_school_that_is_not_a_member_raises_and_writes_nothing(world):
    with writes_nothing(world.app), pytest.raises(SchoolNotInCluster):
        world.app.remove_school(COUNCIL, world.cluster, world.other_school)


def _race_to_add_one_school(world: World, apps: list[FundingApplication]) -> tuple[list[Any], list[Exception]]:
    """Each app's thread adds the world's new school to a different cluster, all at once."""
    barrier = threading.Barrier(len(apps))
    wins: list[Any] = []
    errors: list[Exception] = []

    def add(app: FundingApplication, cluster_id: str) -> None:
        barrier.wait(timeout=30)
        try:
            wins.append(app.add_school(COUNCIL, cluster_id, world.new_school).cluster_id)
        except Exception as error:  # noqa: BLE001 - every outcome is asserted
            errors.append(error)

    threads = [
        threading.Thread(target=add, args=pair) for pair in zip(apps, [world.cluster, world.other_cluster], strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return wins, errors


def _clusters_holding(world: World, app: FundingApplication, school_urn: str) -> list[str]:
    return [
        cluster_id
        for cluster_id in (world.cluster, world.other_cluster)
        if SchoolUrn(school_urn) in app.get_cluster(COUNCIL, cluster_id).school_urns
    ]


def test_two_threads_adding_one_school_to_two_clusters_leave_it_in_exactly_one(world):
    wins, errors = _race_to_add_one_school(world, [world.app, world.app])

    assert len(wins) == 1
    assert [type(error) for error in errors] == [SchoolInAnotherCluster]
    assert _clusters_holding(world, world.app, world.new_school) == [str(wins[0])]
    assert world.app.cluster_of_school(world.new_school) == wins[0]


def test_two_processes_adding_one_school_to_two_clusters_leave_it_in_exactly_one(world, store):
    other_process = store()  # another application on the same store: no shared locks, no shared cache
    try:
        wins, errors = _race_to_add_one_school(world, [world.app, other_process])
    finally:
        other_process.close()

    assert len(wins) == 1
    assert [type(error) for error in errors] == [SchoolInAnotherCluster]
    fresh = store()
    try:
        assert _clusters_holding(world, fresh, world.new_school) == [str(wins[0])]
        assert fresh.cluster_of_school(world.new_school) == wins[0]
    finally:
        fresh.close()


# ================================================================================================
# Budgets and the council fund
# ================================================================================================


def test_an_allocation_raises_allocated_and_available(world):
    world.app.allocate_budget(FINANCE, world.cluster, world.year, "250.50", "in-year top-up")

    assert (world.budget().allocated, world.budget().available) == (money("5250.50"), money("5250.50"))


def test_a_negative_allocation_takes_back_unspent_money(world):
    world.app.allocate_budget(FINANCE, world.cluster, world.year, "-1500.00", "clawback")

    assert (world.budget().allocated, world.budget().available) == (money("3500.00"), money("3500.00"))


def test_a_negative_allocation_may_take_available_to_exactly_zero(world):
    world.app.allocate_budget(FINANCE, world.cluster, world.year, "-5000.00", "clawback")

    assert world.budget().available == Money.zero()


def test_a_negative_allocation_below_zero_available_raises_insufficient_funds_and_writes_nothing(world):
    world.approved("1000.00")

    with writes_nothing(world.app), pytest.raises(InsufficientFunds):
        world.app.allocate_budget(FINANCE, world.cluster, world.year, "-4000.01", "clawback")

    assert world.budget().available == money("4000.00")


def test_allocating_to_an_unknown_cluster_raises_not_found_and_writes_nothing(world):
    with writes_nothing(world.app), pytest.raises(NotFound):
        world.app.allocate_budget(FINANCE, "no-such-cluster", world.year, "100.00")


def test_a_council_fund_allocation_raises_its_allocated_and_available(council_world):
    council_world.app.allocate_council_fund(FINANCE, council_world.year, "1000.00", "winter supplement")

    fund = council_world.council_fund()
    assert (fund.allocated, fund.available, fund.committed) == (money("6000.00"), money("6000.00"), Money.zero())


def test_a_negative_council_allocation_below_zero_available_raises_insufficient_funds_and_writes_nothing(
    council_world,
):
    with writes_nothing(council_world.app), pytest.raises(InsufficientFunds):
        council_world.app.allocate_council_fund(FINANCE, council_world.year, "-5000.01", "clawback")


def test_a_budget_for_a_year_with_no_allocation_reads_as_zeros_at_version_zero(world):
    budget = world.app.get_budget(FINANCE, world.other_cluster, "2027-28")

    figures = [budget.allocated, budget.committed, budget.commissioned, budget.available, budget.paid]
    assert figures == [Money.zero()] * 5
    assert (budget.version, budget.cluster_id, budget.financial_year) == (
        0,
        ClusterId(world.other_cluster),
        FinancialYear.parse("2027-28"),
    )


def test_a_council_fund_for_a_year_with_no_allocation_reads_as_zeros_at_version_zero(shared_app):
    fund = shared_app.get_council_fund(FINANCE, UNALLOCATED_YEAR)

    assert (fund.allocated, fund.available, fund.version) == (Money.zero(), Money.zero(), 0)


def test_reading_the_budget_of_an_unknown_cluster_raises_not_found(shared_app):
    with pytest.raises(NotFound):
        shared_app.get_budget(FINANCE, "no-such-cluster", YEAR)


def test_a_school_reads_its_own_clusters_budget(world):
    assert world.app.get_budget(world.head, world.cluster, world.year).allocated == money("5000.00")


def test_a_school_may_not_read_another_clusters_budget(world):
    with pytest.raises(NotPermitted):
        world.app.get_budget(world.head, world.other_cluster, world.year)


def test_a_school_in_no_cluster_may_not_read_a_clusters_budget(world):
    with pytest.raises(NotPermitted):
        world.app.get_budget(world.unclustered_head, world.cluster, world.year)


def test_a_lead_may_not_read_another_clusters_budget(world):
    with pytest.raises(NotPermitted):
        world.app.get_budget(world.other_lead, world.cluster, world.year)


@pytest.mark.parametrize("reader", ["head", "lead"])
def test_schools_and_leads_may_not_read_the_council_fund(world, reader):
    with pytest.raises(NotPermitted):
        world.app.get_council_fund(getattr(world, reader), world.year)


# ================================================================================================
# Commissioning
# ================================================================================================


def test_commissioning_a_service_moves_money_from_available_to_commissioned(world):
    world.commission(amount="1200.00")

    budget = world.budget()
    assert (budget.commissioned, budget.available, budget.committed) == (
        money("1200.00"),
        money("3800.00"),
        Money.zero(),
    )


def test_commissioning_more_than_available_raises_insufficient_funds_and_writes_nothing(world):
    with writes_nothing(world.app), pytest.raises(InsufficientFunds):
        world.commission(amount="5000.01")


def test_commissioning_with_no_budget_for_the_year_raises_insufficient_funds_and_writes_nothing(world):
    with writes_nothing(world.app), pytest.raises(InsufficientFunds):
        world.app.commission_service(
            world.lead,
            world.cluster,
            "2027-28",
            service="camhs",
            provider="Norfolk CAMHS",
            amount="100.00",
            school_urns=[world.school],
            description="Consultation sessions.",
        )


def test_commissioning_for_a_school_outside_the_cluster_is_refused_and_writes_nothing(world):
    with writes_nothing(world.app), pytest.raises(InvalidValue, match=world.other_school):
        world.commission(school_urns=[world.school, world.other_school])


# ================================================================================================
# Funding requests: submission, evidence, information
# ================================================================================================


def test_a_submitted_request_goes_to_the_schools_cluster(world):
    request = world.submit()

    assert (request.status, request.cluster_id, request.school_urn, request.version) == (
        S.SUBMITTED,
        ClusterId(world.cluster),
        SchoolUrn(world.school),
        1,
    )


def test_submitting_from_a_school_in_no_cluster_raises_school_not_in_cluster_and_writes_nothing(world):
    with writes_nothing(world.app), pytest.raises(SchoolNotInCluster):
        world.submit(world.unclustered_head, school_urn=world.new_school)


def test_a_request_goes_to_the_cluster_the_school_is_in_when_it_is_submitted(world):
    before_move = world.submit()
    world.app.remove_school(COUNCIL, world.cluster, world.school)
    world.app.add_school(COUNCIL, world.other_cluster, world.school)

    after_move = world.submit()

    assert world.app.get_request(COUNCIL, before_move.id).cluster_id == ClusterId(world.cluster)
    assert world.app.get_request(COUNCIL, after_move.id).cluster_id == ClusterId(world.other_cluster)


def test_after_a_school_moves_its_new_request_is_decided_by_the_new_clusters_lead(world):
    world.app.remove_school(COUNCIL, world.cluster, world.school)
    world.app.add_school(COUNCIL, world.other_cluster, world.school)
    request = world.evidenced()

    with writes_nothing(world.app), pytest.raises(NotFound):
        world.app.decline(world.lead, request.id, "other", "Not ours to decide.")

    assert world.app.decline(world.other_lead, request.id, "other", "Declined.").status is S.CLUSTER_DECLINED


def test_spend_evidence_makes_a_request_evidenced_and_is_kept_on_it(world):
    request = world.submit()

    evidenced = world.app.provide_evidence(world.head, request.id, **EVIDENCE)

    assert evidenced.status is S.EVIDENCED
    assert evidenced.evidence is not None
    assert (evidenced.evidence.notional_sen_budget, evidenced.evidence.total_spent) == (
        money("12000.00"),
        money("12000.00"),
    )
    assert evidenced.evidence.provided_by == world.head


def test_an_information_request_is_recorded_as_a_decision(world):
    request = world.evidenced()

    asked = world.app.request_information(world.lead, request.id, "How much TA support is already funded?")

    assert asked.status is S.INFORMATION_REQUESTED
    assert [(d.kind, d.actor, d.reason) for d in asked.decisions] == [
        (DecisionKind.INFORMATION_REQUEST, world.lead, "How much TA support is already funded?")
    ]


def test_evidence_after_an_information_request_makes_the_request_evidenced_again(world):
    request = world.evidenced()
    world.app.request_information(world.lead, request.id, "Please show the therapy spend.")

    answered = world.app.provide_evidence(world.head, request.id, **EVIDENCE)

    assert answered.status is S.EVIDENCED


def test_an_information_request_on_an_information_requested_request_is_refused_and_writes_nothing(world):
    request = world.evidenced()
    world.app.request_information(world.lead, request.id, "Please show the therapy spend.")

    with writes_nothing(world.app), pytest.raises(InvalidTransition):
        world.app.request_information(world.lead, request.id, "And the TA spend?")


# ================================================================================================
# Cluster decisions
# ================================================================================================


def test_an_approval_commits_the_amount_on_the_cluster_budget(world):
    request = world.evidenced()
    budget_version = world.budget().version

    approved = world.app.approve(world.lead, request.id, "900.00", REASON, "Review at the end of term.")

    assert (approved.status, approved.amount_approved, approved.conditions) == (
        S.CLUSTER_APPROVED,
        money("900.00"),
        "Review at the end of term.",
    )
    budget = world.budget()
    assert (budget.committed, budget.available, budget.version) == (
        money("900.00"),
        money("4100.00"),
        budget_version + 1,
    )


def test_approving_a_request_without_spend_evidence_is_refused_and_writes_nothing(world):
    request = world.submit()

    with writes_nothing(world.app), pytest.raises(InvalidTransition):
        world.app.approve(world.lead, request.id, "1000.00", REASON)


def test_approving_more_than_was_requested_is_refused_and_writes_nothing(world):
    request = world.evidenced(amount_requested="1000.00")

    with writes_nothing(world.app), pytest.raises(AmountNotAllowed):
        world.app.approve(world.lead, request.id, "1000.01", REASON)


def test_approving_more_than_the_budget_has_available_raises_insufficient_funds_and_writes_nothing(world):
    request = world.evidenced(amount_requested="6000.00")

    with writes_nothing(world.app), pytest.raises(InsufficientFunds):
        world.app.approve(world.lead, request.id, "5000.01", REASON)

    assert world.status(request) is S.EVIDENCED
    assert world.budget().committed == Money.zero()


def test_approving_an_approved_request_again_is_refused_and_writes_nothing(world):
    request = world.approved()

    with writes_nothing(world.app), pytest.raises(InvalidTransition):
        world.app.approve(world.lead, request.id, "1000.00", REASON)


def test_a_decline_records_its_reason_code_and_reason(world):
    request = world.evidenced()

    declined = world.app.decline(world.lead, request.id, "needs_met_within_school_resources", "The school can.")

    assert declined.status is S.CLUSTER_DECLINED
    [decision] = declined.decisions
    assert (decision.kind, decision.reason_code, decision.reason) == (
        DecisionKind.CLUSTER_DECLINE,
        DeclineReasonCode.NEEDS_MET_WITHIN_SCHOOL_RESOURCES,
        "The school can.",
    )


def test_a_declined_request_cannot_be_withdrawn(world):
    request = world.evidenced()
    world.app.decline(world.lead, request.id, "not_eligible", "Not eligible.")

    with writes_nothing(world.app), pytest.raises(InvalidTransition):
        world.app.withdraw(world.head, request.id, "Changed our mind.")


def test_an_escalation_records_the_amount_and_the_clusters_available_balance(world):
    request = world.evidenced(amount_requested="6000.00")

    escalated = world.app.escalate(world.lead, request.id, "5500.00", CIRCUMSTANCES)

    assert (escalated.status, escalated.amount_escalated) == (S.ESCALATED, money("5500.00"))
    [event] = [e for e in world.app.events.get(request.id) if isinstance(e, FundingRequest.Escalated)]
    assert event.cluster_available == money("5000.00")


def test_escalation_is_refused_when_the_cluster_can_afford_the_request_and_writes_nothing(world):
    request = world.evidenced(amount_requested="5000.00")

    with writes_nothing(world.app), pytest.raises(EscalationNotAllowed):
        world.app.escalate(world.lead, request.id, "5000.00", CIRCUMSTANCES)


def test_escalating_more_than_was_requested_is_refused_and_writes_nothing(world):
    request = world.evidenced(amount_requested="6000.00")

    with writes_nothing(world.app), pytest.raises(AmountNotAllowed):
        world.app.escalate(world.lead, request.id, "6000.01", CIRCUMSTANCES)


def test_a_withdrawn_request_is_final(world):
    request = world.submit()

    withdrawn = world.app.withdraw(world.head, request.id, "The pupils moved school.")

    assert withdrawn.status is S.WITHDRAWN
    with writes_nothing(world.app), pytest.raises(InvalidTransition):
        world.app.provide_evidence(world.head, request.id, **EVIDENCE)


# ================================================================================================
# Council decisions
# ================================================================================================


def test_a_council_approval_commits_against_the_council_fund_not_the_cluster_budget(council_world):
    w = council_world
    request = w.escalated("4000.00", amount_requested="6000.00")

    approved = w.app.decide_escalation(COUNCIL, request.id, "approve", "Exceptional circumstances shown.", "3000.00")

    assert (approved.status, approved.amount_approved) == (S.COUNCIL_APPROVED, money("3000.00"))
    assert (w.council_fund().committed, w.council_fund().available) == (money("3000.00"), money("2000.00"))
    assert w.budget().committed == Money.zero()


def test_a_council_approval_without_an_amount_approves_the_escalated_amount(council_world):
    request = council_world.escalated("4000.00", amount_requested="6000.00")

    approved = council_world.app.decide_escalation(COUNCIL, request.id, "approve", "Exceptional circumstances.")

    assert approved.amount_approved == money("4000.00")


def test_a_council_approval_above_the_escalated_amount_is_refused_and_writes_nothing(council_world):
    request = council_world.escalated("4000.00", amount_requested="6000.00")

    with writes_nothing(council_world.app), pytest.raises(AmountNotAllowed):
        council_world.app.decide_escalation(COUNCIL, request.id, "approve", "Generous.", "4000.01")


def test_a_council_approval_beyond_the_fund_raises_insufficient_funds_and_writes_nothing(council_world):
    request = council_world.escalated("6000.00", amount_requested="6000.00")

    with writes_nothing(council_world.app), pytest.raises(InsufficientFunds):
        council_world.app.decide_escalation(COUNCIL, request.id, "approve", "Exceptional circumstances.")

    assert council_world.status(request) is S.ESCALATED


def test_a_council_decline_is_final_and_commits_nothing(council_world):
    w = council_world
    request = w.escalated("4000.00", amount_requested="6000.00")

    declined = w.app.decide_escalation(COUNCIL, request.id, "decline", "Not exceptional.")

    assert declined.status is S.COUNCIL_DECLINED
    assert w.council_fund().committed == Money.zero()
    with writes_nothing(w.app), pytest.raises(InvalidTransition):
        w.app.decide_escalation(COUNCIL, request.id, "approve", "Changed our mind.")


def test_a_council_decision_on_a_request_that_is_not_escalated_is_refused_and_writes_nothing(council_world):
    request = council_world.evidenced()

    with writes_nothing(council_world.app), pytest.raises(InvalidTransition):
        council_world.app.decide_escalation(COUNCIL, request.id, "approve", "Exceptional circumstances.")


# ================================================================================================
# Payments
# ================================================================================================


def test_a_partial_payment_leaves_the_request_approved_with_the_amount_paid(world):
    request = world.approved("1000.00")

    paid = world.app.record_payment(FINANCE, request.id, "400.00", "BACS-0001")

    assert (paid.status, paid.amount_paid, paid.amount_outstanding) == (
        S.CLUSTER_APPROVED,
        money("400.00"),
        money("600.00"),
    )
    assert world.budget().paid == money("400.00")


def test_payments_reaching_the_approved_amount_make_the_request_paid(world):
    request = world.approved("1000.00")
    world.app.record_payment(FINANCE, request.id, "400.00", "BACS-0001")

    paid = world.app.record_payment(FINANCE, request.id, "600.00", "BACS-0002")

    assert (paid.status, paid.amount_paid) == (S.PAID, money("1000.00"))
    budget = world.budget()
    assert (budget.paid, budget.committed, budget.available) == (money("1000.00"), money("1000.00"), money("4000.00"))


def test_a_payment_beyond_the_approved_amount_is_refused_and_writes_nothing(world):
    request = world.approved("1000.00")
    world.app.record_payment(FINANCE, request.id, "400.00", "BACS-0001")

    with writes_nothing(world.app), pytest.raises(PaymentExceedsApproved):
        world.app.record_payment(FINANCE, request.id, "600.01", "BACS-0002")


def test_a_paid_request_takes_no_further_payment(world):
    request = world.approved("1000.00")
    world.app.record_payment(FINANCE, request.id, "1000.00", "BACS-0001")

    with writes_nothing(world.app), pytest.raises(InvalidTransition):
        world.app.record_payment(FINANCE, request.id, "0.01", "BACS-0002")


def test_a_payment_on_an_unapproved_request_is_refused_and_writes_nothing(world):
    request = world.evidenced()

    with writes_nothing(world.app), pytest.raises(InvalidTransition):
        world.app.record_payment(FINANCE, request.id, "100.00", "BACS-0001")


def test_a_council_approved_request_is_paid_from_the_council_fund(council_world):
    w = council_world
    request = w.escalated("4000.00", amount_requested="6000.00")
    w.app.decide_escalation(COUNCIL, request.id, "approve", "Exceptional circumstances shown.")

    paid = w.app.record_payment(FINANCE, request.id, "4000.00", "BACS-0100")

    assert paid.status is S.PAID
    assert (w.council_fund().paid, w.council_fund().committed) == (money("4000.00"), money("4000.00"))
    assert w.budget().paid == Money.zero()


# ================================================================================================
# Permissions: every command refused for the wrong role and the wrong scope, writing nothing
# ================================================================================================


@dataclass
class Command:
    """A use case with the state it needs, so the right actor succeeds and any other is refused."""

    allowed: str  # the World attribute (or "council", "finance") naming who may run it
    prepare: Callable[[World], Any]
    run: Callable[[World, Actor, Any, int | None], Any]
    versioned_by: str | None = None  # "request", "budget" or "fund": what expected_version refers to


def _nothing(w: World) -> None:
    return None


def _more_than_available(w: World) -> str:
    """An amount the cluster cannot afford now, so the lead may escalate a request for it."""
    return str(w.budget().available + money("1000.00"))


COMMANDS: dict[str, Command] = {
    "register_cluster": Command(
        "council", _nothing, lambda w, a, t, v: w.app.register_cluster(a, f"{w.cluster}-b", "B")
    ),
    "add_school": Command("council", lambda w: next(_spare_urns), lambda w, a, t, v: w.app.add_school(a, w.cluster, t)),
    "remove_school": Command(
        "council", lambda w: w.school_joining(), lambda w, a, t, v: w.app.remove_school(a, w.cluster, t)
    ),
    "allocate_budget": Command(
        "finance",
        _nothing,
        lambda w, a, t, v: w.app.allocate_budget(a, w.cluster, w.year, "100.00", "top-up", expected_version=v),
        "budget",
    ),
    "allocate_council_fund": Command(
        "finance",
        _nothing,
        lambda w, a, t, v: w.app.allocate_council_fund(a, w.year, "100.00", "top-up", expected_version=v),
        "fund",
    ),
    "commission_service": Command("lead", _nothing, lambda w, a, t, v: w.commission(a, expected_version=v), "budget"),
    "submit_request": Command("head", _nothing, lambda w, a, t, v: w.submit(a)),
    "provide_evidence": Command(
        "head",
        lambda w: w.submit(),
        lambda w, a, t, v: w.app.provide_evidence(a, t.id, **EVIDENCE, expected_version=v),
        "request",
    ),
    "withdraw": Command(
        "head",
        lambda w: w.submit(),
        lambda w, a, t, v: w.app.withdraw(a, t.id, "No longer needed.", expected_version=v),
        "request",
    ),
    "request_information": Command(
        "lead",
        lambda w: w.evidenced(),
        lambda w, a, t, v: w.app.request_information(a, t.id, "Why?", expected_version=v),
        "request",
    ),
    "approve": Command(
        "lead",
        lambda w: w.evidenced(),
        lambda w, a, t, v: w.app.approve(a, t.id, "1000.00", REASON, expected_version=v),
        "request",
    ),
    "decline": Command(
        "lead",
        lambda w: w.evidenced(),
        lambda w, a, t, v: w.app.decline(a, t.id, "other", "No.", expected_version=v),
        "request",
    ),
    "escalate": Command(
        "lead",
        lambda w: w.evidenced(amount_requested=_more_than_available(w)),
        lambda w, a, t, v: w.app.escalate(a, t.id, "4000.00", CIRCUMSTANCES, expected_version=v),
        "request",
    ),
    "decide_escalation": Command(
        "council",
        lambda w: w.escalated("4000.00", amount_requested=_more_than_available(w)),
        lambda w, a, t, v: w.app.decide_escalation(a, t.id, "approve", "Exceptional.", expected_version=v),
        "request",
    ),
    "record_payment": Command(
        "finance",
        lambda w: w.approved(),
        lambda w, a, t, v: w.app.record_payment(a, t.id, "500.00", "BACS-1", expected_version=v),
        "request",
    ),
}
VERSIONED = [name for name, command in COMMANDS.items() if command.versioned_by]


def actor(world: World, who: str) -> Actor:
    return {"council": COUNCIL, "finance": FINANCE}.get(who) or getattr(world, who)


def version_of(world: World, command: Command, target: Any) -> int:
    if command.versioned_by == "budget":
        return world.budget().version
    if command.versioned_by == "fund":
        return world.council_fund().version
    return target.version


ROLES = ["head", "lead", "council", "finance"]
WRONG_SCOPE = {"head": ["second_head", "other_head"], "lead": ["other_lead"]}
SCOPE_NAMES = {
    "second_head": "another-school-in-the-cluster",
    "other_head": "a-school-in-another-cluster",
    "other_lead": "another-clusters-lead",
}


def _refusals() -> list[Any]:
    cases: list[Any] = []
    for name, command in COMMANDS.items():
        cases.extend(pytest.param(name, role, id=f"{name}-by-{role}") for role in ROLES if role != command.allowed)
        cases.extend(
            pytest.param(name, who, id=f"{name}-by-{SCOPE_NAMES[who]}") for who in WRONG_SCOPE.get(command.allowed, [])
        )
    return cases


@pytest.fixture(scope="module")
def shared_world(shared_app: FundingApplication) -> World:
    """One world for the table-driven tests below: each case prepares its own request in it.

    Its budget and fund are large, so the approvals made while preparing many cases never run them dry.
    """
    return World(shared_app, budget="1000000.00", council_fund="1000000.00")


@pytest.mark.parametrize(("name", "who"), _refusals())
def test_a_command_is_refused_for_the_wrong_role_or_scope_and_writes_nothing(shared_world, name, who):
    command = COMMANDS[name]
    target = command.prepare(shared_world)

    wrong_scope = who in SCOPE_NAMES
    # A role that may never run the command is refused; a request outside the caller's school or
    # cluster is not found, word for word as an unknown id, so ids cannot be probed.
    expected = NotFound if wrong_scope and command.versioned_by == "request" else NotPermitted
    with writes_nothing(shared_world.app), pytest.raises(expected) as refused:
        command.run(shared_world, actor(shared_world, who), target, None)
    if expected is NotFound:
        assert str(refused.value) == f"request {target.id} not found"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_succeeds_for_its_own_actor(shared_world, name):
    command = COMMANDS[name]
    target = command.prepare(shared_world)
    before = log_position(shared_world.app)

    command.run(shared_world, actor(shared_world, command.allowed), target, None)

    assert log_position(shared_world.app) > before


@pytest.mark.parametrize("who", ["second_head", "other_head", "other_lead"], ids=SCOPE_NAMES.get)
def test_a_request_may_not_be_read_outside_its_school_and_cluster(shared_world, who):
    request = shared_world.submit()

    with pytest.raises(NotFound) as refused:
        shared_world.app.get_request(actor(shared_world, who), request.id)
    assert str(refused.value) == f"request {request.id} not found"


@pytest.mark.parametrize("who", ROLES)
def test_a_request_is_read_by_its_school_its_clusters_lead_council_and_finance(shared_world, who):
    request = shared_world.submit()

    assert shared_world.app.get_request(actor(shared_world, who), request.id).id == request.id


# ================================================================================================
# Expected versions
# ================================================================================================


@pytest.mark.parametrize("name", VERSIONED)
def test_a_stale_expected_version_raises_stale_version_and_writes_nothing(shared_world, name):
    command = COMMANDS[name]
    target = command.prepare(shared_world)
    stale = version_of(shared_world, command, target) - 1

    with writes_nothing(shared_world.app), pytest.raises(StaleVersion):
        command.run(shared_world, actor(shared_world, command.allowed), target, stale)


@pytest.mark.parametrize("name", VERSIONED)
def test_the_current_expected_version_succeeds_and_moves_the_version_on(shared_world, name):
    command = COMMANDS[name]
    target = command.prepare(shared_world)
    current = version_of(shared_world, command, target)

    result = command.run(shared_world, actor(shared_world, command.allowed), target, current)

    assert result.version > current


def test_expected_version_zero_opens_a_budget_for_a_new_year(world):
    budget = world.app.allocate_budget(FINANCE, world.cluster, "2027-28", "100.00", expected_version=0)

    assert (budget.version, budget.allocated) == (2, money("100.00"))


def test_expected_version_zero_is_stale_once_the_budget_exists(world):
    with writes_nothing(world.app), pytest.raises(StaleVersion):
        world.app.allocate_budget(FINANCE, world.cluster, world.year, "100.00", expected_version=0)


# ================================================================================================
# Not found
# ================================================================================================

REQUEST_CALLS: dict[str, Callable[[World, Any], Any]] = {
    "get_request": lambda w, rid: w.app.get_request(COUNCIL, rid),
    "request_history": lambda w, rid: w.app.request_history(COUNCIL, rid),
    "provide_evidence": lambda w, rid: w.app.provide_evidence(w.head, rid, **EVIDENCE),
    "withdraw": lambda w, rid: w.app.withdraw(w.head, rid, "No longer needed."),
    "request_information": lambda w, rid: w.app.request_information(w.lead, rid, "Why?"),
    "approve": lambda w, rid: w.app.approve(w.lead, rid, "100.00", REASON),
    "decline": lambda w, rid: w.app.decline(w.lead, rid, "other", "No."),
    "escalate": lambda w, rid: w.app.escalate(w.lead, rid, "100.00", CIRCUMSTANCES),
    "decide_escalation": lambda w, rid: w.app.decide_escalation(COUNCIL, rid, "approve", "Yes."),
    "record_payment": lambda w, rid: w.app.record_payment(FINANCE, rid, "100.00", "BACS-1"),
}


@pytest.mark.parametrize("name", list(REQUEST_CALLS))
def test_an_unknown_request_id_raises_not_found_and_writes_nothing(shared_world, name):
    with writes_nothing(shared_world.app), pytest.raises(NotFound):
        REQUEST_CALLS[name](shared_world, uuid.uuid4())


@pytest.mark.parametrize("name", list(REQUEST_CALLS))
def test_a_budgets_id_passed_as_a_request_id_raises_not_found_and_writes_nothing(shared_world, name):
    budget_id = ClusterBudget.id_for(ClusterId(shared_world.cluster), FinancialYear.parse(shared_world.year))

    with writes_nothing(shared_world.app), pytest.raises(NotFound):
        REQUEST_CALLS[name](shared_world, budget_id)


@pytest.mark.parametrize("name", list(REQUEST_CALLS))
def test_a_request_id_given_as_a_string_raises_not_found_and_writes_nothing(shared_world, name):
    request = shared_world.submit()

    with writes_nothing(shared_world.app), pytest.raises(NotFound):
        REQUEST_CALLS[name](shared_world, str(request.id))


def test_a_council_funds_id_passed_as_a_request_id_raises_not_found(shared_world):
    with pytest.raises(NotFound):
        shared_world.app.get_request(COUNCIL, CouncilFund.id_for(FinancialYear.parse(shared_world.year)))
