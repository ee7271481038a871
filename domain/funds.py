"""Money held for one financial year: a cluster's budget and the council's exceptional fund.

Both follow one rule above all: ``available = allocated - committed - commissioned`` never goes
below zero. ``FundFigures`` is where that sum is done, for the aggregates and for every read of a
fund's figures (the read models, reconciliation, the API). Ids are derived from the cluster and
year (or the year alone), so two writers who both open "the" budget for a cluster-year collide in
the store instead of creating two.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import (
    AmountNotAllowed,
    InsufficientFunds,
    InvalidValue,
    PaymentExceedsApproved,
    YearClosed,
    YearNotClosable,
)
from domain.fund_figures import FundFigures as FundFigures
from domain.fund_figures import state_of as state_of
from domain.limits import NOTE_TEXT, SHORT_TEXT
from domain.money import Money
from domain.text import check_text
from domain.values import Actor, ClusterId, CommissionedService, FinancialYear, SchoolUrn

# Fixed for all time: changing it would orphan every stored budget and fund.
ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:send-top-up-funding-engine")
# Ids are pure functions of (cluster, year) and asked for on every request's event by the read
# models; a few thousand covers every cluster-year a council has, and bounds a flood of bad input.
ID_CACHE_SIZE = 4096


class Fund(Aggregate):
    """What cluster budgets and the council fund share: allocations in, commitments and payments out.

    Beside the figures ``FundFigures`` adds up, a fund keeps money committed ahead of any allocation
    (``forward``: the share of an award for the next financial year, made before that year has a
    budget, which the next allocations cover before anything else is committed), what releases
    gave back, what recoveries brought back, and once it is closed, recoveries received as income.
    ``committed`` and ``paid`` are net of releases and recoveries, so ``available`` stays right.
    """

    allocated: Money
    committed: Money
    commissioned: Money
    paid: Money
    forward: Money
    released: Money
    recovered: Money
    income: Money
    closed: bool
    financial_year: FinancialYear

    class FundsAllocated(Aggregate.Event):
        """Finance added money (or, with a negative amount, took back unspent money)."""

        class_version = 1
        amount: Money
        note: str
        actor: Actor

        def apply(self, fund: Fund) -> None:
            fund.allocated += self.amount

    class FundsCommitted(Aggregate.Event):
        """An approval reserved money for one funding request, in the same save as the approval."""

        class_version = 1
        request_id: UUID
        amount: Money
        actor: Actor

        def apply(self, fund: Fund) -> None:
            fund.committed += self.amount

    class PaymentRecorded(Aggregate.Event):
        """Finance paid out part of a commitment."""

        class_version = 1
        request_id: UUID
        amount: Money
        reference: str
        actor: Actor

        def apply(self, fund: Fund) -> None:
            fund.paid += self.amount

    class FundsCommittedForward(Aggregate.Event):
        """An award's share for this year, committed before this year has any allocation."""

        class_version = 1
        request_id: UUID
        amount: Money
        actor: Actor

        def apply(self, fund: Fund) -> None:
            fund.forward += self.amount

    class ForwardCommitmentsCovered(Aggregate.Event):
        """An allocation covered forward commitments: that much of them is now committed as usual."""

        class_version = 1
        amount: Money

        def apply(self, fund: Fund) -> None:
            fund.forward -= self.amount
            fund.committed += self.amount

    class FundsReleased(Aggregate.Event):
        """The unpaid part of an award came back; ``uncovered`` of it was still a forward commitment."""

        class_version = 1
        request_id: UUID
        amount: Money
        uncovered: Money
        actor: Actor

        def apply(self, fund: Fund) -> None:
            fund.forward -= self.uncovered
            fund.committed -= self.amount - self.uncovered
            fund.released += self.amount

    class RecoveryReceived(Aggregate.Event):
        """Money paid on an award came back: to ``available``, or as income once the year is closed."""

        class_version = 1
        request_id: UUID
        amount: Money
        reference: str
        as_income: bool
        actor: Actor

        def apply(self, fund: Fund) -> None:
            if self.as_income:
                fund.income += self.amount
            else:
                fund.committed -= self.amount
                fund.paid -= self.amount
                fund.recovered += self.amount

    class YearClosed(Aggregate.Event):
        """Finance closed the year: what was committed but unpaid, released, and carried forward."""

        class_version = 1
        committed_unpaid: Money
        released: Money
        carried_forward: Money
        available_before: Money
        actor: Actor

        def apply(self, fund: Fund) -> None:
            fund.allocated -= self.carried_forward
            fund.closed = True

    def _open(self) -> None:
        self.allocated = Money.zero()
        self.committed = Money.zero()
        self.commissioned = Money.zero()
        self.paid = Money.zero()
        self.forward = Money.zero()
        self.released = Money.zero()
        self.recovered = Money.zero()
        self.income = Money.zero()
        self.closed = False

    @property
    def available(self) -> Money:
        return self.figures().available

    # -- guards ------------------------------------------------------------------------------

    def check_has_sufficient_funds(self, amount: Money) -> None:
        if amount > self.available:
            raise InsufficientFunds(f"{self.label} has {self.available} available; {amount} is needed")

    def check_open(self) -> None:
        if self.closed:
            raise YearClosed(f"{self.label} is closed: nothing more can be allocated or committed on it")

    def check_no_forward_commitments(self) -> None:
        if self.forward.is_positive:
            raise InsufficientFunds(
                f"{self.label} has {self.forward} committed ahead of its allocation; "
                "allocations must cover that before anything else is committed"
            )

    def check_payment_within_commitments(self, amount: Money) -> None:
        if self.paid + amount > self.committed:
            if self.forward.is_positive:
                # Money committed ahead of a year's allocation is a promise, not money: say what to do.
                raise PaymentExceedsApproved(
                    f"{self.label} has {self.forward} committed ahead of its allocation, which cannot be paid "
                    "until finance allocates that year's budget"
                )
            raise PaymentExceedsApproved(f"{self.label} would pay out more than it committed")

    @property
    def label(self) -> str:
        raise NotImplementedError

    # -- commands ----------------------------------------------------------------------------

    def allocate(self, amount: Money, note: str, actor: Actor) -> None:
        check_text(note, field="note", max_length=NOTE_TEXT, required=False)
        if amount.pence == 0:
            raise InvalidValue("an allocation must not be zero")
        self.check_open()
        if amount.is_negative:
            self.check_has_sufficient_funds(-amount)
        self.trigger_event(self.FundsAllocated, amount=amount, note=note, actor=actor)
        covered = min(amount, self.forward)
        if covered.is_positive:
            self.trigger_event(self.ForwardCommitmentsCovered, amount=covered)

    def commit(self, request_id: UUID, amount: Money, actor: Actor, *, ahead_allowed: bool = False) -> None:
        """Commit ``amount`` for a request. ``ahead_allowed``: an award's share for a later year, which
        is committed ahead (``forward``) while this year has no allocation at all."""
        if not amount.is_positive:
            raise AmountNotAllowed("a commitment must be positive")
        self.check_open()
        if ahead_allowed and self.allocated.pence == 0:
            self.trigger_event(self.FundsCommittedForward, request_id=request_id, amount=amount, actor=actor)
            return
        self.check_no_forward_commitments()
        self.check_has_sufficient_funds(amount)
        self.trigger_event(self.FundsCommitted, request_id=request_id, amount=amount, actor=actor)

    def release(self, request_id: UUID, amount: Money, actor: Actor) -> None:
        """Give back the unpaid part of an award's share; what is still forward is given back first."""
        if not amount.is_positive:
            raise AmountNotAllowed("a release must be positive")
        uncovered = min(amount, self.forward)
        if amount - uncovered > self.committed - self.paid:
            raise PaymentExceedsApproved(f"{self.label} has only {self.committed - self.paid} committed and unpaid")
        self.trigger_event(self.FundsReleased, request_id=request_id, amount=amount, uncovered=uncovered, actor=actor)

    def receive_recovery(self, request_id: UUID, amount: Money, reference: str, actor: Actor) -> None:
        """Money paid on an award came back: it is available again, or income once the year is closed."""
        if not amount.is_positive:
            raise AmountNotAllowed("a recovery must be positive")
        if not self.closed and amount > self.paid:
            raise PaymentExceedsApproved(f"{self.label} has paid out only {self.paid}")
        self.trigger_event(
            self.RecoveryReceived,
            request_id=request_id,
            amount=amount,
            reference=reference,
            as_income=self.closed,
            actor=actor,
        )

    def close(self, carry_forward: Money, open_requests: list[str], actor: Actor, next_year: Fund | None) -> None:
        """Close the year; ``carry_forward`` (at most what is available) moves to ``next_year``'s fund."""
        self.check_open()
        if open_requests:
            raise YearNotClosable(
                f"{self.label} still has requests waiting on it: {', '.join(open_requests)}", open_requests
            )
        self.check_no_forward_commitments()
        if carry_forward.is_negative or carry_forward > self.available:
            raise AmountNotAllowed(f"at most the {self.available} available can be carried forward")
        if carry_forward.is_positive and next_year is None:
            raise InvalidValue("carrying money forward needs the next year's fund")
        self.trigger_event(
            self.YearClosed,
            committed_unpaid=self.committed - self.paid,
            released=self.released,
            carried_forward=carry_forward,
            available_before=self.available,
            actor=actor,
        )
        if carry_forward.is_positive and next_year is not None:
            next_year.allocate(carry_forward, f"carried forward from {self.financial_year}", actor)

    def record_payment(self, request_id: UUID, amount: Money, reference: str, actor: Actor) -> None:
        if not amount.is_positive:
            raise AmountNotAllowed("a payment must be positive")
        self.check_payment_within_commitments(amount)
        self.trigger_event(self.PaymentRecorded, request_id=request_id, amount=amount, reference=reference, actor=actor)

    def figures(self) -> FundFigures[Money]:
        return FundFigures(self.allocated, self.committed, self.commissioned, self.paid)


