"""Random sequences of the money after a decision, through the application, on both stores.

A hypothesis state machine drives the application on a store of its own per example: allocations
(some taken back) to the cluster's budgets and the council fund over three financial years,
requests approved by the lead or, escalated, by the council with random award periods (some
spanning two financial years, some the next year's budget has no allocation for yet), schedules
and held instalments; holds and lifts; payments of a named instalment or in order; releases;
recoveries raised and received; declines of what waits; and year closes with carry-forward.

Before each command the machine works out, from the rules and the state the application holds,
which refusals it may meet; the command must then succeed if none, or else fail with one of them
and write nothing. After every step, read afresh from the store by an application with no cache:
no budget or fund has less than zero available or pays more than it committed; no award pays more
than it approved; every award keeps ``committed = paid + scheduled unpaid + held``; each budget's
and fund's figures are the sums of its awards' shares of its year (less what recoveries brought
back), its allocations are what finance allocated and carried forward, and its income is the
recoveries received once it was closed. Reconciliation runs at random points and at the end of
every example, and must find every read model consistent with the log.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
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

from domain.awards import AwardTerms, InstalmentNotPayable, RecoveryNotAllowed
from domain.errors import (
    AmountNotAllowed,
    Conflict,
    EscalationNotAllowed,
    FundingError,
    InsufficientFunds,
    InvalidTransition,
    InvalidValue,
    PaymentExceedsApproved,
    YearClosed,
    YearNotClosable,
)
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund, state_of
from domain.lifecycle import AWAITING_COUNCIL, OPEN_STATUSES, PAYABLE_STATUSES, RECOVERABLE_STATUSES
from domain.money import Money
from domain.schedules import AwardPeriod, ScheduleKind
from domain.values import Actor, ClusterId, FinancialYear, RequestStatus
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from tests.integration.test_stateful import ExampleStores, relative, resolve, uncached_app
from tests.support import (
    CLUSTER,
    COUNCIL,
    EVIDENCE,
    FINANCE,
    LEAD,
    SCHOOL,
    SECOND_SCHOOL,
    log_position,
    set_up_world,
    submission,
)

S = RequestStatus
YEARS = [FinancialYear(2026), FinancialYear(2027), FinancialYear(2028)]
REQUEST_YEARS = st.sampled_from([YEARS[0], YEARS[0], YEARS[1]])
CARRIED_INTO = FinancialYear(2029)  # where closing the last year carries money forward to
MAX_REQUESTS = 8
CLOSING_FROM_STEP = 12
# Rules are drawn from a list in name order, which favours the first ("allocate"): a cap leaves
# the steps to the award's commands.
MAX_ALLOCATIONS = 12
FUNDERS = st.sampled_from(["cluster", "council"])
AWARDED = st.integers(0, 1_000)  # which of the approved requests


def money(pence: int) -> str:
    return str(Money(pence))


def fund_id(funder: str, year: FinancialYear) -> UUID:
    return ClusterBudget.id_for(ClusterId(CLUSTER), year) if funder == "cluster" else CouncilFund.id_for(year)


FUND_IDS = {
    fund_id(funder, year): (funder, year) for funder in ("cluster", "council") for year in [*YEARS, CARRIED_INTO]
}

# An award's terms: where its period starts in the request's year (a few days past its end are
# refused), how long it runs, how it is paid, and which of its first instalments are held.
periods = st.tuples(
    # 1 September, 1 October, 1 January, 1 March: academic years and parts of them run into the next.
    st.one_of(st.integers(0, 364), st.sampled_from([153, 183, 275, 334, 364]), st.sampled_from([366, 400])),
    st.one_of(st.integers(0, 364), st.sampled_from([0, 30, 213, 364])),
    st.sampled_from(ScheduleKind),
    st.one_of(st.just([]), st.just([]), st.lists(st.integers(1, 4), max_size=2, unique=True)),
)
terms = st.one_of(st.none(), periods, periods, periods)  # None: the request's whole financial year, termly
# Requests and allocations: round sums mostly (whole terms and months divide them unevenly), any
# sum from a penny sometimes.
amounts = st.one_of(st.sampled_from([100_000, 120_000, 360_000, 50_000]), st.integers(1, 300_000))


WITHIN = st.tuples(st.sampled_from(["exact", "below"]), st.integers(1, 300_000))  # of the amount requested
BY_COUNCIL = st.sampled_from([False, False, True])


def plain_terms(drawn: Any, year: FinancialYear) -> dict[str, Any]:
    """The approval's keyword arguments for the drawn terms of a request of ``year``."""
    if drawn is None:
        return {}
    offset, length, schedule, held = drawn
    starts_on = year.starts_on + timedelta(days=offset)
    period = {"starts_on": starts_on.isoformat(), "ends_on": (starts_on + timedelta(days=length)).isoformat()}
    holds = [{"number": number, "condition": "a reviewed provision plan"} for number in held]
    return {"award_period": period, "schedule": schedule.value, "held_instalments": holds}


