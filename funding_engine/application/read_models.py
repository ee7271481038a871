"""Queries over the read models: budgets and balances, the request queue, the decision log,
finance's ledger and reconciliation, and the cluster list.

``ReadModels`` is the query side of the application (``app.read_models``), apart from the commands.
Each query checks the caller as the commands do (the role first, then the scope), makes the read
models fresh (everything committed before the query is reflected), and reads through
``projections.queries``. It owns the cursors the API hands out, so an adapter never sees how one
is made.

The rows are the read models' rows as ``projections.queries`` gives them; the aliases below name
each kind, so the queries' signatures say what they answer with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TextIO, TypeAlias, TypeVar
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.clusters import Cluster
from domain.errors import InvalidValue
from domain.permissions import check_role, request_listing_filters
from domain.values import (
    SHORT_TEXT,
    Actor,
    ClusterId,
    FinancialYear,
    RequestStatus,
    SchoolUrn,
    check_text,
    parse_enum,
)
from funding_engine.application.budgets import Budgets
from projections import queries
from projections.reconciliation import Reconciliation, ReconciliationRow, TableReconciliation, reconcile

__all__ = [
    "BalanceTotals",
    "BudgetRow",
    "DecisionRow",
    "FundRow",
    "Page",
    "ReadModels",
    "Reconciliation",
    "ReconciliationRow",
    "RequestRow",
    "TableReconciliation",
]

# A cluster's budget for a year: the fund figures in pence, ``pending``, ``escalated``, ``version``.
BudgetRow: TypeAlias = dict[str, Any]
# The council fund for a year: ``allocated``, ``committed``, ``available``, ``paid``, ``version``.
FundRow: TypeAlias = dict[str, Any]
# One funding request in the queue (the request index).
RequestRow: TypeAlias = dict[str, Any]
# One entry of the decision log.
DecisionRow: TypeAlias = dict[str, Any]
# Each budget figure summed over every cluster in a year.
BalanceTotals: TypeAlias = dict[str, int]

Row = TypeVar("Row")

# Registrations are read from the log this many at a time when listing clusters.
CLUSTER_SCAN_PAGE = 500


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a listing, and the cursor for the next (None on the last page)."""

    items: list[Row]
    next_cursor: str | None

    @staticmethod
    def of(page: queries.Page) -> Page[dict[str, Any]]:
        return Page(page.items, page.next_cursor)


