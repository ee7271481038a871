"""The bank's remittance: which payment run lines it paid, and the record of importing it.

A remittance line records a payment only when it names a run line (by its reference), for exactly
that line's amount, and the line's instalment can still be paid. Anything else is reported, with
why, and records nothing: a reference that names no line, another amount, a line already paid or
withdrawn, an instalment held or given back since the run was made. ``why_not_payable`` states those
rules; the application loads what they need and records the payments.

Importing a file that paid at least one line is recorded as a ``Remittance``: the lines it paid and
the lines it reported, so the answer to an import can be given again exactly, and an auditor can
see what each file did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.awards import Award
from domain.copying import shared_when_copied
from domain.errors import InvalidValue
from domain.lifecycle import PAYABLE_STATUSES
from domain.money import Money
from domain.payment_runs import PaymentRun
from domain.values import Actor, RequestStatus


@shared_when_copied
@dataclass(frozen=True, slots=True)
class RemittancePayment:
    """A remittance line that recorded a payment: the file's line, and what it paid."""

    line: int  # the file's line number (the header is line 1)
    reference: str
    amount: Money
    paid_on: date
    request_id: UUID
    instalment: int


@shared_when_copied
@dataclass(frozen=True, slots=True)
class RemittanceProblem:
    """A remittance line that recorded nothing, and why."""

    line: int  # the file's line number (the header is line 1)
    reference: str
    reason: str


class Remittance(Aggregate):
    """One imported remittance file that paid something: what it paid and what it reported."""

    class Imported(Aggregate.Created):
        class_version = 1
        sha256: str  # of the file as imported, so the same file is recognisable later
        lines_read: int
        paid: list[RemittancePayment]
        reported: list[RemittanceProblem]
        actor: Actor

    def __init__(
        self,
        sha256: str,
        lines_read: int,
        paid: list[RemittancePayment],
        reported: list[RemittanceProblem],
        actor: Actor,
    ) -> None:
        self.sha256 = sha256
        self.lines_read = lines_read
        self.paid = list(paid)
        self.reported = list(reported)
        self.imported_by = actor

    @classmethod
    def record(
        cls,
        sha256: str,
        lines_read: int,
        paid: list[RemittancePayment],
        reported: list[RemittanceProblem],
        actor: Actor,
    ) -> Remittance:
        if not paid:
            raise InvalidValue("a remittance is recorded only when it paid something")
        return cls._create(
            cls.Imported, sha256=sha256, lines_read=lines_read, paid=list(paid), reported=list(reported), actor=actor
        )


def why_not_payable(
    run: PaymentRun, line: int, amount: Money, status: RequestStatus, award: Award | None
) -> str | None:
    """Why a remittance line for ``amount`` cannot pay line ``line`` of ``run``, or None if it can.

    ``status`` and ``award`` are the line's request's, as they are now.
    """
    run_line = run.line(line)
    if run_line is None:
        return f"payment run {run.reference} has no line {line}"
    if run.line_status(line) == "paid":
        return f"already paid on {run.paid_on(line)}"
    if run.line_status(line) == "withdrawn":
        return f"payment run {run.reference} was cancelled, so this line was withdrawn"
    if amount != run_line.amount:
        return f"the amount {amount} is not the {run_line.amount} of the run line"
    if award is None or status not in PAYABLE_STATUSES:
        return f"the award is {status.value}: nothing of it is payable"
    instalment = award.instalment(run_line.instalment)
    if instalment.is_held:
        return f"instalment {instalment.number} is held until {instalment.held_until}"
    if instalment.unpaid < amount:
        if instalment.released.is_positive:
            return f"instalment {instalment.number} was cancelled: {instalment.released} of it was released"
        return f"only {instalment.unpaid} of instalment {instalment.number} is unpaid"
    return None
