"""The council's pages: escalations awaiting its decision, the decision form, and the audit check.

The decision log and its CSV are in ``decisions.py``. The cluster's available balance when
it escalated is the figure the ``Escalated`` event recorded (no read model keeps it), so each
escalation on a page reads its own few events: at most one page's worth, never the whole log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import (
    AmountNotAllowed,
    FundingError,
    InsufficientFunds,
    InvalidTransition,
    InvalidValue,
    NotFound,
    NotPermitted,
    StaleVersion,
)
from domain.formatting import pounds
from domain.values import Actor, RequestStatus, Role
from funding_engine.application import HistoryEntry
from funding_engine.application.errors import InvalidQuery
from web import award_actions, award_terms
from web.council import decision_context
from web.council import decisions as council_decisions
from web.kit import Errors, Kit, application_message, money, parse_pounds
from web.labels import STATUS_TAGS, short_reference
from web.requests import request_id_from

PAGE_SIZE = 25
DECISIONS = {"approve": "Approve", "decline": "Decline"}


def escalation_of(kit: Kit, actor: Actor, request_id: UUID) -> HistoryEntry | None:
    """The request's latest ``Escalated`` event (what the cluster had available is in its data)."""
    entries = [entry for entry in kit.application.request_history(actor, request_id) if entry.type == "Escalated"]
    return entries[-1] if entries else None


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    application = kit.application

    @pages.get("/council/escalations")
    def escalations(request: Request, cursor: str = "") -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        try:
            page = application.read_models.list_requests(
                actor, status=RequestStatus.ESCALATED, limit=PAGE_SIZE, cursor=cursor or None
            )
        except InvalidQuery:
            return kit.render(request, "council/bad_link.html", status=400, title="That link does not work")
        available_now: dict[tuple[str, str], int] = {}
        rows = []
        for row in page.items:
            place = (row.cluster_id, row.financial_year)
            if place not in available_now:
                available_now[place] = application.read_models.balance(actor, *place).figures.available
            escalation = escalation_of(kit, actor, UUID(row.request_id))
            then = escalation.data.get("cluster_available") if escalation else None
            rows.append({"row": row, "available_then": then, "available_now": available_now[place]})
        return kit.render(
            request,
            "council/escalations.html",
            title="Escalations awaiting decision",
            rows=rows,
            next_cursor=page.next_cursor,
            first_page=not cursor,
        )

    def decision_page(
        request: Request,
        actor: Actor,
        request_id: UUID,
        *,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
        typed_pence: int | None = None,
    ) -> Response:
        funding_request = application.get_request(actor, request_id)
        awaiting = funding_request.status is RequestStatus.ESCALATED
        if not awaiting:
            errors = errors or Errors()
            errors.add("status", not_awaiting(funding_request.status))
            status = 409
        escalated = (funding_request.amount_escalated or funding_request.amount_requested).pence
        fund = application.read_models.council_fund_balance(actor, funding_request.financial_year)
        approving = escalated if typed_pence is None else typed_pence
        budget = application.read_models.balance(actor, funding_request.cluster_id, funding_request.financial_year)
        policy = application.policy_in_force()
        return kit.render(
            request,
            "council/decision.html",
            title=f"Decide on request {short_reference(request_id.hex)}",
            status=status,
            errors=errors,
            # The version shown is the one decided on: a change by someone else meanwhile is refused.
            values={
                **(values or {"amount": pounds(escalated), **award_terms.default_values(funding_request)}),
                "version": str(funding_request.version),
            },
            breadcrumbs=[
                ("/council/escalations", "Escalations"),
                (f"/funding-requests/{request_id.hex}", f"Request {short_reference(request_id.hex)}"),
            ],
            request_id=request_id.hex,
            funding_request=funding_request,
            awaiting=awaiting,
            escalation=escalation_of(kit, actor, request_id),
            cluster_available_now=budget.figures.available,
            fund_available=fund.figures.available,
            approving=approving,
            fund_after=fund.figures.available - approving,
            decisions=DECISIONS,
            **award_terms.terms_context(policy.instalment_shares),
            award_cap=policy.award_cap.pence,
        )

    @pages.get("/council/requests/{request_id}/decision")
    def decision_form(request: Request, request_id: str) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        return decision_page(request, actor, request_id_from(request_id))

    @pages.post("/council/requests/{request_id}/decision")
    async def decide(request: Request, request_id: str) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        uuid = request_id_from(request_id)
        form = await kit.form(request)
        values = {name: form.get(name) for name in ("decision", "amount", "reason", "version")}
        values.update(award_terms.typed_values(form))
        errors = Errors()
        decision = values["decision"]
        if decision not in DECISIONS:
            errors.add("decision", "Select whether the council approves or declines the request")
        pence = None
        terms: dict[str, Any] = {}
        if decision == "approve":
            pence = parse_pounds(values["amount"], errors, "amount", "the amount to approve")
        if not values["reason"]:
            errors.add("reason", "Enter the reason for the council's decision")
        if decision == "approve":
            # A decline has no award: its terms fields are ignored, whatever they hold.
            terms = award_terms.read_terms(form, errors)
        if errors:
            return decision_page(request, actor, uuid, errors=errors, values=values, status=400, typed_pence=pence)
        version = int(values["version"]) if values["version"].isdigit() else None
        try:
            application.decide_escalation(
                actor,
                uuid,
                decision,
                values["reason"],
                None if pence is None else pounds(pence),
                **terms,
                expected_version=version,
            )
        except (NotFound, NotPermitted):
            raise
        except FundingError as error:
            errors.add(award_terms.field_of(error) or _field_of(error), refusal(actor, uuid, error, pence))
            code = 400 if isinstance(error, InvalidValue) else 409
            return decision_page(request, actor, uuid, errors=errors, values=values, status=code, typed_pence=pence)
        reference = short_reference(uuid.hex)
        flash = (
            f"Request {reference} approved: {money(pence)} from the council fund"
            if pence is not None
            else f"Request {reference} declined by the council"
        )
        return kit.redirect("/council/escalations", flash=flash)

    def refusal(actor: Actor, request_id: UUID, error: FundingError, pence: int | None) -> str:
        """The application's refusal in the form's words, money in pounds as the page shows it."""
        if isinstance(error, StaleVersion):
            return "The request changed while you were deciding: check it and decide again"
        if isinstance(error, InvalidTransition):
            return not_awaiting(application.get_request(actor, request_id).status)
        if isinstance(error, (InsufficientFunds, AmountNotAllowed)) and pence is not None:
            funding_request = application.get_request(actor, request_id)
            if isinstance(error, InsufficientFunds):
                fund = application.read_models.council_fund_balance(actor, funding_request.financial_year)
                return (
                    f"The council fund for {funding_request.financial_year} has {money(fund.figures.available)} "
                    f"available, not the {money(pence)} to approve"
                )
            escalated = funding_request.amount_escalated or funding_request.amount_requested
            return f"The amount to approve must be at most the {money(escalated)} escalated"
        return application_message(error)

    @pages.get("/council/audit")
    def audit(request: Request, check: str = "") -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        report = application.verify_audit_chain(actor) if check else None
        anchors: list[dict[str, Any]] = []
        if report is not None:
            anchors = [
                {
                    "source": Path(item.source).name,
                    "position": item.anchor.position if item.anchor else None,
                    "ok": item.ok,
                    "problem": item.problem,
                }
                for item in report.anchors
            ]
        return kit.render(
            request,
            "council/audit.html",
            title="Audit check" if report is None else f"Audit check: {'passed' if report.ok else 'failed'}",
            report=report,
            anchors=anchors,
            anchors_configured=application.audit_anchor_dir is not None,
        )

    award_actions.add_pages(pages, kit, Role.COUNCIL)
    pages.include_router(council_decisions.router(kit))
    pages.include_router(decision_context.router(kit))
    return pages


def _field_of(error: FundingError) -> str:
    """Which field a refusal belongs to, for the error summary's link."""
    if isinstance(error, (AmountNotAllowed, InsufficientFunds)):
        return "amount"
    if isinstance(error, (InvalidTransition, StaleVersion)):
        return "status"
    return "reason" if "reason" in str(error) else "decision"


def not_awaiting(status: RequestStatus) -> str:
    return f"This request is not awaiting a council decision: it is {STATUS_TAGS[status.value][0].lower()}"