class MoneyMachine(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self, stores: ExampleStores) -> None:
        super().__init__()
        self.url, self.drop_store = stores.new()
        self.app = bootstrap(Settings(database_url=self.url))
        self.reader = uncached_app(self.url)
        set_up_world(self.app, budget=None)
        self.request_ids: list[UUID] = []
        self.awarded: list[UUID] = []
        # What finance allocated to each fund (carry-forwards moved included), which are closed,
        # and the recoveries each received once closed: the figures the machine knows on its own.
        self.allocated: dict[UUID, int] = dict.fromkeys(FUND_IDS, 0)
        self.closed: set[UUID] = set()
        self.income: dict[UUID, int] = dict.fromkeys(FUND_IDS, 0)
        # What each fund holds committed ahead of its allocation, by the rules for it alone: an
        # award's share for a later year with nothing allocated, covered by allocations first
        # and given back first by releases.
        self.forward: dict[UUID, int] = dict.fromkeys(FUND_IDS, 0)
        self.ahead: dict[UUID, int] = {}  # the shares the approval being tried would commit ahead
        self.steps = 0
        self.allocations = 0

    def teardown(self) -> None:
        try:
            self.everything_reconciles()
        finally:
            for application in (self.app, self.reader):
                application.close()
            self.drop_store()

    # -- helpers -----------------------------------------------------------------------------------

    def attempt(self, expected: list[type[FundingError]], command: Callable[[], Any]) -> Any:
        """Runs a command: it must succeed iff nothing is expected, else fail with one of those and
        write nothing. Returns what the command returned, or None when it was refused."""
        label = sys._getframe(1).f_code.co_name
        before = log_position(self.app)
        try:
            result = command()
        except FundingError as error:
            event(f"{label}: {type(error).__name__}")
            assert expected, f"{label}: the rules allow it, but the application raised {error!r}"
            assert isinstance(error, tuple(expected)), f"{label}: {error!r}, expected one of {expected}"
            assert log_position(self.app) == before, f"{label}: a refused command wrote to the log"
            return None
        event(f"{label}: ok")
        assert not expected, f"{label}: the application accepted what the rules refuse with {expected}"
        return result

    def fund(self, funder: str, year: FinancialYear) -> Fund | None:
        try:
            found: Fund = self.app.repository.get(fund_id(funder, year))
        except AggregateNotFoundError:
            return None
        return found

    def request(self, request_id: UUID) -> FundingRequest:
        found: FundingRequest = self.app.repository.get(request_id)
        return found

    def decider(self, request: FundingRequest) -> Actor:
        return COUNCIL if request.funded_by == "council" else LEAD

    def award_errors(self, request: FundingRequest, funder: str, pence: int, drawn: Any) -> list[type[FundingError]]:
        """What may refuse an award of ``pence`` on the drawn terms: the terms, or a fund of a year."""
        period = None
        if drawn is not None:
            arguments = plain_terms(drawn, request.financial_year)
            period = AwardPeriod.parse(arguments["award_period"])
        schedule = ScheduleKind.TERMLY if drawn is None else drawn[2]
        holds = () if drawn is None else tuple((number, "a reviewed provision plan") for number in drawn[3])
        try:
            award = AwardTerms(
                period, schedule, holds, self.app.policy_in_force(request.cluster_id).instalment_shares
            ).award_for(Money(pence), request.financial_year)
        except InvalidValue:
            return [InvalidValue]
        errors: list[type[FundingError]] = []
        self.ahead = {}
        for year in award.financial_years():
            fund = self.fund(funder, year)
            if fund is not None and fund.closed:
                errors.append(YearClosed)
                continue
            allocated = fund.allocated.pence if fund else 0
            if year != request.financial_year and allocated == 0:
                self.ahead[fund_id(funder, year)] = award.share_of(year).pence
                continue  # committed ahead, whatever its size
            forward = fund.forward.pence if fund else 0
            available = fund.available.pence if fund else 0
            if forward > 0 or award.share_of(year).pence > available:
                errors.append(InsufficientFunds)
        return errors

    def committed_ahead(self) -> None:
        for aggregate_id, share in self.ahead.items():
            self.forward[aggregate_id] += share

    def covered(self, aggregate_id: UUID, allocated: int) -> None:
        if allocated > 0:
            self.forward[aggregate_id] -= min(allocated, self.forward[aggregate_id])

    # -- money in ------------------------------------------------------------------------------------

    @initialize(
        cluster=st.tuples(
            st.sampled_from([0, 50_000, 400_000, 2_000_000]), *[st.sampled_from([0, 0, 400_000, 2_000_000])] * 2
        ),
        council=st.tuples(st.sampled_from([0, 100_000, 2_000_000]), *[st.sampled_from([0, 0, 2_000_000])] * 2),
        academic_year=st.tuples(amounts, st.sampled_from(ScheduleKind), BY_COUNCIL),
        awards=st.lists(st.tuples(REQUEST_YEARS, amounts, WITHIN, terms, BY_COUNCIL), min_size=1, max_size=3),
    )
    def opening_books(
        self, cluster: tuple[int, ...], council: tuple[int, ...], academic_year: Any, awards: list[Any]
    ) -> None:
        """Often money to start with, and often none for a later year, so awards commit ahead on
        it; then an award for the academic year from 1 September (across two financial years) and
        a few others, those the money allows, so every example has money to move."""
        for funder, allocations in (("cluster", cluster), ("council", council)):
            for year, pence in zip(YEARS, allocations, strict=True):
                if pence:
                    self.allocate(funder, year, pence, False)
        requested, schedule, by_council = academic_year
        self.approved_request(YEARS[0], requested, ("exact", 1), (153, 364, schedule, []), by_council)
        for award in awards:
            self.approved_request(*award)

    @precondition(lambda self: self.allocations < MAX_ALLOCATIONS)
    @rule(funder=FUNDERS, year=st.sampled_from(YEARS), pence=amounts, take_back=st.sampled_from([False] * 3 + [True]))
    def allocate(self, funder: str, year: FinancialYear, pence: int, take_back: bool) -> None:
        fund = self.fund(funder, year)
        available = fund.available.pence if fund else 0
        if take_back:
            pence = -resolve(available, ("below", pence))
        expected: list[type[FundingError]] = []
        if fund is not None and fund.closed:
            expected.append(YearClosed)
        if -pence > available:
            expected.append(InsufficientFunds)

        def command() -> Fund:
            if funder == "cluster":
                return self.app.allocate_budget(FINANCE, CLUSTER, year, money(pence), "allocation")
            return self.app.allocate_council_fund(FINANCE, year, money(pence), "fund")

        self.allocations += 1
        if self.attempt(expected, command):
            self.allocated[fund_id(funder, year)] += pence
            self.covered(fund_id(funder, year), pence)

    # -- decisions -----------------------------------------------------------------------------------

    @precondition(lambda self: len(self.request_ids) < MAX_REQUESTS)
    @rule(target=requests, year=REQUEST_YEARS, requested=amounts, second=st.booleans())
    def evidenced_request(self, year: FinancialYear, requested: int, second: bool) -> Any:
        urn = SECOND_SCHOOL if second else SCHOOL
        head = Actor.school(f"senco-{urn}", urn)
        budget = self.fund("cluster", year)
        expected: list[type[FundingError]] = [YearClosed] if budget is not None and budget.closed else []
        fields = submission(school_urn=urn, financial_year=str(year), amount_requested=money(requested))
        submitted = self.attempt(expected, lambda: self.app.submit_request(head, **fields))
        if submitted is None:
            return multiple()
        self.app.provide_evidence(head, submitted.id, **EVIDENCE)
        self.request_ids.append(submitted.id)
        return submitted.id

    @precondition(lambda self: len(self.request_ids) < MAX_REQUESTS)
    @rule(
        target=requests,
        year=REQUEST_YEARS,
        requested=amounts,
        within=WITHIN,
        drawn=terms,
        by_council=BY_COUNCIL,
    )
    def approved_request(self, year: FinancialYear, requested: int, within: Any, drawn: Any, by_council: bool) -> Any:
        """A new request, evidenced, and approved on random terms by the lead or, escalated, the council."""
        request_id = self.evidenced_request(year, requested, False)
        if isinstance(request_id, UUID):
            if by_council:
                self.escalate_and_decide(request_id, within, drawn)
            else:
                self.approve(request_id, within, drawn)
        return request_id

    @rule(request_id=requests, amount=relative, drawn=terms)
    def approve(self, request_id: UUID, amount: Any, drawn: Any) -> None:
        request = self.request(request_id)
        pence = resolve(request.amount_requested.pence, amount)
        if request.status is not S.EVIDENCED:
            expected: list[type[FundingError]] = [InvalidTransition]
        elif pence > request.amount_requested.pence:
            expected = [AmountNotAllowed]
        else:
            expected = self.award_errors(request, "cluster", pence, drawn)
        reason = "Spend evidence shows the school's own SEN funding is used."
        arguments = plain_terms(drawn, request.financial_year)
        if self.attempt(expected, lambda: self.app.approve(LEAD, request_id, money(pence), reason, **arguments)):
            self.awarded.append(request_id)
            self.committed_ahead()

    @rule(request_id=requests, amount=relative, drawn=terms)
    def escalate_and_decide(self, request_id: UUID, amount: Any, drawn: Any) -> None:
        """The lead escalates (if the cluster cannot afford it) and the council approves on terms."""
        request = self.request(request_id)
        if request.status is S.EVIDENCED:
            budget = self.fund("cluster", request.financial_year)
            available = budget.available.pence if budget else 0
            requested = request.amount_requested.pence
            expected: list[type[FundingError]] = [EscalationNotAllowed] if available >= requested else []
            statement = "Three pupils with EHC plans arrived mid-year; the cluster budget is spent."
            self.attempt(expected, lambda: self.app.escalate(LEAD, request_id, money(requested), statement))
            request = self.request(request_id)
        if request.status is not S.ESCALATED:
            return
        escalated = request.amount_escalated.pence if request.amount_escalated else 0
        pence = resolve(escalated, amount)
        expected = [AmountNotAllowed] if pence > escalated else self.award_errors(request, "council", pence, drawn)
        arguments = plain_terms(drawn, request.financial_year)

        def decide() -> FundingRequest:
            return self.app.decide_escalation(COUNCIL, request_id, "approve", "Exceptional.", money(pence), **arguments)

        if self.attempt(expected, decide):
            self.awarded.append(request_id)
            self.committed_ahead()

    @rule(request_id=requests)
    def decline_what_waits(self, request_id: UUID) -> None:
        """A waiting request is declined, so that its year can close."""
        request = self.request(request_id)
        if request.status in OPEN_STATUSES:
            self.attempt([], lambda: self.app.decline(LEAD, request_id, "other", "Needs met from the school's budget."))
        elif request.status in AWAITING_COUNCIL:
            self.attempt([], lambda: self.app.decide_escalation(COUNCIL, request_id, "decline", "Not exceptional."))

    # -- the award -----------------------------------------------------------------------------------

    @precondition(lambda self: self.awarded)
    @rule(which=AWARDED, number=st.integers(1, 5), lift=st.booleans())
    def hold_or_lift(self, which: int, number: int, lift: bool) -> None:
        request_id = self.awarded[which % len(self.awarded)]
        request = self.request(request_id)
        if request.award is None:
            return
        known = {i.number: i for i in request.award.instalments}
        expected: list[type[FundingError]] = []
        if request.status not in PAYABLE_STATUSES:
            expected.append(InvalidTransition)
        elif number not in known:
            expected.append(InvalidValue)
        elif lift and not known[number].is_held:
            expected.append(Conflict)
        elif not lift and not known[number].unpaid.is_positive:
            expected.append(InstalmentNotPayable)
        elif not lift and known[number].is_held:
            expected.append(Conflict)
        actor = self.decider(request)
        if lift:
            self.attempt(expected, lambda: self.app.lift_hold(actor, request_id, number, "The plan was reviewed."))
        else:
            self.attempt(expected, lambda: self.app.hold_instalment(actor, request_id, number, "the spring review"))

    @precondition(lambda self: self.awarded)
    @rule(which=AWARDED, number=st.one_of(st.none(), st.integers(1, 5)), amount=relative)
    def pay(self, which: int, number: int | None, amount: Any) -> None:
        request_id = self.awarded[which % len(self.awarded)]
        request = self.request(request_id)
        if request.award is None:
            return
        award = request.award
        known = {i.number: i for i in award.instalments}
        bound = award.scheduled_unpaid if number is None else known[number].unpaid if number in known else Money(1)
        pence = resolve(bound.pence, amount)
        expected: list[type[FundingError]] = []
        parts: list[tuple[int, int]] = []
        if request.status not in PAYABLE_STATUSES:
            expected.append(InvalidTransition)
        elif number is not None and number not in known:
            expected.append(InvalidValue)
        elif number is not None and known[number].is_held:
            expected.append(InstalmentNotPayable)
        elif pence > bound.pence:
            expected.append(PaymentExceedsApproved)
        elif number is not None:
            parts = [(number, pence)]
        else:
            left = pence
            for instalment in award.instalments:
                part = 0 if instalment.is_held else min(left, instalment.unpaid.pence)
                if part:
                    parts.append((instalment.number, part))
                    left -= part
        by_year: dict[FinancialYear, int] = {}
        for part_number, part in parts:
            year = known[part_number].financial_year
            by_year[year] = by_year.get(year, 0) + part
        for year, part in by_year.items():
            fund = self.fund(request.funded_by or "", year)
            assert fund is not None
            if fund.paid.pence + part > fund.committed.pence:  # a share still committed ahead
                expected.append(PaymentExceedsApproved)
        self.attempt(
            expected, lambda: self.app.record_payment(FINANCE, request_id, money(pence), "BACS-1", instalment=number)
        )

    @precondition(lambda self: self.awarded)
    @rule(which=AWARDED, amount=st.one_of(relative, relative, relative, st.none()))
    def release(self, which: int, amount: Any) -> None:
        request_id = self.awarded[which % len(self.awarded)]
        request = self.request(request_id)
        if request.award is None:
            return
        unpaid = request.award.unpaid.pence
        pence = None if amount is None else resolve(unpaid, amount)
        expected: list[type[FundingError]] = []
        if request.status not in PAYABLE_STATUSES:
            expected.append(InvalidTransition)
        elif pence is not None and pence > unpaid:
            expected.append(PaymentExceedsApproved)
        released = None if pence is None else money(pence)
        actor = self.decider(request)
        if self.attempt(
            expected, lambda: self.app.release_award(actor, request_id, "pupil_left", "Moved away.", released)
        ):
            after = self.request(request_id).current_award()
            for year in after.financial_years():
                part = sum(i.released.pence for i in after.instalments if i.financial_year == year)
                part -= sum(i.released.pence for i in request.award.instalments if i.financial_year == year)
                paid_from = fund_id(request.funded_by or "", year)
                self.forward[paid_from] -= min(part, self.forward[paid_from])  # what is still ahead goes first

    @precondition(lambda self: self.awarded)
    @rule(which=AWARDED, next_year=st.booleans(), amount=relative)
    def raise_recovery(self, which: int, next_year: bool, amount: Any) -> None:
        request_id = self.awarded[which % len(self.awarded)]
        request = self.request(request_id)
        if request.award is None:
            return
        year = FinancialYear(request.financial_year.start_year + next_year)
        claimable = (request.award.paid_out_in(year) - request.award.claimed_in(year)).pence
        pence = resolve(claimable, amount)
        expected: list[type[FundingError]] = []
        if request.status not in RECOVERABLE_STATUSES:
            expected.append(InvalidTransition)
        elif pence > claimable:
            expected.append(RecoveryNotAllowed)
        self.attempt(
            expected,
            lambda: self.app.raise_recovery(FINANCE, request_id, year, money(pence), "underspend", "Unspent."),
        )

    @precondition(lambda self: self.awarded)
    @rule(which=AWARDED, number=st.integers(1, 3), amount=relative)
    def receive_recovery(self, which: int, number: int, amount: Any) -> None:
        request_id = self.awarded[which % len(self.awarded)]
        request = self.request(request_id)
        if request.award is None:
            return
        recoveries = {r.number: r for r in request.award.recoveries}
        outstanding = recoveries[number].outstanding.pence if number in recoveries else 1
        pence = resolve(outstanding, amount)
        expected: list[type[FundingError]] = []
        if number not in recoveries:
            expected.append(InvalidValue)
        elif pence > outstanding:
            expected.append(RecoveryNotAllowed)
        if self.attempt(
            expected, lambda: self.app.receive_recovery(FINANCE, request_id, number, money(pence), "REMIT-1")
        ):
            paid_from = fund_id(request.funded_by or "", recoveries[number].financial_year)
            if paid_from in self.closed:
                self.income[paid_from] += pence

    @precondition(lambda self: self.awarded)
    @rule(which=AWARDED, instalment=st.one_of(st.none(), st.integers(1, 4)))
    def pay_what_is_due(self, which: int, instalment: int | None) -> None:
        """All that is due (of one instalment, or of all unheld ones in order): random amounts seldom
        are, and then nothing would be left to recover."""
        self.pay(which, instalment, ("exact", 1))

    @precondition(lambda self: self.awarded)
    @rule(which=AWARDED, next_year=st.booleans(), claimed=relative, received=relative)
    def recover_and_receive(self, which: int, next_year: bool, claimed: Any, received: Any) -> None:
        """A recovery raised and (part of) it received at once, where anything was paid."""
        request = self.request(self.awarded[which % len(self.awarded)])
        if request.award is None or not request.award.paid_out.is_positive:
            return
        self.raise_recovery(which, next_year, claimed)
        recoveries = self.request(request.id).current_award().recoveries
        if recoveries:
            self.receive_recovery(which, recoveries[-1].number, received)

    # -- year end ------------------------------------------------------------------------------------

    # Late in an example, so that years have awards, payments and recoveries before they close.
    @precondition(lambda self: self.steps >= CLOSING_FROM_STEP)
    @rule(funder=FUNDERS, year=st.sampled_from(YEARS), carry=st.one_of(st.none(), relative))
    def close_year(self, funder: str, year: FinancialYear, carry: Any) -> None:
        fund = self.fund(funder, year)
        available = fund.available.pence if fund else 0
        pence = 0 if carry is None else resolve(available, carry)
        following_year = FinancialYear(year.start_year + 1)
        following = self.fund(funder, following_year)
        waiting = OPEN_STATUSES if funder == "cluster" else AWAITING_COUNCIL
        expected: list[type[FundingError]] = []
        if fund is not None and fund.closed:
            expected.append(YearClosed)
        if any(r.status in waiting and r.financial_year == year for r in map(self.request, self.request_ids)):
            expected.append(YearNotClosable)
        if fund is not None and fund.forward.is_positive:
            expected.append(InsufficientFunds)
        if pence > available:
            expected.append(AmountNotAllowed)
        if pence and following is not None and following.closed:
            expected.append(YearClosed)

        def command() -> Fund:
            if funder == "cluster":
                return self.app.close_budget_year(FINANCE, CLUSTER, year, money(pence))
            return self.app.close_council_fund_year(FINANCE, year, money(pence))

        if self.attempt(expected, command):
            self.closed.add(fund_id(funder, year))
            self.allocated[fund_id(funder, year)] -= pence
            self.allocated[fund_id(funder, following_year)] += pence
            self.covered(fund_id(funder, following_year), pence)

    @rule()
    def reconcile(self) -> None:
        self.everything_reconciles()

    # -- what holds after every step -----------------------------------------------------------------

    @invariant()
    def the_books_balance(self) -> None:
        self.steps += 1
        requests: list[FundingRequest] = [self.reader.repository.get(request_id) for request_id in self.request_ids]
        funds: dict[UUID, Fund] = {}
        for aggregate_id in FUND_IDS:
            try:
                funds[aggregate_id] = self.reader.repository.get(aggregate_id)
            except AggregateNotFoundError:
                continue
        # What the store holds is what the writing application holds in memory.
        for aggregate in [*requests, *funds.values()]:
            assert state_of(aggregate) == state_of(self.app.repository.get(aggregate.id)), aggregate.id
        sums = {
            aggregate_id: dict.fromkeys(("share", "released", "paid_out", "received"), 0) for aggregate_id in FUND_IDS
        }
        for request in requests:
            self.check_award(request, sums)
        for aggregate_id, (funder, year) in FUND_IDS.items():
            self.check_fund(aggregate_id, f"{funder} {year}", funds.get(aggregate_id), sums[aggregate_id])

    def check_award(self, request: FundingRequest, sums: dict[UUID, dict[str, int]]) -> None:
        award = request.award
        if award is None:
            assert request.status in OPEN_STATUSES | AWAITING_COUNCIL | {S.CLUSTER_DECLINED, S.COUNCIL_DECLINED}
            return
        label = f"request {request.id}"
        assert award.committed == award.paid + award.scheduled_unpaid + award.held, label
        assert Money(0) <= award.paid_out <= award.approved == request.amount_approved, label
        assert request.amount_paid == award.paid_out, label
        assert all(Money(0) <= i.unpaid <= i.amount for i in award.instalments), label
        assert all(Money(0) <= r.received <= r.amount for r in award.recoveries), label
        if award.unpaid.is_positive:
            assert request.status in PAYABLE_STATUSES, label
        else:
            assert request.status is (S.RELEASED if award.released.is_positive else S.PAID), label
        for year in award.financial_years():
            assert award.claimed_in(year) <= award.paid_out_in(year), label
            figures = sums[fund_id(request.funded_by or "", year)]
            figures["share"] += award.share_of(year).pence
            figures["released"] += sum(i.released.pence for i in award.instalments if i.financial_year == year)
            figures["paid_out"] += award.paid_out_in(year).pence
            figures["received"] += sum(r.received.pence for r in award.recoveries if r.financial_year == year)

    def check_fund(self, aggregate_id: UUID, label: str, fund: Fund | None, sums: dict[str, int]) -> None:
        if fund is None:
            assert sums == dict.fromkeys(sums, 0), f"{label}: awards count on a fund that does not exist"
            assert self.allocated[aggregate_id] == self.forward[aggregate_id] == 0, label
            return
        assert fund.available >= Money(0), f"{label} is overdrawn: {fund.figures()}"
        assert Money(0) <= fund.paid <= fund.committed, label
        assert fund.forward.pence == self.forward[aggregate_id], f"{label}: committed ahead"
        assert fund.allocated.pence == self.allocated[aggregate_id], f"{label}: allocations"
        assert fund.closed == (aggregate_id in self.closed), label
        assert fund.income.pence == self.income[aggregate_id], f"{label}: income"
        committed = sums["share"] - sums["released"] - fund.recovered.pence
        assert (fund.committed + fund.forward).pence == committed, f"{label}: committed is not its awards' shares"
        assert fund.paid.pence == sums["paid_out"] - fund.recovered.pence, f"{label}: paid is not its awards' payments"
        assert fund.released.pence == sums["released"], f"{label}: released"
        assert (fund.recovered + fund.income).pence == sums["received"], f"{label}: recovered"

    def everything_reconciles(self) -> None:
        for year in [*YEARS, CARRIED_INTO]:
            result = self.app.read_models.reconcile(FINANCE, year)
            wrong = [
                (table.name, table.first_difference, table.missing, table.extra)
                for table in result.tables
                if not table.consistent
            ]
            balances = [
                row for row in [*result.clusters, result.council_fund] if row is not None and not row.consistent
            ]
            assert result.consistent, f"{year}: reconciliation found {wrong} {balances}"


# -- running it on both stores ---------------------------------------------------------------------

SOAK = int(os.environ.get("FUNDING_ENGINE_STATEFUL_EXAMPLES", "1") or "1")
COMMON: dict[str, Any] = {
    "deadline": None,
    "derandomize": False,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}
SETTINGS = {
    "sqlite": settings(max_examples=25 * SOAK, stateful_step_count=40, **COMMON),
    "postgres": settings(max_examples=8 * SOAK, stateful_step_count=25, **COMMON),
}


def test_random_money_after_the_decision_never_overspends_never_overpays_and_reconciles(
    database_url: str, tmp_path: Path
) -> None:
    """Runs on SQLite and PostgreSQL (``database_url`` is parametrised); each example gets a new store."""
    stores = ExampleStores(database_url, tmp_path)
    kind = "postgres" if stores.postgres else "sqlite"
    run_state_machine_as_test(lambda: MoneyMachine(stores), settings=SETTINGS[kind])  # type: ignore[arg-type]
