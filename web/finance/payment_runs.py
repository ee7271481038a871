"""Finance's payment runs: what is due by a date, a run made of it, the run's file for the council's
finance system, and cancelling a run the bank never paid (the remittance that pays it is imported
in ``remittances``).

The pages live under ``/finance/runs`` (the API has ``/finance/payment-runs``; page paths never
collide with the API's). Creating and cancelling carry a one-time key (``forms.run_once``), so a
retried post makes one run, or cancels once: the repeat is told so in the banner. The application
decides what a run takes; the "Create" form posts the filters the list was shown with, and the run
is what is due under them at that moment.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import Conflict, FundingError, InvalidValue, NotFound, StaleVersion
from domain.limits import MAX_PAGE_SIZE, SHORT_TEXT
from domain.payment_runs import FUNDERS, PaymentRun
from domain.values import Actor, FinancialYear, Role
from funding_engine.application.calendar import current_financial_year, today_in_england
from funding_engine.application.errors import IdempotencyKeyReused, InvalidQuery
from web.award_terms import absent, date_fields, date_values, read_date
from web.finance.common import year_options
from web.finance.forms import ONCE_FIELD, REUSED, new_key, run_once
from web.kit import Errors, Form, Kit, application_message, money
from web.provision_maps import date_items

RUNS = "/finance/runs"
DUE = f"{RUNS}/due"
RUNS_PER_PAGE = 25
FILTERS = ("funded_by", "cluster_id", "financial_year")
FUNDER_NAMES = {"cluster": "Awards a cluster made", "council": "Awards the council made"}
RUN_STATUS_TAGS = {
    "open": ("Open", "govuk-tag--blue"),
    "paid": ("Paid", "govuk-tag--green"),
    "cancelled": ("Cancelled", "govuk-tag--grey"),
}
LINE_STATUS_TAGS = {
    "awaiting": ("Awaiting payment", "govuk-tag--blue"),
    "paid": ("Paid", "govuk-tag--green"),
    "withdrawn": ("Withdrawn", "govuk-tag--grey"),
}
STALE = "The run changed while you had this page open. Check it, then cancel it again if you still need to."


@dataclass(frozen=True)
class Selection:
    """What the "Instalments due" page was asked for: a date, and the filters (``""`` for any)."""

    due_by: date
    funded_by: str
    cluster_id: str
    financial_year: str

    def arguments(self) -> dict[str, Any]:
        """As the application's ``instalments_due`` and ``create_payment_run`` take them."""
        return {name: getattr(self, name) or None for name in FILTERS}

    def fields(self) -> dict[str, str]:
        """As the create form posts them, and as the one-time key's claim records them."""
        return {"due_by": self.due_by.isoformat(), **{name: getattr(self, name) for name in FILTERS}}


def read_selection(form: Form, errors: Errors, *, date_field: str = "due_by") -> Selection:
    """The date and filters as typed; each mistake an error on its field. No date at all is today."""
    due_by: date | None = today_in_england()
    if date_field == "due_by" and not absent(form, *date_fields("due_by")):
        due_by = read_date(form, errors, "due_by", "instalments are due by")
    elif date_field == "due_by_iso":
        try:
            due_by = date.fromisoformat(form.get("due_by"))
        except ValueError:
            errors.add("due_by-day", "The date instalments are due by must be a real date, like 30 9 2026")
            due_by = None
    funded_by = form.get("funded_by")
    if funded_by and funded_by not in FUNDERS:
        errors.add("funded_by", "Choose whose awards to pay, or all of them")
        funded_by = ""  # the select then shows "all" beside the error, not a choice it does not offer
    year = form.get("financial_year")
    if year:
        try:
            year = str(FinancialYear.parse(year))
        except InvalidValue:
            errors.add("financial_year", "Choose a financial year like 2026-27, or any year")
            year = ""
    return Selection(due_by or today_in_england(), funded_by, form.get("cluster_id"), year)


