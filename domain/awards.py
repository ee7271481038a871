"""An award: the money an approval commits, its instalments, and what happens to it afterwards.

The request holds its award (``FundingRequest.award``) and changes it only through the methods
here, each of which returns a new award. Every instalment belongs to one financial year's fund,
so the award's figures are also read by year, for the fund each year's share came from.

One invariant holds on every award, and reconciliation checks it:
``committed = paid + scheduled unpaid + held``, where ``committed`` is what was approved less what
was released and what was recovered, and ``paid`` is what was paid out less what was recovered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING
from uuid import UUID

from domain.copying import shared_when_copied
from domain.errors import Conflict, InvalidValue, PaymentExceedsApproved
from domain.limits import SHORT_TEXT
from domain.money import Money, sum_money
from domain.schedules import DEFAULT_SHARES, AwardPeriod, PlannedInstalment, ScheduleKind, TermShares, instalments_for
from domain.text import check_text
from domain.values import Actor, FinancialYear

if TYPE_CHECKING:
    from domain.funds import Fund


class ReleaseReason(Enum):
    """Why the unpaid part of an award was given back to its budget."""

    PUPIL_LEFT = "pupil_left"
    PROVISION_ENDED = "provision_ended"
    UNDERSPEND = "underspend"
    OTHER = "other"


class RecoveryReason(Enum):
    """Why money already paid is being claimed back."""

    PUPIL_LEFT = "pupil_left"
    PROVISION_ENDED = "provision_ended"
    UNDERSPEND = "underspend"
    OVERPAYMENT = "overpayment"
    OTHER = "other"


class InstalmentNotPayable(Conflict):
    """The instalment is held, already paid, released, or not this award's."""


class RecoveryNotAllowed(Conflict):
    """A recovery is bounded by what was paid, and a receipt by what the recovery claims."""


@shared_when_copied
@dataclass(frozen=True, slots=True)
class Instalment:
    """One instalment of an award: what is due, and what has been paid or released of it."""

    number: int
    due_on: date
    financial_year: FinancialYear
    amount: Money
    paid: Money
    released: Money
    held_until: str  # the condition it waits on; "" when not held

    @property
    def unpaid(self) -> Money:
        return self.amount - self.paid - self.released

    @property
    def is_held(self) -> bool:
        return bool(self.held_until) and self.unpaid.is_positive


@shared_when_copied
@dataclass(frozen=True, slots=True)
class InstalmentAmount:
    """Part of a payment or a release: how much of which instalment."""

    number: int
    amount: Money


@shared_when_copied
@dataclass(frozen=True, slots=True)
class Recovery:
    """Money claimed back from what was paid for one financial year, and how much has come in."""

    number: int
    financial_year: FinancialYear
    amount: Money
    reason_code: RecoveryReason
    note: str
    received: Money

    @property
    def outstanding(self) -> Money:
        return self.amount - self.received