class ReadModels:
    """What people read: every query over the read models, for the API and the command line."""

    def __init__(self, app: Budgets) -> None:
        self._app = app

    # -- budgets and the council fund ---------------------------------------------------------------

    def balance(self, actor: Actor, cluster_id: ClusterId | str, financial_year: FinancialYear | str) -> BudgetRow:
        """A budget as the read model has it, with ``pending`` and ``escalated``; zeros if unallocated."""
        cluster_id, year = self._app.budget_in_reach(actor, cluster_id, financial_year)
        row = queries.budget_row(self._app.fresh_read_models(), str(cluster_id), str(year))
        return row or queries.zero_budget(str(cluster_id), str(year))

    def balances(
        self, actor: Actor, financial_year: FinancialYear | str, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[Page[BudgetRow], BalanceTotals]:
        """Every cluster's budget for a year, a page at a time, with totals over all of them."""
        check_role(actor, "read_all_balances")
        year = str(FinancialYear.parse(financial_year))
        database = self._app.fresh_read_models()
        page = queries.balances_page(database, year, limit=limit, cursor=cursor)
        return Page.of(page), queries.balance_totals(database, year)

    def council_fund_balance(self, actor: Actor, financial_year: FinancialYear | str) -> FundRow:
        """The council fund for a year as the read model has it; zeros if unallocated."""
        year = str(self._app.council_fund_in_reach(actor, financial_year))
        return queries.council_fund_row(self._app.fresh_read_models(), year) or queries.zero_fund(year)

    # -- the request queue and the decision log -----------------------------------------------------

    def list_requests(
        self,
        actor: Actor,
        *,
        cluster_id: ClusterId | str | None = None,
        school_urn: SchoolUrn | str | None = None,
        status: RequestStatus | str | None = None,
        financial_year: FinancialYear | str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[RequestRow]:
        """Requests the caller may read, oldest first: a school sees its own, a lead its cluster's."""
        check_role(actor, "read_request")
        cluster = None if cluster_id is None else ClusterId.parse(cluster_id)
        school = None if school_urn is None else SchoolUrn.parse(school_urn)
        status_value = None if status is None else parse_enum(RequestStatus, status, field="status").value
        year = None if financial_year is None else str(FinancialYear.parse(financial_year))
        cluster, school = request_listing_filters(actor, cluster, school)
        page = queries.requests_page(
            self._app.fresh_read_models(),
            cluster_id=None if cluster is None else str(cluster),
            school_urn=None if school is None else str(school),
            status=status_value,
            financial_year=year,
            limit=limit,
            cursor=cursor,
        )
        return Page.of(page)

    def decisions(
        self,
        actor: Actor,
        *,
        cluster_id: ClusterId | str | None = None,
        decided_by: str | None = None,
        decided_from: datetime | None = None,
        decided_to: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[DecisionRow]:
        """The decision log, newest first, for the council's auditors.

        A bound beyond the calendar in UTC (``0001-01-01T00:00:00+14:00``) is clamped to its edge,
        which selects exactly the same decisions (see ``queries.time_bound``).
        """
        check_role(actor, "read_decisions")
        for moment in (decided_from, decided_to):
            if moment is not None and moment.tzinfo is None:
                raise InvalidValue("from and to must carry a time zone")
        page = queries.decisions_page(
            self._app.fresh_read_models(),
            cluster_id=None if cluster_id is None else str(ClusterId.parse(cluster_id)),
            actor=None if decided_by is None else check_text(decided_by, field="actor", max_length=SHORT_TEXT),
            decided_from=None if decided_from is None else queries.time_bound(decided_from),
            decided_to=None if decided_to is None else queries.time_bound(decided_to),
            limit=limit,
            cursor=cursor,
        )
        return Page.of(page)

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
        return queries.write_ledger_csv(self._app.fresh_read_models(), year, out)

    # -- clusters -----------------------------------------------------------------------------------

    def list_clusters(self, actor: Actor) -> list[Cluster]:
        """Every registered cluster, by id."""
        check_role(actor, "read_cluster")
        return self._registered_clusters()

    def clusters(self, actor: Actor, *, limit: int = 50, cursor: str | None = None) -> Page[Cluster]:
        """Every registered cluster, by id, a page at a time."""
        check_role(actor, "read_cluster")
        queries.check_limit(limit)
        after = None if not cursor else queries.decode_cursor(cursor, queries.TEXT_KEY)[0]
        clusters = [
            cluster for cluster in self._registered_clusters() if after is None or str(cluster.cluster_id) > after
        ]
        page = clusters[:limit]
        next_cursor = queries.encode_cursor([str(page[-1].cluster_id)]) if len(clusters) > limit else None
        return Page(page, next_cursor)

    def _registered_clusters(self) -> list[Cluster]:
        # Not a read model yet: a scan of the log's registrations that loads each cluster.
        topic = get_topic(Cluster.Registered)
        ids: list[UUID] = []
        start = 1
        while True:
            page = self._app.recorder.select_notifications(start, CLUSTER_SCAN_PAGE, topics=[topic])
            ids.extend(n.originator_id for n in page if isinstance(n.originator_id, UUID))
            if len(page) < CLUSTER_SCAN_PAGE:
                break
            start = page[-1].id + 1
        clusters: list[Cluster] = [self._app.repository.get(cluster_id) for cluster_id in ids]
        return sorted(clusters, key=lambda cluster: cluster.cluster_id)
