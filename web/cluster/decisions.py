"""A lead's decisions on a request: approve, decline with a coded reason, request information, and
escalate to the council; and what the request page shows a lead to decide with (the cluster's
available balance before and after, and the school's spend beside the planned provision).

Each decision is a page of its own, ``/cluster/requests/{id}/<decision>``: the request's key
facts and the form (GET), then the application's command as the signed-in lead (POST), and back
to the queue. Whatever the application refuses (not enough money, the wrong status, an amount
over the request) comes back on the form in the error summary, and nothing has changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import Conflict, InvalidValue, StaleVersion
from domain.formatting import pounds
from domain.funding_request import FundingRequest
from domain.lifecycle import TRANSITIONS
from domain.values import Actor, Role
from web import award_terms
from web.cluster.common import refusal_on_form
from web.kit import Errors, Form, Kit, money, parse_pounds
from web.labels import CATEGORIES, DECLINE_REASONS, STATUS_TAGS, short_reference
from web.requests import request_id_from

# The lead decided on figures the request no longer has (``expected_version`` did not match).
STALE = "The request changed while you had this page open. Check it again, then decide."


@dataclass(frozen=True)
class Decision:
    """One of the lead's decisions: its page, the event it records, and how its form is read."""

    slug: str
    event: str  # the lifecycle's event, whose allowed statuses say when the decision can be made
    link: str  # on the request page: "Approve"
    heading: str  # the form page's, with the request's reference: "Approve request {reference}"
    button: str
    fields: tuple[str, ...]  # in page order, for the error summary
    act: Callable[[Kit, Actor, FundingRequest, Form, Errors, int | None], str | None]


def _required(form: Form, errors: Errors, name: str, message: str) -> str:
    value = form.get(name)
    if not value:
        errors.add(name, message)
    return value


def _approve(
    kit: Kit, actor: Actor, funding_request: FundingRequest, form: Form, errors: Errors, version: int | None
) -> str | None:
    amount = parse_pounds(form.get("amount"), errors, "amount", "the amount to approve")
    reason = _required(form, errors, "reason", "Enter why you are approving the request")
    terms = award_terms.read_terms(form, errors)
    if errors or amount is None:
        return None
    approved = kit.application.approve(
        actor,
        funding_request.id,
        pounds(amount),
        reason,
        form.get("conditions"),
        **terms,
        expected_version=version,
    )
    award = approved.current_award()
    count = len(award.instalments)
    paid_in = f"{count} instalment{'s' if count != 1 else ''}" if count != 1 else "a single payment"
    return f"You approved {money(amount)} for request {short_reference(funding_request.id.hex)}, paid in {paid_in}"


def _decline(
    kit: Kit, actor: Actor, funding_request: FundingRequest, form: Form, errors: Errors, version: int | None
) -> str | None:
    code = form.get("reason_code")
    if code not in DECLINE_REASONS:
        errors.add("reason_code", "Choose why you are declining the request")
    reason = _required(form, errors, "reason", "Explain the decision to the school")
    if errors:
        return None
    kit.application.decline(actor, funding_request.id, code, reason, expected_version=version)
    return f"You declined request {short_reference(funding_request.id.hex)}: {DECLINE_REASONS[code]}"


def _ask(
    kit: Kit, actor: Actor, funding_request: FundingRequest, form: Form, errors: Errors, version: int | None
) -> str | None:
    question = _required(form, errors, "question", "Enter what you need the school to tell you")
    if errors:
        return None
    kit.application.request_information(actor, funding_request.id, question, expected_version=version)
    return f"You asked the school for more information on request {short_reference(funding_request.id.hex)}"


def _escalate(
    kit: Kit, actor: Actor, funding_request: FundingRequest, form: Form, errors: Errors, version: int | None
) -> str | None:
    amount = parse_pounds(form.get("amount"), errors, "amount", "the amount to escalate")
    circumstances = _required(
        form, errors, "exceptional_circumstances", "Describe the exceptional circumstances for the council"
    )
    if errors or amount is None:
        return None
    kit.application.escalate(actor, funding_request.id, pounds(amount), circumstances, expected_version=version)
    return f"You escalated {money(amount)} of request {short_reference(funding_request.id.hex)} to the council"


DECISIONS = (
    Decision(
        "approve",
        "ClusterApproved",
        "Approve",
        "Approve request {reference}",
        "Approve the request",
        ("amount", "reason", "conditions", *award_terms.TERMS_FIELDS),
        _approve,
    ),
    Decision(
        "decline",
        "ClusterDeclined",
        "Decline",
        "Decline request {reference}",
        "Decline the request",
        ("reason_code", "reason"),
        _decline,
    ),
    Decision(
        "request-information",
        "InformationRequested",
        "Request information",
        "Ask for information on request {reference}",
        "Send the question to the school",
        ("question",),
        _ask,
    ),
    Decision(
        "escalate",
        "Escalated",
        "Escalate to the council",
        "Escalate request {reference} to the council",
        "Escalate to the council",
        ("amount", "exceptional_circumstances"),
        _escalate,
    ),
)


