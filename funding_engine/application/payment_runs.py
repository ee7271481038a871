"""Payment runs: finance pays what is due in one file, and the bank's remittance records what was paid.

Finance lists the instalments due by a date (the instalments read model) and creates a run of them.
The run is decided on the aggregates, not on the read model alone: each instalment the read model
lists is checked on its request (still payable, not held, due by then) and in the payment run book
(in no open run), and the run is saved with the book in one transaction. Two officers creating runs
at once both change the book, so the store saves one and the other decides again, by which time
the first run's instalments are in the book: no instalment is ever in two open runs, on either store.

A remittance is matched line by line (``domain/remittances.py`` says when a line pays). All the
lines of one file that pay are recorded in one transaction, together with their runs' lines, the
book, and a record of the import (``Remittance``). Each payment is the request's
``record_payment`` on the fund it is paid from, as finance recording it by hand would be, so request
and fund are saved together; the whole file is saved together because it is one bank statement:
it is in the log whole or not at all, a retry after a failure never leaves half of it recorded,
and one ``Idempotency-Key`` covers the import. Lines that pay nothing are reported and do not hold
the others back. Importing the same file again finds every line paid, records nothing, and says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TextIO
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import FundingError, InvalidValue, NotFound
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.lifecycle import PAYABLE_STATUSES
from domain.limits import DEFAULT_PAGE_SIZE, SHORT_TEXT
from domain.money import Money, sum_money
from domain.payment_files import CostCentres, RunFileColumns
from domain.payment_runs import (
    MAX_RUN_NUMBER,
    RUN_BOOK_ID,
    InstalmentKey,
    LinePayment,
    PaymentRun,
    PaymentRunBook,
    RunLine,
    RunSelection,
    check_funded_by,
    parse_line_reference,
)
from domain.permissions import check_role
from domain.remittances import Remittance, RemittancePayment, RemittanceProblem, why_not_payable
from domain.schools import School
from domain.text import check_text
from domain.values import Actor, ClusterId, FinancialYear, SchoolUrn
from funding_engine.application.awards import Awards
from funding_engine.application.engine import Decision
from funding_engine.application.payment_files import (
    RemittanceLine,
    read_remittance,
    run_file_name,
    text_of_remittance,
    write_run_file,
)
from funding_engine.settings import Settings
from projections import instalment_queries
from projections.queries import POSITION_KEY, Page, check_limit, decode_cursor, encode_cursor
from projections.read_models.instalments import InstalmentRow, Instalments

__all__ = ["InstalmentRow", "PaymentRuns", "RemittanceReport"]


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

    def __init__(self, app: PaymentRuns) -> None:
        self._app = app
        self._loaded: dict[UUID, Aggregate | None] = {}

    def find(self, aggregate_id: UUID, cls: type[Any]) -> Any:
        if aggregate_id not in self._loaded:
            self._loaded[aggregate_id] = self._app._find(aggregate_id, cls)
        found = self._loaded[aggregate_id]
        return found if isinstance(found, cls) else None

    def changed(self) -> list[Aggregate]:
        return [a for a in self._loaded.values() if a is not None and a.pending_events]


class PaymentRuns(Awards):
    """Finance's payment runs and the bank's remittances (see the module's note)."""

    def __init__(self, settings: Settings, env: Mapping[str, str] | None = None) -> None:
        super().__init__(settings, env)
        self.run_file_columns = RunFileColumns.parse(settings.payment_run_columns)
        self.cost_centres = CostCentres.parse(settings.cost_centres)

    # -- what is due ------------------------------------------------------------------------------------

    def instalments_due(
        self,
        actor: Actor,
        due_by: date | str,
        *,
        funded_by: str | None = None,
        cluster_id: ClusterId | str | None = None,
        financial_year: FinancialYear | str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[InstalmentRow]:
        """Instalments due by ``due_by`` that are unpaid, not held and in no open run, earliest first.

        ``funded_by`` (``cluster`` or ``council``), ``cluster_id`` and ``financial_year`` (the
        instalment's, the fund it is paid from) narrow the list, as they narrow a run.
        """
        check_role(actor, "read_payment_runs")
        selection = _selection(due_by, funded_by, cluster_id, financial_year)
        return instalment_queries.instalments_due_page(
            self.fresh_read_models([Instalments.name]), **_filters(selection), limit=limit, cursor=cursor
        )

    # -- runs ---------------------------------------------------------------------------------------------

    def create_payment_run(
        self,
        actor: Actor,
        due_by: date | str,
        *,
        funded_by: str | None = None,
        cluster_id: ClusterId | str | None = None,
        financial_year: FinancialYear | str | None = None,
    ) -> PaymentRun:
        """A new run of every instalment ``instalments_due`` lists under the same filters, a line each.

        409 (``NothingDue``) when nothing is due that another open run has not taken.
        """
        check_role(actor, "create_payment_run")
        selection = _selection(due_by, funded_by, cluster_id, financial_year)

        def decide() -> Decision[PaymentRun]:
            book = self._find(RUN_BOOK_ID, PaymentRunBook) or PaymentRunBook.start(actor)
            run = book.open_run(selection, self._run_lines(book, selection), actor)
            return run, book

        return self._run_command(decide, RUN_BOOK_ID)

    def payment_run(self, actor: Actor, number: int | str) -> PaymentRun:
        """One run by its number: its lines, which are paid, and whether it was cancelled."""
        check_role(actor, "read_payment_runs")
        return self._get(PaymentRun.id_for(_run_number(number)), PaymentRun, f"payment run {number}", to_change=False)

    def payment_runs(
        self, actor: Actor, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> Page[PaymentRun]:
        """Every run, newest first, a page at a time."""
        check_role(actor, "read_payment_runs")
        check_limit(limit)
        book = self._find(RUN_BOOK_ID, PaymentRunBook, to_change=False)
        newest = book.last_number if book is not None else 0
        if cursor:
            (after,) = decode_cursor(cursor, POSITION_KEY)
            newest = min(newest, after - 1)
        numbers = range(newest, max(newest - limit, 0), -1)
        runs = [self._get(PaymentRun.id_for(n), PaymentRun, f"payment run {n}", to_change=False) for n in numbers]
        more = bool(runs) and runs[-1].number > 1
        return Page(runs, encode_cursor([runs[-1].number]) if more else None)

    def write_payment_run_file(self, actor: Actor, number: int | str, out: TextIO) -> PaymentRun:
        """The run as the council's finance system imports it (CSV, the configured columns), into ``out``."""
        run = self.payment_run(actor, number)
        write_run_file(run, self.run_file_columns, out)
        return run

    @staticmethod
    def payment_run_file_name(run: PaymentRun) -> str:
        """What to call a run's file when it is downloaded: ``payment-run-PR-000012.csv``."""
        return run_file_name(run)

    def cancel_payment_run(
        self, actor: Actor, number: int | str, reason: str, *, expected_version: int | None = None
    ) -> PaymentRun:
        """Withdraw a run's unpaid lines (the file was never sent, or the bank refused it): their
        instalments are due again, for a later run. Lines already paid stay paid."""
        check_role(actor, "cancel_payment_run")
        check_text(reason, field="reason", max_length=SHORT_TEXT)
        run_id = PaymentRun.id_for(_run_number(number))

        def decide() -> Decision[PaymentRun]:
            run = self._get(run_id, PaymentRun, f"payment run {number}")
            self._check_version(run, expected_version)
            book = self._get(RUN_BOOK_ID, PaymentRunBook, "the payment run book")
            run.cancel(reason, actor, book)
            return run, book

        return self._run_command(decide, RUN_BOOK_ID, run_id)

    # -- the bank's remittance ----------------------------------------------------------------------

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
        return RemittanceReport(remittance.lines_read, remittance.paid, remittance.reported, remittance.id)

    # -- deciding -------------------------------------------------------------------------------------

    def _run_lines(self, book: PaymentRunBook, selection: RunSelection) -> list[RunLine]:
        """A line for each instalment the read model lists as due, checked on its request and the book."""
        due = instalment_queries.instalments_due(self.fresh_read_models([Instalments.name]), **_filters(selection))
        lines: list[RunLine] = []
        for row in due:
            key = InstalmentKey(UUID(hex=row.request_id), row.number)
            request = self._find(key.request_id, FundingRequest, to_change=False)
            if book.run_holding(key) is not None or request is None or request.award is None:
                continue
            instalment = request.award.instalment(key.number)
            payable = request.status in PAYABLE_STATUSES and not instalment.is_held and instalment.unpaid.is_positive
            if not payable or instalment.due_on > selection.due_by or request.funded_by is None:
                continue  # changed since the read model caught up: the request is the record
            lines.append(
                RunLine(
                    len(lines) + 1,
                    request.id,
                    instalment.number,
                    instalment.unpaid,
                    instalment.due_on,
                    instalment.financial_year,
                    request.funded_by,
                    request.cluster_id,
                    request.school_urn,
                    self._school_name(request.school_urn),
                    self.cost_centres.for_award(request.funded_by, request.cluster_id),
                )
            )
        return lines

    def _school_name(self, urn: SchoolUrn) -> str:
        school = self._find(School.id_for(urn), School, to_change=False)
        return school.name if school is not None else ""

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
        if why is None:
            try:
                fund, next_fund = self._funds_of(loaded, request)
                reference = run.line_reference(found[1])
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


def _selection(
    due_by: date | str,
    funded_by: str | None,
    cluster_id: ClusterId | str | None,
    financial_year: FinancialYear | str | None,
) -> RunSelection:
    return RunSelection(
        _date(due_by, "due_by"),
        check_funded_by(funded_by),
        None if cluster_id is None else ClusterId.parse(cluster_id),
        None if financial_year is None else FinancialYear.parse(financial_year),
    )


def _filters(selection: RunSelection) -> dict[str, Any]:
    return {
        "due_by": selection.due_by.isoformat(),
        "funded_by": selection.funded_by,
        "cluster_id": None if selection.cluster_id is None else str(selection.cluster_id),
        "financial_year": None if selection.financial_year is None else str(selection.financial_year),
    }


def _date(value: date | str, field: str) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidValue(f"{field} must be a date such as 2026-09-30")


def _run_number(number: int | str) -> int:
    """A run number, or not found: a number no run could have names no run."""
    text = str(number)
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_RUN_NUMBER:
        raise NotFound(f"payment run {text[:20]!r} not found")
    return int(text)
