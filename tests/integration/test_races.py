"""Concurrent approvals never overspend, in one process or across two, on both stores.

Within one application the per-aggregate locks queue commands; two applications on one store
share no locks, so their races end in the store's optimistic-concurrency check and the
application's bounded re-read-and-retry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from domain.errors import ConcurrencyConflict, InsufficientFunds
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund
from domain.money import Money
from domain.values import ClusterId, FinancialYear, RequestStatus
from funding_engine.application import FundingApplication
from tests.support import (
    CLUSTER,
    COUNCIL,
    FINANCE,
    LEAD,
    YEAR,
    escalated_request,
    evidenced_request,
    log_position,
    set_up_world,
)

THREADS = 20
REASON = "Spend evidence shows the school's own SEN funding is spent."
BUDGET_ID = ClusterBudget.id_for(ClusterId(CLUSTER), FinancialYear.parse(YEAR))
FUND_ID = CouncilFund.id_for(FinancialYear.parse(YEAR))


def race(jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> tuple[list[Any], list[BaseException]]:
    """Runs every job on its own thread, all released together by a barrier; returns results and errors."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        barrier.wait(timeout=30)
        try:
            result = function(*args)
        except BaseException as error:  # noqa: BLE001 - every outcome is asserted by the caller
            with lock:
                errors.append(error)
        else:
            with lock:
                results.append(result)

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a racing command never finished"
    return results, errors


def cluster_approval(app: FundingApplication, request_id: Any) -> FundingRequest:
    return app.approve(LEAD, request_id, "1000.00", REASON)


def council_approval(app: FundingApplication, request_id: Any) -> FundingRequest:
    return app.decide_escalation(COUNCIL, request_id, "approve", "Exceptional circumstances shown.")


def assert_five_won_fifteen_short_of_funds(results: list[Any], errors: list[BaseException]) -> None:
    assert len(results) == 5
    assert len(errors) == 15
    assert all(isinstance(error, InsufficientFunds) for error in errors), errors


def records_since(app: FundingApplication, position: int) -> list[Any]:
    """The stored records after a log position (on PostgreSQL a failed insert leaves a gap in ids)."""
    return list(app.recorder.select_notifications(position + 1, 10_000))


def commitments_recorded(app: FundingApplication, fund_id: Any) -> list[Any]:
    return [event for event in app.events.get(fund_id) if type(event).__name__ == "FundsCommitted"]


# ------------------------------------------------------------------------------------------------
# The cluster budget
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def twenty_evidenced(app: FundingApplication) -> list[FundingRequest]:
    """5,000.00 in the cluster budget, and twenty evidenced requests of 1,000.00 each."""
    set_up_world(app, budget="5000.00")
    return [evidenced_request(app) for _ in range(THREADS)]


def test_twenty_concurrent_approvals_against_five_thousand_approve_exactly_five_and_never_overspend(
    app, make_app, twenty_evidenced
):
    results, errors = race([(cluster_approval, (app, request.id)) for request in twenty_evidenced])

    assert_five_won_fifteen_short_of_funds(results, errors)
    budget = app.get_budget(FINANCE, CLUSTER, YEAR)
    assert (budget.available, budget.committed) == (Money.zero(), Money.parse("5000.00"))
    winners = {result.id for result in results}
    fresh = make_app()
    assert fresh.get_budget(FINANCE, CLUSTER, YEAR) == budget
    statuses = {request.id: fresh.get_request(LEAD, request.id).status for request in twenty_evidenced}
    assert {rid for rid, status in statuses.items() if status is RequestStatus.CLUSTER_APPROVED} == winners
    assert {rid for rid, status in statuses.items() if status is RequestStatus.EVIDENCED} == set(statuses) - winners
    assert {event.request_id for event in commitments_recorded(fresh, BUDGET_ID)} == winners


def test_approvals_racing_from_two_processes_approve_exactly_five_and_never_overspend(app, make_app, twenty_evidenced):
    other_process = make_app()
    jobs = [
        (cluster_approval, (app if index % 2 == 0 else other_process, request.id))
        for index, request in enumerate(twenty_evidenced)
    ]

    results, errors = race(jobs)

    assert_five_won_fifteen_short_of_funds(results, errors)
    other_process.close()  # PostgreSQL connections are shared with every other suite on the server
    fresh = make_app()
    budget = fresh.get_budget(FINANCE, CLUSTER, YEAR)
    assert (budget.available, budget.committed) == (Money.zero(), Money.parse("5000.00"))
    assert {event.request_id for event in commitments_recorded(fresh, BUDGET_ID)} == {r.id for r in results}


# ------------------------------------------------------------------------------------------------
# The optimistic retry path, made deterministic: a rival process writes between read and save
# ------------------------------------------------------------------------------------------------


