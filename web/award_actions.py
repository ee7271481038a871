"""What whoever made an award does with it afterwards: hold an instalment until a condition is met,
lift the hold, and release the unpaid part back to the budget. The lead does it for the cluster's
awards (``/cluster/requests/{id}/award/...``), the council for its own (``/council/...``).

Each is a page of its own: the award's instalments and the form (GET), then the application's
command as the signed-in person with the request's version the page showed (POST), so a second
click, or a change by someone else meanwhile, is refused and nothing moves twice; then back to
the request page with what was done in the banner. Another's award is a page that does not exist
for them (404), as the application answers; an award with nothing to hold, lift or release says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.awards import Award
from domain.errors import Conflict, FundingError, InvalidValue, NotPermitted, PaymentExceedsApproved, StaleVersion
from domain.formatting import pounds
from domain.funding_request import FundingRequest
from domain.lifecycle import PAYABLE_STATUSES
from domain.values import Actor, Role
from web.kit import Errors, Form, Kit, application_message, money, parse_pounds
from web.labels import RELEASE_REASONS, short_reference
from web.provision_maps import day
from web.requests import request_id_from

STALE = "The award changed while you had this page open. Check it again, then try again."
PREFIXES = {Role.CLUSTER_LEAD: "/cluster", Role.COUNCIL: "/council"}


def manages(actor: Actor, funding_request: FundingRequest) -> bool:
    """Did ``actor``'s side make this award (the lead of its cluster, or the council)?"""
    if actor.role is Role.CLUSTER_LEAD:
        return funding_request.funded_by == "cluster" and actor.cluster_id == funding_request.cluster_id
    return actor.role is Role.COUNCIL and funding_request.funded_by == "council"


def holdable(award: Award) -> list[Any]:
    return [i for i in award.instalments if i.unpaid.is_positive and not i.is_held]


def held(award: Award) -> list[Any]:
    return [i for i in award.instalments if i.is_held]


@dataclass(frozen=True)
class AwardAction:
    """One thing done to an award: its page, the form's fields in order, and its command."""

    slug: str
    link: str  # on the request page
    heading: str
    button: str
    fields: tuple[str, ...]
    open_to: Callable[[Award], bool]  # whether the award has anything for it now
    nothing: str  # what the page says when it has not
    act: Callable[[Kit, Actor, FundingRequest, Form, Errors, int | None], str | None]


def _number(form: Form, errors: Errors, choices: list[Any], message: str) -> int | None:
    text = form.get("instalment")
    if text not in {str(i.number) for i in choices}:
        errors.add("instalment", message)
        return None
    return int(text)


def _hold(
    kit: Kit, actor: Actor, request: FundingRequest, form: Form, errors: Errors, version: int | None
) -> str | None:
    number = _number(form, errors, holdable(request.current_award()), "Choose the instalment to hold")
    condition = form.get("condition")
    if not condition:
        errors.add("condition", "Enter what the instalment waits for, like a reviewed provision plan")
    if errors or number is None:
        return None
    kit.application.hold_instalment(actor, request.id, number, condition, expected_version=version)
    return f"Instalment {number} of request {short_reference(request.id.hex)} is held until {condition}"


def _lift(
    kit: Kit, actor: Actor, request: FundingRequest, form: Form, errors: Errors, version: int | None
) -> str | None:
    number = _number(form, errors, held(request.current_award()), "Choose the held instalment to pay")
    if errors or number is None:
        return None
    kit.application.lift_hold(actor, request.id, number, form.get("note"), expected_version=version)
    return f"The hold on instalment {number} of request {short_reference(request.id.hex)} is lifted: it can be paid"


def _release(
    kit: Kit, actor: Actor, request: FundingRequest, form: Form, errors: Errors, version: int | None
) -> str | None:
    code = form.get("reason_code")
    if code not in RELEASE_REASONS:
        errors.add("reason_code", "Choose why the money is released")
    note = form.get("note")
    if not note:
        errors.add("note", "Explain the release: the school and the council's auditors read this")
    typed = form.get("amount")
    pence = parse_pounds(typed, errors, "amount", "the amount to release") if typed else None
    if errors:
        return None
    amount = None if pence is None else pounds(pence)
    released = kit.application.release_award(actor, request.id, code, note, amount, expected_version=version)
    returned = request.current_award().unpaid - released.current_award().unpaid
    return f"{money(returned)} of request {short_reference(request.id.hex)} released back to the budget"


ACTIONS = (
    AwardAction(
        "hold",
        "Hold an instalment",
        "Hold an instalment of request {reference}",
        "Hold the instalment",
        ("instalment", "condition"),
        lambda award: bool(holdable(award)),
        "Every instalment of this award is paid, released or already held: there is none to hold.",
        _hold,
    ),
    AwardAction(
        "lift-hold",
        "Lift a hold",
        "Lift a hold on request {reference}",
        "Lift the hold",
        ("instalment", "note"),
        lambda award: bool(held(award)),
        "No instalment of this award is held.",
        _lift,
    ),
    AwardAction(
        "release",
        "Release the unpaid part",
        "Release the unpaid part of request {reference}",
        "Release the money",
        ("reason_code", "note", "amount"),
        lambda award: award.unpaid.is_positive,
        "Nothing of this award is unpaid: there is nothing to release.",
        _release,
    ),
)


