"""The read models through the application's queries, on SQLite and on PostgreSQL.

Balances, the council fund, the request index (filters, cursor pagination, who may see what),
the decision log, the finance ledger as CSV, reconciliation, and rebuilding from the log. The
application runs with inline projections (the default): every command catches the read models
up before it returns, so a read right after a write sees it.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.errors import NotPermitted
from domain.sen_report_checklist import CHECKLIST
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from projections import queries
from projections.queries import LEDGER_COLUMNS, BalanceRow, BalanceTotalsRow, ClusterRow, DecisionRow, Page, RequestRow
from tests.conftest import STORES
from tests.integration.test_read_model_properties import dump_tables, fresh_store, tracking_positions
from tests.support import (
    CLUSTER,
    COUNCIL,
    EVIDENCE,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    OTHER_HEAD,
    OTHER_LEAD,
    OTHER_SCHOOL,
    SCHOOL,
    SECOND_HEAD,
    SECOND_SCHOOL,
    YEAR,
    evidenced_request,
    set_up_world,
    submit,
)

NEXT_YEAR = "2027-28"
ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "funding_engine.cli"]
APPROVAL_REASON = "Spend evidence shows the school's own SEN funding is fully used."
CIRCUMSTANCES = "A special school closed and three pupils with EHCPs arrived mid-year."
FORMULA_REFERENCE = '=HYPERLINK("http://evil.example/","pay")'


def figures(app: FundingApplication, cluster_id: str = CLUSTER, year: str = YEAR) -> dict[str, int]:
    return budget_figures(app.read_models.balance(COUNCIL, cluster_id, year))


# The figures these tests follow; the money after a decision (forward, released...) has tests of its own.
CLASSIC_FIGURES = ("allocated", "committed", "commissioned", "available", "paid")


def budget_figures(row: BalanceRow | BalanceTotalsRow) -> dict[str, int]:
    named = row.figures.named()
    return {**{name: named[name] for name in CLASSIC_FIGURES}, "pending": row.pending, "escalated": row.escalated}


def balance_of(
    allocated: int = 0,
    committed: int = 0,
    commissioned: int = 0,
    pending: int = 0,
    escalated: int = 0,
    paid: int = 0,
) -> dict[str, int]:
    """Expected figures in pence; ``available`` follows from the others."""
    return {
        "allocated": allocated,
        "committed": committed,
        "commissioned": commissioned,
        "available": allocated - committed - commissioned,
        "pending": pending,
        "escalated": escalated,
        "paid": paid,
    }


def commission(app: FundingApplication, amount: str, provider: str = "Broadland Psychology Partnership") -> None:
    app.commission_service(
        LEAD,
        CLUSTER,
        YEAR,
        service="educational_psychology",
        provider=provider,
        amount=amount,
        school_urns=[SCHOOL, SECOND_SCHOOL],
        description="Termly educational psychology sessions for both schools.",
    )


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def ids(page_or_items: Any) -> list[UUID | None]:
    items = page_or_items.items if hasattr(page_or_items, "items") else page_or_items
    return [request_of(item) for item in items]


def request_of(row: RequestRow | DecisionRow) -> UUID | None:
    """The request a row is about, whatever text form the read model gives its id in."""
    return None if row.request_id is None else UUID(str(row.request_id))


# ================================================================================================
# A busy year, shared (per store) by the tests that only read
# ================================================================================================


@dataclass
class Busy:
    app: FundingApplication
    url: str
    paid: UUID  # SCHOOL: approved 800.00, paid 300.00 + 500.00
    submitted: UUID  # SECOND_SCHOOL: 700.00, submitted only
    questioned: UUID  # SCHOOL: 300.00, information requested
    declined: UUID  # OTHER_SCHOOL: declined by the other cluster's lead
    approved: UUID  # SECOND_SCHOOL: 1200.00 asked, 1000.00 approved, unpaid
    council_approved: UUID  # SCHOOL: 4000.00 asked, 3500.00 escalated, council approved 2500.00, 1000.00 paid
    withdrawn: UUID  # SECOND_SCHOOL: 150.00, withdrawn
    next_year: UUID  # SCHOOL: 600.00 for 2027-28, submitted
    council_declined: UUID  # OTHER_SCHOOL: 2500.00 escalated, council declined


SEN_REPORT_URL = "https://www.school-900001.example.org/send-information-report"


def build_busy_year(app: FundingApplication, url: str = "") -> Busy:
    set_up_world(app, budget="5000.00", council_fund="3000.00")
    app.allocate_budget(FINANCE, OTHER_CLUSTER, YEAR, "2000.00", "initial allocation")
    app.allocate_budget(FINANCE, CLUSTER, YEAR, "-250.00", "returned underspend")

    paid = evidenced_request(app).id
    app.approve(LEAD, paid, "800.00", APPROVAL_REASON)
    app.record_payment(FINANCE, paid, "300.00", "PAY-0001")
    app.record_payment(FINANCE, paid, "500.00", FORMULA_REFERENCE)

    submitted = submit(app, SECOND_HEAD, school_urn=SECOND_SCHOOL, amount_requested="700.00").id
    questioned = evidenced_request(app, amount_requested="300.00").id
    app.request_information(LEAD, questioned, "Please send the provision map for the autumn term.")

    declined = evidenced_request(app, OTHER_HEAD, school_urn=OTHER_SCHOOL, amount_requested="400.00").id
    app.decline(OTHER_LEAD, declined, "insufficient_evidence", "The spend evidence covers only one term.")

    commission(app, "450.00")

    approved = evidenced_request(app, SECOND_HEAD, school_urn=SECOND_SCHOOL, amount_requested="1200.00").id
    app.approve(LEAD, approved, "1000.00", APPROVAL_REASON, "Review at the end of the spring term.")

    council_approved = evidenced_request(app, amount_requested="4000.00").id
    app.escalate(LEAD, council_approved, "3500.00", CIRCUMSTANCES)
    app.decide_escalation(COUNCIL, council_approved, "approve", "Exceptional circumstances are shown.", "2500.00")
    app.record_payment(FINANCE, council_approved, "1000.00", "COUNCIL-PAY-0001")

    withdrawn = submit(app, SECOND_HEAD, school_urn=SECOND_SCHOOL, amount_requested="150.00").id
    app.withdraw(SECOND_HEAD, withdrawn, "The pupil moved to another school.")

    next_year = submit(app, financial_year=NEXT_YEAR, amount_requested="600.00").id

    council_declined = evidenced_request(app, OTHER_HEAD, school_urn=OTHER_SCHOOL, amount_requested="2500.00").id
    app.escalate(OTHER_LEAD, council_declined, "2500.00", CIRCUMSTANCES)
    app.decide_escalation(COUNCIL, council_declined, "decline", "The circumstances are not exceptional.")

    # SEN Information Reports (issue 12): two reports, assessed; broken links reported, some cleared.
    published = app.today() - timedelta(days=30)
    app.record_sen_report(HEAD, SCHOOL, SEN_REPORT_URL, published, published + timedelta(days=300))
    app.record_sen_report(OTHER_HEAD, OTHER_SCHOOL, SEN_REPORT_URL + "-other", published, published + timedelta(days=1))
    app.assess_sen_report(HEAD, SCHOOL, {item.key: "met" for item in CHECKLIST})
    app.assess_sen_report(COUNCIL, SCHOOL, {item.key: "partly_met" for item in CHECKLIST}, {CHECKLIST[0].key: "Thin."})
    app.report_broken_link("busy-year", OTHER_SCHOOL, "Not found.")
    app.clear_broken_link_reports(COUNCIL, OTHER_SCHOOL)
    app.report_broken_link("busy-year", SCHOOL, "The page is empty.")

    return Busy(
        app,
        url,
        paid,
        submitted,
        questioned,
        declined,
        approved,
        council_approved,
        withdrawn,
        next_year,
        council_declined,
    )


@pytest.fixture(scope="module", params=STORES)
def busy(request: pytest.FixtureRequest) -> Iterator[Busy]:
    """A busy year per store, for tests that only read it."""
    with fresh_store(request.param) as url:
        app = bootstrap(Settings(database_url=url))
        try:
            yield build_busy_year(app, url)
        finally:
            app.close()


@pytest.fixture
def world(app: FundingApplication) -> FundingApplication:
    set_up_world(app, budget="5000.00", council_fund="3000.00")
    return app


# ================================================================================================
# Read-your-writes
# ================================================================================================


def test_a_balance_read_right_after_an_approval_shows_it(world):
    request = evidenced_request(world)
    world.approve(LEAD, request.id, "800.00", APPROVAL_REASON)

    balance = world.read_models.balance(LEAD, CLUSTER, YEAR)

    assert (balance.figures.committed, balance.figures.available) == (80000, 420000)


def test_the_follower_brings_every_read_model_to_the_log_head_after_commands_with_no_query(world):
    request = evidenced_request(world)
    world.approve(LEAD, request.id, "800.00", APPROVAL_REASON)
    head = world.recorder.max_notification_id()

    # Only the tracking table is read: no query (which would catch up itself) runs. The background
    # follower must get there on its own, a few milliseconds after the command.
    world.read_side.projector.wait_for(head, timeout=10)
    positions = tracking_positions(world.read_side.database)

    assert set(positions.values()) == {head}
    assert sorted(positions) == [
        "audit_chain",
        "awards",
        "cluster_balances",
        "clusters",
        "decision_log",
        "finance_ledger",
        "instalments",
        "request_index",
        "schools",
        "sen_reports",
    ]


def test_a_command_returns_without_waiting_for_the_read_models(world, monkeypatch):
    caught_up_in_command_thread: list[str] = []
    original = world.read_side.projector.catch_up

    def recording(*args: Any, **kwargs: Any) -> int:
        caught_up_in_command_thread.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(world.read_side.projector, "catch_up", recording)
    world.allocate_budget(FINANCE, CLUSTER, YEAR, "10.00", "top-up")
    world.read_side.projector.wait_for(world.recorder.max_notification_id(), timeout=10)
    # A catch-up the follower began for the world's own commands, before the patch, may already
    # have carried this event; the follower's next one, woken by this command, comes after it.
    deadline = time.monotonic() + 10
    while "read-model-follower" not in caught_up_in_command_thread and time.monotonic() < deadline:
        time.sleep(0.005)

    assert threading.current_thread().name not in caught_up_in_command_thread
    assert "read-model-follower" in caught_up_in_command_thread


# ================================================================================================
# Balances through the request lifecycle
# ================================================================================================


def test_a_budget_nobody_has_allocated_reads_as_zeros(world):
    assert figures(world, OTHER_CLUSTER) == balance_of()


def test_an_allocation_and_a_negative_adjustment_set_allocated_and_available(world):
    world.allocate_budget(FINANCE, CLUSTER, YEAR, "-750.00", "returned underspend")

    assert figures(world) == balance_of(allocated=425000)


def test_a_request_is_pending_while_submitted_evidenced_or_awaiting_information(world):
    request = submit(world, amount_requested="1200.00")
    seen = [figures(world)["pending"]]
    world.provide_evidence(HEAD, request.id, **EVIDENCE)
    seen.append(figures(world)["pending"])
    world.request_information(LEAD, request.id, "Please send the provision map.")
    seen.append(figures(world)["pending"])
    world.provide_evidence(HEAD, request.id, **EVIDENCE)
    seen.append(figures(world)["pending"])

    assert seen == [120000, 120000, 120000, 120000]
    assert figures(world) == balance_of(allocated=500000, pending=120000)


def test_pending_adds_up_over_the_open_requests_of_the_cluster_and_year(world):
    submit(world, amount_requested="1200.00")
    submit(world, SECOND_HEAD, school_urn=SECOND_SCHOOL, amount_requested="300.50")
    submit(world, financial_year=NEXT_YEAR, amount_requested="999.00")

    assert figures(world)["pending"] == 150050
    assert figures(world, year=NEXT_YEAR) == balance_of(pending=99900)


def test_an_approval_takes_the_request_out_of_pending_and_commits_the_approved_amount(world):
    request = evidenced_request(world, amount_requested="1200.00")
    world.approve(LEAD, request.id, "1000.00", APPROVAL_REASON)

    assert figures(world) == balance_of(allocated=500000, committed=100000)


def test_a_decline_takes_the_request_out_of_pending(world):
    request = evidenced_request(world, amount_requested="1200.00")
    world.decline(LEAD, request.id, "insufficient_evidence", "The evidence covers one term only.")

    assert figures(world) == balance_of(allocated=500000)


def test_a_withdrawal_takes_the_request_out_of_pending(world):
    request = submit(world, amount_requested="1200.00")
    world.request_information(LEAD, request.id, "Please send the provision map.")
    world.withdraw(HEAD, request.id, "The pupil moved away.")

    assert figures(world) == balance_of(allocated=500000)


def test_an_escalation_moves_the_request_from_pending_to_escalated(world):
    request = evidenced_request(world, amount_requested="6000.00")
    world.escalate(LEAD, request.id, "4500.00", CIRCUMSTANCES)

    assert figures(world) == balance_of(allocated=500000, escalated=450000)


def test_a_council_approval_clears_escalated_and_commits_on_the_council_fund_not_the_budget(world):
    request = evidenced_request(world, amount_requested="6000.00")
    world.escalate(LEAD, request.id, "4500.00", CIRCUMSTANCES)
    world.decide_escalation(COUNCIL, request.id, "approve", "Exceptional circumstances shown.", "2000.00")

    assert figures(world) == balance_of(allocated=500000)
    assert world.read_models.council_fund_balance(FINANCE, YEAR).figures.committed == 200000


def test_a_council_decline_clears_escalated(world):
    request = evidenced_request(world, amount_requested="6000.00")
    world.escalate(LEAD, request.id, "4500.00", CIRCUMSTANCES)
    world.decide_escalation(COUNCIL, request.id, "decline", "The circumstances are not exceptional.")

    assert figures(world) == balance_of(allocated=500000)


def test_a_commission_adds_to_commissioned_and_reduces_available(world):
    commission(world, "450.00")

    assert figures(world) == balance_of(allocated=500000, commissioned=45000)


def test_payments_add_to_paid_and_leave_committed_and_available_alone(world):
    request = evidenced_request(world)
    world.approve(LEAD, request.id, "800.00", APPROVAL_REASON)
    world.record_payment(FINANCE, request.id, "300.00", "PAY-1")
    world.record_payment(FINANCE, request.id, "500.00", "PAY-2")

    assert figures(world) == balance_of(allocated=500000, committed=80000, paid=80000)


def test_the_busy_year_balances_follow_every_movement(busy):
    assert figures(busy.app) == balance_of(
        allocated=475000, committed=180000, commissioned=45000, pending=100000, paid=80000
    )
    assert figures(busy.app, OTHER_CLUSTER) == balance_of(allocated=200000)
    assert figures(busy.app, year=NEXT_YEAR) == balance_of(pending=60000)


def test_balances_lists_every_cluster_of_the_year_with_totals(busy):
    page, totals = busy.app.read_models.balances(FINANCE, YEAR)

    assert [row.cluster_id for row in page.items] == [OTHER_CLUSTER, CLUSTER]
    assert budget_figures(totals) == balance_of(
        allocated=675000, committed=180000, commissioned=45000, pending=100000, paid=80000
    )


def test_the_council_fund_shows_allocated_committed_paid_and_available(busy):
    fund = busy.app.read_models.council_fund_balance(COUNCIL, YEAR)

    assert {name: fund.figures.named()[name] for name in ("allocated", "committed", "paid", "available")} == {
        "allocated": 300000,
        "committed": 250000,
        "paid": 100000,
        "available": 50000,
    }


def test_a_council_fund_nobody_has_allocated_reads_as_zeros(busy):
    fund = busy.app.read_models.council_fund_balance(FINANCE, NEXT_YEAR)

    assert {
        name: fund.figures.named()[name] for name in ("allocated", "committed", "paid", "available")
    } == dict.fromkeys(("allocated", "committed", "paid", "available"), 0)


# ================================================================================================
# The request index: filters and what each row says
# ================================================================================================


def test_the_request_index_filters_by_cluster(busy):
    page = busy.app.read_models.list_requests(COUNCIL, cluster_id=OTHER_CLUSTER)

    assert ids(page) == [busy.declined, busy.council_declined]


def test_the_request_index_filters_by_school(busy):
    page = busy.app.read_models.list_requests(COUNCIL, school_urn=SECOND_SCHOOL)

    assert ids(page) == [busy.submitted, busy.approved, busy.withdrawn]


def test_the_request_index_filters_by_status(busy):
    app = busy.app
    by_status = {status: ids(app.read_models.list_requests(FINANCE, status=status)) for status in _STATUSES}

    assert by_status == {
        "submitted": [busy.submitted, busy.next_year],
        "information_requested": [busy.questioned],
        "cluster_declined": [busy.declined],
        "cluster_approved": [busy.approved],
        "council_approved": [busy.council_approved],
        "council_declined": [busy.council_declined],
        "withdrawn": [busy.withdrawn],
        "paid": [busy.paid],
        "escalated": [],
        "evidenced": [],
    }


_STATUSES = (
    "submitted",
    "evidenced",
    "information_requested",
    "cluster_approved",
    "cluster_declined",
    "escalated",
    "council_approved",
    "council_declined",
    "withdrawn",
    "paid",
)


def test_the_request_index_filters_by_year(busy):
    assert ids(busy.app.read_models.list_requests(COUNCIL, financial_year=NEXT_YEAR)) == [busy.next_year]
    assert len(busy.app.read_models.list_requests(COUNCIL, financial_year=YEAR).items) == 8


def test_the_request_index_combines_filters(busy):
    page = busy.app.read_models.list_requests(COUNCIL, cluster_id=CLUSTER, school_urn=SCHOOL, financial_year=YEAR)

    assert ids(page) == [busy.paid, busy.questioned, busy.council_approved]


def test_a_request_index_row_carries_status_amounts_and_times(busy):
    page = busy.app.read_models.list_requests(COUNCIL, school_urn=SCHOOL)
    (row,) = [r for r in page.items if request_of(r) == busy.paid]

    assert (row.school_urn, row.cluster_id, row.financial_year, row.status) == (
        SCHOOL,
        CLUSTER,
        YEAR,
        "paid",
    )
    assert (row.amount_requested, row.amount_approved, row.amount_paid) == (100000, 80000, 80000)
    assert parse_time(row.created_at) < parse_time(row.status_since) == parse_time(row.updated_at)


def test_an_escalated_request_row_carries_the_escalated_and_council_approved_amounts(busy):
    (row,) = [r for r in busy.app.read_models.list_requests(COUNCIL).items if request_of(r) == busy.council_approved]

    assert (row.amount_requested, row.amount_escalated, row.amount_approved, row.amount_paid) == (
        400000,
        350000,
        250000,
        100000,
    )


# ================================================================================================
# The request index: who sees what
# ================================================================================================


def test_a_school_lists_only_its_own_requests(busy):
    page = busy.app.read_models.list_requests(HEAD)

    assert ids(page) == [busy.paid, busy.questioned, busy.council_approved, busy.next_year]


def test_a_school_asking_for_another_schools_requests_is_not_permitted(busy):
    with pytest.raises(NotPermitted):
        busy.app.read_models.list_requests(HEAD, school_urn=SECOND_SCHOOL)


def test_a_cluster_lead_lists_only_the_clusters_requests(busy):
    assert ids(busy.app.read_models.list_requests(OTHER_LEAD)) == [busy.declined, busy.council_declined]
    assert set(ids(busy.app.read_models.list_requests(LEAD))) == {
        busy.paid,
        busy.submitted,
        busy.questioned,
        busy.approved,
        busy.council_approved,
        busy.withdrawn,
        busy.next_year,
    }


def test_a_cluster_lead_asking_for_another_clusters_requests_is_not_permitted(busy):
    with pytest.raises(NotPermitted):
        busy.app.read_models.list_requests(LEAD, cluster_id=OTHER_CLUSTER)


def test_council_and_finance_list_every_request(busy):
    read_models = busy.app.read_models
    assert len(read_models.list_requests(COUNCIL).items) == len(read_models.list_requests(FINANCE).items) == 9


# ================================================================================================
# The request index: stable cursor pagination
# ================================================================================================


def walk(app: FundingApplication, limit: int = 2, **filters: Any) -> list[list[UUID | None]]:
    pages, cursor = [], None
    while True:
        page = app.read_models.list_requests(COUNCIL, limit=limit, cursor=cursor, **filters)
        pages.append(ids(page))
        cursor = page.next_cursor
        if cursor is None:
            return pages


@pytest.fixture
def five_requests(world: FundingApplication) -> list[UUID]:
    made = [
        submit(world, amount_requested="100.00"),
        submit(world, SECOND_HEAD, school_urn=SECOND_SCHOOL, amount_requested="200.00"),
        submit(world, OTHER_HEAD, school_urn=OTHER_SCHOOL, amount_requested="300.00"),
        submit(world, amount_requested="400.00"),
        submit(world, SECOND_HEAD, school_urn=SECOND_SCHOOL, amount_requested="500.00"),
    ]
    return [request.id for request in made]


def test_walking_pages_of_two_visits_every_request_once_oldest_first(world, five_requests):
    pages = walk(world)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [request_id for page in pages for request_id in page] == five_requests


def test_a_request_submitted_mid_walk_does_not_shift_the_pages_already_read(world, five_requests):
    first = world.read_models.list_requests(COUNCIL, limit=2)
    second = world.read_models.list_requests(COUNCIL, limit=2, cursor=first.next_cursor)
    late = submit(world, amount_requested="600.00").id
    rest = walk_from(world, second.next_cursor)

    walked = ids(first) + ids(second) + rest
    assert walked == [*five_requests, late]
    assert ids(world.read_models.list_requests(COUNCIL, limit=2)) == ids(first)
    assert ids(world.read_models.list_requests(COUNCIL, limit=2, cursor=first.next_cursor)) == ids(second)


def walk_from(app: FundingApplication, cursor: str | None) -> list[UUID | None]:
    seen: list[UUID | None] = []
    while cursor is not None:
        page = app.read_models.list_requests(COUNCIL, limit=2, cursor=cursor)
        seen.extend(ids(page))
        cursor = page.next_cursor
    return seen


def test_paginating_a_filtered_list_keeps_to_the_filter(world, five_requests):
    pages = walk(world, limit=1, school_urn=SECOND_SCHOOL)

    assert pages == [[five_requests[1]], [five_requests[4]]]


# ================================================================================================
# The clusters
# ================================================================================================


def listed_clusters(app: FundingApplication, **paging: Any) -> Page[ClusterRow]:
    app.read_side.make_fresh()
    return queries.clusters_page(app.read_side.database, **paging)


def test_the_clusters_read_model_lists_every_cluster_by_id_as_its_aggregate_has_it(world):
    world.register_cluster(COUNCIL, "aylsham-and-reepham", "Aylsham and Reepham")
    world.remove_school(COUNCIL, CLUSTER, SCHOOL)
    world.add_school(COUNCIL, OTHER_CLUSTER, SCHOOL)

    page = listed_clusters(world)

    assert [row.cluster_id for row in page.items] == ["aylsham-and-reepham", OTHER_CLUSTER, CLUSTER]
    assert page.next_cursor is None
    for row in page.items:
        cluster = world.get_cluster(COUNCIL, row.cluster_id)
        assert row == ClusterRow(str(cluster.cluster_id), cluster.name, tuple(map(str, cluster.school_urns)),
                                 cluster.version)  # fmt: skip
    assert {row.cluster_id: row.school_urns for row in page.items} == {
        "aylsham-and-reepham": (),
        OTHER_CLUSTER: (SCHOOL, OTHER_SCHOOL),
        CLUSTER: (SECOND_SCHOOL,),
    }


def test_the_clusters_read_model_pages_by_cluster_id_without_gaps_or_repeats(world):
    for number in range(5):
        world.register_cluster(COUNCIL, f"cluster-{number}", f"Cluster {number}")
    everything = [row.cluster_id for row in listed_clusters(world).items]
    walked: list[str] = []
    cursor = None
    while True:
        page = listed_clusters(world, limit=2, cursor=cursor)
        walked.extend(row.cluster_id for row in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
        # A cluster registered mid-walk sorts where its id puts it; the walk ahead still finds it.
        world.register_cluster(COUNCIL, f"zz-late-{len(walked)}", "Late")

    assert everything == sorted(everything) and len(everything) == 7
    assert walked == sorted(walked) and set(everything) < set(walked)


def test_the_clusters_read_model_refuses_a_cursor_it_did_not_give_out(world):
    with pytest.raises(queries.InvalidQuery):
        listed_clusters(world, cursor="not-a-cursor!")


# ================================================================================================
# The decision log
# ================================================================================================


def test_the_decision_log_holds_every_decision_newest_first_with_commissions_and_information_requests(busy):
    items = busy.app.read_models.decisions(COUNCIL).items

    assert [(item.kind, request_of(item)) for item in items] == [
        ("council_decline", busy.council_declined),
        ("escalation", busy.council_declined),
        ("council_approval", busy.council_approved),
        ("escalation", busy.council_approved),
        ("cluster_approval", busy.approved),
        ("commission", None),
        ("cluster_decline", busy.declined),
        ("information_request", busy.questioned),
        ("cluster_approval", busy.paid),
    ]
    assert [item.position for item in items] == sorted((item.position for item in items), reverse=True)


def test_a_decision_log_row_says_who_decided_what_when_how_much_and_why(busy):
    (row,) = [item for item in busy.app.read_models.decisions(COUNCIL).items if request_of(item) == busy.approved]

    assert {key: getattr(row, key) for key in ("kind", "school_urn", "cluster_id", "financial_year", "amount")} == {
        "kind": "cluster_approval",
        "school_urn": SECOND_SCHOOL,
        "cluster_id": CLUSTER,
        "financial_year": YEAR,
        "amount": 100000,
    }
    assert (row.actor_sub, row.actor_role) == (LEAD.sub, "cluster_lead")
    assert (row.reason, row.details) == (APPROVAL_REASON, "Review at the end of the spring term.")
    assert parse_time(row.decided_at).tzinfo is UTC


def test_a_commission_row_names_the_service_provider_and_schools(busy):
    (row,) = [item for item in busy.app.read_models.decisions(COUNCIL).items if item.kind == "commission"]

    assert (row.cluster_id, row.amount, row.actor_sub) == (CLUSTER, 45000, LEAD.sub)
    assert row.details == (
        f"educational_psychology; provider: Broadland Psychology Partnership; schools: {SCHOOL}, {SECOND_SCHOOL}"
    )


def test_the_decision_log_filters_by_cluster(busy):
    items = busy.app.read_models.decisions(COUNCIL, cluster_id=OTHER_CLUSTER).items

    assert [(item.kind, request_of(item)) for item in items] == [
        ("council_decline", busy.council_declined),
        ("escalation", busy.council_declined),
        ("cluster_decline", busy.declined),
    ]


def test_the_decision_log_filters_by_actor(busy):
    items = busy.app.read_models.decisions(COUNCIL, decided_by=COUNCIL.sub).items

    assert [(item.kind, item.actor_sub) for item in items] == [
        ("council_decline", COUNCIL.sub),
        ("council_approval", COUNCIL.sub),
    ]


def test_the_decision_log_date_bounds_are_both_inclusive(busy):
    everything = busy.app.read_models.decisions(COUNCIL).items
    newer, middle, older = everything[2], everything[3], everything[4]
    at = parse_time(middle.decided_at)

    exactly = busy.app.read_models.decisions(COUNCIL, decided_from=at, decided_to=at).items
    from_middle = busy.app.read_models.decisions(
        COUNCIL, decided_from=at, decided_to=parse_time(newer.decided_at)
    ).items
    to_middle = busy.app.read_models.decisions(COUNCIL, decided_from=parse_time(older.decided_at), decided_to=at).items

    assert [item.position for item in exactly] == [middle.position]
    assert [item.position for item in from_middle] == [newer.position, middle.position]
    assert [item.position for item in to_middle] == [middle.position, older.position]


def test_the_decision_log_date_bounds_mean_the_same_instant_in_any_time_zone(busy):
    middle = busy.app.read_models.decisions(COUNCIL).items[3]
    at = parse_time(middle.decided_at).astimezone(timezone(timedelta(hours=1)))

    items = busy.app.read_models.decisions(COUNCIL, decided_from=at, decided_to=at).items

    assert [item.position for item in items] == [middle.position]


def test_the_decision_log_pages_newest_first_without_gaps_or_repeats(busy):
    everything = [item.position for item in busy.app.read_models.decisions(COUNCIL).items]
    walked: list[int] = []
    cursor = None
    while True:
        page = busy.app.read_models.decisions(COUNCIL, limit=2, cursor=cursor)
        walked.extend(item.position for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert walked == everything


# ================================================================================================
# The finance ledger as CSV
# ================================================================================================


def ledger(app: FundingApplication, year: str = YEAR) -> list[list[str]]:
    out = io.StringIO()
    app.read_models.write_ledger_csv(FINANCE, year, out)
    return list(csv.reader(io.StringIO(out.getvalue())))


def ledger_dicts(app: FundingApplication, year: str = YEAR) -> list[dict[str, str]]:
    header, *rows = ledger(app, year)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_ledger_csv_starts_with_a_header_row(busy):
    assert ledger(busy.app)[0] == list(LEDGER_COLUMNS)
    # Written out, not derived: a renamed column would break the spreadsheets that read this file.
    assert ledger(busy.app)[0] == [
        "position",
        "recorded_at",
        "fund",
        "cluster_id",
        "financial_year",
        "movement",
        "request_id",
        "amount",
        "available_after",
        "paid_after",
        "reference",
        "actor_sub",
    ]


def test_the_ledger_has_one_row_per_money_movement_of_every_kind_in_log_order(busy):
    rows = ledger_dicts(busy.app)

    assert [(row["fund"], row["cluster_id"], row["movement"], row["amount"]) for row in rows] == [
        ("cluster", CLUSTER, "allocation", "5000.00"),
        ("council", "", "allocation", "3000.00"),
        ("cluster", OTHER_CLUSTER, "allocation", "2000.00"),
        ("cluster", CLUSTER, "adjustment", "-250.00"),
        ("cluster", CLUSTER, "commitment", "800.00"),
        ("cluster", CLUSTER, "payment", "300.00"),
        ("cluster", CLUSTER, "payment", "500.00"),
        ("cluster", CLUSTER, "commission", "450.00"),
        ("cluster", CLUSTER, "commitment", "1000.00"),
        ("council", "", "commitment", "2500.00"),
        ("council", "", "payment", "1000.00"),
    ]
    assert [int(row["position"]) for row in rows] == sorted(int(row["position"]) for row in rows)


def test_ledger_rows_name_the_request_a_commitment_or_payment_is_for(busy):
    rows = ledger_dicts(busy.app)
    named = [UUID(row["request_id"]) for row in rows if row["movement"] in ("commitment", "payment")]

    assert named == [busy.paid, busy.paid, busy.paid, busy.approved, busy.council_approved, busy.council_approved]
    assert {row["request_id"] for row in rows if row["movement"] in ("allocation", "adjustment", "commission")} == {""}


def test_ledger_dates_are_iso_8601_utc_and_amounts_have_two_decimal_places(busy):
    rows = ledger_dicts(busy.app)

    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", row["recorded_at"]) for row in rows)
    money = [row[column] for row in rows for column in ("amount", "available_after", "paid_after")]
    assert all(re.fullmatch(r"-?\d+\.\d{2}", value) for value in money), money


def test_ledger_running_balances_follow_each_fund(busy):
    rows = ledger_dicts(busy.app)
    by_fund = [
        (row["movement"], row["available_after"], row["paid_after"])
        for row in rows
        if (row["fund"], row["cluster_id"]) == ("cluster", CLUSTER)
    ]
    council = [(row["movement"], row["available_after"], row["paid_after"]) for row in rows if row["fund"] == "council"]

    assert by_fund == [
        ("allocation", "5000.00", "0.00"),
        ("adjustment", "4750.00", "0.00"),
        ("commitment", "3950.00", "0.00"),
        ("payment", "3950.00", "300.00"),
        ("payment", "3950.00", "800.00"),
        ("commission", "3500.00", "800.00"),
        ("commitment", "2500.00", "800.00"),
    ]
    assert council == [
        ("allocation", "3000.00", "0.00"),
        ("commitment", "500.00", "0.00"),
        ("payment", "500.00", "1000.00"),
    ]


def test_a_ledger_reference_that_starts_like_a_formula_is_neutralised(busy):
    references = [row["reference"] for row in ledger_dicts(busy.app) if row["movement"] == "payment"]

    assert references == ["PAY-0001", "'" + FORMULA_REFERENCE, "COUNCIL-PAY-0001"]


def test_the_ledger_holds_only_the_year_asked_for(busy):
    assert ledger(busy.app, NEXT_YEAR) == [list(LEDGER_COLUMNS)]


# ================================================================================================
# Reconciliation
# ================================================================================================


def test_the_busy_year_reconciles(busy):
    result = busy.app.read_models.reconcile(FINANCE, YEAR)

    assert result.consistent
    assert [row.cluster_id for row in result.clusters] == [OTHER_CLUSTER, CLUSTER]
    assert all(row.consistent for row in result.clusters) and result.council_fund.consistent
    (northmere,) = [row for row in result.clusters if row.cluster_id == CLUSTER]
    expected = balance_of(allocated=475000, committed=180000, commissioned=45000, pending=100000, paid=80000)
    assert {name: northmere.recomputed[name] for name in expected} == expected
    # Nothing after the decisions in this year: no forward commitment, release, recovery, carry or close.
    assert {northmere.recomputed[name] for name in set(northmere.recomputed) - set(expected)} == {0}


def test_editing_a_read_model_row_makes_that_row_and_only_that_row_inconsistent(app):
    busy = build_busy_year(app)
    app.read_side.make_fresh()  # the rows exist before the edit, not after it (the follower lags)
    with app.read_side.database.transaction() as cursor:
        cursor.execute(
            "UPDATE cluster_balances SET allocated = allocated + 1 WHERE cluster_id = ? AND financial_year = ?",
            (CLUSTER, YEAR),
        )

    result = busy.app.read_models.reconcile(FINANCE, YEAR)

    assert result.consistent is False
    assert {row.cluster_id: row.consistent for row in result.clusters} == {OTHER_CLUSTER: True, CLUSTER: False}
    assert result.council_fund is not None
    assert result.council_fund.consistent is True
    (northmere,) = [row for row in result.clusters if row.cluster_id == CLUSTER]
    assert northmere.projected["allocated"] == northmere.recomputed["allocated"] + 1


def run_cli(args: list[str], database_url: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FUNDING_ENGINE_")}
    environment.update(PYTHONPATH=str(ROOT), FUNDING_ENGINE_DATABASE_URL=database_url)
    return subprocess.run([*CLI, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def test_finance_reconcile_exits_0_when_consistent_and_1_after_a_read_model_edit(app, database_url):
    build_busy_year(app)
    consistent = run_cli(["finance", "reconcile", "--year", YEAR], database_url)
    with app.read_side.database.transaction() as cursor:
        cursor.execute("UPDATE cluster_balances SET paid = paid + 1 WHERE cluster_id = ?", (OTHER_CLUSTER,))

    inconsistent = run_cli(["finance", "reconcile", "--year", YEAR], database_url)

    assert (consistent.returncode, consistent.stdout.splitlines()[-1]) == (0, "consistent: yes"), consistent.stderr
    assert (inconsistent.returncode, inconsistent.stdout.splitlines()[-1]) == (1, "consistent: NO")


def test_finance_ledger_prints_the_same_csv_as_the_application(busy):
    printed = run_cli(["finance", "ledger", "--year", YEAR, "--format", "csv"], busy.url)

    assert printed.returncode == 0, printed.stderr
    assert list(csv.reader(io.StringIO(printed.stdout))) == ledger(busy.app)


# ================================================================================================
# Rebuilding from the log
# ================================================================================================


def query_answers(busy: Busy) -> dict[str, Any]:
    app = busy.app
    return {
        "balances": app.read_models.balances(FINANCE, YEAR),
        "next_year": app.read_models.balance(COUNCIL, CLUSTER, NEXT_YEAR),
        "council_fund": app.read_models.council_fund_balance(FINANCE, YEAR),
        "requests": app.read_models.list_requests(COUNCIL, limit=500),
        "decisions": app.read_models.decisions(COUNCIL, limit=500),
        "ledger": ledger(app),
        "reconciliation": app.read_models.reconcile(FINANCE, YEAR),
        "audit": app.verify_audit_chain(COUNCIL),
    }


def test_rebuilding_every_projection_reproduces_every_table(app):
    build_busy_year(app)
    projector = app.read_side.projector
    app.read_side.make_fresh()
    before = dump_tables(app.read_side.database)

    rebuilt = {name: projector.rebuild(name) for name in projector.projections}

    assert dump_tables(app.read_side.database) == before
    head = app.recorder.max_notification_id()
    assert rebuilt == dict.fromkeys(projector.projections, head)
    assert set(tracking_positions(app.read_side.database).values()) == {head}


def test_rebuilding_every_projection_gives_the_same_query_answers(app):
    busy = build_busy_year(app)
    projector = app.read_side.projector
    before = query_answers(busy)

    for name in projector.projections:
        projector.rebuild(name)

    assert query_answers(busy) == before


def test_a_rebuild_waits_for_a_catch_up_in_flight_instead_of_deadlocking(app):
    # CI caught this one: the follower, woken by the last command, was mid-batch when a rebuild
    # began dropping tables, and PostgreSQL aborted one of them as a deadlock.
    build_busy_year(app)
    read_side = app.read_side
    read_side.make_fresh()
    before = dump_tables(read_side.database)
    first, *_, last = read_side.projector.projections["cluster_balances"].tables

    applied = beside_a_catch_up_in_flight(
        read_side, lambda: read_side.projector.rebuild("cluster_balances"), writing=last, then=first
    )

    assert applied == app.recorder.max_notification_id()
    assert dump_tables(read_side.database) == before


def test_a_process_starting_beside_a_catch_up_in_flight_waits_for_it(app, make_app):
    # Every process (a server, each CLI command) creates what is missing as it starts; on
    # PostgreSQL an existing index still locks its table on the way, as a rebuild's drop does.
    build_busy_year(app)
    read_side = app.read_side
    read_side.make_fresh()

    other = beside_a_catch_up_in_flight(read_side, make_app, writing="request_index", then="cluster_balances")

    assert other.read_models.balances(FINANCE, YEAR) == app.read_models.balances(FINANCE, YEAR)


def beside_a_catch_up_in_flight(read_side: Any, action: Any, *, writing: str, then: str) -> Any:
    """Run ``action`` in a thread while another connection is mid-batch as a catch-up is: the
    tracking rows locked, one table written; once ``action`` waits on it, the batch writes
    another table and commits. Returns what ``action`` returned."""
    projector = read_side.projector
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = action()
        except Exception as error:  # noqa: BLE001 - any error, reported by the assertions below, not lost in the thread
            outcome["error"] = error

    acting = threading.Thread(target=run)
    with read_side.database.transaction() as cursor:
        projector._lock_positions(cursor, list(projector.projections))
        cursor.execute(f"DELETE FROM {writing} WHERE 1 = 0")
        acting.start()
        wait_until_blocked_by(cursor, read_side.database)
        cursor.execute(f"DELETE FROM {then} WHERE 1 = 0")
    acting.join(timeout=60)

    assert not acting.is_alive()
    assert "error" not in outcome, outcome.get("error")
    return outcome["result"]


def wait_until_blocked_by(cursor: Any, database: Any) -> None:
    """Until another session waits on this transaction's locks (PostgreSQL only; on SQLite the
    rebuild waits for the file's write lock, which no other session can see)."""
    if database.kind != "postgres":
        time.sleep(0.2)
        return
    import psycopg

    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
    deadline = time.monotonic() + 30
    with psycopg.connect(database.conninfo, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", (pid,)
            ).fetchone()
            assert row is not None  # a count always answers
            if row[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the rebuild never waited on the catch-up in flight")


def test_commands_after_a_rebuild_extend_the_rebuilt_read_models(app):
    busy = build_busy_year(app)
    for name in app.read_side.projector.projections:
        app.read_side.projector.rebuild(name)

    app.record_payment(FINANCE, busy.approved, "250.00", "PAY-AFTER-REBUILD")

    assert figures(app)["paid"] == 80000 + 25000
    assert app.read_models.reconcile(FINANCE, YEAR).consistent
