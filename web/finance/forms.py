"""Finance's forms: allocating (and taking back) a cluster's budget or the council fund, and
recording a payment against an approved request's instalment, on the day it was paid.

A retried post must not act twice: a double click, or going back and sending the form again,
would otherwise allocate or pay the same money twice. Each form carries a one-time key; the post
runs its command under the application's idempotency claim for that key (the one the API's
``Idempotency-Key`` uses, recorded in the same transaction as the command's events), so a repeat
finds the first commit and acts no more. A repeat is told so, in the banner.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.awards import Instalment, InstalmentNotPayable
from domain.errors import Conflict, FundingError, InsufficientFunds, NotFound, PaymentExceedsApproved
from domain.formatting import pounds
from domain.funding_request import FundingRequest
from domain.lifecycle import PAYABLE_STATUSES
from domain.money import Money
from domain.values import Actor, FinancialYear, Role
from funding_engine.application import IdempotencyClaim
from funding_engine.application.calendar import today_in_england
from funding_engine.application.errors import IdempotencyKeyReused
from web.award_terms import absent, date_fields, date_values, read_date
from web.finance.common import all_requests, chosen_year, year_items, year_options
from web.kit import Errors, Form, FormExpired, Kit, application_message, money, parse_pounds
from web.provision_maps import date_items, day
from web.requests import request_id_from

T = TypeVar("T")
ONCE_FIELD = "once"
_ONCE = re.compile(r"^[0-9a-f]{32}\Z")
DIRECTIONS = {"increase": "Add money", "decrease": "Take back money not yet committed"}
ALLOCATIONS = "/finance/allocations"
PAYMENTS = "/finance/payments"
NEXT_DUE = "next"
PAYMENT_FIELDS = ("instalment", "amount", "paid_on-day", "paid_on-month", "paid_on-year", "reference")
REUSED = "This form was already sent with other details, and that was done. Check the figures before sending it again."


def new_key() -> str:
    return secrets.token_hex(16)


def run_once(
    kit: Kit, actor: Actor, form: Form, path: str, fields: dict[str, Any], command: Callable[[], T]
) -> tuple[T, bool]:
    """Run ``command`` once for the form's one-time key; True beside the result when a post with the
    same key and the same ``fields`` had already done it (then nothing is done again)."""
    key = form.get(ONCE_FIELD)
    if not _ONCE.match(key):
        raise FormExpired
    body = json.dumps(fields, sort_keys=True).encode()
    claim = IdempotencyClaim.of(actor, "POST", path, key, body)
    with kit.application.idempotently(claim) as in_force:
        result = command()
    return result, in_force.committed_earlier


def refusal_status(error: FundingError) -> int:
    return 409 if isinstance(error, Conflict) else 400


def payable_instalments(funding_request: FundingRequest) -> list[Instalment]:
    """The award's instalments a payment may pay now: something unpaid, and not held."""
    award = funding_request.award
    return [i for i in award.instalments if i.unpaid.is_positive and not i.is_held] if award else []


def instalment_items(payable: list[Instalment]) -> list[dict[str, Any]]:
    """The payment form's choice: each instalment payable now, or whatever is due next in order."""
    items: list[dict[str, Any]] = [
        {
            "value": str(i.number),
            "text": f"Instalment {i.number}, due {day(i.due_on)} ({i.financial_year})",
            "hint": {"text": f"{money(i.unpaid)} unpaid"},
        }
        for i in payable
    ]
    if len(payable) > 1:
        items.append(
            {
                "value": NEXT_DUE,
                "text": "Whatever is due next, in date order",
                "hint": {"text": "A payment of more than one instalment's unpaid amount pays the next ones too"},
            }
        )
    return items


def read_instalment(text: str, errors: Errors) -> str:
    if text != NEXT_DUE and not (text.isascii() and text.isdigit() and 0 < len(text) < 4 and int(text) > 0):
        errors.add("instalment", "Choose the instalment the payment is for")
    return text


