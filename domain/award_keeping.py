"""What happens to a funding request's money after the approval: payments, holds, releases, recoveries.

``FundingRequest`` inherits this: its events are the request's own (the library names them
``FundingRequest.PaymentRecorded`` and so on), kept here so the decision and the money that
follows read each in one place. Each command changes the request's ``award`` and, where money
moves, the fund (or funds, for an award across two financial years) in the same pending events,
so the application saves them in one atomic ``save()``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.domain import Aggregate

from domain.awards import Award, InstalmentAmount, Recovery, RecoveryReason, ReleaseReason, by_year, legacy_award
from domain.errors import Conflict, InvalidTransition, InvalidValue
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.lifecycle import TRANSITIONS, status_after_money
from domain.limits import SHORT_TEXT
from domain.money import Money, sum_money
from domain.text import check_text
from domain.values import Actor, ClusterId, FinancialYear, RequestStatus


class AwardKeeping(Aggregate):
    """The award part of a funding request (see ``domain/awards.py`` for the award's own rules)."""

    award: Award | None
    status: RequestStatus
    financial_year: FinancialYear
    amount_paid: Money
    funded_by: str | None
    cluster_id: ClusterId

    class PaymentRecorded(Aggregate.Event):
        # Version 2 (issue 13) names the instalments paid and the day the money went. A version 1
        # payment paid its award's instalments in order, on the day it was recorded.
        class_version = 2
        amount: Money
        reference: str
        actor: Actor
        instalments: list[InstalmentAmount] | None
        paid_on: date | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["instalments"] = None
            state["paid_on"] = None

        def apply(self, request: AwardKeeping) -> None:
            award = request.current_award()
            parts = self.instalments if self.instalments is not None else award.payment_parts(self.amount, None)
            request.award = award.paying(parts)
            request.amount_paid += self.amount
            request.status = status_after_money(request.status, request.award)

    class InstalmentHeld(Aggregate.Event):
        class_version = 1
        number: int
        condition: str
        actor: Actor

        def apply(self, request: AwardKeeping) -> None:
            request.award = request.current_award().holding(self.number, self.condition)

    class InstalmentHoldLifted(Aggregate.Event):
        class_version = 1
        number: int
        note: str
        actor: Actor

        def apply(self, request: AwardKeeping) -> None:
            request.award = request.current_award().lifting_hold(self.number)

    class AwardReleased(Aggregate.Event):
        class_version = 1
        amount: Money
        reason_code: ReleaseReason
        note: str
        instalments: list[InstalmentAmount]
        actor: Actor

        def apply(self, request: AwardKeeping) -> None:
            request.award = request.current_award().releasing(self.instalments)
            request.status = status_after_money(request.status, request.award)

    class RecoveryRaised(Aggregate.Event):
        class_version = 1
        number: int
        financial_year: FinancialYear
        amount: Money
        reason_code: RecoveryReason
        note: str
        actor: Actor

        def apply(self, request: AwardKeeping) -> None:
            recovery = Recovery(
                self.number, self.financial_year, self.amount, self.reason_code, self.note, Money.zero()
            )
            request.award = request.current_award().raising(recovery)

    class RecoveryReceived(Aggregate.Event):
        class_version = 1
        number: int
        amount: Money
        reference: str
        received_on: date
        actor: Actor

        def apply(self, request: AwardKeeping) -> None:
            request.award = request.current_award().receiving(self.number, self.amount)

    # -- what the award is -------------------------------------------------------------------------

    def current_award(self) -> Award:
        if self.award is None:
            raise Conflict("the request has no award: it has not been approved")
        return self.award

    @property
    def amount_outstanding(self) -> Money:
        """What is still to be paid (held instalments included)."""
        return self.award.unpaid if self.award is not None else Money.zero()

    def check_funds_are_this_awards(self, funds: dict[FinancialYear, Fund], years: list[FinancialYear]) -> None:
        """``funds`` hold the fund that approved the award, for each of ``years``."""
        for year in years:
            fund = funds.get(year)
            if self.funded_by == "council":
                approved = isinstance(fund, CouncilFund)
            else:
                approved = isinstance(fund, ClusterBudget) and fund.cluster_id == self.cluster_id
            if not approved:
                raise InvalidValue(f"money on this award moves only on the fund that approved it, for {year}")

    # -- commands ------------------------------------------------------------------------------------

    def record_payment(
        self,
        amount: Money,
        reference: str,
        actor: Actor,
        fund: Fund,
        *,
        next_fund: Fund | None = None,
        instalment: int | None = None,
        paid_on: date | None = None,
    ) -> None:
        """Pay ``amount`` of the named instalment, or of the unheld instalments in order.

        ``fund`` approved the award (for the request's year); ``next_fund`` is the same fund for the
        next year, for an award that runs into it.
        """
        funds = by_year(fund, next_fund)
        self.check_may_follow(self.PaymentRecorded, "pay")
        check_text(reference, field="reference", max_length=SHORT_TEXT)
        if not amount.is_positive:
            raise InvalidValue("a payment must be positive")
        award = self.current_award()
        parts = award.payment_parts(amount, instalment)
        shares = award.by_year(parts)
        self.check_funds_are_this_awards(funds, list(shares))
        for year, part in shares.items():
            funds[year].record_payment(self.id, part, reference, actor)
        self.trigger_event(
            self.PaymentRecorded, amount=amount, reference=reference, actor=actor, instalments=parts, paid_on=paid_on
        )

    def hold_instalment(self, number: int, condition: str, actor: Actor) -> None:
        self.check_may_follow(self.InstalmentHeld, "hold an instalment of")
        check_text(condition, field="condition", max_length=SHORT_TEXT)
        self.current_award().holding(number, condition)
        self.trigger_event(self.InstalmentHeld, number=number, condition=condition, actor=actor)

    def lift_hold(self, number: int, note: str, actor: Actor) -> None:
        self.check_may_follow(self.InstalmentHoldLifted, "release a held instalment of")
        check_text(note, field="note", required=False)
        self.current_award().lifting_hold(number)
        self.trigger_event(self.InstalmentHoldLifted, number=number, note=note, actor=actor)

    def release(
        self,
        reason_code: ReleaseReason,
        note: str,
        actor: Actor,
        fund: Fund,
        amount: Money | None = None,
        next_fund: Fund | None = None,
    ) -> None:
        """Give the unpaid part of the award (or ``amount`` of it, from the last instalment back) back
        to the funds it was committed on; the instalments it takes are cancelled as far as it goes."""
        funds = by_year(fund, next_fund)
        self.check_may_follow(self.AwardReleased, "release the award of")
        if not isinstance(reason_code, ReleaseReason):
            raise InvalidValue("a release needs one of the release reason codes")
        check_text(note, field="note")
        award = self.current_award()
        parts = award.release_parts(amount)
        shares = award.by_year(parts)
        self.check_funds_are_this_awards(funds, list(shares))
        for year, part in shares.items():
            funds[year].release(self.id, part, actor)
        self.trigger_event(
            self.AwardReleased,
            amount=sum_money(part.amount for part in parts),
            reason_code=reason_code,
            note=note,
            instalments=parts,
            actor=actor,
        )

    def raise_recovery(
        self, year: FinancialYear, amount: Money, reason_code: RecoveryReason, note: str, actor: Actor
    ) -> None:
        """Claim back ``amount`` of what was paid for ``year``; nothing moves until it is received."""
        self.check_may_follow(self.RecoveryRaised, "recover money from")
        if not isinstance(reason_code, RecoveryReason):
            raise InvalidValue("a recovery needs one of the recovery reason codes")
        check_text(note, field="note")
        if not amount.is_positive:
            raise InvalidValue("a recovery must be positive")
        award = self.current_award()
        award.check_recovery(year, amount)
        number = len(award.recoveries) + 1
        self.trigger_event(
            self.RecoveryRaised,
            number=number,
            financial_year=year,
            amount=amount,
            reason_code=reason_code,
            note=note,
            actor=actor,
        )

    def receive_recovery(
        self, number: int, amount: Money, reference: str, received_on: date, actor: Actor, fund: Fund
    ) -> None:
        """Record money received against recovery ``number``; it goes back to ``fund``, the one it
        was paid from (or is that closed year's income)."""
        self.check_may_follow(self.RecoveryReceived, "record a recovery on")
        check_text(reference, field="reference", max_length=SHORT_TEXT)
        if not amount.is_positive:
            raise InvalidValue("a receipt must be positive")
        recovery = self.current_award().check_receipt(number, amount)
        self.check_funds_are_this_awards({fund.financial_year: fund}, [recovery.financial_year])
        fund.receive_recovery(self.id, amount, reference, actor)
        self.trigger_event(
            self.RecoveryReceived,
            number=number,
            amount=amount,
            reference=reference,
            received_on=received_on,
            actor=actor,
        )

    # -- the lifecycle's guard, for the request's every command -------------------------------------

    def check_status_in(self, allowed: frozenset[RequestStatus], action: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(f"cannot {action} a request that is {self.status.value}")

    def check_may_follow(self, event_class: type[Aggregate.Event], action: str) -> None:
        """The request's status is one the lifecycle lets ``event_class`` follow."""
        self.check_status_in(TRANSITIONS[event_class.__name__].allowed_from, action)


def award_of_approval(award: Award | None, amount: Money, year: FinancialYear, approved_at: Any) -> Award:
    """The award an approval event records, or for one recorded before awards, the award it made."""
    return award if award is not None else legacy_award(amount, year, approved_at.date())
