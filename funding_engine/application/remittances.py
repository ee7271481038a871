"""The bank's remittance: the payments it says were made, recorded against the payment runs' lines.

A remittance is matched line by line (``domain/remittances.py`` says when a line pays). All the
lines of one file that pay are recorded in one transaction, together with their runs' lines, the
payment run book, and a record of the import (``Remittance``). Each payment is the request's
``record_payment`` on the fund it is paid from, as finance recording it by hand would be, so request
and fund are saved together; the whole file is saved together because it is one bank statement:
it is in the log whole or not at all, a retry after a failure never leaves half of it recorded,
and one ``Idempotency-Key`` covers the import. Lines that pay nothing are reported and do not hold
the others back. Importing the same file again finds every line paid, records nothing, and says so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import FundingError, NotFound
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.money import Money, sum_money
from domain.payment_runs import RUN_BOOK_ID, LinePayment, PaymentRun, PaymentRunBook, parse_line_reference
from domain.permissions import check_role
from domain.remittances import Remittance, RemittancePayment, RemittanceProblem, why_not_payable
from domain.values import Actor, FinancialYear
from funding_engine.application.awards import Awards
from funding_engine.application.engine import Decision
from funding_engine.application.payment_files import RemittanceLine, read_remittance, text_of_remittance

__all__ = ["RemittanceReport", "Remittances"]


@dataclass(frozen=True)
class RemittanceReport:
    """What importing a remittance did: each line it paid, and each it reported with why.

    ``remittance_id`` names the record of the import, or is None when nothing was paid (and so
    nothing was recorded).
    """

    lines_read: int
    paid: list[RemittancePayment]
    reported: list[RemittanceProblem]
    remittance_id: UUID | None = None

    @property
    def total_paid(self) -> Money:
        return sum_money(line.amount for line in self.paid)


class _NothingPaid(Exception):
    """No line of the remittance paid anything: there is nothing to save."""

    def __init__(self, reported: list[RemittanceProblem]) -> None:
        super().__init__("nothing paid")
        self.reported = reported


class _Loaded:
    """The aggregates one decision loads and changes, each loaded once (two payments from one
    fund must change one copy of it)."""

    def __init__(self, app: Remittances) -> None:
        self._app = app
        self._loaded: dict[UUID, Aggregate | None] = {}

    def find(self, aggregate_id: UUID, cls: type[Any]) -> Any:
        if aggregate_id not in self._loaded:
            self._loaded[aggregate_id] = self._app._find(aggregate_id, cls)
        found = self._loaded[aggregate_id]
        return found if isinstance(found, cls) else None

    def changed(self) -> list[Aggregate]:
        return [a for a in self._loaded.values() if a is not None and a.pending_events]


class Remittances(Awards):
    """Importing the bank's remittance against the payment runs (see the module's note)."""

    def import_remittance(self, actor: Actor, data: bytes) -> RemittanceReport:
        """Record the payments a remittance file (CSV: reference, amount, date) says were made.

        Each line that names a run line, for its exact amount, whose instalment is still payable,
        records that payment (reference: the line's; paid on: the remittance's date) and marks the
        line paid, all in one transaction; every other line is reported with why and records
        nothing. A file that is not such a CSV is refused whole (422, ``ImportRefused``).
        """
        check_role(actor, "import_remittance")
        lines, unreadable = read_remittance(text_of_remittance(data))
        lines_read = len(lines) + len(unreadable)
        sha256 = hashlib.sha256(data).hexdigest()
        run_ids = {PaymentRun.id_for(found[0]) for line in lines if (found := parse_line_reference(line.reference))}

        def decide() -> Decision[Remittance]:
            loaded = _Loaded(self)
            paid: list[RemittancePayment] = []
            reported = list(unreadable)
            by_run: dict[int, list[LinePayment]] = {}
            for line in lines:
                outcome = self._pay(loaded, line, actor)
                if isinstance(outcome, RemittanceProblem):
                    reported.append(outcome)
                    continue
                number, line_payment, payment = outcome
                paid.append(payment)
                by_run.setdefault(number, []).append(line_payment)
            reported.sort(key=lambda problem: problem.line)
            if not paid:
                raise _NothingPaid(reported)
            remittance = Remittance.record(sha256, lines_read, paid, reported, actor)
            book = loaded.find(RUN_BOOK_ID, PaymentRunBook)
            for number, payments in by_run.items():
                loaded.find(PaymentRun.id_for(number), PaymentRun).pay_lines(payments, remittance.id, actor, book)
            return remittance, *loaded.changed()

        try:
            remittance = self._run_command(decide, RUN_BOOK_ID, *run_ids)
        except _NothingPaid as nothing:
            return RemittanceReport(lines_read, [], nothing.reported)
        return _report(remittance)

    def remittance_report(self, actor: Actor, remittance_id: UUID) -> RemittanceReport:
        """The report of an import that paid something, again (``RemittanceReport.remittance_id``)."""
        check_role(actor, "read_payment_runs")
        if not isinstance(remittance_id, UUID):
            raise NotFound("no such remittance")
        return _report(self._get(remittance_id, Remittance, f"remittance {remittance_id}", to_change=False))

    def _pay(
        self, loaded: _Loaded, line: RemittanceLine, actor: Actor
    ) -> tuple[int, LinePayment, RemittancePayment] | RemittanceProblem:
        """Record the payment ``line`` makes, or say why it makes none."""
        found = parse_line_reference(line.reference)
        run = None if found is None else loaded.find(PaymentRun.id_for(found[0]), PaymentRun)
        if found is None or run is None:
            return RemittanceProblem(line.line, line.reference, "the reference matches no payment run line")
        run_line = run.line(found[1])
        request = None if run_line is None else loaded.find(run_line.request_id, FundingRequest)
        if run_line is None or request is None:
            return RemittanceProblem(line.line, line.reference, f"payment run {run.reference} has no line {found[1]}")
        why = why_not_payable(run, found[1], line.amount, request.status, request.award)
        reference = run.line_reference(found[1])
        if why is None:
            try:
                fund, next_fund = self._funds_of(loaded, request)
                request.record_payment(
                    line.amount, reference, actor, fund, next_fund=next_fund, instalment=run_line.instalment,
                    paid_on=line.paid_on,
                )  # fmt: skip
            except FundingError as error:  # a rule of the request's or the fund's: checked before anything changed
                why = str(error)
        if why is not None:
            return RemittanceProblem(line.line, line.reference, why)
        payment = RemittancePayment(
            line.line, reference, line.amount, line.paid_on, run_line.request_id, run_line.instalment
        )
        return run.number, LinePayment(found[1], line.paid_on), payment

    def _funds_of(self, loaded: _Loaded, request: FundingRequest) -> tuple[Fund, Fund | None]:
        """The fund that approved the award for the request's year and, if the award runs into it, the next."""
        years = [request.financial_year]
        if any(year != request.financial_year for year in request.current_award().financial_years()):
            years.append(FinancialYear(request.financial_year.start_year + 1))
        funds: list[Fund] = []
        for year in years:
            if request.funded_by == "council":
                fund = loaded.find(CouncilFund.id_for(year), CouncilFund)
            else:
                fund = loaded.find(ClusterBudget.id_for(request.cluster_id, year), ClusterBudget)
            if fund is None:
                raise NotFound(f"the fund for {year} that approved this request is missing")
            funds.append(fund)
        return funds[0], funds[1] if len(funds) > 1 else None


def _report(remittance: Remittance) -> RemittanceReport:
    return RemittanceReport(remittance.lines_read, remittance.paid, remittance.reported, remittance.id)