def position(kit: Kit, actor: Actor, funding_request: FundingRequest) -> dict[str, Any]:
    """The cluster's budget as a decision on this request would move it, and what can be done now."""
    balance = kit.application.read_models.balance(actor, funding_request.cluster_id, funding_request.financial_year)
    available = balance.figures.available
    requested = funding_request.amount_requested.pence
    can_make = {
        decision.slug: funding_request.status in TRANSITIONS[decision.event].allowed_from for decision in DECISIONS
    }
    # Escalation is for what the cluster cannot afford (the application refuses it otherwise).
    can_make["escalate"] = can_make["escalate"] and available < requested
    return {
        "balance": balance,
        "available": available,
        "requested": requested,
        "available_after": available - requested,
        "can_make": can_make,
        "open_now": [decision for decision in DECISIONS if can_make[decision.slug]],
        "comparison": comparison(funding_request),
    }


def comparison(funding_request: FundingRequest) -> dict[str, Any]:
    """The planned provision beside the school's own spend, category by category (pence)."""
    planned: dict[str, int] = {}
    for line in funding_request.planned_provision:
        planned[line.category.value] = planned.get(line.category.value, 0) + line.amount.pence
    spent: dict[str, int] = {}
    evidence = funding_request.evidence
    for spend_line in evidence.spend if evidence else ():
        spent[spend_line.category.value] = spent.get(spend_line.category.value, 0) + spend_line.amount.pence
    rows = [
        (label, planned.get(code), spent.get(code))
        for code, label in CATEGORIES.items()
        if code in planned or code in spent
    ]
    return {
        "rows": rows,
        "planned": sum(planned.values()),
        "spent": sum(spent.values()),
        "has_evidence": bool(evidence),
    }


def not_now(decision: Decision, funding_request: FundingRequest, facts: dict[str, Any]) -> str:
    """Why the decision cannot be made now (the application would refuse it; the page says so first)."""
    if funding_request.status in TRANSITIONS[decision.event].allowed_from:
        return (
            f"The cluster has {money(facts['available'])} available, enough for the amount requested, "
            "so the request cannot be escalated."
        )
    status = STATUS_TAGS[funding_request.status.value][0]
    return f"This decision cannot be made on the request now: its status is \u201c{status}\u201d."


def _version(form: Form) -> int | None:
    text = form.get("version")
    return int(text) if text.isdigit() and len(text) < 10 else None


def add_pages(pages: APIRouter, kit: Kit) -> None:
    kit.request_page_extras[Role.CLUSTER_LEAD] = lambda request, actor, funding_request: position(
        kit, actor, funding_request
    )

    def render(
        request: Request,
        actor: Actor,
        decision: Decision,
        funding_request: FundingRequest,
        *,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        reference = short_reference(funding_request.id.hex)
        facts = position(kit, actor, funding_request)
        policy = kit.application.policy_in_force(funding_request.cluster_id)
        defaults = {
            "amount": pounds(funding_request.amount_requested.pence),
            **award_terms.default_values(funding_request),
        }
        return kit.render(
            request,
            f"cluster/decision_{decision.slug.replace('-', '_')}.html",
            title=decision.heading.format(reference=reference),
            status=status,
            errors=errors,
            values=values if values is not None else defaults,
            breadcrumbs=[(f"/funding-requests/{funding_request.id.hex}", f"Request {reference}")],
            decision=decision,
            funding_request=funding_request,
            request_id=funding_request.id.hex,
            extras=facts,
            not_now=None if facts["can_make"][decision.slug] else not_now(decision, funding_request, facts),
            **award_terms.terms_context(policy.instalment_shares),
            award_cap=policy.award_cap.pence,
        )

    def add_decision(decision: Decision) -> None:
        path = f"/cluster/requests/{{request_id}}/{decision.slug}"

        @pages.get(path)
        def decision_form(request: Request, request_id: str) -> Response:
            actor = kit.actor(request, Role.CLUSTER_LEAD)
            funding_request = kit.application.get_request(actor, request_id_from(request_id))
            return render(request, actor, decision, funding_request)

        @pages.post(path)
        async def decide(request: Request, request_id: str) -> Response:
            actor = kit.actor(request, Role.CLUSTER_LEAD)
            uuid = request_id_from(request_id)
            form = await kit.form(request)
            funding_request = kit.application.get_request(actor, uuid)
            errors, status = Errors(), 400
            try:
                flash = decision.act(kit, actor, funding_request, form, errors, _version(form))
            except InvalidValue as error:
                flash = None
                refusal_on_form(errors, error, decision.fields, award_terms.field_of(error))
            except StaleVersion:
                flash, status = None, 409
                errors.add(decision.fields[0], STALE)
            except Conflict as error:
                flash, status = None, 409
                refusal_on_form(errors, error, decision.fields, award_terms.field_of(error))
            if flash is not None:
                return kit.redirect("/cluster/queue", flash=flash)
            # Read again: a refusal may be because the request or the budget moved on meanwhile.
            current = kit.application.get_request(actor, uuid)
            return render(request, actor, decision, current, errors=errors, values=form.fields, status=status)

    for decision in DECISIONS:
        add_decision(decision)
