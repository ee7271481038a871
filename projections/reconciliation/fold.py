"""The event log folded into the domain's own aggregates, one stored event at a time.

This is how the application itself rebuilds an aggregate (``event.mutate``), checked more strictly:
every event must decode, follow a Created event of its aggregate, carry the next version, and
apply. Anything else is the log's damage, reported with its position (``LogUnreadable``).

Only the financial year being reconciled is kept in full, with the aggregates that belong to no
year (clusters, memberships). An aggregate of another year is folded as far as its Created event
(to learn its year) and from then on only decoded and checked for its version sequence, so a log
of many years costs the memory of two: what the year before hands over is kept too (issue 13).
Its requests are folded in full, as an award of the year before may run into this year and commit
on its funds, and of its funds only what each carried forward into this year's at its close.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import CanInitAggregate

from domain.errors import InvalidValue
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.money import Money
from domain.payment_runs import PaymentRunBook
from domain.provision_maps import ProvisionMap, SchoolProvisionMaps
from domain.remittances import Remittance
from domain.sign_ins import SignInSession
from domain.values import ClusterId, FinancialYear, RequestStatus
from projections.source import NotificationSource
from projections.unreadable import LogUnreadable, one_line


@dataclass(frozen=True)
class Step:
    """One event of the year (or of no year), just folded: the aggregate as it is now, and what it was before."""

    position: int
    event: Any
    aggregate: Any
    status_before: RequestStatus | None
    decisions_before: int


# Aggregates no read model is built from: the fold checks their sequence but keeps only their
# version, so one per sign-in never piles up in memory. Provision maps (issue 12) have no read model yet;
# the payment run book and the remittance records (issue 13) are read from their aggregates.
_NOT_RECONCILED = (SignInSession, ProvisionMap, SchoolProvisionMaps, PaymentRunBook, Remittance)


@dataclass(frozen=True)
class CarriedIn:
    """What a fund of the year before carried forward into this year's fund at its close."""

    cluster_id: ClusterId | None  # None: the council fund
    amount: Money


class _OtherYear:
    """What is kept of an aggregate of another year (or one no read model is built from): enough to
    check its version sequence, and for a fund of the year before, the id of this year's."""

    __slots__ = ("carries_into", "cluster_id", "version")

    def __init__(self, version: int, carries_into: Any = None, cluster_id: ClusterId | None = None) -> None:
        self.version = version
        self.carries_into = carries_into
        self.cluster_id = cluster_id


def _short_id(originator_id: Any) -> str:
    return getattr(originator_id, "hex", str(originator_id))


def _year_of(aggregate: Any) -> FinancialYear | None:
    return getattr(aggregate, "financial_year", None)


class LogFold:
    """Folds the log from its start up to a position, yielding a ``Step`` per event of one year."""

    def __init__(self, source: NotificationSource, year: FinancialYear, *, batch_size: int = 1000) -> None:
        self.source = source
        self.year = year
        self.batch_size = batch_size
        self.aggregates: dict[Any, Any] = {}
        self.position = 0
        try:
            self.year_before: FinancialYear | None = FinancialYear(year.start_year - 1)
        except InvalidValue:
            self.year_before = None
        # The year before's requests (folded, never yielded), and what its funds carried into this year's.
        self.requests_before: dict[Any, FundingRequest] = {}
        self.carried_in: dict[Any, CarriedIn] = {}

    def steps(self, stop: int) -> Iterator[Step]:
        """Fold on from where the last call stopped, up to and including ``stop``."""
        after = self.position
        while after < stop:
            batch = self.source.select(after, self.batch_size)
            if not batch:
                return
            for notification in batch:
                if notification.id > stop:
                    return
                step = self._fold(notification)
                self.position = notification.id
                if step is not None:
                    yield step
            after = batch[-1].id

    def _fold(self, notification: Any) -> Step | None:
        position = notification.id
        event = self.source.to_event(notification)  # raises LogUnreadable itself
        originator_id = event.originator_id
        current = self.aggregates.get(originator_id)
        creates = isinstance(event, CanInitAggregate)
        if creates and current is not None:
            raise LogUnreadable(position, f"a second Created event for aggregate {_short_id(originator_id)}")
        if not creates and current is None:
            raise LogUnreadable(
                position,
                f"no Created event for aggregate {_short_id(originator_id)} before its version "
                f"{event.originator_version} ({type(event).__qualname__})",
            )
        if current is not None and event.originator_version != current.version + 1:
            raise LogUnreadable(position, self._out_of_sequence(event, current.version))
        if isinstance(current, _OtherYear):
            current.version = event.originator_version
            carried = event.carried_forward if isinstance(event, Fund.YearClosed) else Money.zero()
            if current.carries_into is not None and carried.is_positive:
                self.carried_in[current.carries_into] = CarriedIn(current.cluster_id, carried)
            return None
        status_before = getattr(current, "status", None)
        decisions_before = len(getattr(current, "decisions", ()))
        try:
            aggregate: Any = event.mutate(current)  # ours, or whatever the log's damage makes of it
        except Exception as error:  # any failure to apply a stored event is the log's damage
            raise LogUnreadable(
                position,
                f"{type(event).__qualname__} cannot be applied to aggregate {_short_id(originator_id)} "
                f"at version {getattr(current, 'version', 0)} ({one_line(error)})",
            ) from error
        year = _year_of(aggregate)
        if year is not None and year == self.year_before and isinstance(aggregate, FundingRequest):
            self.aggregates[originator_id] = self.requests_before[originator_id] = aggregate
            return None
        if (year is not None and year != self.year) or isinstance(aggregate, _NOT_RECONCILED):
            self.aggregates[originator_id] = self._other_year(aggregate)
            return None
        self.aggregates[originator_id] = aggregate
        # Clusters and memberships belong to no year: every reconciliation sees them.
        return Step(position, event, aggregate, status_before, decisions_before)

    def _other_year(self, aggregate: Any) -> _OtherYear:
        """What to keep of an aggregate of another year: for a fund of the year before, where it carries to."""
        if not isinstance(aggregate, Fund) or aggregate.financial_year != self.year_before:
            return _OtherYear(aggregate.version)
        if isinstance(aggregate, ClusterBudget):
            into = ClusterBudget.id_for(aggregate.cluster_id, self.year)
            return _OtherYear(aggregate.version, into, aggregate.cluster_id)
        return _OtherYear(aggregate.version, CouncilFund.id_for(self.year))

    @staticmethod
    def _out_of_sequence(event: Any, version: int) -> str:
        return (
            f"{type(event).__qualname__} has version {event.originator_version} but aggregate "
            f"{_short_id(event.originator_id)} is at version {version}"
        )