@dataclass(frozen=True, slots=True)
class Award:
    """An approval's money: the period, the schedule and its instalments, and any recoveries.

    ``period`` is None only for an approval recorded before awards had periods: its award is one
    instalment, due the day it was approved.
    """

    period: AwardPeriod | None
    schedule: ScheduleKind
    instalments: list[Instalment]
    recoveries: list[Recovery]

    @classmethod
    def planned(
        cls, period: AwardPeriod | None, schedule: ScheduleKind, planned: list[PlannedInstalment], holds: dict[int, str]
    ) -> Award:
        zero = Money.zero()
        unknown = sorted(set(holds) - {p.number for p in planned})
        if unknown:
            raise InvalidValue(f"the schedule has no instalment {unknown[0]} to hold")
        instalments = [
            Instalment(p.number, p.due_on, p.financial_year, p.amount, zero, zero, holds.get(p.number, ""))
            for p in planned
        ]
        return cls(period, schedule, instalments, [])

    # -- figures ---------------------------------------------------------------------------------

    @property
    def approved(self) -> Money:
        return sum_money(i.amount for i in self.instalments)

    @property
    def paid_out(self) -> Money:
        """Everything paid, before any recovery."""
        return sum_money(i.paid for i in self.instalments)

    @property
    def released(self) -> Money:
        return sum_money(i.released for i in self.instalments)

    @property
    def recovered(self) -> Money:
        """What recoveries have brought back (received, not just claimed)."""
        return sum_money(r.received for r in self.recoveries)

    @property
    def held(self) -> Money:
        return sum_money(i.unpaid for i in self.instalments if i.is_held)

    @property
    def scheduled_unpaid(self) -> Money:
        return sum_money(i.unpaid for i in self.instalments if not i.is_held)

    @property
    def unpaid(self) -> Money:
        return self.held + self.scheduled_unpaid

    @property
    def committed(self) -> Money:
        return self.approved - self.released - self.recovered

    @property
    def paid(self) -> Money:
        """What was paid and kept: paid out less recovered."""
        return self.paid_out - self.recovered

    def financial_years(self) -> list[FinancialYear]:
        return sorted({i.financial_year for i in self.instalments}, key=lambda year: year.start_year)

    def share_of(self, year: FinancialYear) -> Money:
        """What the approval committed on ``year``'s fund."""
        return sum_money(i.amount for i in self.instalments if i.financial_year == year)

    def paid_out_in(self, year: FinancialYear) -> Money:
        return sum_money(i.paid for i in self.instalments if i.financial_year == year)

    def claimed_in(self, year: FinancialYear) -> Money:
        return sum_money(r.amount for r in self.recoveries if r.financial_year == year)

    def instalment(self, number: int) -> Instalment:
        for instalment in self.instalments:
            if instalment.number == number:
                return instalment
        raise InvalidValue(f"the award has no instalment {number}")

    # -- payments --------------------------------------------------------------------------------

    def payment_parts(self, amount: Money, number: int | None) -> list[InstalmentAmount]:
        """Which instalments a payment of ``amount`` pays: the one named, or the unheld ones in order."""
        if number is not None:
            instalment = self.instalment(number)
            if instalment.is_held:
                raise InstalmentNotPayable(f"instalment {number} is held until {instalment.held_until}")
            if amount > instalment.unpaid:
                raise PaymentExceedsApproved(f"only {instalment.unpaid} of instalment {number} is unpaid")
            return [InstalmentAmount(number, amount)]
        parts, left = [], amount
        for instalment in self.instalments:
            if left.pence == 0:
                break
            if instalment.is_held or not instalment.unpaid.is_positive:
                continue
            part = min(left, instalment.unpaid)
            parts.append(InstalmentAmount(instalment.number, part))
            left -= part
        if left.is_positive:
            payable = self.scheduled_unpaid
            held = f" ({self.held} more is held)" if self.held.is_positive else ""
            raise PaymentExceedsApproved(f"only {payable} of the {self.approved} approved is payable{held}")
        return parts

    def paying(self, parts: list[InstalmentAmount]) -> Award:
        return self._changed(parts, paid=True)

    # -- releases --------------------------------------------------------------------------------

    def release_parts(self, amount: Money | None) -> list[InstalmentAmount]:
        """What a release of ``amount`` (None: all that is unpaid) takes, from the last instalment back."""
        unpaid = self.unpaid
        if not unpaid.is_positive:
            raise Conflict("nothing of this award is unpaid: there is nothing to release")
        amount = unpaid if amount is None else amount
        if amount > unpaid:
            raise PaymentExceedsApproved(f"only {unpaid} of this award is unpaid, so at most that can be released")
        parts, left = [], amount
        for instalment in reversed(self.instalments):
            if left.pence == 0:
                break
            part = min(left, instalment.unpaid)
            if part.is_positive:
                parts.append(InstalmentAmount(instalment.number, part))
                left -= part
        return parts

    def releasing(self, parts: list[InstalmentAmount]) -> Award:
        return self._changed(parts, paid=False)

    def by_year(self, parts: list[InstalmentAmount]) -> dict[FinancialYear, Money]:
        """The parts of a payment or release added up by the financial year they belong to."""
        by_year: dict[FinancialYear, Money] = {}
        for part in parts:
            year = self.instalment(part.number).financial_year
            by_year[year] = by_year.get(year, Money.zero()) + part.amount
        return by_year

    # -- holds -----------------------------------------------------------------------------------

    def holding(self, number: int, condition: str) -> Award:
        instalment = self.instalment(number)
        if not instalment.unpaid.is_positive:
            raise InstalmentNotPayable(f"instalment {number} has nothing unpaid to hold")
        if instalment.is_held:
            raise Conflict(f"instalment {number} is already held until {instalment.held_until}")
        return self._with(replace(instalment, held_until=condition))

    def lifting_hold(self, number: int) -> Award:
        instalment = self.instalment(number)
        if not instalment.is_held:
            raise Conflict(f"instalment {number} is not held")
        return self._with(replace(instalment, held_until=""))

    # -- recoveries ------------------------------------------------------------------------------

    def check_recovery(self, year: FinancialYear, amount: Money) -> None:
        """A recovery claims back at most what was paid for that year less what is already claimed."""
        claimable = self.paid_out_in(year) - self.claimed_in(year)
        if amount > claimable:
            raise RecoveryNotAllowed(f"only {claimable} paid for {year} is not already being recovered")

    def raising(self, recovery: Recovery) -> Award:
        return replace(self, recoveries=[*self.recoveries, recovery])

    def recovery(self, number: int) -> Recovery:
        for recovery in self.recoveries:
            if recovery.number == number:
                return recovery
        raise InvalidValue(f"the award has no recovery {number}")

    def check_receipt(self, number: int, amount: Money) -> Recovery:
        recovery = self.recovery(number)
        if amount > recovery.outstanding:
            raise RecoveryNotAllowed(f"only {recovery.outstanding} of recovery {number} is still to come in")
        return recovery

    def receiving(self, number: int, amount: Money) -> Award:
        recovery = self.recovery(number)
        changed = replace(recovery, received=recovery.received + amount)
        return replace(self, recoveries=[changed if r.number == number else r for r in self.recoveries])

    # -- the one way an award's instalments change ------------------------------------------------

    def _changed(self, parts: list[InstalmentAmount], *, paid: bool) -> Award:
        award = self
        for part in parts:
            instalment = award.instalment(part.number)
            if paid:
                instalment = replace(instalment, paid=instalment.paid + part.amount)
            else:
                instalment = replace(instalment, released=instalment.released + part.amount)
            award = award._with(instalment)
        return award

    def _with(self, changed: Instalment) -> Award:
        return replace(self, instalments=[changed if i.number == changed.number else i for i in self.instalments])


