"""Finance's pages that read: every cluster's balance and the council fund, one cluster's year,
reconciliation of the read models against the event log, and the ledger's CSV download.

What finance changes (allocations, adjustments and payments) is in ``forms.py``, payment runs in
``payment_runs.py`` and the bank's remittances in ``remittances.py``; every set of routes is on
the one router built here.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO, cast
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from domain.errors import InvalidValue, NotFound
from domain.limits import MAX_PAGE_SIZE
from domain.values import Actor, ClusterId, FinancialYear, Role
from funding_engine.application.errors import InvalidQuery, LogUnreadable
from funding_engine.application.read_models import ReadModels, TableReconciliation
from web.finance import forms as finance_forms
from web.finance import payment_runs, recoveries, remittances, statements, year_end
from web.finance.common import YEAR_FIELD, all_requests, chosen_year, year_items, year_options
from web.kit import Errors, Kit, money

BALANCES_PER_PAGE = 50
# What each reconciled table holds, in words (the table's own name is shown beside it).
TABLE_DESCRIPTIONS = {
    "cluster_balances": "Each cluster's budget",
    "council_fund_balances": "The council fund",
    "cluster_balances_requests": "Open requests counted in the budgets",
    "request_index": "Funding requests",
    "decision_log": "Decision log",
    "decision_log_requests": "Requests the decision log knows",
    "decision_log_budgets": "Budgets the decision log knows",
    "finance_ledger": "Finance ledger",
    "finance_ledger_funds": "Running balances the ledger keeps",
    "clusters": "Clusters and their schools",
    "schools": "The school register",
    "sen_reports": "Schools' SEN Information Reports",
    "sen_report_broken_links": "Broken links reported to the council",
}
FIGURE_NAMES = {
    "allocated": "Allocated",
    "committed": "Committed",
    "commissioned": "Commissioned",
    "available": "Available",
    "pending": "Pending",
    "escalated": "Escalated",
    "paid": "Paid",
    "version": "Version",
}


def router(kit: Kit) -> APIRouter:
    pages = kit.router()
    read_models = kit.application.read_models

    @pages.get("/finance/balances")
    def balances(request: Request, financial_year: str = "", cursor: str = "") -> Response:
        """Every cluster's budget for the year, with totals, and the council fund."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        try:
            page, totals = read_models.balances(actor, year, limit=BALANCES_PER_PAGE, cursor=cursor or None)
        except InvalidQuery:
            raise NotFound("no such page of balances") from None
        clusters = {row.cluster_id: row.name for row in read_models.list_clusters(actor)}
        budgeted = _budgeted_clusters(read_models, actor, year)
        return kit.render(
            request,
            "finance/balances.html",
            title=f"Balances for {year}",
            status=400 if errors else 200,
            errors=errors,
            values={YEAR_FIELD: financial_year},
            year=str(year),
            years=year_items(year_options(kit.application, actor, year), year),
            rows=page.items,
            names=clusters,
            totals=totals,
            paged=bool(cursor) or page.next_cursor is not None,
            next_cursor=page.next_cursor,
            first_page=bool(cursor),
            fund=read_models.council_fund_balance(actor, year),
            unbudgeted=[(cluster_id, name) for cluster_id, name in clusters.items() if cluster_id not in budgeted],
        )

    @pages.get("/finance/balances/{cluster_id}")
    def cluster_balance(request: Request, cluster_id: str, financial_year: str = "") -> Response:
        """One cluster's budget for the year, and its requests."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        try:
            cluster = ClusterId.parse(cluster_id)
        except InvalidValue:
            raise NotFound(f"no cluster {cluster_id!r}") from None
        row = read_models.balance(actor, cluster, year)
        name = next((c.name for c in read_models.list_clusters(actor) if c.cluster_id == str(cluster)), str(cluster))
        return kit.render(
            request,
            "finance/cluster.html",
            title=f"{name}: {year}",
            status=400 if errors else 200,
            errors=errors,
            breadcrumbs=[(f"/finance/balances?financial_year={year}", f"Balances for {year}")],
            values={YEAR_FIELD: financial_year},
            year=str(year),
            years=year_items(year_options(kit.application, actor, year), year),
            cluster_id=str(cluster),
            name=name,
            balance=row,
            requests=all_requests(read_models, actor, year, str(cluster)),
        )

    @pages.get("/finance/reconcile")
    def reconcile(request: Request, financial_year: str = "") -> Response:
        """Every read model, row by row, against a fold of the event log; differences highlighted."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        context: dict[str, Any] = {}
        try:
            result = read_models.reconcile(actor, year)
        except LogUnreadable as damaged:
            context = {"damaged": str(damaged), "consistent": False}
        else:
            fund = result.council_fund
            context = {
                "consistent": result.consistent,
                "log_position": result.log_position,
                "balances": [_balance_view(row.cluster_id or "", row) for row in result.clusters],
                "fund": None if fund is None else _balance_view("Council fund", fund),
                "tables": [_table_view(table) for table in result.tables],
            }
        return kit.render(
            request,
            "finance/reconcile.html",
            title=f"Reconciliation for {year}",
            status=400 if errors else 200,
            errors=errors,
            values={YEAR_FIELD: financial_year},
            year=str(year),
            years=year_items(year_options(kit.application, actor, year), year),
            figure_names=FIGURE_NAMES,
            **context,
        )

    @pages.get("/finance/ledger")
    def ledger(request: Request, financial_year: str = "") -> Response:
        """The ledger's download, for a year."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        return kit.render(
            request,
            "finance/ledger.html",
            title=f"Ledger for {year}",
            status=400 if errors else 200,
            errors=errors,
            values={YEAR_FIELD: financial_year},
            year=str(year),
            years=year_items(year_options(kit.application, actor, year), year),
        )

    @pages.get("/finance/ledger/download.csv")
    def ledger_download(request: Request, financial_year: str = "") -> Response:
        """The year's money movements as CSV, streamed as the read model is read."""
        actor = kit.actor(request, Role.FINANCE)
        errors = Errors()
        year = chosen_year(financial_year, errors)
        if errors:
            return kit.redirect(f"/finance/ledger?financial_year={quote(financial_year)}")
        return StreamingResponse(
            _ledger_chunks(read_models, actor, year),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="ledger-{year}.csv"', "Cache-Control": "no-store"},
        )

    finance_forms.add_routes(pages, kit)
    recoveries.add_routes(pages, kit)
    year_end.add_routes(pages, kit)
    # The remittance's fixed paths first: /finance/runs/{number} would otherwise take them.
    remittances.add_routes(pages, kit)
    payment_runs.add_routes(pages, kit)
    statements.add_routes(pages, kit)
    return pages


