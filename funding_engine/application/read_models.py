"""Queries over the read models: budgets and balances, the request queue, the decision log,
finance's ledger and reconciliation, the cluster list and the school register.

``ReadModels`` is the query side of the application (``app.read_models``), apart from the commands.
Each query checks the caller as the commands do (the role first, then the scope), makes the read
models fresh (everything committed before the query is reflected), and reads through
``projections.queries``. It owns the cursors the API hands out, so an adapter never sees how one
is made. The row types are the read models' own, named here so adapters import them from the
application and never from the projections.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TextIO, TypedDict

from domain.errors import InvalidValue, NotFound
from domain.limits import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SHORT_TEXT
from domain.permissions import check_role, request_listing_filters
from domain.text import check_text
from domain.values import Actor, ClusterId, DecisionKind, FinancialYear, RequestStatus, SchoolUrn, parse_enum
from funding_engine.application.budgets import Budgets
from funding_engine.application.fund_reports import CommitmentsByAge, FundReports, YearEndStatement
from funding_engine.application.local_offer import LocalOffer
from projections import balance_queries, queries, school_queries, spreadsheets
from projections.queries import (
    AfterDecisions,
    BalanceRow,
    BalanceTotalsRow,
    ClusterRow,
    CouncilFundRow,
    DecisionRow,
    LedgerRow,
    MovementTotalRow,
    Page,
    RequestRow,
)
from projections.read_models.schools import SchoolRow
from projections.reconciliation import Reconciliation, ReconciliationRow, TableReconciliation, reconcile

__all__ = [
    "AfterDecisions",
    "BalanceRow",
    "BalanceTotalsRow",
    "ClusterRow",
    "CommitmentsByAge",
    "CouncilFundRow",
    "DecisionRow",
    "LedgerRow",
    "MovementTotalRow",
    "Page",
    "ReadModels",
    "Reconciliation",
    "ReconciliationRow",
    "RequestRow",
    "SchoolRow",
    "TableReconciliation",
    "YearEndStatement",
]


class _DecisionFilters(TypedDict):
    """The decision log's filters, checked, as ``projections.queries`` takes them."""

    cluster_id: str | None
    actor: str | None
    decided_from: str | None
    decided_to: str | None
    school_urn: str | None
    kind: str | None