@dataclass(frozen=True, slots=True)
class AwardTerms:
    """What an approval says about its money besides the amount: the period (None: the request's
    whole financial year), how it is paid, which instalments are held and until what."""

    period: AwardPeriod | None = None
    schedule: ScheduleKind = ScheduleKind.TERMLY
    holds: tuple[tuple[int, str], ...] = ()
    shares: TermShares = DEFAULT_SHARES

    def award_for(self, amount: Money, year: FinancialYear) -> Award:
        """The award of ``amount`` on these terms, for a request of financial year ``year``.

        An award period starts in the request's year and may run into the next one, never further
        (it is at most a year long), so an award commits on one or two years' funds.
        """
        period = self.period or AwardPeriod.whole_year(year)
        if period.starts_on not in year:
            raise InvalidValue(f"the award period must start in the request's financial year, {year}")
        holds: dict[int, str] = {}
        for number, condition in self.holds:
            check_text(condition, field="condition", max_length=SHORT_TEXT)
            if number in holds:
                raise InvalidValue(f"instalment {number} is held once, with one condition")
            holds[number] = condition
        planned = instalments_for(amount, period, self.schedule, self.shares)
        return Award.planned(period, self.schedule, planned, holds)

    def with_shares(self, shares: TermShares) -> AwardTerms:
        """The same terms, sharing a termly award as ``shares`` says (the policy in force)."""
        return replace(self, shares=shares)


# Termly over the request's whole financial year, nothing held: an approval that says nothing more.
DEFAULT_TERMS = AwardTerms()


def commit_award(request_id: UUID, award: Award, funds: Mapping[FinancialYear, Fund], actor: Actor) -> None:
    """Commit each year's share of ``award`` on that year's fund; a later year's share may be
    committed ahead of that year's allocation (``Fund.commit``)."""
    years = award.financial_years()
    missing = [str(year) for year in years if year not in funds]
    if missing:
        raise InvalidValue(f"the award commits on {', '.join(missing)}, whose fund is missing")
    # The year the period starts in is the request's; a tiny award may have no share in it at all.
    first = FinancialYear.containing(award.period.starts_on) if award.period is not None else years[0]
    for year in years:
        funds[year].commit(request_id, award.share_of(year), actor, ahead_allowed=year != first)


def next_year(year: FinancialYear) -> FinancialYear:
    """The financial year after ``year`` (an award runs into it at most)."""
    return FinancialYear(year.start_year + 1)


def by_year(fund: Fund, next_fund: Fund | None) -> dict[FinancialYear, Fund]:
    """An award's funds by year: the request's year's, and the next year's where there is one."""
    funds = {fund.financial_year: fund}
    if next_fund is not None:
        funds[next_fund.financial_year] = next_fund
    return funds


def legacy_award(amount: Money, year: FinancialYear, approved_on: date) -> Award:
    """The award of an approval recorded before awards had periods: all of it due on the day."""
    planned = [PlannedInstalment(1, approved_on, year, amount)]
    return Award.planned(None, ScheduleKind.SINGLE, planned, {})
