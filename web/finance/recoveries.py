"""Finance claims back money already paid on an award (a recovery, with a coded reason) and records
what comes in against it, which goes back to the budget it was paid from (or is that year's income
once the year is closed: the application decides).

Both forms carry a one-time key, as the payment form does (``forms.run_once``), so a retried post
raises or receives once. Each is linked from the request page while it has something to do; a
request with nothing to recover, or nothing outstanding, says so instead of showing the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.awards import Award, Recovery, RecoveryNotAllowed
from domain.errors import FundingError, NotFound, PaymentExceedsApproved
from domain.formatting import pounds
from domain.funding_request import FundingRequest
from domain.lifecycle import RECOVERABLE_STATUSES
from domain.money import Money
from domain.values import Actor, FinancialYear, Role
from funding_engine.application.calendar import today_in_england
from funding_engine.application.errors import IdempotencyKeyReused
from web.award_terms import date_values, read_date
from web.finance.forms import ONCE_FIELD, REUSED, new_key, refusal_status, run_once
from web.kit import Errors, Kit, application_message, money, parse_pounds
from web.labels import RECOVERY_REASONS, short_reference
from web.provision_maps import date_items
from web.requests import request_id_from

RAISE_FIELDS = ("financial_year", "amount", "reason_code", "note")
RECEIPT_FIELDS = ("recovery", "amount", "received_on-day", "received_on-month", "received_on-year", "reference")


@dataclass(frozen=True)
class Claimable:
    """What of one financial year's payments can still be claimed back."""

    financial_year: FinancialYear
    paid: Money
    claimable: Money


def claimable_years(funding_request: FundingRequest) -> list[Claimable]:
    award = funding_request.award
    if award is None or funding_request.status not in RECOVERABLE_STATUSES:
        return []
    years = [
        Claimable(year, award.paid_out_in(year), award.paid_out_in(year) - award.claimed_in(year))
        for year in award.financial_years()
    ]
    return [year for year in years if year.claimable.is_positive]


def outstanding(award: Award | None) -> list[Recovery]:
    return [r for r in award.recoveries if r.outstanding.is_positive] if award else []


def recovery_links(funding_request: FundingRequest) -> list[tuple[str, str]]:
    base = f"/finance/requests/{funding_request.id.hex}"
    links = []
    if claimable_years(funding_request):
        links.append(("Raise a recovery", f"{base}/recovery"))
    if outstanding(funding_request.award):
        links.append(("Record money recovered", f"{base}/recovery-receipt"))
    return links