class ClusterBudget(Fund):
    """One cluster's delegated SEN funding for one financial year.

    The library gives it its own copy of each ``Fund`` event (``ClusterBudget.FundsAllocated``...),
    named after it in the log, so a budget's events and the council fund's never share a topic.
    """

    cluster_id: ClusterId
    financial_year: FinancialYear

    @staticmethod
    @lru_cache(maxsize=ID_CACHE_SIZE)
    def id_for(cluster_id: ClusterId, financial_year: FinancialYear) -> UUID:
        return uuid5(ID_NAMESPACE, f"cluster-budget/{cluster_id}/{financial_year}")

    class Opened(Aggregate.Created):
        class_version = 1
        cluster_id: ClusterId
        financial_year: FinancialYear
        actor: Actor

    class ServiceCommissioned(Aggregate.Event):
        """The cluster jointly commissioned a specialist service for some of its schools."""

        class_version = 1
        service: CommissionedService
        provider: str
        amount: Money
        school_urns: list[SchoolUrn]
        description: str
        actor: Actor

        def apply(self, budget: ClusterBudget) -> None:
            budget.commissioned += self.amount
            budget.commission_count += 1

    def __init__(self, cluster_id: ClusterId, financial_year: FinancialYear, actor: Actor) -> None:
        self.cluster_id = cluster_id
        self.financial_year = financial_year
        self.commission_count = 0
        self._open()

    @classmethod
    def open(cls, cluster_id: ClusterId, financial_year: FinancialYear, actor: Actor) -> ClusterBudget:
        return cls._create(
            cls.Opened,
            id=cls.id_for(cluster_id, financial_year),
            cluster_id=cluster_id,
            financial_year=financial_year,
            actor=actor,
        )

    @property
    def label(self) -> str:
        return f"the {self.cluster_id} budget for {self.financial_year}"

    def check_schools_are_members(self, school_urns: list[SchoolUrn], members: list[SchoolUrn]) -> None:
        outsiders = sorted(str(urn) for urn in school_urns if urn not in members)
        if outsiders:
            raise InvalidValue(f"not schools of cluster {self.cluster_id}: {', '.join(outsiders)}")

    def commission(
        self,
        *,
        service: CommissionedService,
        provider: str,
        amount: Money,
        school_urns: list[SchoolUrn],
        description: str,
        members: list[SchoolUrn],
        actor: Actor,
    ) -> None:
        check_text(provider, field="provider", max_length=SHORT_TEXT)
        check_text(description, field="description")
        if not school_urns:
            raise InvalidValue("a commission names at least one school")
        if len(set(school_urns)) != len(school_urns):
            raise InvalidValue("a commission names each school once")
        self.check_schools_are_members(school_urns, members)
        if not amount.is_positive:
            raise InvalidValue("a commission's amount must be positive")
        self.check_open()
        self.check_no_forward_commitments()
        self.check_has_sufficient_funds(amount)
        self.trigger_event(
            self.ServiceCommissioned,
            service=service,
            provider=provider,
            amount=amount,
            school_urns=sorted(school_urns),
            description=description,
            actor=actor,
        )


class CouncilFund(Fund):
    """The council's exceptional-circumstances fund for one financial year."""

    financial_year: FinancialYear

    @staticmethod
    @lru_cache(maxsize=ID_CACHE_SIZE)
    def id_for(financial_year: FinancialYear) -> UUID:
        return uuid5(ID_NAMESPACE, f"council-fund/{financial_year}")

    class Opened(Aggregate.Created):
        class_version = 1
        financial_year: FinancialYear
        actor: Actor

    def __init__(self, financial_year: FinancialYear, actor: Actor) -> None:
        self.financial_year = financial_year
        self._open()

    @classmethod
    def open(cls, financial_year: FinancialYear, actor: Actor) -> CouncilFund:
        return cls._create(cls.Opened, id=cls.id_for(financial_year), financial_year=financial_year, actor=actor)

    @property
    def label(self) -> str:
        return f"the council fund for {self.financial_year}"