def add_routes(pages: APIRouter, kit: Kit) -> None:
    application = kit.application
    read_models = application.read_models

    # -- allocations --------------------------------------------------------------------------------

    def allocations_page(
        request: Request,
        actor: Actor,
        year: FinancialYear,
        *,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        page, _ = read_models.balances(actor, year, limit=50)
        return kit.render(
            request,
            "finance/allocations.html",
            title=f"Allocations for {year}",
            status=status,
            errors=errors,
            values={"financial_year": str(year), "fund_financial_year": str(year), **(values or {})},
            year=str(year),
            years=[{"value": option, "text": option} for option in year_options(application, actor, year)],
            clusters=read_models.list_clusters(actor),
            balances=page.items,
            more_balances=page.next_cursor is not None,
            fund=read_models.council_fund_balance(actor, year),
            directions=DIRECTIONS,
            once=new_key(),
        )

    @pages.get(ALLOCATIONS)
    def allocations(request: Request, financial_year: str = "") -> Response:
        """Forms to allocate or take back a cluster's budget and the council fund, with the figures."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        return allocations_page(request, actor, year, errors=errors, status=400 if errors else 200)

    @pages.post(f"{ALLOCATIONS}/cluster")
    async def allocate_to_cluster(request: Request) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        form = await kit.form(request)
        return allocate(request, actor, form, prefix="")

    @pages.post(f"{ALLOCATIONS}/council-fund")
    async def allocate_to_fund(request: Request) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        form = await kit.form(request)
        return allocate(request, actor, form, prefix="fund_")

    def allocate(request: Request, actor: Actor, form: Form, *, prefix: str) -> Response:
        """One allocation form's post: the cluster's (no prefix) or the council fund's (``fund_``)."""
        errors = Errors()
        values = {name: form.get(name) for name in form.fields if name not in ("csrf_token", ONCE_FIELD)}
        cluster_id = form.get("cluster_id") if not prefix else None
        if cluster_id == "":
            errors.add("cluster_id", "Select a cluster")
        year = chosen_year(form.get(f"{prefix}financial_year"), errors, f"{prefix}financial_year")
        direction = form.get(f"{prefix}direction")
        if direction not in DIRECTIONS:
            errors.add(f"{prefix}direction", "Select whether to add money or take it back")
        pence = parse_pounds(form.get(f"{prefix}amount"), errors, f"{prefix}amount", "the amount")
        note = form.get(f"{prefix}note")
        if errors or pence is None:
            return allocations_page(request, actor, year, errors=errors, values=values, status=400)
        signed = Money(-pence if direction == "decrease" else pence)
        what = f"the {cluster_id} budget for {year}" if cluster_id else f"the council fund for {year}"
        fields = {"cluster_id": cluster_id, "financial_year": str(year), "amount": signed.pence, "note": note}
        path = f"{ALLOCATIONS}/{'council-fund' if prefix else 'cluster'}"

        def command() -> object:
            if cluster_id:
                return application.allocate_budget(actor, cluster_id, year, signed, note)
            return application.allocate_council_fund(actor, year, signed, note)

        try:
            _, repeated = run_once(kit, actor, form, path, fields, command)
        except IdempotencyKeyReused:
            errors.add(f"{prefix}amount", REUSED)
            return allocations_page(request, actor, year, errors=errors, values=values, status=409)
        except NotFound as error:
            errors.add("cluster_id" if cluster_id else f"{prefix}amount", application_message(error))
            return allocations_page(request, actor, year, errors=errors, values=values, status=400)
        except FundingError as error:
            message = application_message(error)
            if isinstance(error, InsufficientFunds) and signed.is_negative:
                available = (
                    read_models.balance(actor, cluster_id, year)
                    if cluster_id
                    else read_models.council_fund_balance(actor, year)
                ).figures.available
                message = (
                    f"You can take back at most {money(available)} from {what}: "
                    "the rest is committed to approved requests or commissioned services"
                )
            field = f"{prefix}note" if str(error).startswith("note ") else f"{prefix}amount"
            if cluster_id and str(error).startswith("cluster id "):
                field = "cluster_id"
            errors.add(field, message)
            return allocations_page(request, actor, year, errors=errors, values=values, status=refusal_status(error))
        verb = "added to" if pence == signed.pence else "taken back from"
        flash = f"{money(pence)} {verb} {what}"
        if repeated:
            flash = f"That form had already been sent: {flash} once, and not again"
        return kit.redirect(f"{ALLOCATIONS}?financial_year={year}", flash=flash)

    # -- payments -----------------------------------------------------------------------------------

    @pages.get(PAYMENTS)
    def payments(request: Request, financial_year: str = "") -> Response:
        """Approved requests with money still to pay, oldest first."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        rows = [
            row
            for status in sorted(s.value for s in PAYABLE_STATUSES)
            for row in all_requests(read_models, actor, year, status=status)
        ]
        rows.sort(key=lambda row: (row.created_at, row.request_id))
        return kit.render(
            request,
            "finance/payments.html",
            title=f"Payments for {year}",
            status=400 if errors else 200,
            errors=errors,
            values={"financial_year": financial_year},
            year=str(year),
            years=year_items(year_options(application, actor, year), year),
            rows=rows,
            outstanding=sum(row.amount_approved - row.amount_paid - row.amount_released for row in rows),
        )

    def payment_page(
        request: Request,
        actor: Actor,
        request_id: UUID,
        *,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
        once: str | None = None,
    ) -> Response:
        funding_request = application.get_request(actor, request_id)
        outstanding = funding_request.amount_outstanding
        payable_now = payable_instalments(funding_request)
        payable = funding_request.status in PAYABLE_STATUSES and bool(payable_now)
        first = payable_now[0] if payable_now else None
        defaults = {
            "amount": pounds((first.unpaid if first else outstanding).pence),
            "instalment": str(first.number) if first else "",
            **date_values("paid_on", today_in_england()),
        }
        return kit.render(
            request,
            "finance/payment.html",
            title=f"Record a payment for request {request_id.hex[:8].upper()}",
            status=status,
            errors=errors,
            breadcrumbs=[
                (f"{PAYMENTS}?financial_year={funding_request.financial_year}", "Payments"),
                (f"/funding-requests/{request_id.hex}", f"Request {request_id.hex[:8].upper()}"),
            ],
            values={**defaults, **(values or {})},
            request_id=request_id.hex,
            funding_request=funding_request,
            outstanding=outstanding,
            payable=payable,
            instalment_items=instalment_items(payable_now),
            date_items=date_items,
            once=once or new_key(),
        )

    @pages.get("/finance/requests/{request_id}/payment")
    def payment_form(request: Request, request_id: str) -> Response:
        """The form to record a payment against an approved request."""
        actor = kit.actor(request, Role.FINANCE)
        return payment_page(request, actor, request_id_from(request_id))

    @pages.post("/finance/requests/{request_id}/payment")
    async def record_payment(request: Request, request_id: str) -> Response:
        actor = kit.actor(request, Role.FINANCE)
        form = await kit.form(request)
        uuid = request_id_from(request_id)
        errors = Errors()
        values = {name: form.get(name) for name in PAYMENT_FIELDS if name in form.fields}
        # Left out altogether (not the pages' form, which always posts them): the application's
        # defaults, as on the API: the unheld instalments in order, paid the day it is recorded.
        instalment = NEXT_DUE if absent(form, "instalment") else read_instalment(form.get("instalment"), errors)
        pence = parse_pounds(form.get("amount"), errors, "amount", "the amount")
        paid_on = None
        if not absent(form, *date_fields("paid_on")):
            paid_on = read_date(form, errors, "paid_on", "the payment was made")
        reference = form.get("reference")
        if not reference:
            errors.add("reference", "Enter the payment reference")
        once = form.get(ONCE_FIELD)
        if errors or pence is None:
            return payment_page(request, actor, uuid, errors=errors, values=values, status=400, once=once)
        number = None if instalment == NEXT_DUE else int(instalment)
        fields = {"amount": pence, "reference": reference, "instalment": number, "paid_on": str(paid_on or "")}
        path = f"/finance/requests/{uuid.hex}/payment"

        def pay() -> Any:
            return application.record_payment(actor, uuid, Money(pence), reference, instalment=number, paid_on=paid_on)

        try:
            paid, repeated = run_once(kit, actor, form, path, fields, pay)
        except IdempotencyKeyReused:
            errors.add("amount", REUSED)
            return payment_page(request, actor, uuid, errors=errors, values=values, status=409)
        except NotFound:
            raise
        except FundingError as error:
            field = "reference" if str(error).startswith("reference ") else "amount"
            message = application_message(error)
            now = application.get_request(actor, uuid)
            outstanding, award = now.amount_outstanding, now.award
            if isinstance(error, InstalmentNotPayable):
                field = "instalment"
            elif isinstance(error, PaymentExceedsApproved) and number is None and award and award.held.is_positive:
                # Held money is outstanding but cannot be paid: the limit is what is not held.
                message = (
                    f"The amount paid must be at most {money(award.scheduled_unpaid)}, what can be paid now: "
                    f"{money(award.held)} more is held until its condition is met"
                )
            elif isinstance(error, PaymentExceedsApproved) and number is None and pence > outstanding.pence:
                message = f"The amount paid must be at most {money(outstanding)}, what is still outstanding"
            elif isinstance(error, PaymentExceedsApproved) and number is not None:
                unpaid = now.current_award().instalment(number).unpaid
                message = f"The amount paid must be at most {money(unpaid)}, what is unpaid on instalment {number}"
            if now.status not in PAYABLE_STATUSES or not payable_instalments(now):
                field = "payment-position"  # no form is shown: the summary points at the figures
            errors.add(field, message)
            status = refusal_status(error)
            return payment_page(request, actor, uuid, errors=errors, values=values, status=status, once=once)
        paying = f"instalment {number} of " if number is not None else ""
        flash = f"Payment of {money(pence)} recorded for {paying}request {uuid.hex[:8].upper()} (reference {reference})"
        if repeated:
            flash = f"That form had already been sent: the payment of {money(pence)} was recorded once, and not again"
        return kit.redirect(f"{PAYMENTS}?financial_year={paid.financial_year}", flash=flash)

    # -- the request page -------------------------------------------------------------------------

    def request_page_extras(request: Request, actor: Actor, funding_request: Any) -> dict[str, Any]:
        history = application.request_history(actor, funding_request.id)
        return {
            "payable": funding_request.status in PAYABLE_STATUSES and bool(payable_instalments(funding_request)),
            "outstanding": funding_request.amount_outstanding,
            "payments": [entry for entry in history if entry.type == "PaymentRecorded"],
        }

    kit.request_page_extras[Role.FINANCE] = request_page_extras
    kit.request_page_breadcrumbs[Role.FINANCE] = [(PAYMENTS, "Payments")]