def add_routes(pages: APIRouter, kit: Kit) -> None:
    application = kit.application
    read_models = application.read_models

    # -- what is due -------------------------------------------------------------------------------

    def due_page(
        request: Request,
        actor: Actor,
        selection: Selection,
        *,
        errors: Errors | None = None,
        status: int = 200,
        once: str | None = None,
    ) -> Response:
        errors = errors or Errors()
        clusters = read_models.list_clusters(actor)
        if selection.cluster_id and selection.cluster_id not in {row.cluster_id for row in clusters}:
            errors.add("cluster_id", "Choose a cluster from the list, or all clusters")
        rows: list[Any] = []
        if not errors or status == 409:
            try:
                rows = all_due(actor, selection)
            except InvalidValue as error:
                errors.add("due_by-day", application_message(error))
        if errors and status == 200:
            status = 400
        years = year_options(application, actor, selection.financial_year or current_financial_year())
        return kit.render(
            request,
            "finance/runs/due.html",
            title="Instalments due",
            status=status,
            errors=errors,
            breadcrumbs=[(RUNS, "Payment runs")],
            values={**date_values("due_by", selection.due_by), **selection.fields(), **typed(request)},
            selection=selection,
            rows=rows,
            total=sum(row.unpaid for row in rows),
            clusters=clusters,
            cluster_names={row.cluster_id: row.name for row in clusters},
            years=years,
            funders=FUNDER_NAMES,
            date_items=date_items,
            once=once or new_key(),
        )

    def typed(request: Request) -> dict[str, str]:
        """The date's boxes as typed (a date that is not one is shown back as it was typed)."""
        return {name: request.query_params[name] for name in date_fields("due_by") if name in request.query_params}

    def all_due(actor: Actor, selection: Selection) -> list[Any]:
        rows: list[Any] = []
        cursor: str | None = None
        while True:
            page = application.instalments_due(
                actor, selection.due_by, limit=MAX_PAGE_SIZE, cursor=cursor, **selection.arguments()
            )
            rows.extend(page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    @pages.get(DUE)
    def instalments_due(request: Request) -> Response:
        """Instalments due by a date, unpaid, not held and in no open run, with the form to pay them in a run."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        selection = read_selection(Form(dict(request.query_params)), errors)
        return due_page(request, actor, selection, errors=errors)

    @pages.post(RUNS)
    async def create_run(request: Request) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        form = await kit.form(request)
        errors = Errors()
        selection = read_selection(form, errors, date_field="due_by_iso")
        once = form.get(ONCE_FIELD)
        if errors:
            return due_page(request, actor, selection, errors=errors, status=400, once=once)

        def command() -> PaymentRun:
            return application.create_payment_run(actor, selection.due_by, **selection.arguments())

        try:
            run, repeated = run_once(kit, actor, form, RUNS, selection.fields(), command)
        except IdempotencyKeyReused:
            errors.add("create-run", REUSED)
            return due_page(request, actor, selection, errors=errors, status=409)
        except Conflict as error:  # nothing is due that another open run has not taken
            errors.add("create-run", application_message(error))
            return due_page(request, actor, selection, errors=errors, status=409)
        except FundingError as error:
            errors.add("due_by-day", application_message(error))
            return due_page(request, actor, selection, errors=errors, status=400, once=once)
        lines = f"{len(run.lines)} line{'' if len(run.lines) == 1 else 's'}"
        flash = f"Payment run {run.reference} created: {lines}, {money(run.total)}"
        if repeated:
            flash = f"That form had already been sent: payment run {run.reference} was created once, and not again"
        return kit.redirect(f"{RUNS}/{run.number}", flash=flash)

    # -- the runs ----------------------------------------------------------------------------------

    @pages.get(RUNS)
    def runs(request: Request, cursor: str = "") -> Response:
        """Every payment run, newest first, with the ways to make one and to import what the bank paid."""
        actor = kit.actor(request, Role.FINANCE)
        try:
            page = application.payment_runs(actor, limit=RUNS_PER_PAGE, cursor=cursor or None)
        except InvalidQuery:
            raise NotFound("no such page of payment runs") from None
        return kit.render(
            request,
            "finance/runs/runs.html",
            title="Payment runs",
            runs=page.items,
            next_cursor=page.next_cursor,
            first_page=not cursor,
            run_tags=RUN_STATUS_TAGS,
        )

    def run_of(actor: Actor, number: str) -> PaymentRun:
        return application.payment_run(actor, number)

    @pages.get(RUNS + "/{number}")
    def run(request: Request, number: str) -> Response:
        """One run, line by line: who it pays, for which award, and whether the bank has paid it."""
        actor = kit.actor(request, Role.FINANCE)
        found = run_of(actor, number)
        return kit.render(
            request,
            "finance/runs/run.html",
            title=f"Payment run {found.reference}",
            breadcrumbs=[(RUNS, "Payment runs")],
            run=found,
            awaiting=sum(line.amount.pence for line in found.awaiting),
            paid=sum(line.amount.pence for line in found.lines if found.line_status(line.line) == "paid"),
            run_tags=RUN_STATUS_TAGS,
            line_tags=LINE_STATUS_TAGS,
            funders=FUNDER_NAMES,
        )

    @pages.get(RUNS + "/{number}/download.csv")
    def download(request: Request, number: str) -> Response:
        """The run's file for the council's finance system: the same bytes as the API's ``file.csv``."""
        actor = kit.actor(request, Role.FINANCE)
        buffer = io.StringIO()
        found = application.write_payment_run_file(actor, number, buffer)
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{application.payment_run_file_name(found)}"',
                "Cache-Control": "no-store",
            },
        )

    # -- cancelling --------------------------------------------------------------------------------

    def cancel_page(
        request: Request,
        actor: Actor,
        number: str,
        *,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
        once: str | None = None,
    ) -> Response:
        found = run_of(actor, number)
        if found.status != "open" and status == 200:
            status = 409
        return kit.render(
            request,
            "finance/runs/cancel.html",
            title=f"Cancel payment run {found.reference}",
            status=status,
            errors=errors,
            breadcrumbs=[(RUNS, "Payment runs"), (f"{RUNS}/{found.number}", f"Payment run {found.reference}")],
            values={"version": str(found.version), **(values or {})},
            run=found,
            awaiting=found.awaiting,
            withdrawn=sum(line.amount.pence for line in found.awaiting),
            reason_limit=SHORT_TEXT,
            once=once or new_key(),
        )

    @pages.get(RUNS + "/{number}/cancel")
    def cancel_form(request: Request, number: str) -> Response:
        """What cancelling the run withdraws, and the form to cancel it with a reason."""
        actor = kit.actor(request, Role.FINANCE)
        return cancel_page(request, actor, number)

    @pages.post(RUNS + "/{number}/cancel")
    async def cancel(request: Request, number: str) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        form = await kit.form(request)
        found = run_of(actor, number)
        errors = Errors()
        values = {"reason": form.get("reason"), "version": form.get("version")}
        if not values["reason"]:
            errors.add("reason", "Enter why the run is cancelled")
        version_text = values["version"]
        version = (
            int(version_text) if version_text.isascii() and version_text.isdigit() and len(version_text) < 10 else None
        )
        once = form.get(ONCE_FIELD)
        if errors:
            return cancel_page(request, actor, number, errors=errors, values=values, status=400, once=once)
        path = f"{RUNS}/{found.number}/cancel"

        def command() -> PaymentRun:
            return application.cancel_payment_run(actor, found.number, values["reason"], expected_version=version)

        try:
            cancelled, repeated = run_once(kit, actor, form, path, {"reason": values["reason"]}, command)
        except IdempotencyKeyReused:
            errors.add("reason", REUSED)
            return cancel_page(request, actor, number, errors=errors, values=values, status=409)
        except FundingError as error:
            stale = isinstance(error, StaleVersion)
            # A run no longer open shows no form: the summary points at why instead.
            field = "reason" if run_of(actor, number).status == "open" else "why-not"
            errors.add(field, STALE if stale else application_message(error))
            status = 409 if isinstance(error, (Conflict, StaleVersion)) else 400
            shown = {"reason": values["reason"]} if stale else values
            return cancel_page(request, actor, number, errors=errors, values=shown, status=status, once=once)
        flash = f"Payment run {cancelled.reference} cancelled: its unpaid instalments are due again, for a later run"
        if repeated:
            flash = f"That form had already been sent: payment run {cancelled.reference} was cancelled once"
        return kit.redirect(f"{RUNS}/{cancelled.number}", flash=flash)