def rival_writes_before_each_save(
    monkeypatch: pytest.MonkeyPatch, app: FundingApplication, rival_write: Callable[[], Any], times: int
) -> list[int]:
    """Makes ``app.save`` let a rival write first (``times`` times); returns the count of saves tried."""
    attempts: list[int] = []
    original_save = app.save

    def save(*aggregates: Any, **kwargs: Any) -> Any:
        attempts.append(1)
        if len(attempts) <= times:
            rival_write()
        return original_save(*aggregates, **kwargs)

    monkeypatch.setattr(app, "save", save)
    return attempts


def test_an_approval_that_loses_a_race_to_another_process_reads_again_and_succeeds(app, make_app, monkeypatch):
    set_up_world(app, budget="5000.00")
    ours, theirs = evidenced_request(app), evidenced_request(app)
    rival = make_app()
    attempts = rival_writes_before_each_save(monkeypatch, app, lambda: cluster_approval(rival, theirs.id), 1)

    approved = cluster_approval(app, ours.id)

    assert len(attempts) == 2  # the first save was stale, the second succeeded
    assert approved.status is RequestStatus.CLUSTER_APPROVED
    rival.close()
    budget = make_app().get_budget(FINANCE, CLUSTER, YEAR)
    assert (budget.committed, budget.available) == (Money.parse("2000.00"), Money.parse("3000.00"))


def test_an_approval_that_loses_a_race_for_the_last_funds_raises_insufficient_funds_and_writes_nothing(
    app, make_app, monkeypatch
):
    set_up_world(app, budget="1500.00")
    ours, theirs = evidenced_request(app), evidenced_request(app)
    rival = make_app()
    rival_writes_before_each_save(monkeypatch, app, lambda: cluster_approval(rival, theirs.id), 1)
    start = log_position(app)

    with pytest.raises(InsufficientFunds):
        cluster_approval(app, ours.id)

    written = records_since(app, start)
    assert {record.originator_id for record in written} == {theirs.id, BUDGET_ID}  # the rival's approval only
    assert app.get_request(LEAD, ours.id).status is RequestStatus.EVIDENCED
    assert app.get_budget(FINANCE, CLUSTER, YEAR).available == Money.parse("500.00")


def test_a_command_that_keeps_losing_races_gives_up_with_a_concurrency_conflict_and_writes_nothing(
    app, make_app, monkeypatch
):
    set_up_world(app, budget="5000.00")
    ours = evidenced_request(app)
    rival = make_app()
    rival_writes = []

    def rival_allocates() -> None:
        rival.allocate_budget(FINANCE, CLUSTER, YEAR, "1.00", "keeps moving")
        rival_writes.append(1)

    attempts = rival_writes_before_each_save(monkeypatch, app, rival_allocates, times=10_000)
    start = log_position(app)

    with pytest.raises(ConcurrencyConflict):
        cluster_approval(app, ours.id)

    written = records_since(app, start)
    assert len(written) == len(rival_writes) == len(attempts)  # only the rival's allocations, one per attempt
    assert {record.originator_id for record in written} == {BUDGET_ID}
    assert app.get_request(LEAD, ours.id).status is RequestStatus.EVIDENCED


# ------------------------------------------------------------------------------------------------
# The council fund
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def twenty_escalated(app: FundingApplication) -> list[FundingRequest]:
    """5,000.00 in the council fund; the cluster has 500.00, so each 1,000.00 request can be escalated."""
    set_up_world(app, budget="500.00", council_fund="5000.00")
    return [escalated_request(app, "1000.00") for _ in range(THREADS)]


def test_twenty_concurrent_council_approvals_against_five_thousand_approve_exactly_five_and_never_overspend(
    app, make_app, twenty_escalated
):
    results, errors = race([(council_approval, (app, request.id)) for request in twenty_escalated])

    assert_five_won_fifteen_short_of_funds(results, errors)
    fund = app.get_council_fund(FINANCE, YEAR)
    assert (fund.available, fund.committed) == (Money.zero(), Money.parse("5000.00"))
    winners = {result.id for result in results}
    fresh = make_app()
    assert fresh.get_council_fund(FINANCE, YEAR) == fund
    statuses = {request.id: fresh.get_request(COUNCIL, request.id).status for request in twenty_escalated}
    assert {rid for rid, status in statuses.items() if status is RequestStatus.COUNCIL_APPROVED} == winners
    assert {rid for rid, status in statuses.items() if status is RequestStatus.ESCALATED} == set(statuses) - winners
    assert {event.request_id for event in commitments_recorded(fresh, FUND_ID)} == winners


def test_council_approvals_racing_from_two_processes_approve_exactly_five_and_never_overspend(
    app, make_app, twenty_escalated
):
    other_process = make_app()
    jobs = [
        (council_approval, (app if index % 2 == 0 else other_process, request.id))
        for index, request in enumerate(twenty_escalated)
    ]

    results, errors = race(jobs)

    assert_five_won_fifteen_short_of_funds(results, errors)
    other_process.close()
    fund = make_app().get_council_fund(FINANCE, YEAR)
    assert (fund.available, fund.committed) == (Money.zero(), Money.parse("5000.00"))
