"""Cluster budgets, the council fund and balances."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import finance_presenters, presenters
from api.deps import AppDep, ExpectedVersion, allowed
from api.finance_schemas import YearEndStatementResponse
from api.routes.common import Cursor, Limit, path_id, with_etag
from api.schemas import (
    AllocationRequest,
    BalancesResponse,
    BudgetResponse,
    CommissionRequest,
    CouncilFundResponse,
)
from domain.limits import DEFAULT_PAGE_SIZE
from domain.values import Actor, ClusterId, FinancialYear
from funding_engine.application.calendar import current_financial_year

router = APIRouter(tags=["budgets"])


def _year(fy: str) -> FinancialYear:
    return path_id(FinancialYear.parse, fy, "financial year")


@router.post(
    "/clusters/{cluster_id}/budgets/{fy}/allocations",
    status_code=status.HTTP_201_CREATED,
    response_model=BudgetResponse,
)
def allocate_budget(
    cluster_id: str,
    fy: str,
    body: AllocationRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("allocate_budget")],
    expected_version: ExpectedVersion,
    response: Response,
) -> BudgetResponse:
    """Allocate money to a cluster's budget for a year (finance). A negative amount takes unspent money back."""
    cluster = path_id(ClusterId, cluster_id, "cluster")
    year = _year(fy)
    app.allocate_budget(actor, cluster, year, body.amount, body.note, expected_version=expected_version)
    row = app.read_models.balance(actor, cluster, year)
    with_etag(response, row.version)
    return presenters.budget(row)


@router.post(
    "/clusters/{cluster_id}/budgets/{fy}/commissions",
    status_code=status.HTTP_201_CREATED,
    response_model=BudgetResponse,
)
def commission_service(
    cluster_id: str,
    fy: str,
    body: CommissionRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("commission_service")],
    expected_version: ExpectedVersion,
    response: Response,
) -> BudgetResponse:
    """Jointly commission a specialist service from the cluster's budget (that cluster's lead)."""
    cluster = path_id(ClusterId, cluster_id, "cluster")
    year = _year(fy)
    app.commission_service(
        actor,
        cluster,
        year,
        service=body.service,
        provider=body.provider,
        amount=body.amount,
        school_urns=body.school_urns,
        description=body.description,
        expected_version=expected_version,
    )
    row = app.read_models.balance(actor, cluster, year)
    with_etag(response, row.version)
    return presenters.budget(row)


@router.get("/clusters/{cluster_id}/budgets/{fy}", response_model=BudgetResponse)
def get_budget(
    cluster_id: str, fy: str, app: AppDep, actor: Annotated[Actor, allowed("read_budget")], response: Response
) -> BudgetResponse:
    """A cluster's budget for a year; zeros if nothing is allocated yet."""
    row = app.read_models.balance(actor, path_id(ClusterId, cluster_id, "cluster"), _year(fy))
    with_etag(response, row.version)
    return presenters.budget(row)


@router.get("/clusters/{cluster_id}/budgets/{fy}/statement", response_model=YearEndStatementResponse)
def get_budget_statement(
    cluster_id: str, fy: str, app: AppDep, actor: Annotated[Actor, allowed("read_fund_statement")], response: Response
) -> YearEndStatementResponse:
    """A cluster budget's year-end statement (that cluster's lead, council, finance); zeros if nothing is allocated."""
    statement = app.read_models.budget_statement(actor, path_id(ClusterId, cluster_id, "cluster"), _year(fy))
    with_etag(response, statement.version)
    return finance_presenters.year_end_statement(statement)


@router.get("/balances", response_model=BalancesResponse)
def balances(
    app: AppDep,
    actor: Annotated[Actor, allowed("read_all_balances")],
    financial_year: Annotated[str | None, Query(description="e.g. 2026-27; default: the current year")] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> BalancesResponse:
    """Every cluster's budget for a year, with totals (council, finance)."""
    year = FinancialYear.parse(financial_year) if financial_year else current_financial_year()
    page, totals = app.read_models.balances(actor, year, limit=limit, cursor=cursor)
    return BalancesResponse(
        items=[presenters.budget(row) for row in page.items],
        totals=presenters.totals(totals),
        next_cursor=page.next_cursor,
    )


@router.post(
    "/council/budgets/{fy}/allocations", status_code=status.HTTP_201_CREATED, response_model=CouncilFundResponse
)
def allocate_council_fund(
    fy: str,
    body: AllocationRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("allocate_council_fund")],
    expected_version: ExpectedVersion,
    response: Response,
) -> CouncilFundResponse:
    """Allocate money to the council's exceptional-circumstances fund (finance)."""
    year = _year(fy)
    app.allocate_council_fund(actor, year, body.amount, body.note, expected_version=expected_version)
    row = app.read_models.council_fund_balance(actor, year)
    with_etag(response, row.version)
    return presenters.council_fund(row)


@router.get("/council/budgets/{fy}", response_model=CouncilFundResponse)
def get_council_fund(
    fy: str, app: AppDep, actor: Annotated[Actor, allowed("read_council_fund")], response: Response
) -> CouncilFundResponse:
    """The council fund for a year (council, finance)."""
    row = app.read_models.council_fund_balance(actor, _year(fy))
    with_etag(response, row.version)
    return presenters.council_fund(row)


@router.get("/council/budgets/{fy}/statement", response_model=YearEndStatementResponse)
def get_council_fund_statement(
    fy: str, app: AppDep, actor: Annotated[Actor, allowed("read_council_fund")], response: Response
) -> YearEndStatementResponse:
    """The council fund's year-end statement (council, finance)."""
    statement = app.read_models.council_fund_statement(actor, _year(fy))
    with_etag(response, statement.version)
    return finance_presenters.year_end_statement(statement)
