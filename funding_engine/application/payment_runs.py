"""Payment runs: finance pays what is due in one file, which the bank then pays (``remittances``).

Finance lists the instalments due by a date (the instalments read model) and creates a run of them.
The run is decided on the aggregates, not on the read model alone: each instalment the read model
lists is checked on its request (still payable, not held, due by then) and in the payment run book
(in no open run), and the run is saved with the book in one transaction. Two officers creating runs
at once both change the book, so the store saves one and the other decides again, by which time
the first run's instalments are in the book: no instalment is ever in two open runs, on either store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TextIO
from uuid import UUID

from domain.errors import InvalidValue, NotFound
from domain.funding_request import FundingRequest
from domain.lifecycle import PAYABLE_STATUSES
from domain.limits import DEFAULT_PAGE_SIZE, SHORT_TEXT
from domain.payment_files import CostCentres, RunFileColumns
from domain.payment_runs import (
    MAX_RUN_NUMBER,
    RUN_BOOK_ID,
    InstalmentKey,
    PaymentRun,
    PaymentRunBook,
    RunLine,
    RunSelection,
    check_funded_by,
)
from domain.permissions import check_role
from domain.schools import School
from domain.text import check_text
from domain.values import Actor, ClusterId, FinancialYear, SchoolUrn
from funding_engine.application.engine import Decision
from funding_engine.application.payment_files import run_file_name, write_run_file
from funding_engine.application.remittances import RemittanceReport, Remittances
from funding_engine.settings import Settings
from projections import instalment_queries
from projections.queries import POSITION_KEY, Page, check_limit, decode_cursor, encode_cursor
from projections.read_models.instalments import InstalmentRow, Instalments

__all__ = ["InstalmentRow", "PaymentRuns", "RemittanceReport"]


class PaymentRuns(Remittances):
    """Finance's payment runs (see the module's note), and through ``Remittances`` the bank's remittances."""

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
