"""The council's decision log and audit check; finance's reconciliation and ledger."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api import finance_presenters, presenters
from api.decision_context import DecisionContextResponse
from api.decision_context import decision_context as context_presenter
from api.deps import AppDep, allowed
from api.finance_schemas import CommitmentsByAgeResponse, ReconciliationResponse
from api.routes.common import Cursor, Limit, path_id
from api.schemas import DecisionLogResponse, VerifyResponse
from domain.limits import DEFAULT_PAGE_SIZE, SHORT_TEXT
from domain.values import Actor, ClusterId, FinancialYear
from funding_engine.application.calendar import current_financial_year

router = APIRouter(tags=["audit and finance"])


def _position(text: str) -> int:
    """A log position: digits only (no sign, no underscores), within the stores' 64-bit ids."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**63:
        raise ValueError(text)
    return int(text)


def _year(value: str | None) -> FinancialYear:
    return FinancialYear.parse(value) if value else current_financial_year()


@router.get("/audit/decisions/{position}/context", response_model=DecisionContextResponse)
def decision_context(
    position: str, app: AppDep, actor: Annotated[Actor, allowed("read_decisions")]
) -> DecisionContextResponse:
    """A decision in its context: the request just before it, the budget as it found it, the policy
    it pinned, its evidence, and the audit chain's proof, recomputed now, that none of it changed.
    `position` is the decision's `position` in the decision log; 404 if no decision is there."""
    number = path_id(_position, position, "decision")
    return context_presenter(app.decision_context(actor, number))


@router.get("/audit/decisions", response_model=DecisionLogResponse)
def decisions(
    app: AppDep,
    actor: Annotated[Actor, allowed("read_decisions")],
    cluster_id: str | None = None,
    actor_sub: Annotated[str | None, Query(alias="actor", max_length=SHORT_TEXT, description="staff id (sub)")] = None,
    decided_from: Annotated[datetime | None, Query(alias="from", description="ISO 8601, inclusive")] = None,
    decided_to: Annotated[datetime | None, Query(alias="to", description="ISO 8601, inclusive")] = None,
    school_urn: Annotated[str | None, Query(max_length=SHORT_TEXT, description="decisions about its requests")] = None,
    kind: Annotated[str | None, Query(max_length=SHORT_TEXT, description="a decision kind")] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> DecisionLogResponse:
    """Every decision (approve, decline, escalate, council decision, commission, information request), newest first."""
    page = app.read_models.decisions(
        actor,
        cluster_id=None if cluster_id is None else ClusterId.parse(cluster_id),
        decided_by=actor_sub,
        decided_from=decided_from,
        decided_to=decided_to,
        school_urn=school_urn,
        kind=kind,
        limit=limit,
        cursor=cursor,
    )
    return DecisionLogResponse(
        items=[presenters.decision_item(row) for row in page.items], next_cursor=page.next_cursor
    )


@router.get("/audit/verify", response_model=VerifyResponse)
def verify(app: AppDep, actor: Annotated[Actor, allowed("verify_audit")]) -> VerifyResponse:
    """Rehash the stored event log against the audit chain, check every snapshot, compare with the anchors."""
    return presenters.audit_report(app.verify_audit_chain(actor))


@router.get("/finance/reconciliation", response_model=ReconciliationResponse)
def reconciliation(
    app: AppDep, actor: Annotated[Actor, allowed("reconcile")], financial_year: str | None = None
) -> ReconciliationResponse:
    """Every read model a person reads, row by row, against a fold of the event log; 409 log-unreadable."""
    return finance_presenters.reconciliation(app.read_models.reconcile(actor, _year(financial_year)))


@router.get("/finance/commitments-by-age", response_model=CommitmentsByAgeResponse)
def commitments_by_age(
    app: AppDep,
    actor: Annotated[Actor, allowed("read_commitments_by_age")],
    financial_year: Annotated[str | None, Query(description="e.g. 2026-27; default: the current year")] = None,
    cluster_id: Annotated[str | None, Query(max_length=SHORT_TEXT, description="one cluster's budget")] = None,
    as_of: Annotated[date | None, Query(description="the day ages are counted back from; default: today")] = None,
) -> CommitmentsByAgeResponse:
    """Each fund's committed but unpaid money for the year, by how long ago its awards were approved."""
    result = app.read_models.commitments_by_age(
        actor,
        _year(financial_year),
        cluster_id=None if cluster_id is None else ClusterId.parse(cluster_id),
        as_of=as_of,
    )
    return finance_presenters.commitments_by_age(result)


@router.get(
    "/finance/ledger.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One line per money movement"}},
)
def ledger_csv(
    app: AppDep, actor: Annotated[Actor, allowed("read_ledger")], financial_year: str | None = None
) -> Response:
    """The year's money movements as CSV: allocations, adjustments, commitments, commissions, payments."""
    year = _year(financial_year)
    buffer = io.StringIO()
    app.read_models.write_ledger_csv(actor, year, buffer)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="ledger-{year}.csv"'},
    )