class ReadModels(FundReports):
    """What people read: every query over the read models, for the API and the command line (with
    ``FundReports``'s year-end statements and commitments by age)."""

    local_offer: LocalOffer  # the SEN Information Reports' queries, set by the facade (it needs the whole app)

    def __init__(self, app: Budgets) -> None:
        self._app = app

    # -- budgets and the council fund ---------------------------------------------------------------

    def balance(self, actor: Actor, cluster_id: ClusterId | str, financial_year: FinancialYear | str) -> BalanceRow:
        """A budget as the read model has it, with ``pending`` and ``escalated``; zeros if unallocated."""
        cluster_id, year = self._app.budget_in_reach(actor, cluster_id, financial_year)
        row = balance_queries.budget_row(self._app.fresh_read_models(), str(cluster_id), str(year))
        return row or balance_queries.zero_budget(str(cluster_id), str(year))

    def balances(
        self,
        actor: Actor,
        financial_year: FinancialYear | str,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> tuple[Page[BalanceRow], BalanceTotalsRow]:
        """Every cluster's budget for a year, a page at a time, with totals over all of them."""
        check_role(actor, "read_all_balances")
        year = str(FinancialYear.parse(financial_year))
        database = self._app.fresh_read_models()
        page = balance_queries.balances_page(database, year, limit=limit, cursor=cursor)
        return page, balance_queries.balance_totals(database, year)

    def commissions(
        self,
        actor: Actor,
        cluster_id: ClusterId | str,
        financial_year: FinancialYear | str,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[DecisionRow]:
        """The services a budget commissioned in a year, newest first, from the decision log.

        A commission is a movement on the budget, so whoever may read the budget may read what it
        commissioned (its lead among them); the rest of the decision log stays the council's.
        """
        cluster_id, year = self._app.budget_in_reach(actor, cluster_id, financial_year)
        database = self._app.fresh_read_models()
        return queries.commissions_page(database, str(cluster_id), str(year), limit=limit, cursor=cursor)

    def budget_movement_totals(
        self, actor: Actor, cluster_id: ClusterId | str, financial_year: FinancialYear | str
    ) -> list[MovementTotalRow]:
        """A budget's money movements for a year, summed by hour and kind (for a chart of the year).

        Sums and counts only, none of the ledger's requests, references or people: whoever may
        read the budget may read how its figures grew; the ledger itself stays finance's.
        """
        cluster_id, year = self._app.budget_in_reach(actor, cluster_id, financial_year)
        return queries.cluster_movement_totals(self._app.fresh_read_models(), str(cluster_id), str(year))

    def funded_years(self, actor: Actor) -> list[str]:
        """The financial years any budget or the council fund has figures for, newest first."""
        check_role(actor, "read_all_balances")
        return balance_queries.funded_years(self._app.fresh_read_models())

    def council_fund_balance(self, actor: Actor, financial_year: FinancialYear | str) -> CouncilFundRow:
        """The council fund for a year as the read model has it; zeros if unallocated."""
        year = str(self._app.council_fund_in_reach(actor, financial_year))
        return balance_queries.council_fund_row(self._app.fresh_read_models(), year) or balance_queries.zero_fund(year)

    # -- the request queue and the decision log -----------------------------------------------------

    def list_requests(
        self,
        actor: Actor,
        *,
        cluster_id: ClusterId | str | None = None,
        school_urn: SchoolUrn | str | None = None,
        status: RequestStatus | str | None = None,
        financial_year: FinancialYear | str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        statuses: Iterable[RequestStatus | str] | None = None,
    ) -> Page[RequestRow]:
        """Requests the caller may read, oldest first: a school sees its own, a lead its cluster's.

        ``statuses`` keeps requests in any of them (a lead's queue: the open statuses)."""
        check_role(actor, "read_request")
        cluster = None if cluster_id is None else ClusterId.parse(cluster_id)
        school = None if school_urn is None else SchoolUrn.parse(school_urn)
        status_value = None if status is None else parse_enum(RequestStatus, status, field="status").value
        status_values = (
            None
            if statuses is None
            else sorted({parse_enum(RequestStatus, one, field="statuses").value for one in statuses})
        )
        year = None if financial_year is None else str(FinancialYear.parse(financial_year))
        cluster, school = request_listing_filters(actor, cluster, school)
        return queries.requests_page(
            self._app.fresh_read_models(),
            cluster_id=None if cluster is None else str(cluster),
            school_urn=None if school is None else str(school),
            status=status_value,
            financial_year=year,
            limit=limit,
            cursor=cursor,
            statuses=status_values,
        )

    def decisions(
        self,
        actor: Actor,
        *,
        cluster_id: ClusterId | str | None = None,
        decided_by: str | None = None,
        decided_from: datetime | None = None,
        decided_to: datetime | None = None,
        school_urn: SchoolUrn | str | None = None,
        kind: DecisionKind | str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[DecisionRow]:
        """The decision log, newest first, for the council's auditors.

        A bound beyond the calendar in UTC (``0001-01-01T00:00:00+14:00``) is clamped to its edge,
        which selects exactly the same decisions (see ``queries.time_bound``). ``school_urn``
        selects decisions about that school's requests; ``kind`` one kind of decision.
        """
        check_role(actor, "read_decisions")
        filters = self._decision_filters(cluster_id, decided_by, decided_from, decided_to, school_urn, kind)
        return queries.decisions_page(self._app.fresh_read_models(), **filters, limit=limit, cursor=cursor)

    def write_decisions_csv(
        self,
        actor: Actor,
        out: TextIO,
        *,
        cluster_id: ClusterId | str | None = None,
        decided_by: str | None = None,
        decided_from: datetime | None = None,
        decided_to: datetime | None = None,
        school_urn: SchoolUrn | str | None = None,
        kind: DecisionKind | str | None = None,
    ) -> int:
        """Every decision ``decisions`` lists under the same filters, as CSV into ``out``; returns the count."""
        check_role(actor, "read_decisions")
        filters = self._decision_filters(cluster_id, decided_by, decided_from, decided_to, school_urn, kind)
        return spreadsheets.write_decisions(queries.decision_rows(self._app.fresh_read_models(), **filters), out)

    @staticmethod
    def _decision_filters(
        cluster_id: ClusterId | str | None,
        decided_by: str | None,
        decided_from: datetime | None,
        decided_to: datetime | None,
        school_urn: SchoolUrn | str | None,
        kind: DecisionKind | str | None,
    ) -> _DecisionFilters:
        for moment in (decided_from, decided_to):
            if moment is not None and moment.tzinfo is None:
                raise InvalidValue("from and to must carry a time zone")
        return {
            "cluster_id": None if cluster_id is None else str(ClusterId.parse(cluster_id)),
            "actor": None if decided_by is None else check_text(decided_by, field="actor", max_length=SHORT_TEXT),
            "decided_from": None if decided_from is None else queries.time_bound(decided_from),
            "decided_to": None if decided_to is None else queries.time_bound(decided_to),
            "school_urn": None if school_urn is None else str(SchoolUrn.parse(school_urn)),
            "kind": None if kind is None else parse_enum(DecisionKind, kind, field="kind").value,
        }

    # -- finance ------------------------------------------------------------------------------------

    def reconcile(self, actor: Actor, financial_year: FinancialYear | str) -> Reconciliation:
        """Every read model a person reads, row by row, against a fold of the event log."""
        check_role(actor, "reconcile")
        year = FinancialYear.parse(financial_year)
        database = self._app.fresh_read_models()
        return reconcile(database, self._app.read_side.projector.source, year)

    def write_ledger_csv(self, actor: Actor, financial_year: FinancialYear | str, out: TextIO) -> int:
        """The year's money movements as CSV into ``out``; returns how many were written."""
        check_role(actor, "read_ledger")
        year = str(FinancialYear.parse(financial_year))
        return spreadsheets.write_ledger_csv(self._app.fresh_read_models(), year, out)

    # -- clusters -----------------------------------------------------------------------------------

    def list_clusters(self, actor: Actor) -> list[ClusterRow]:
        """Every registered cluster, by id."""
        check_role(actor, "read_cluster")
        database = self._app.fresh_read_models()
        rows: list[ClusterRow] = []
        cursor: str | None = None
        while True:
            page = queries.clusters_page(database, limit=MAX_PAGE_SIZE, cursor=cursor)
            rows.extend(page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    def clusters(self, actor: Actor, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None) -> Page[ClusterRow]:
        """Every registered cluster, by id, a page at a time."""
        check_role(actor, "read_cluster")
        return queries.clusters_page(self._app.fresh_read_models(), limit=limit, cursor=cursor)

    # -- schools ------------------------------------------------------------------------------------

    def schools(
        self,
        actor: Actor,
        *,
        cluster_id: ClusterId | str | None = None,
        q: str | None = None,
        registered: bool | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[SchoolRow]:
        """Schools by URN, a page at a time: in one cluster, whose name or URN holds ``q``.

        Every school the engine knows is listed, including one in a cluster since before the
        register existed (its name and phase None, ``registered`` false: ``registered=False``
        finds those the council has still to register). Names are public (the Local Offer lists
        them), so every signed-in role reads them.
        """
        check_role(actor, "read_schools")
        return school_queries.schools_page(
            self._app.fresh_read_models(["schools"]),
            cluster_id=None if cluster_id is None else str(ClusterId.parse(cluster_id)),
            q=self._search_text(q),
            registered=registered,
            limit=limit,
            cursor=cursor,
        )

    def list_schools(self, actor: Actor, *, cluster_id: ClusterId | str | None = None) -> list[SchoolRow]:
        """Every school (in one cluster), by URN: ``schools`` with every page read."""
        rows: list[SchoolRow] = []
        cursor: str | None = None
        while True:
            page = self.schools(actor, cluster_id=cluster_id, limit=MAX_PAGE_SIZE, cursor=cursor)
            rows.extend(page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    def school(self, actor: Actor, school_urn: SchoolUrn | str) -> SchoolRow:
        """One school by URN, registered or only in a cluster (404 if the engine has never met it)."""
        check_role(actor, "read_schools")
        urn = str(SchoolUrn.parse(school_urn))
        row = school_queries.school_row(self._app.fresh_read_models(["schools"]), urn)
        if row is None:
            raise NotFound(f"school {urn} not found")
        return row

    @staticmethod
    def _search_text(q: str | None) -> str | None:
        if q is None or not q.strip():
            return None
        return check_text(q.strip(), field="q", max_length=SHORT_TEXT)