# -- balances -----------------------------------------------------------------------------------


def _budgeted_clusters(read_models: ReadModels, actor: Actor, year: FinancialYear) -> set[str]:
    """Every cluster with a budget row for the year (all pages: a council has tens of clusters)."""
    found: set[str] = set()
    cursor: str | None = None
    while True:
        page, _ = read_models.balances(actor, year, limit=MAX_PAGE_SIZE, cursor=cursor)
        found.update(row.cluster_id for row in page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


# -- reconciliation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureView:
    name: str
    read_model: str
    event_log: str
    differs: bool


@dataclass(frozen=True)
class BalanceView:
    label: str
    consistent: bool
    figures: list[FigureView]


@dataclass(frozen=True)
class TableView:
    name: str
    description: str
    read_model: str
    position: int
    rows_checked: int
    differing: int
    missing: int
    extra: int
    consistent: bool
    key: str  # the first differing row's key column and value, or ""
    kind: str  # "differs", "missing" (from the read model) or "extra" (not in the log), or ""
    columns: list[FigureView]


def _balance_view(label: str, row: Any) -> BalanceView:
    figures = [
        FigureView(
            name,
            _figure(row.projected.get(name)),
            _figure(row.recomputed.get(name)),
            row.projected.get(name) != row.recomputed.get(name),
        )
        for name in row.recomputed
    ]
    version_differs = row.projected_version != row.recomputed_version
    figures.append(FigureView("version", _plain(row.projected_version), str(row.recomputed_version), version_differs))
    return BalanceView(label, row.consistent, figures)


def _table_view(table: TableReconciliation) -> TableView:
    key, kind, columns = "", "", []
    difference = table.first_difference
    if difference is not None:
        key = f"{table.table.key} {_plain(difference.key)}"
        pairs, money_columns = difference.columns, table.table.money
        if all(mine is None for mine, _ in pairs.values()):
            kind = "missing"
        elif all(theirs is None for _, theirs in pairs.values()):
            kind = "extra"
        else:
            kind = "differs"
        columns = [
            FigureView(column, _cell(mine, column in money_columns), _cell(theirs, column in money_columns), True)
            for column, (mine, theirs) in pairs.items()
        ]
    return TableView(
        table.name,
        TABLE_DESCRIPTIONS.get(table.name, table.name),
        table.table.read_model,
        table.position,
        table.rows_checked,
        table.differing,
        table.missing,
        table.extra,
        table.consistent,
        key,
        kind,
        columns,
    )


def _figure(pence: int | None) -> str:
    # A figure someone overwrote with something that is not a number is reported as None.
    return "not a number" if pence is None else money(pence)


def _plain(value: Any) -> str:
    return "not a number" if value is None else " ".join(str(value).split())[:60]


def _cell(value: Any, is_money: bool) -> str:
    if value is None:
        return "(none)"
    if is_money and type(value) is int:
        return money(value)
    return _plain(value)


# -- the ledger ---------------------------------------------------------------------------------

CHUNK_CHARACTERS = 64 * 1024
_DONE = object()


class _QueueWriter(io.TextIOBase):
    """A text stream whose writes are handed, a chunk at a time, to the response streaming them."""

    def __init__(self, chunks: queue.Queue[object], stopped: threading.Event) -> None:
        self.chunks = chunks
        self.stopped = stopped
        self.pending: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.pending.append(text)
        self.size += len(text)
        if self.size >= CHUNK_CHARACTERS:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.hand_over("".join(self.pending))
            self.pending, self.size = [], 0

    def hand_over(self, item: object) -> None:
        while not self.stopped.is_set():
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        raise _Abandoned


class _Abandoned(Exception):
    """The person's browser went away mid-download: stop reading the ledger."""


def _ledger_chunks(read_models: ReadModels, actor: Actor, year: FinancialYear) -> Iterator[str]:
    """The CSV as the ledger is read (in batches), never the whole year in memory at once."""
    chunks: queue.Queue[object] = queue.Queue(maxsize=8)
    stopped = threading.Event()
    writer = _QueueWriter(chunks, stopped)

    def write() -> None:
        try:
            read_models.write_ledger_csv(actor, year, cast(TextIO, writer))
            writer.flush()
            writer.hand_over(_DONE)
        except _Abandoned:
            return
        except Exception as error:  # noqa: BLE001 - handed to the response, which raises it where it is served
            try:
                writer.hand_over(error)
            except _Abandoned:
                return

    thread = threading.Thread(target=write, name="ledger-csv", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, str)
            yield item
    finally:
        stopped.set()