def add_routes(pages: APIRouter, kit: Kit) -> None:
    application = kit.application
    finance_extras = kit.request_page_extras.get(Role.FINANCE)

    def extras(request: Request, actor: Actor, funding_request: FundingRequest) -> dict[str, Any]:
        shown = finance_extras(request, actor, funding_request) if finance_extras else {}
        return {**shown, "recovery_links": recovery_links(funding_request)}

    kit.request_page_extras[Role.FINANCE] = extras

    def page(
        request: Request,
        actor: Actor,
        request_id: UUID,
        template: str,
        title: str,
        *,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
        once: str | None = None,
    ) -> Response:
        funding_request = application.get_request(actor, request_id)
        years = claimable_years(funding_request)
        owed = outstanding(funding_request.award)
        offered = years if template == "raise" else owed
        if not offered and status == 200:
            status = 409
        defaults: dict[str, str] = {**date_values("received_on", today_in_england())}
        if years:
            defaults["financial_year"] = str(years[0].financial_year)
        if owed:
            defaults.update(recovery=str(owed[0].number), amount=pounds(owed[0].outstanding.pence))
        reference = short_reference(request_id.hex)
        return kit.render(
            request,
            f"finance/recovery_{template}.html",
            title=f"{title} on request {reference}",
            status=status,
            errors=errors,
            breadcrumbs=[(f"/funding-requests/{request_id.hex}", f"Request {reference}")],
            values={**defaults, **(values or {})},
            request_id=request_id.hex,
            funding_request=funding_request,
            award=funding_request.award,
            years=years,
            owed=owed,
            reasons=RECOVERY_REASONS,
            date_items=date_items,
            once=once or new_key(),
        )

    def raise_page(request: Request, actor: Actor, request_id: UUID, **context: Any) -> Response:
        return page(request, actor, request_id, "raise", "Raise a recovery", **context)

    def receipt_page(request: Request, actor: Actor, request_id: UUID, **context: Any) -> Response:
        return page(request, actor, request_id, "receipt", "Record money recovered", **context)

    @pages.get("/finance/requests/{request_id}/recovery")
    def recovery_form(request: Request, request_id: str) -> Response:
        """The form to claim back money paid on an award."""
        actor = kit.actor(request, Role.FINANCE)
        return raise_page(request, actor, request_id_from(request_id))

    @pages.post("/finance/requests/{request_id}/recovery")
    async def raise_recovery(request: Request, request_id: str) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        form = await kit.form(request)
        uuid = request_id_from(request_id)
        values = {name: form.get(name) for name in RAISE_FIELDS}
        errors = Errors()
        current = application.get_request(actor, uuid)
        if values["financial_year"] not in {str(year.financial_year) for year in claimable_years(current)}:
            errors.add("financial_year", "Choose the financial year whose payments are claimed back")
        pence = parse_pounds(values["amount"], errors, "amount", "the amount to recover")
        if values["reason_code"] not in RECOVERY_REASONS:
            errors.add("reason_code", "Choose why the money is claimed back")
        if not values["note"]:
            errors.add("note", "Explain the recovery: the school and the council's auditors read this")
        once = form.get(ONCE_FIELD)
        if errors or pence is None:
            return raise_page(request, actor, uuid, errors=errors, values=values, status=400, once=once)
        fields = {**values, "amount": pence}

        def command() -> FundingRequest:
            return application.raise_recovery(
                actor, uuid, values["financial_year"], pounds(pence), values["reason_code"], values["note"]
            )

        try:
            raised, repeated = run_once(kit, actor, form, f"/finance/requests/{uuid.hex}/recovery", fields, command)
        except IdempotencyKeyReused:
            errors.add("amount", REUSED)
            return raise_page(request, actor, uuid, errors=errors, values=values, status=409)
        except NotFound:
            raise
        except FundingError as error:
            field = "note" if str(error).startswith("note ") else "amount"
            errors.add(field, application_message(error))
            return raise_page(
                request, actor, uuid, errors=errors, values=values, status=refusal_status(error), once=once
            )
        number = raised.current_award().recoveries[-1].number
        flash = f"Recovery {number} of {money(pence)} raised on request {short_reference(uuid.hex)}"
        if repeated:
            flash = f"That form had already been sent: the recovery of {money(pence)} was raised once, and not again"
        return kit.redirect(f"/funding-requests/{uuid.hex}", flash=flash)

    @pages.get("/finance/requests/{request_id}/recovery-receipt")
    def receipt_form(request: Request, request_id: str) -> Response:
        """The form to record money that came in against a recovery."""
        actor = kit.actor(request, Role.FINANCE)
        return receipt_page(request, actor, request_id_from(request_id))

    @pages.post("/finance/requests/{request_id}/recovery-receipt")
    async def receive_recovery(request: Request, request_id: str) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        form = await kit.form(request)
        uuid = request_id_from(request_id)
        values = {name: form.get(name) for name in RECEIPT_FIELDS}
        errors = Errors()
        current = application.get_request(actor, uuid)
        number_text = values["recovery"]
        if number_text not in {str(r.number) for r in outstanding(current.award)}:
            errors.add("recovery", "Choose the recovery the money came in against")
        pence = parse_pounds(values["amount"], errors, "amount", "the amount received")
        received_on: date | None = read_date(form, errors, "received_on", "the money came in")
        if not values["reference"]:
            errors.add("reference", "Enter the reference the money came in with")
        once = form.get(ONCE_FIELD)
        if errors or pence is None or received_on is None:
            return receipt_page(request, actor, uuid, errors=errors, values=values, status=400, once=once)
        number = int(number_text)
        fields = {**values, "amount": pence, "recovery": number}

        def command() -> FundingRequest:
            return application.receive_recovery(
                actor, uuid, number, pounds(pence), values["reference"], received_on=received_on
            )

        path = f"/finance/requests/{uuid.hex}/recovery-receipt"
        try:
            _, repeated = run_once(kit, actor, form, path, fields, command)
        except IdempotencyKeyReused:
            errors.add("amount", REUSED)
            return receipt_page(request, actor, uuid, errors=errors, values=values, status=409)
        except NotFound:
            raise
        except FundingError as error:
            field = "recovery"
            if str(error).startswith("reference "):
                field = "reference"
            elif isinstance(error, (RecoveryNotAllowed, PaymentExceedsApproved)):
                field = "amount"
            errors.add(field, application_message(error))
            status = refusal_status(error)
            return receipt_page(request, actor, uuid, errors=errors, values=values, status=status, once=once)
        flash = f"{money(pence)} received against recovery {number} of request {short_reference(uuid.hex)}"
        if repeated:
            flash = f"That form had already been sent: {money(pence)} was recorded once, and not again"
        return kit.redirect(f"/funding-requests/{uuid.hex}", flash=flash)
