"""Payment runs: the instalments finance pays together in one file, and which of them the bank paid.

Finance creates a run for the instalments due by a date. The run records exactly which instalments
it covers, a line each (the payee school, the award, the cost centre, the amount and the due date),
and is written out as a file the council's finance system imports. Each line has a reference the
bank quotes back in its remittance, ``PR-000012-0003`` (run 12, line 3): it fits the 18 characters
of a BACS payment reference, so it survives the trip through the bank unchanged.

An instalment is in at most one open run. One ``PaymentRunBook`` (a single aggregate with a fixed
id) numbers the runs and holds which instalments are in open runs, and every run is opened, paid
and cancelled through it. Two officers creating runs at once therefore both change the book: the
store saves one, and the other decides again, seeing what the first took. An instalment leaves the
book when its line is paid, or when its run is cancelled (it can then go in a later run).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.copying import shared_when_copied
from domain.errors import Conflict, InvalidValue
from domain.funds import ID_NAMESPACE
from domain.limits import SHORT_TEXT
from domain.money import Money, sum_money
from domain.text import check_text
from domain.values import Actor, ClusterId, FinancialYear, SchoolUrn

# Fixed for all time, like every derived id: a new one would start a second book.
RUN_BOOK_ID = uuid5(ID_NAMESPACE, "payment-run-book")
# Six digits of run and four of line keep a line reference within a BACS reference's 18 characters.
MAX_RUN_NUMBER = 999_999
MAX_RUN_LINES = 9_999
FUNDERS = ("cluster", "council")

_LINE_REFERENCE = re.compile(r"^PR-([0-9]{6})-([0-9]{4})\Z")


class NothingDue(Conflict):
    """No instalment the run was asked for is due and payable, and free of other open runs."""


class InstalmentInOpenRun(Conflict):
    """An instalment is in one open run at most."""


class RunNotOpen(Conflict):
    """The run was cancelled, or every line of it is paid."""


def run_reference(number: int) -> str:
    return f"PR-{number:06d}"


def line_reference(number: int, line: int) -> str:
    return f"{run_reference(number)}-{line:04d}"


def parse_line_reference(text: str) -> tuple[int, int] | None:
    """The run and line a reference names, or None if it is not a run line's reference at all.

    Banks print references in capitals and sometimes pad them with spaces; both are forgiven.
    """
    match = _LINE_REFERENCE.match(text.strip().upper())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


@shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class InstalmentKey:
    """One instalment of one award, wherever it is mentioned."""

    request_id: UUID
    number: int

    def __str__(self) -> str:
        return f"{self.request_id.hex}/{self.number}"


@shared_when_copied
@dataclass(frozen=True, slots=True)
class RunSelection:
    """What a run was asked for: instalments due by a date, of one funder, cluster or year if named."""

    due_by: date
    funded_by: str | None
    cluster_id: ClusterId | None
    financial_year: FinancialYear | None  # the instalments' year (the fund they are paid from)

    def __post_init__(self) -> None:
        if self.funded_by is not None and self.funded_by not in FUNDERS:
            raise InvalidValue(f"funded_by must be one of: {', '.join(FUNDERS)}")


@shared_when_copied
@dataclass(frozen=True, slots=True)
class RunLine:
    """One line of a run: an instalment, who it pays, and how the council's ledger books it.

    ``school_name`` and ``cost_centre`` are as they were when the run was made: the file a finance
    system imported must read the same whenever it is written out again.
    """

    line: int
    request_id: UUID
    instalment: int
    amount: Money
    due_on: date
    financial_year: FinancialYear  # the instalment's: the fund it is paid from
    funded_by: str
    cluster_id: ClusterId
    school_urn: SchoolUrn
    school_name: str
    cost_centre: str

    @property
    def key(self) -> InstalmentKey:
        return InstalmentKey(self.request_id, self.instalment)

    @property
    def award_reference(self) -> str:
        """The award is its funding request's: the request's id names it everywhere else."""
        return str(self.request_id)


@shared_when_copied
@dataclass(frozen=True, slots=True)
class LinePayment:
    """A run line the bank paid, and the day its remittance says the money went."""

    line: int
    paid_on: date


class PaymentRunBook(Aggregate):
    """Every payment run's number, and which instalments are in open runs (see the module's note)."""

    class Started(Aggregate.Created):
        class_version = 1
        actor: Actor

    class RunOpened(Aggregate.Event):
        class_version = 1
        number: int
        instalments: list[InstalmentKey]
        actor: Actor

        def apply(self, book: PaymentRunBook) -> None:
            book.last_number = self.number
            book.open_instalments = {**book.open_instalments, **{str(key): self.number for key in self.instalments}}

    class InstalmentsSettled(Aggregate.Event):
        """The instalments left their open run: paid, or withdrawn with the run."""

        class_version = 1
        number: int
        instalments: list[InstalmentKey]
        actor: Actor

        def apply(self, book: PaymentRunBook) -> None:
            settled = {str(key) for key in self.instalments}
            book.open_instalments = {k: n for k, n in book.open_instalments.items() if k not in settled}

    def __init__(self, actor: Actor) -> None:
        self.last_number = 0
        # By ``str(InstalmentKey)``: text keys survive a snapshot's JSON as themselves.
        self.open_instalments: dict[str, int] = {}

    @classmethod
    def start(cls, actor: Actor) -> PaymentRunBook:
        return cls._create(cls.Started, id=RUN_BOOK_ID, actor=actor)

    def run_holding(self, key: InstalmentKey) -> int | None:
        """The number of the open run ``key`` is in, if any."""
        return self.open_instalments.get(str(key))

    def open_run(self, selection: RunSelection, lines: list[RunLine], actor: Actor) -> PaymentRun:
        """Number a new run of ``lines`` and take their instalments into it."""
        if not lines:
            raise NothingDue(f"nothing is due by {selection.due_by.isoformat()} that is not paid, held or in a run")
        if len(lines) > MAX_RUN_LINES:
            raise InvalidValue(f"a payment run has at most {MAX_RUN_LINES:,} lines; choose a narrower run")
        if [line.line for line in lines] != list(range(1, len(lines) + 1)):
            raise InvalidValue("a run's lines are numbered 1, 2, 3... in order")
        keys = [line.key for line in lines]
        if len(set(keys)) != len(keys):
            raise InvalidValue("an instalment is on one line of a run at most")
        for key in keys:
            holder = self.run_holding(key)
            if holder is not None:
                where = run_reference(holder)
                raise InstalmentInOpenRun(f"instalment {key.number} of request {key.request_id} is in open run {where}")
        number = self.last_number + 1
        if number > MAX_RUN_NUMBER:
            raise Conflict(f"run numbers are used up at {MAX_RUN_NUMBER}")
        self.trigger_event(self.RunOpened, number=number, instalments=keys, actor=actor)
        return PaymentRun.open(number, selection, lines, actor)

    def settle(self, number: int, keys: list[InstalmentKey], actor: Actor) -> None:
        if keys:
            self.trigger_event(self.InstalmentsSettled, number=number, instalments=keys, actor=actor)


class PaymentRun(Aggregate):
    """One run: its lines, which of them the bank has paid, and whether finance cancelled it."""

    @staticmethod
    def id_for(number: int) -> UUID:
        return uuid5(ID_NAMESPACE, f"payment-run/{number}")

    class Opened(Aggregate.Created):
        class_version = 1
        number: int
        selection: RunSelection
        lines: list[RunLine]
        actor: Actor

    class LinesPaid(Aggregate.Event):
        """A remittance (``remittance_id``) said these lines were paid."""

        class_version = 1
        payments: list[LinePayment]
        remittance_id: UUID
        actor: Actor

        def apply(self, run: PaymentRun) -> None:
            run.payments = [*run.payments, *self.payments]

    class Cancelled(Aggregate.Event):
        """Finance withdrew the lines not yet paid: their instalments may go in another run."""

        class_version = 1
        reason: str
        withdrawn: list[InstalmentKey]
        actor: Actor

        def apply(self, run: PaymentRun) -> None:
            run.cancelled = True
            run.cancel_reason = self.reason

    def __init__(self, number: int, selection: RunSelection, lines: list[RunLine], actor: Actor) -> None:
        self.number = number
        self.selection = selection
        self.lines = list(lines)
        self.created_by = actor
        self.payments: list[LinePayment] = []
        self.cancelled = False
        self.cancel_reason = ""

    @classmethod
    def open(cls, number: int, selection: RunSelection, lines: list[RunLine], actor: Actor) -> PaymentRun:
        return cls._create(
            cls.Opened, id=cls.id_for(number), number=number, selection=selection, lines=list(lines), actor=actor
        )

    # -- what the run is -------------------------------------------------------------------------

    @property
    def reference(self) -> str:
        return run_reference(self.number)

    def line_reference(self, line: int) -> str:
        return line_reference(self.number, line)

    @property
    def total(self) -> Money:
        return sum_money(line.amount for line in self.lines)

    def line(self, number: int) -> RunLine | None:
        return self.lines[number - 1] if 1 <= number <= len(self.lines) else None

    def paid_on(self, line: int) -> date | None:
        for payment in self.payments:
            if payment.line == line:
                return payment.paid_on
        return None

    def line_status(self, line: int) -> str:
        """``paid``, ``withdrawn`` (the run was cancelled before it was paid) or ``awaiting`` payment."""
        if self.paid_on(line) is not None:
            return "paid"
        return "withdrawn" if self.cancelled else "awaiting"

    @property
    def awaiting(self) -> list[RunLine]:
        return [line for line in self.lines if self.line_status(line.line) == "awaiting"]

    @property
    def status(self) -> str:
        """``open`` while a line awaits payment; then ``paid``, or ``cancelled`` if finance withdrew it."""
        if self.cancelled:
            return "cancelled"
        return "open" if self.awaiting else "paid"

    # -- commands ----------------------------------------------------------------------------------

    def pay_lines(self, payments: list[LinePayment], remittance_id: UUID, actor: Actor, book: PaymentRunBook) -> None:
        """The bank paid these lines; their instalments leave the book's open runs in the same save."""
        if not payments:
            return
        for payment in payments:
            self.check_awaits_payment(payment.line)
        if len({payment.line for payment in payments}) != len(payments):
            raise InvalidValue("a line is paid once")
        keys = [self.lines[payment.line - 1].key for payment in payments]
        self.trigger_event(self.LinesPaid, payments=list(payments), remittance_id=remittance_id, actor=actor)
        book.settle(self.number, keys, actor)

    def cancel(self, reason: str, actor: Actor, book: PaymentRunBook) -> None:
        """Withdraw the lines not yet paid (the file was never sent, or the bank refused it)."""
        check_text(reason, field="reason", max_length=SHORT_TEXT)
        if self.cancelled:
            raise RunNotOpen(f"payment run {self.reference} is already cancelled")
        withdrawn = [line.key for line in self.awaiting]
        if not withdrawn:
            raise RunNotOpen(f"every line of payment run {self.reference} is paid: there is nothing to cancel")
        self.trigger_event(self.Cancelled, reason=reason, withdrawn=withdrawn, actor=actor)
        book.settle(self.number, withdrawn, actor)

    def check_awaits_payment(self, line: int) -> None:
        if self.line(line) is None:
            raise InvalidValue(f"payment run {self.reference} has no line {line}")
        status = self.line_status(line)
        if status == "paid":
            raise RunNotOpen(f"line {self.line_reference(line)} was already paid on {self.paid_on(line)}")
        if status == "withdrawn":
            raise RunNotOpen(
                f"payment run {self.reference} was cancelled: line {self.line_reference(line)} was withdrawn"
            )


def check_funded_by(value: Any) -> str | None:
    """A run's funder filter: ``cluster``, ``council`` or None (both)."""
    if value is None:
        return None
    if value not in FUNDERS:
        raise InvalidValue(f"funded_by must be one of: {', '.join(FUNDERS)}")
    return str(value)