def open_actions(actor: Actor, funding_request: FundingRequest) -> list[tuple[str, str]]:
    """The award's actions ``actor`` can take now, as (link text, address) for the request page."""
    if actor.role not in PREFIXES or not manages(actor, funding_request) or funding_request.award is None:
        return []
    if funding_request.status not in PAYABLE_STATUSES:
        return []
    base = f"{PREFIXES[actor.role]}/requests/{funding_request.id.hex}/award"
    return [(action.link, f"{base}/{action.slug}") for action in ACTIONS if action.open_to(funding_request.award)]


def _why_not(action: AwardAction, funding_request: FundingRequest) -> str | None:
    if funding_request.award is None:
        return "This request has no award: it has not been approved."
    if funding_request.status not in PAYABLE_STATUSES:
        return "This award is finished: nothing of it is left to pay."
    return None if action.open_to(funding_request.award) else action.nothing


def _version(form: Form) -> int | None:
    text = form.get("version")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def add_pages(pages: APIRouter, kit: Kit, role: Role) -> None:
    """The award's action pages for ``role`` (the lead or the council), under its prefix, and their
    links on the request page (added to whatever else the role's module shows there)."""
    prefix = PREFIXES[role]
    role_extras = kit.request_page_extras.get(role)

    def extras(request: Request, actor: Actor, funding_request: FundingRequest) -> dict[str, Any]:
        shown = role_extras(request, actor, funding_request) if role_extras else {}
        return {**shown, "award_links": open_actions(actor, funding_request)}

    kit.request_page_extras[role] = extras

    def readable(actor: Actor, request_id: str) -> FundingRequest:
        funding_request = kit.application.get_request(actor, request_id_from(request_id))
        if funding_request.funded_by is not None and not manages(actor, funding_request):
            raise NotPermitted("only whoever made the award changes it")
        return funding_request

    def render(
        request: Request,
        action: AwardAction,
        funding_request: FundingRequest,
        *,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        reference = short_reference(funding_request.id.hex)
        why_not = _why_not(action, funding_request)
        award = funding_request.award
        return kit.render(
            request,
            f"awards/{action.slug.replace('-', '_')}.html",
            title=action.heading.format(reference=reference),
            status=409 if why_not and status == 200 else status,
            errors=errors,
            values=values or {},
            breadcrumbs=[(f"/funding-requests/{funding_request.id.hex}", f"Request {reference}")],
            action=action,
            action_url=f"{prefix}/requests/{funding_request.id.hex}/award/{action.slug}",
            funding_request=funding_request,
            request_id=funding_request.id.hex,
            award=award,
            why_not=why_not,
            holdable=holdable(award) if award else [],
            held=held(award) if award else [],
            instalment_label=instalment_label,
            release_reasons=RELEASE_REASONS,
        )

    def add_action(action: AwardAction) -> None:
        path = f"{prefix}/requests/{{request_id}}/award/{action.slug}"

        @pages.get(path)
        def action_form(request: Request, request_id: str) -> Response:
            actor = kit.actor(request, role)
            return render(request, action, readable(actor, request_id))

        @pages.post(path)
        async def act(request: Request, request_id: str) -> Response:
            actor = kit.actor(request, role)
            form = await kit.form(request)
            funding_request = readable(actor, request_id)
            if _why_not(action, funding_request):
                return render(request, action, funding_request)  # says why, and shows no form
            errors, status = Errors(), 400
            values = {name: form.get(name) for name in action.fields}
            try:
                flash = action.act(kit, actor, funding_request, form, errors, _version(form))
            except StaleVersion:
                flash, status = None, 409
                errors.add(action.fields[0], STALE)
            except (Conflict, InvalidValue) as error:
                flash = None
                status = 409 if isinstance(error, Conflict) else 400
                message = application_message(error)
                if isinstance(error, PaymentExceedsApproved) and "amount" in action.fields:
                    unpaid = readable(actor, request_id).current_award().unpaid
                    message = f"The amount to release must be at most {money(unpaid)}, what is still unpaid"
                errors.add(_field_of(error, action.fields), message)
            if flash is not None:
                return kit.redirect(f"/funding-requests/{funding_request.id.hex}", flash=flash)
            current = readable(actor, request_id)
            return render(request, action, current, errors=errors, values=values, status=status)

    for action in ACTIONS:
        add_action(action)


def _field_of(error: FundingError, fields: tuple[str, ...]) -> str:
    """The field a refusal is about: an amount over what is unpaid, or the field its message names."""
    if isinstance(error, PaymentExceedsApproved) and "amount" in fields:
        return "amount"
    message = str(error)
    return next((name for name in fields if message.startswith(name.replace("_", " "))), fields[0])


def instalment_label(instalment: Any) -> str:
    """``Instalment 2, due 1 January 2027 (2026-27): £1,625.00 unpaid``."""
    return (
        f"Instalment {instalment.number}, due {day(instalment.due_on)} ({instalment.financial_year}): "
        f"{money(instalment.unpaid)} unpaid"
    )
