"""Random command sequences, from random actors, against the real application on both stores.

A hypothesis state machine drives every command of the engine: budget allocations (negative
adjustments included), council fund allocations, submit, evidence, information requests, approve
(sometimes more than requested or than the budget has), decline, escalate, council approve and
decline, withdraw, commissioning, payments (sometimes too much), schools joining and leaving
clusters, and reads of requests, histories, budgets and the fund. Each command comes from the
proper actor two times in three, otherwise from any of: council, finance, the lead of this
cluster, of the other cluster and of an unregistered one, and the heads of schools in this
cluster, the other cluster and none. Amounts are drawn relative to the state (exactly the amount
requested or outstanding or available, below it, above it, or anything), so "just enough" and
"too much" both come up. One rule lets the proper actors carry a request through its next few
natural steps, since purely random rules seldom reach approval and payment.

Next to the application the machine keeps an independent model in integer pence. Before each
command the model works out, from DESIGN.md's and API.md's rules alone, every rule the command
breaks; the application must then succeed if it breaks none, or else raise a ``FundingError`` of
one of those kinds. Any other exception fails the test, and so does a success the model forbids,
a refusal it does not expect, or a refusal of the wrong kind.

After every step one invariant checks, on the application's own aggregates: no budget or fund has
less than zero available; each budget's and the fund's ``committed`` is the sum of the approvals
recorded on the requests it funds, and its ``paid`` the sum of their payments; no request is paid
more than approved; a request is ``paid`` iff ``amount_paid == amount_approved > 0``. It compares
every budget, fund, request and membership with the model. And it compares each aggregate in
memory with the same aggregate reloaded from the store by a second application that keeps no
cache (through snapshots, which some examples take every few events; then also with a replay of
the events alone); the set of aggregates in the event log must be exactly the model's, so a
refused command that wrote anything fails too. After every step that wrote to the log, every
table of every read model (balances, request index, decision log, finance ledger, their helper
tables and the audit chain) must hold exactly the rows ``tests/read_model_oracle.py`` predicts
from the commands that succeeded; that oracle shares no code with the projections.

Each example gets a store of its own: a new SQLite file, or a new PostgreSQL schema, dropped
afterwards. The run is random (not derandomised) with a fixed budget of examples and steps per
store; failures are saved in hypothesis' default example database (``.hypothesis/``) and print a
``@reproduce_failure`` blob, so they can be replayed, e.g. from a CI log. Shrinking a failure can
take a few minutes, as each example builds a store. ``FUNDING_ENGINE_STATEFUL_EXAMPLES=<n>``
multiplies the number of examples, for a longer soak.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from domain.clusters import Cluster, SchoolMembership
from domain.council_terms import CouncilTermAwards, SchoolTerm
from domain.errors import (
    AmountNotAllowed,
    EscalationNotAllowed,
    FundingError,
    InsufficientFunds,
    InvalidTransition,
    InvalidValue,
    NotFound,
    NotPermitted,
    PaymentExceedsApproved,
    SchoolInAnotherCluster,
    SchoolNotInCluster,
)
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, state_of
from domain.money import Money
from domain.values import (
    Actor,
    ClusterId,
    CommissionedService,
    DecisionKind,
    DeclineReasonCode,
    FinancialYear,
    RequestStatus,
    Role,
    SchoolUrn,
)
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import today_in_england
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from tests.conftest import _drop_schema, postgres_base_url
from tests.read_model_oracle import ReadModelOracle
from tests.support import (
    CLUSTER,
    CLUSTER_NAMES,
    COUNCIL,
    EVIDENCE,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    OTHER_HEAD,
    OTHER_LEAD,
    OTHER_SCHOOL,
    SCHOOL,
    SECOND_HEAD,
    SECOND_SCHOOL,
    YEAR,
    set_up_world,
    submission,
)

S = RequestStatus
K = DecisionKind

# -- the world ------------------------------------------------------------------------------------

NEXT_YEAR = "2027-28"
YEARS = [YEAR, NEXT_YEAR]
GHOST_CLUSTER = "ghost-cluster"  # never registered
REGISTERED_CLUSTERS = [CLUSTER, OTHER_CLUSTER]
CLUSTERS = [*REGISTERED_CLUSTERS, GHOST_CLUSTER]
clusters = st.sampled_from([CLUSTER, CLUSTER, OTHER_CLUSTER, GHOST_CLUSTER])
LONE_SCHOOL = "900999"  # in no cluster at the start
SCHOOLS = [SCHOOL, SECOND_SCHOOL, OTHER_SCHOOL, LONE_SCHOOL]
INITIAL_MEMBERSHIP = {SCHOOL: CLUSTER, SECOND_SCHOOL: CLUSTER, OTHER_SCHOOL: OTHER_CLUSTER}

LONE_HEAD = Actor.school("senco-900999", LONE_SCHOOL)
GHOST_LEAD = Actor.cluster_lead("lead-ghost", GHOST_CLUSTER)
ALL_ACTORS = [COUNCIL, FINANCE, LEAD, OTHER_LEAD, GHOST_LEAD, HEAD, SECOND_HEAD, OTHER_HEAD, LONE_HEAD]

# Few requests per example, so the steps push them through their lives rather than start new ones.
MAX_REQUESTS, MAX_LIVE_REQUESTS = 8, 3

OPEN = {S.SUBMITTED, S.EVIDENCED, S.INFORMATION_REQUESTED}
PAYABLE = {S.CLUSTER_APPROVED, S.COUNCIL_APPROVED}
FINAL = {S.CLUSTER_DECLINED, S.COUNCIL_DECLINED, S.WITHDRAWN, S.PAID}

PROPER = "the proper actor for this command and target"
actors = st.one_of(st.just(PROPER), st.just(PROPER), st.sampled_from(ALL_ACTORS))  # proper 2/3 of the time

# An amount relative to something the state fixes (the amount requested, the outstanding balance,
# the available funds): exactly it, a bit below, above it, or anything at all.
relative = st.tuples(st.sampled_from(["exact", "below", "above", "any"]), st.integers(1, 300_000))


# What schools ask for: anything up to 5,000.00, often a round sum.
request_amounts = st.one_of(st.integers(1, 500_000), st.sampled_from([10_000, 50_000, 150_000, 400_000]))


def resolve(base: int, choice: tuple[str, int]) -> int:
    how, k = choice
    if how == "exact" and base > 0:
        return base
    if how == "below" and base > 1:
        return 1 + k % (base - 1)
    if how == "above":
        return max(base, 0) + k
    return k


def money(pence: int) -> str:
    return str(Money(pence))  # the application parses strings such as "-12.30"


def school_actor(urn: str) -> Actor:
    return Actor.school(f"senco-{urn}", urn)


def lead_actor(cluster_id: str) -> Actor:
    return Actor.cluster_lead(f"lead-{cluster_id}", cluster_id)


def rules_broken(*checks: tuple[bool, type[FundingError]]) -> tuple[type[FundingError], ...]:
    """The kinds of error a command may raise: one per rule it breaks (empty: it must succeed)."""
    return tuple(error for broken, error in checks if broken)


# -- the independent model, in integer pence ---------------------------------------------------------


@dataclass
class FundModel:
    exists: bool = False
    allocated: int = 0
    committed: int = 0
    commissioned: int = 0
    paid: int = 0

    @property
    def available(self) -> int:
        return self.allocated - self.committed - self.commissioned


@dataclass
class RequestModel:
    id: UUID
    school: str
    cluster: str
    year: str
    requested: int
    status: RequestStatus = S.SUBMITTED
    evidenced: bool = False
    escalated: int | None = None
    approved: int = 0
    paid: int = 0
    funded_by: str | None = None
    decisions: list[tuple[DecisionKind, int | None]] = field(default_factory=list)


# -- a store per example -------------------------------------------------------------------------------


class ExampleStores:
    """Hands each hypothesis example an empty store of the test's kind, and removes it afterwards."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.postgres = not database_url.startswith("sqlite")
        self.tmp_path = tmp_path
        self.base = postgres_base_url() if self.postgres else ""

    def new(self) -> tuple[str, Callable[[], None]]:
        name = uuid.uuid4().hex[:16]
        if self.postgres:
            schema = f"stateful_{name}"
            separator = "&" if "?" in self.base else "?"
            return f"{self.base}{separator}schema={schema}", lambda: _drop_schema(self.base, schema)
        path = self.tmp_path / f"example-{name}.sqlite3"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)


