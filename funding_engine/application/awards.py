"""The money after a decision: paying an award's instalments, holding and releasing them, giving
back what will not be paid, and recovering what should not have been.

Each command that moves money saves the request with the fund (or both funds, for an award across
two financial years) in one transaction, under the locks of all of them. The funds to lock are
learnt from a first read of the request: an award commits on its request's year and at most the
next, so those years' funds, of the cluster and of the council, are the ones locked.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain.awards import RecoveryReason, ReleaseReason, next_year
from domain.errors import InvalidValue, NotFound
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.lifecycle import PAYABLE_STATUSES
from domain.limits import MAX_INSTALMENT_NUMBER
from domain.money import Money, parse_amount
from domain.permissions import check_decided_the_award, check_may_read_request, check_role
from domain.values import Actor, FinancialYear, parse_enum
from funding_engine.application.calendar import today_in_england
from funding_engine.application.engine import Decision
from funding_engine.application.requests import Requests


class Awards(Requests):
    """Payments, holds, releases and recoveries on an approved request's award."""

    def record_payment(
        self,
        actor: Actor,
        request_id: UUID,
        amount: Money | str,
        reference: str,
        *,
        instalment: int | None = None,
        paid_on: date | None = None,
        expected_version: int | None = None,
    ) -> FundingRequest:
        """Finance pays ``amount`` of instalment ``instalment``, or of the unheld instalments in order."""
        check_role(actor, "record_payment")
        amount = parse_amount(amount)
        _check_number(instalment, "instalment")
        lock_ids = self._award_fund_ids(request_id)

        def decide() -> Decision[FundingRequest]:
            request = self._request(request_id, expected_version)
            request.check_status_in(PAYABLE_STATUSES, "pay")
            fund, *later = self._award_funds(request)
            next_fund = later[0] if later else None
            request.record_payment(
                amount, reference, actor, fund, next_fund=next_fund, instalment=instalment, paid_on=paid_on
            )
            return (request, fund, later[0]) if later else (request, fund)

        return self._run_command(decide, request_id, *lock_ids)

    def hold_instalment(
        self, actor: Actor, request_id: UUID, number: int, condition: str, *, expected_version: int | None = None
    ) -> FundingRequest:
        """Hold an unpaid instalment until ``condition`` is met (a reviewed provision plan, say)."""
        check_role(actor, "hold_instalment")
        _check_number(number, "instalment")

        def decide() -> Decision[FundingRequest]:
            request = self._request_for_decider(actor, request_id, expected_version)
            request.hold_instalment(number, condition, actor)
            return (request,)

        return self._run_command(decide, request_id)

    def lift_hold(
        self, actor: Actor, request_id: UUID, number: int, note: str = "", *, expected_version: int | None = None
    ) -> FundingRequest:
        """The condition is met: the held instalment can be paid."""
        check_role(actor, "lift_hold")
        _check_number(number, "instalment")

        def decide() -> Decision[FundingRequest]:
            request = self._request_for_decider(actor, request_id, expected_version)
            request.lift_hold(number, note, actor)
            return (request,)

        return self._run_command(decide, request_id)

    def release_award(
        self,
        actor: Actor,
        request_id: UUID,
        reason_code: ReleaseReason | str,
        note: str,
        amount: Money | str | None = None,
        *,
        expected_version: int | None = None,
    ) -> FundingRequest:
        """Give back the unpaid part of an award (or ``amount`` of it) to the budgets it was committed on."""
        check_role(actor, "release_award")
        code = parse_enum(ReleaseReason, reason_code, field="reason_code")
        released = None if amount is None else parse_amount(amount)
        lock_ids = self._award_fund_ids(request_id)

        def decide() -> Decision[FundingRequest]:
            request = self._request_for_decider(actor, request_id, expected_version)
            fund, *later = self._award_funds(request)
            request.release(code, note, actor, fund, released, later[0] if later else None)
            return (request, fund, later[0]) if later else (request, fund)

        return self._run_command(decide, request_id, *lock_ids)

    def raise_recovery(
        self,
        actor: Actor,
        request_id: UUID,
        financial_year: FinancialYear | str,
        amount: Money | str,
        reason_code: RecoveryReason | str,
        note: str,
        *,
        expected_version: int | None = None,
    ) -> FundingRequest:
        """Finance claims back money paid on an award for ``financial_year``; nothing moves until it comes in."""
        check_role(actor, "raise_recovery")
        year = FinancialYear.parse(financial_year)
        claimed = parse_amount(amount)
        code = parse_enum(RecoveryReason, reason_code, field="reason_code")

        def decide() -> Decision[FundingRequest]:
            request = self._request(request_id, expected_version)
            request.raise_recovery(year, claimed, code, note, actor)
            return (request,)

        return self._run_command(decide, request_id)

    def receive_recovery(
        self,
        actor: Actor,
        request_id: UUID,
        number: int,
        amount: Money | str,
        reference: str,
        *,
        received_on: date | None = None,
        expected_version: int | None = None,
    ) -> FundingRequest:
        """Money came in against recovery ``number``: back to the fund it was paid from."""
        check_role(actor, "receive_recovery")
        _check_number(number, "recovery")
        received = parse_amount(amount)
        lock_ids = self._award_fund_ids(request_id)

        def decide() -> Decision[FundingRequest]:
            request = self._request(request_id, expected_version)
            recovery = request.current_award().recovery(number)
            fund = self._fund_of(request, recovery.financial_year)
            request.receive_recovery(number, received, reference, received_on or today_in_england(), actor, fund)
            return request, fund

        return self._run_command(decide, request_id, *lock_ids)

    # -- the funds of an award ------------------------------------------------------------------------

    def _award_fund_ids(self, request_id: UUID) -> list[UUID]:
        """The funds any of this request's money can be on: its year's and the next, cluster and council."""
        peeked = self._peek_request(request_id)
        ids = []
        for year in _this_and_next(peeked.financial_year):
            ids += [ClusterBudget.id_for(peeked.cluster_id, year), CouncilFund.id_for(year)]
        return ids

    def _award_funds(self, request: FundingRequest) -> list[Fund]:
        """The fund that approved the award, for the request's year and, if the award runs into it,
        the next: the one a payment, release or recovery moves money on."""
        years = [request.financial_year]
        if any(year != request.financial_year for year in request.current_award().financial_years()):
            years.append(next_year(request.financial_year))
        return [self._fund_of(request, year) for year in years]

    def _fund_of(self, request: FundingRequest, year: FinancialYear) -> Fund:
        fund: Fund | None
        if request.funded_by == "council":
            fund = self._find(CouncilFund.id_for(year), CouncilFund)
        else:
            fund = self._find(ClusterBudget.id_for(request.cluster_id, year), ClusterBudget)
        if fund is None:
            raise NotFound(f"the fund for {year} that approved this request is missing")
        return fund

    def _request_for_decider(self, actor: Actor, request_id: UUID, expected_version: int | None) -> FundingRequest:
        request = self._request(request_id)
        check_may_read_request(actor, request)
        check_decided_the_award(actor, request, request.funded_by)
        self._check_version(request, expected_version)
        return request


def _this_and_next(year: FinancialYear) -> list[FinancialYear]:
    try:
        return [year, FinancialYear(year.start_year + 1)]
    except InvalidValue:  # the last year the engine knows has no next
        return [year]


def _check_number(number: int | None, what: str) -> None:
    if number is not None and (type(number) is not int or not 1 <= number <= MAX_INSTALMENT_NUMBER):
        raise InvalidValue(f"{what} is a number from 1 to {MAX_INSTALMENT_NUMBER}")