def uncached_app(database_url: str) -> FundingApplication:
    """A second application on the same store that keeps no aggregate cache: every read is a reload."""
    return bootstrap(Settings(database_url=database_url), env={"AGGREGATE_CACHE_MAXSIZE": ""})


def fold(events: Any) -> Any:
    """An aggregate rebuilt from its stored events alone, ignoring snapshots."""
    aggregate = None
    for stored in events:
        aggregate = stored.mutate(aggregate)
    return aggregate


# -- the machine --------------------------------------------------------------------------------------------


class FundingMachine(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self, stores: ExampleStores) -> None:
        super().__init__()
        self.url, self.drop_store = stores.new()
        self.app = bootstrap(Settings(database_url=self.url))  # as the `make_app` fixture builds it
        self.reader = uncached_app(self.url)
        # Every read-model table, predicted from the commands that succeed (tests/read_model_oracle.py).
        self.oracle = ReadModelOracle(self.app, self.url, membership=INITIAL_MEMBERSHIP, clusters=CLUSTER_NAMES)
        set_up_world(self.app, budget=None)
        self.oracle.reference_data()
        self.read_models_checked_at = -1  # the log position at which the read models were last compared
        self.registered = set(REGISTERED_CLUSTERS)
        self.membership: dict[str, str | None] = dict(INITIAL_MEMBERSHIP)
        self.budgets = {(c, y): FundModel() for c in CLUSTERS for y in YEARS}
        self.funds = {y: FundModel() for y in YEARS}
        self.model: dict[UUID, RequestModel] = {}
        self.snapshotting_every: int | None = None
        self.log_position = 0  # the last notification the invariant has seen
        self.reloaded: dict[UUID, dict[str, Any]] = {}  # each aggregate's state as last reloaded

    def teardown(self) -> None:
        for application in (self.app, self.reader):
            application.close()
        self.drop_store()

    # -- helpers -----------------------------------------------------------------------------------

    def attempt(self, expected_errors: tuple[type[FundingError], ...], command: Callable[[], Any]) -> Any:
        """Runs a command; it must succeed iff the model expects no error, else fail with one of them.

        Returns what the command returned, or None when it was refused."""
        label = sys._getframe(1).f_code.co_name
        try:
            result = command()
        except FundingError as error:
            event(f"{label}: {type(error).__name__}")
            assert expected_errors, f"the model expected success, but the application raised {error!r}"
            assert isinstance(error, expected_errors), (
                f"the application raised {error!r}; the model expected one of "
                f"{[kind.__name__ for kind in expected_errors]}"
            )
            return None
        assert not expected_errors, (
            f"the application accepted a command the model refuses with {[kind.__name__ for kind in expected_errors]}"
        )
        event(f"{label}: ok")
        if isinstance(result, Aggregate):
            # What the command returned (in memory, just saved) is what the store now holds.
            assert state_of(result) == state_of(self.app.repository.get(result.id))
        return result

    def member_schools(self, cluster_id: str) -> list[str]:
        return [urn for urn, member_of in self.membership.items() if member_of == cluster_id]

    @staticmethod
    def pick(actor: Actor | str, proper: Actor) -> Actor:
        return proper if actor is PROPER else actor  # type: ignore[return-value]

    def not_school(self, actor: Actor, urn: str) -> tuple[bool, type[FundingError]]:
        return (actor.role is not Role.SCHOOL or actor.school_urn != SchoolUrn(urn), NotPermitted)

    def not_lead(self, actor: Actor, cluster_id: str) -> tuple[bool, type[FundingError]]:
        return (actor.role is not Role.CLUSTER_LEAD or actor.cluster_id != ClusterId(cluster_id), NotPermitted)

    # A request outside the caller's school or cluster is not found (a wrong role is still refused).
    def not_the_schools_request(self, actor: Actor, urn: str) -> list[tuple[bool, type[FundingError]]]:
        return [(actor.role is not Role.SCHOOL, NotPermitted), (actor.school_urn != SchoolUrn(urn), NotFound)]

    def not_the_leads_request(self, actor: Actor, cluster_id: str) -> list[tuple[bool, type[FundingError]]]:
        return [
            (actor.role is not Role.CLUSTER_LEAD, NotPermitted),
            (actor.cluster_id != ClusterId(cluster_id), NotFound),
        ]

    # -- set-up ---------------------------------------------------------------------------------------

    @initialize(every=st.sampled_from([None, 2, 3, 5]))
    def snapshotting(self, every: int | None) -> None:
        """Sometimes snapshot often, so reloads go through snapshots (production: every 100 events)."""
        self.snapshotting_every = every
        if every is not None:
            # On purpose on this one application (the library reads the intervals through the
            # instance): the class's own intervals, which every other test uses, stay as they are.
            self.app.snapshotting_intervals = dict.fromkeys(  # type: ignore[misc]
                (ClusterBudget, CouncilFund, Cluster, FundingRequest), every
            )

    @initialize(
        budgets=st.lists(st.sampled_from([0, 20_000, 100_000, 400_000, 1_000_000]), min_size=4, max_size=4),
        funds=st.lists(st.sampled_from([0, 20_000, 100_000, 400_000]), min_size=2, max_size=2),
    )
    def opening_balances(self, budgets: list[int], funds: list[int]) -> None:
        """Often money to start with, of sizes that some requests fit and some do not."""
        pairs = [(c, y) for c in REGISTERED_CLUSTERS for y in YEARS]
        for (cluster_id, year), pence in zip(pairs, budgets, strict=True):
            if pence:
                self.allocate_budget(FINANCE, cluster_id, year, "add", ("any", pence))
        for year, pence in zip(YEARS, funds, strict=True):
            if pence:
                self.allocate_council_fund(FINANCE, year, "add", ("any", pence))

    @initialize(target=requests, urn=st.sampled_from([SCHOOL, SECOND_SCHOOL, OTHER_SCHOOL]), amount=request_amounts)
    def opening_request(self, urn: str, amount: int) -> Any:
        """A request in flight from the start, so short examples reach decisions and payments too."""
        return self.submit(PROPER, urn, YEAR, amount)

    # -- reference data ---------------------------------------------------------------------------------

    @rule(
        actor=actors,
        change=st.sampled_from(["join", "leave"]),
        cluster_id=clusters,
        urn=st.sampled_from(SCHOOLS),
    )
    def change_membership(self, actor: Actor | str, change: str, cluster_id: str, urn: str) -> None:
        """A school joins or leaves a cluster; its requests stay with the cluster it applied to."""
        actor = self.pick(actor, COUNCIL)
        current = self.membership.get(urn)
        if change == "join":
            expected = rules_broken(
                (actor.role is not Role.COUNCIL, NotPermitted),
                (cluster_id not in self.registered, NotFound),
                (current is not None and current != cluster_id, SchoolInAnotherCluster),
            )
            if self.attempt(expected, lambda: self.app.add_school(actor, cluster_id, urn)):
                self.membership[urn] = cluster_id
                self.oracle.school_joined(cluster_id, urn)
        else:
            expected = rules_broken(
                (actor.role is not Role.COUNCIL, NotPermitted),
                (cluster_id not in self.registered, NotFound),
                (current != cluster_id, SchoolNotInCluster),
            )
            if self.attempt(expected, lambda: self.app.remove_school(actor, cluster_id, urn)):
                self.membership[urn] = None
                self.oracle.school_left(urn)

    # -- money in ----------------------------------------------------------------------------------------

    @rule(
        actor=actors,
        cluster_id=clusters,
        year=st.sampled_from(YEARS),
        sign=st.sampled_from(["add", "add", "take back", "zero"]),
        amount=relative,
    )
    def allocate_budget(self, actor: Actor | str, cluster_id: str, year: str, sign: str, amount: Any) -> None:
        actor = self.pick(actor, FINANCE)
        budget = self.budgets[(cluster_id, year)]
        pence = {"add": amount[1], "take back": -resolve(budget.available, amount), "zero": 0}[sign]
        expected = rules_broken(
            (actor.role is not Role.FINANCE, NotPermitted),
            (pence == 0, InvalidValue),
            (cluster_id not in self.registered, NotFound),
            (pence < 0 and -pence > budget.available, InsufficientFunds),
        )
        if self.attempt(expected, lambda: self.app.allocate_budget(actor, cluster_id, year, money(pence), "adj")):
            budget.exists = True
            budget.allocated += pence
            self.oracle.budget_allocated(actor, cluster_id, year, pence, "adj")

    @rule(
        actor=actors,
        year=st.sampled_from(YEARS),
        sign=st.sampled_from(["add", "add", "take back", "zero"]),
        amount=relative,
    )
    def allocate_council_fund(self, actor: Actor | str, year: str, sign: str, amount: Any) -> None:
        actor = self.pick(actor, FINANCE)
        fund = self.funds[year]
        pence = {"add": amount[1], "take back": -resolve(fund.available, amount), "zero": 0}[sign]
        expected = rules_broken(
            (actor.role is not Role.FINANCE, NotPermitted),
            (pence == 0, InvalidValue),
            (pence < 0 and -pence > fund.available, InsufficientFunds),
        )
        if self.attempt(expected, lambda: self.app.allocate_council_fund(actor, year, money(pence), "fund")):
            fund.exists = True
            fund.allocated += pence
            self.oracle.council_fund_allocated(actor, year, pence, "fund")

    @rule(
        actor=actors,
        cluster_id=clusters,
        year=st.sampled_from(YEARS),
        service=st.sampled_from(CommissionedService),
        urns=st.one_of(st.integers(1, 7), st.lists(st.sampled_from(SCHOOLS), max_size=3)),
        amount=relative,
    )
    def commission_service(
        self, actor: Actor | str, cluster_id: str, year: str, service: Any, urns: int | list[str], amount: Any
    ) -> None:
        actor = self.pick(actor, lead_actor(cluster_id))
        budget = self.budgets[(cluster_id, year)]
        pence = resolve(budget.available, amount)
        members = self.member_schools(cluster_id)
        if isinstance(urns, int):  # a bit mask: some of the cluster's current schools
            urns = [urn for bit, urn in enumerate(members) if urns >> bit & 1] or members[:1]
        expected = rules_broken(
            (actor.role is not Role.CLUSTER_LEAD, NotPermitted),
            self.not_lead(actor, cluster_id),
            (cluster_id not in self.registered, NotFound),
            (not urns or len(set(urns)) != len(urns) or any(urn not in members for urn in urns), InvalidValue),
            (pence > budget.available, InsufficientFunds),
        )

        provider = "Broadland Therapy Partnership"
        description = "Speech and language therapy sessions for the named schools this term."

        def command() -> Any:
            return self.app.commission_service(
                actor,
                cluster_id,
                year,
                service=service,
                provider=provider,
                amount=money(pence),
                school_urns=urns,
                description=description,
            )

        if self.attempt(expected, command):
            budget.commissioned += pence
            self.oracle.service_commissioned(
                actor,
                cluster_id,
                year,
                service=service.value,
                provider=provider,
                amount=pence,
                school_urns=urns,
                description=description,
            )

    # -- a request's life ------------------------------------------------------------------------------

    @precondition(
        lambda self: (
            len(self.model) < MAX_REQUESTS
            and sum(r.status not in FINAL for r in self.model.values()) < MAX_LIVE_REQUESTS
        )
    )
    @rule(
        target=requests,
        actor=actors,
        urn=st.sampled_from(SCHOOLS),
        year=st.sampled_from([YEAR, YEAR, YEAR, NEXT_YEAR]),
        requested=request_amounts,
    )
    def submit(self, actor: Actor | str, urn: str, year: str, requested: int) -> Any:
        actor = self.pick(actor, school_actor(urn))
        cluster_id = self.membership.get(urn)
        expected = rules_broken(
            (actor.role is not Role.SCHOOL, NotPermitted),
            self.not_school(actor, urn),
            (cluster_id is None, SchoolNotInCluster),
        )
        fields = submission(school_urn=urn, financial_year=year, amount_requested=money(requested))
        request = self.attempt(expected, lambda: self.app.submit_request(actor, **fields))
        if request is None:
            return multiple()
        assert cluster_id is not None
        self.model[request.id] = RequestModel(request.id, urn, cluster_id, year, requested)
        self.oracle.submitted(actor, request.id, school_urn=urn, year=year, amount=requested,
                              reason=fields["reason"], pupil_count=fields["pupil_count"])  # fmt: skip
        return request.id

    @rule(request_id=requests, actor=actors, valid=st.sampled_from([True, True, True, False]))
    def provide_evidence(self, request_id: UUID, actor: Actor | str, valid: bool) -> None:
        r = self.model[request_id]
        actor = self.pick(actor, school_actor(r.school))
        evidence = EVIDENCE if valid else {**EVIDENCE, "spend": []}
        expected = rules_broken(
            (actor.role is not Role.SCHOOL, NotPermitted),
            *self.not_the_schools_request(actor, r.school),
            (r.status not in OPEN, InvalidTransition),
            (not valid, InvalidValue),
        )
        if self.attempt(expected, lambda: self.app.provide_evidence(actor, request_id, **evidence)):
            r.status, r.evidenced = S.EVIDENCED, True
            self.oracle.evidence_provided(actor, request_id)

    @rule(request_id=requests, actor=actors)
    def request_information(self, request_id: UUID, actor: Actor | str) -> None:
        r = self.model[request_id]
        actor = self.pick(actor, lead_actor(r.cluster))
        expected = rules_broken(
            (actor.role is not Role.CLUSTER_LEAD, NotPermitted),
            *self.not_the_leads_request(actor, r.cluster),
            (r.status not in {S.SUBMITTED, S.EVIDENCED}, InvalidTransition),
        )
        question = "Please show the provision map for last term."
        if self.attempt(expected, lambda: self.app.request_information(actor, request_id, question)):
            r.status = S.INFORMATION_REQUESTED
            r.decisions.append((K.INFORMATION_REQUEST, None))
            self.oracle.information_requested(actor, request_id, question)

    @rule(request_id=requests, actor=actors, amount=relative)
    def approve(self, request_id: UUID, actor: Actor | str, amount: Any) -> None:
        r = self.model[request_id]
        actor = self.pick(actor, lead_actor(r.cluster))
        budget = self.budgets[(r.cluster, r.year)]
        pence = resolve(r.requested, amount)
        expected = rules_broken(
            (actor.role is not Role.CLUSTER_LEAD, NotPermitted),
            *self.not_the_leads_request(actor, r.cluster),
            (r.status is not S.EVIDENCED, InvalidTransition),
            (pence > r.requested, AmountNotAllowed),
            (pence > budget.available, InsufficientFunds),
        )
        reason = "Spend evidence shows the school's own SEN funding is fully used."
        if self.attempt(expected, lambda: self.app.approve(actor, request_id, money(pence), reason)):
            budget.committed += pence
            r.status, r.approved, r.funded_by = S.CLUSTER_APPROVED, pence, "cluster"
            r.decisions.append((K.CLUSTER_APPROVAL, pence))
            self.oracle.approved(actor, request_id, pence, reason)

    @rule(request_id=requests, actor=actors, code=st.sampled_from(DeclineReasonCode))
    def decline(self, request_id: UUID, actor: Actor | str, code: DeclineReasonCode) -> None:
        r = self.model[request_id]
        actor = self.pick(actor, lead_actor(r.cluster))
        expected = rules_broken(
            (actor.role is not Role.CLUSTER_LEAD, NotPermitted),
            *self.not_the_leads_request(actor, r.cluster),
            (r.status not in OPEN, InvalidTransition),
        )
        reason = "Needs can be met from the school's notional SEN budget."
        if self.attempt(expected, lambda: self.app.decline(actor, request_id, code.value, reason)):
            r.status = S.CLUSTER_DECLINED
            r.decisions.append((K.CLUSTER_DECLINE, None))
            self.oracle.declined(actor, request_id, code.value, reason)

    @rule(request_id=requests, actor=actors, amount=relative)
    def escalate(self, request_id: UUID, actor: Actor | str, amount: Any) -> None:
        r = self.model[request_id]
        actor = self.pick(actor, lead_actor(r.cluster))
        available = self.budgets[(r.cluster, r.year)].available
        pence = resolve(r.requested, amount)
        expected = rules_broken(
            (actor.role is not Role.CLUSTER_LEAD, NotPermitted),
            *self.not_the_leads_request(actor, r.cluster),
            (r.status is not S.EVIDENCED, InvalidTransition),
            (pence > r.requested, AmountNotAllowed),
            (available >= r.requested, EscalationNotAllowed),
        )
        statement = "Three new pupils with EHC needs arrived mid-year; the cluster budget is spent."
        if self.attempt(expected, lambda: self.app.escalate(actor, request_id, money(pence), statement)):
            r.status, r.escalated = S.ESCALATED, pence
            r.decisions.append((K.ESCALATION, pence))
            self.oracle.escalated(actor, request_id, pence, statement)

    @rule(
        request_id=requests,
        actor=actors,
        decision=st.sampled_from(["approve", "approve", "decline"]),
        amount=st.one_of(st.none(), relative),
    )
    def council_decision(self, request_id: UUID, actor: Actor | str, decision: str, amount: Any) -> None:
        r = self.model[request_id]
        actor = self.pick(actor, COUNCIL)
        fund = self.funds[r.year]
        escalated = r.escalated if r.escalated is not None else r.requested
        pence = escalated if amount is None else resolve(escalated, amount)
        sent = None if amount is None else money(pence)
        reason = "Exceptional circumstances shown." if decision == "approve" else "Not exceptional."
        if decision == "decline":
            expected = rules_broken(
                (actor.role is not Role.COUNCIL, NotPermitted),
                (sent is not None, InvalidValue),  # a decline carries no amount
                (r.status is not S.ESCALATED, InvalidTransition),
            )
            if self.attempt(expected, lambda: self.app.decide_escalation(actor, request_id, decision, reason, sent)):
                r.status = S.COUNCIL_DECLINED
                r.decisions.append((K.COUNCIL_DECLINE, None))
                self.oracle.council_declined(actor, request_id, reason)
            return
        expected = rules_broken(
            (actor.role is not Role.COUNCIL, NotPermitted),
            (r.status is not S.ESCALATED, InvalidTransition),
            (pence > escalated, AmountNotAllowed),  # an approval defaults to, and is at most, the escalated
            (pence > fund.available, InsufficientFunds),
        )
        if self.attempt(expected, lambda: self.app.decide_escalation(actor, request_id, decision, reason, sent)):
            fund.committed += pence
            r.status, r.approved, r.funded_by = S.COUNCIL_APPROVED, pence, "council"
            r.decisions.append((K.COUNCIL_APPROVAL, pence))
            self.oracle.council_approved(actor, request_id, None if sent is None else pence, reason)

    @rule(request_id=requests, actor=actors)
    def withdraw(self, request_id: UUID, actor: Actor | str) -> None:
        r = self.model[request_id]
        actor = self.pick(actor, school_actor(r.school))
        expected = rules_broken(
            (actor.role is not Role.SCHOOL, NotPermitted),
            *self.not_the_schools_request(actor, r.school),
            (r.status not in OPEN, InvalidTransition),
        )
        if self.attempt(expected, lambda: self.app.withdraw(actor, request_id, "Pupil moved school.")):
            r.status = S.WITHDRAWN
            r.decisions.append((K.WITHDRAWAL, None))
            self.oracle.withdrawn(actor, request_id, "Pupil moved school.")

    @rule(request_id=requests, actor=actors, amount=relative)
    def record_payment(self, request_id: UUID, actor: Actor | str, amount: Any) -> None:
        r = self.model[request_id]
        actor = self.pick(actor, FINANCE)
        pence = resolve(r.approved - r.paid, amount)
        expected = rules_broken(
            (actor.role is not Role.FINANCE, NotPermitted),
            (r.status not in PAYABLE, InvalidTransition),
            (r.paid + pence > r.approved, PaymentExceedsApproved),
        )
        if self.attempt(expected, lambda: self.app.record_payment(actor, request_id, money(pence), "BACS-1")):
            r.paid += pence
            if r.paid == r.approved:
                r.status = S.PAID
            fund = self.funds[r.year] if r.funded_by == "council" else self.budgets[(r.cluster, r.year)]
            fund.paid += pence
            self.oracle.paid(actor, request_id, pence, "BACS-1")

    @rule(request_id=requests, amounts=st.lists(relative, min_size=1, max_size=4))
    def next_steps(self, request_id: UUID, amounts: list[Any]) -> None:
        """The proper actor takes the request's next natural steps, one per amount drawn, until one
        is refused. Amounts stay random (some are too much); without this rule, random rules seldom
        carry a request all the way through approval or escalation to payment."""
        r = self.model[request_id]
        if r.status in FINAL:  # take another request still in flight, if there is one
            live = [other for other in self.model.values() if other.status not in FINAL]
            if not live:
                return
            r = live[amounts[0][1] % len(live)]
        for amount in amounts:
            before = (r.status, r.paid)
            self.next_step(r, amount)
            if (r.status, r.paid) == before:
                break

    @rule(request_id=requests)
    def settle(self, request_id: UUID) -> None:
        """The proper actors take a request through its remaining steps with exact amounts (all that
        was asked for, escalated or is outstanding, or all the money there is) up to payment in full.
        Random amounts seldom get that far, and then the ledger's running balances, the paid figures
        and the paid status would seldom be tested at all."""
        r = self.model[request_id]
        if r.status in FINAL:
            live = [other for other in self.model.values() if other.status not in FINAL]
            if not live:
                return
            r = live[0]
        for _ in range(5):  # evidence, approval or escalation, the council's decision, payment
            before = (r.status, r.paid)
            self.next_step(r, ("exact", 1))
            if (r.status, r.paid) == before:
                break

    def next_step(self, r: RequestModel, amount: Any) -> None:
        how, k = amount
        budget = self.budgets[(r.cluster, r.year)].available
        fund = self.funds[r.year].available
        if r.status in (S.SUBMITTED, S.INFORMATION_REQUESTED):
            self.provide_evidence(r.id, PROPER, True)
        elif r.status is S.EVIDENCED:
            if budget >= r.requested:
                self.approve(r.id, PROPER, amount)
            elif how == "above":  # the whole amount requested, more than the budget has
                self.approve(r.id, PROPER, ("exact", k))
            elif budget > 0 and k % 2:  # part of it, as much as the budget can afford or less
                within = min(budget, r.requested)
                self.approve(r.id, PROPER, ("any", within if how == "exact" else 1 + k % within))
            else:
                self.escalate(r.id, PROPER, amount)
        elif r.status is S.ESCALATED:
            escalated = r.escalated or r.requested
            if fund >= escalated:
                self.council_decision(r.id, PROPER, "approve", None if how == "exact" else amount)
            elif how == "above":  # the whole escalated amount, more than the fund has
                self.council_decision(r.id, PROPER, "approve", None)
            elif fund > 0 and k % 2:
                within = min(fund, escalated)
                choice = ("any", within if how == "exact" else 1 + k % within)
                self.council_decision(r.id, PROPER, "approve", choice)
            else:
                self.council_decision(r.id, PROPER, "decline", None)
        elif r.status in PAYABLE:
            self.record_payment(r.id, PROPER, amount)

    @rule(
        actor=actors,
        command=st.sampled_from(
            ["evidence", "information", "approve", "decline", "escalate", "council", "withdraw", "pay", "read"]
        ),
        request_id=st.uuids(),
    )
    def act_on_an_unknown_request(self, actor: Actor | str, command: str, request_id: UUID) -> None:
        actor = self.pick(actor, COUNCIL)
        app, role = self.app, actor.role
        commands: dict[str, tuple[set[Role], Callable[[], Any]]] = {
            "evidence": ({Role.SCHOOL}, lambda: app.provide_evidence(actor, request_id, **EVIDENCE)),
            "information": ({Role.CLUSTER_LEAD}, lambda: app.request_information(actor, request_id, "Why?")),
            "approve": ({Role.CLUSTER_LEAD}, lambda: app.approve(actor, request_id, "1.00", "Fine.")),
            "decline": ({Role.CLUSTER_LEAD}, lambda: app.decline(actor, request_id, "other", "No.")),
            "escalate": ({Role.CLUSTER_LEAD}, lambda: app.escalate(actor, request_id, "1.00", "Exceptional.")),
            "council": ({Role.COUNCIL}, lambda: app.decide_escalation(actor, request_id, "approve", "Yes.")),
            "withdraw": ({Role.SCHOOL}, lambda: app.withdraw(actor, request_id, "Gone.")),
            "pay": ({Role.FINANCE}, lambda: app.record_payment(actor, request_id, "1.00", "BACS-0")),
            "read": (set(Role), lambda: app.get_request(actor, request_id)),
        }
        roles, call = commands[command]
        self.attempt(rules_broken((role not in roles, NotPermitted), (True, NotFound)), call)

    # -- reads: who may see what -------------------------------------------------------------------------

    @rule(request_id=requests, actor=actors)
    def read_request(self, request_id: UUID, actor: Actor | str) -> None:
        r = self.model[request_id]
        actor = self.pick(actor, school_actor(r.school))
        expected = rules_broken(
            (actor.role is Role.SCHOOL and actor.school_urn != SchoolUrn(r.school), NotFound),
            (actor.role is Role.CLUSTER_LEAD and actor.cluster_id != ClusterId(r.cluster), NotFound),
        )
        self.attempt(expected, lambda: self.app.get_request(actor, request_id))
        history = self.attempt(expected, lambda: self.app.request_history(actor, request_id))
        if history is not None:
            assert len(history) == self.app.repository.get(request_id).version

    @rule(actor=actors, cluster_id=st.one_of(st.none(), clusters), year=st.sampled_from(YEARS))
    def read_funds(self, actor: Actor | str, cluster_id: str | None, year: str) -> None:
        """A cluster's budget (``cluster_id``), or the council fund (None)."""
        actor = self.pick(actor, FINANCE)
        if cluster_id is None:
            expected = rules_broken((actor.role not in (Role.COUNCIL, Role.FINANCE), NotPermitted))
            statement = self.attempt(expected, lambda: self.app.get_council_fund(actor, year))
            model = self.funds[year]
        else:
            own_cluster = self.membership.get(str(actor.school_urn)) if actor.school_urn else None
            expected = rules_broken(
                (actor.role is Role.SCHOOL and own_cluster != cluster_id, NotPermitted),
                (actor.role is Role.CLUSTER_LEAD and actor.cluster_id != ClusterId(cluster_id), NotPermitted),
                (cluster_id not in self.registered, NotFound),
            )
            statement = self.attempt(expected, lambda: self.app.get_budget(actor, cluster_id, year))
            model = self.budgets[(cluster_id, year)]
        if statement is not None:
            figures = [getattr(statement, name).pence for name in ("allocated", "committed", "commissioned", "paid")]
            assert figures == [model.allocated, model.committed, model.commissioned, model.paid]
            assert statement.available.pence == model.available
            assert (statement.version > 0) == model.exists  # a year nobody allocated reads as zeros

    # -- invariants --------------------------------------------------------------------------------------
    #
    # One invariant, so each step reads every aggregate once from each source; the checks that
    # follow work on what was read.

    @invariant()
    def the_store_the_books_and_the_model_agree(self) -> None:
        aggregates = self.every_aggregate_reloaded_equals_its_in_memory_state()
        self.check_the_books_balance(aggregates)
        self.check_requests_match_the_model(aggregates)
        self.check_memberships_match_the_model(aggregates)
        self.check_every_read_model_matches_the_oracle()

    def expected_aggregate_ids(self) -> set[UUID]:
        ids = {Cluster.id_for(ClusterId(c)) for c in self.registered}
        ids |= {SchoolMembership.id_for(SchoolUrn(urn)) for urn in self.membership}
        ids |= {
            ClusterBudget.id_for(ClusterId(c), FinancialYear.parse(y))
            for (c, y), budget in self.budgets.items()
            if budget.exists
        }
        ids |= {CouncilFund.id_for(FinancialYear.parse(y)) for y, fund in self.funds.items() if fund.exists}
        if any(request.funded_by == "council" for request in self.model.values()):
            # Issue 14: council approvals are counted in their term's tally, against its cap.
            ids.add(CouncilTermAwards.id_for(SchoolTerm.containing(today_in_england())))
        return ids | set(self.model)

    def every_aggregate_reloaded_equals_its_in_memory_state(self) -> dict[UUID, Any]:
        """Every aggregate in the log, as the application holds it in memory (its cache, brought up
        to date), must equal, in every attribute, the aggregate as a fresh, uncached application
        reloads it from the store (through snapshots when there are any); with snapshots, the reload
        must also equal a replay of the aggregate's events alone. No attribute is excluded: none is
        volatile, since every one (timestamps included) is set from the stored events.

        The reload is redone for each aggregate the log shows new events for since the last step
        (which includes any a refused command wrote by mistake); for the others the store holds
        exactly what it held at their last reload, so that reloaded state is reused. The in-memory
        side is read afresh for every aggregate at every step, so an in-memory copy that drifts
        from the store without a write is caught too."""
        new = self.app.recorder.select_notifications(self.log_position + 1, 100_000)
        if new:
            self.log_position = new[-1].id
        for aggregate_id in {notification.originator_id for notification in new}:
            assert isinstance(aggregate_id, UUID)  # the engine's aggregates all have UUIDs
            reloaded = state_of(self.reader.repository.get(aggregate_id))
            if self.snapshotting_every is not None:
                replayed = state_of(fold(self.reader.events.get(aggregate_id)))
                assert reloaded == replayed, f"{aggregate_id}: reloading through a snapshot differs from a replay"
            self.reloaded[aggregate_id] = reloaded
        assert set(self.reloaded) == self.expected_aggregate_ids(), "the log holds other aggregates than expected"
        aggregates: dict[UUID, Aggregate] = {}
        for aggregate_id, reloaded in self.reloaded.items():
            in_memory: Aggregate = self.app.repository.get(aggregate_id)
            assert state_of(in_memory) == reloaded, f"{aggregate_id}: the stored state differs from the in-memory"
            aggregates[aggregate_id] = in_memory
        return aggregates

    def check_the_books_balance(self, aggregates: dict[UUID, Any]) -> None:
        """The application's own figures obey the rules, and equal the model's."""
        committed: dict[UUID, int] = {}
        paid: dict[UUID, int] = {}
        for request in aggregates.values():
            if not isinstance(request, FundingRequest):
                continue
            approved, got = request.amount_approved.pence, request.amount_paid.pence
            assert 0 <= got <= approved <= request.amount_requested.pence, request.id
            assert (request.status is S.PAID) == (got == approved > 0), request.status
            assert (approved > 0) == (request.status in (PAYABLE | {S.PAID})), request.status
            budget_id = ClusterBudget.id_for(request.cluster_id, request.financial_year)
            fund_id = CouncilFund.id_for(request.financial_year)
            for decision in request.decisions:
                if decision.kind in (K.CLUSTER_APPROVAL, K.COUNCIL_APPROVAL):
                    assert decision.amount is not None
                    funder = budget_id if decision.kind is K.CLUSTER_APPROVAL else fund_id
                    committed[funder] = committed.get(funder, 0) + decision.amount.pence
            if request.funded_by is not None:
                funder = budget_id if request.funded_by == "cluster" else fund_id
                paid[funder] = paid.get(funder, 0) + got

        models = {
            ClusterBudget.id_for(ClusterId(c), FinancialYear.parse(y)): budget
            for (c, y), budget in self.budgets.items()
        }
        models.update({CouncilFund.id_for(FinancialYear.parse(y)): fund for y, fund in self.funds.items()})
        for fund_id, fund in aggregates.items():
            if not isinstance(fund, (ClusterBudget, CouncilFund)):
                continue
            label = fund.label
            figures = {name: money.pence for name, money in fund.figures().named().items()}
            assert figures["available"] >= 0, f"{label} is overdrawn: {figures}"
            assert figures["available"] == figures["allocated"] - figures["committed"] - figures["commissioned"]
            assert figures["committed"] == committed.get(fund_id, 0), f"{label}: committed is not its approvals"
            assert figures["paid"] == paid.get(fund_id, 0), f"{label}: paid is not the payments on its requests"
            assert figures["paid"] <= figures["committed"], label
            model = models[fund_id]
            assert figures == {
                "allocated": model.allocated,
                "committed": model.committed,
                "commissioned": model.commissioned,
                "available": model.available,
                "paid": model.paid,
            }, f"{label}: the application's figures differ from the model's"
        # Approvals and payments only ever land on a budget or fund that exists.
        assert set(committed) | set(paid) <= set(aggregates)

    def check_requests_match_the_model(self, aggregates: dict[UUID, Any]) -> None:
        for request_id, r in self.model.items():
            request = aggregates[request_id]
            assert (request.status, str(request.school_urn), str(request.cluster_id), str(request.financial_year)) == (
                r.status,
                r.school,
                r.cluster,
                r.year,
            )
            assert (request.amount_requested.pence, request.amount_approved.pence, request.amount_paid.pence) == (
                r.requested,
                r.approved,
                r.paid,
            )
            assert request.funded_by == r.funded_by
            assert (request.amount_escalated.pence if request.amount_escalated else None) == r.escalated
            assert (request.evidence is not None) == r.evidenced
            decisions = [(d.kind, d.amount.pence if d.amount is not None else None) for d in request.decisions]
            assert decisions == r.decisions

    def check_every_read_model_matches_the_oracle(self) -> None:
        """Every table of every read model, as a query sees it, row by row against the oracle's
        prediction; only after steps that wrote to the log (the tables change with nothing else)."""
        if self.log_position == self.read_models_checked_at:
            return
        assert self.app.read_side is not None
        self.app.read_side.make_fresh()
        self.oracle.assert_read_models_match(self.app.read_side.database)
        self.read_models_checked_at = self.log_position

    def check_memberships_match_the_model(self, aggregates: dict[UUID, Any]) -> None:
        for aggregate in aggregates.values():
            if isinstance(aggregate, SchoolMembership):
                member_of = str(aggregate.cluster_id) if aggregate.cluster_id else None
                assert member_of == self.membership[str(aggregate.school_urn)], aggregate.school_urn
            elif isinstance(aggregate, Cluster):
                urns = [str(urn) for urn in aggregate.school_urns]
                assert urns == sorted(self.member_schools(str(aggregate.cluster_id))), aggregate.cluster_id


# -- running it on both stores -------------------------------------------------------------------------

SOAK = int(os.environ.get("FUNDING_ENGINE_STATEFUL_EXAMPLES", "1") or "1")

COMMON: dict[str, Any] = {
    "deadline": None,
    "derandomize": False,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow],
}
SETTINGS = {
    "sqlite": settings(max_examples=50 * SOAK, stateful_step_count=40, **COMMON),
    "postgres": settings(max_examples=20 * SOAK, stateful_step_count=30, **COMMON),
}


def test_random_commands_from_random_actors_keep_the_books_straight(database_url: str, tmp_path: Path) -> None:
    """Runs on SQLite and PostgreSQL (``database_url`` is parametrised); each example gets a new store."""
    stores = ExampleStores(database_url, tmp_path)
    kind = "postgres" if stores.postgres else "sqlite"
    run_state_machine_as_test(lambda: FundingMachine(stores), settings=SETTINGS[kind])  # type: ignore[arg-type]
