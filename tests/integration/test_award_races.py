"""Money after the decision, raced: on both stores, in one process and across two.

A release and a payment on the same award at once never let more than the award leave, and the
budget stays exact; approvals spanning two financial years at once overspend neither year's
budget and commit ahead exactly; closes race each other and the commitments on their year, and
nothing is committed on a year after it closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from domain.errors import (
    AmountNotAllowed,
    FundingError,
    InsufficientFunds,
    InvalidTransition,
    PaymentExceedsApproved,
    YearClosed,
)
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget, CouncilFund, Fund
from domain.money import Money
from domain.values import ClusterId, FinancialYear, RequestStatus
from funding_engine.application import FundingApplication
from tests.integration.test_races import race
from tests.support import (
    CLUSTER,
    COUNCIL,
    FINANCE,
    LEAD,
    SCHOOL,
    YEAR,
    escalated_request,
    evidenced_request,
    set_up_world,
)

NEXT_YEAR = "2027-28"
AWARDS = 10
APPROVALS = 20
ACADEMIC_YEAR: dict[str, Any] = {
    "award_period": {"starts_on": "2026-09-01", "ends_on": "2027-08-31"},
    "schedule": "termly",
}
REASON = "Spend evidence shows the school's own SEN funding is spent."
BUDGET_ID = ClusterBudget.id_for(ClusterId(CLUSTER), FinancialYear.parse(YEAR))
NEXT_BUDGET_ID = ClusterBudget.id_for(ClusterId(CLUSTER), FinancialYear.parse(NEXT_YEAR))


def pounds(text: str) -> Money:
    return Money.parse(text)


def two_processes(app: FundingApplication, make_app: Callable[[], FundingApplication]) -> list[FundingApplication]:
    """The application, and another on the same store sharing no locks with it (another process)."""
    return [app, make_app()]


def academic_year_approval(app: FundingApplication, request_id: UUID) -> FundingRequest:
    """1,200.00 termly over 2026-27's autumn and spring (700.00) and 2027-28's summer (500.00)."""
    return app.approve(LEAD, request_id, "1200.00", REASON, **ACADEMIC_YEAR)


def events_of(app: FundingApplication, aggregate_id: UUID) -> list[Any]:
    return list(app.events.get(aggregate_id))


def assert_only(errors: list[BaseException], *kinds: type[FundingError]) -> None:
    """Every racing command that lost, lost cleanly: with one of the domain's refusals."""
    assert all(isinstance(error, kinds) for error in errors), errors


# ------------------------------------------------------------------------------------------------
# A release and a payment on the same award
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def awards(app: FundingApplication) -> list[FundingRequest]:
    """Ten awards of 1,200.00 on the cluster's 2026-27 budget of 20,000.00, paid termly over the year."""
    set_up_world(app, budget="20000.00")
    awarded = []
    for _ in range(AWARDS):
        request = evidenced_request(app, amount_requested="1200.00")
        awarded.append(app.approve(LEAD, request.id, "1200.00", REASON))
    return awarded


def test_a_release_and_a_payment_on_the_same_award_at_once_never_let_more_than_the_award_leave(app, make_app, awards):
    """Half the awards race a payment of 800.00 against a release of all that is unpaid (both may
    succeed, in either order); the other half race it against a release of 600.00 (only one can:
    whichever comes second finds less than it needs unpaid)."""
    apps = two_processes(app, make_app)
    jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
    for index, request in enumerate(awards):
        release = None if index % 2 == 0 else "600.00"  # None: all that is unpaid
        payer, releaser = apps[index % 2], apps[(index + 1) % 2]
        jobs.append((payer.record_payment, (FINANCE, request.id, "800.00", f"BACS-{index}")))
        jobs.append((releaser.release_award, (LEAD, request.id, "pupil_left", "Left in the spring.", release)))

    results, errors = race(jobs)

    assert_only(errors, InvalidTransition, PaymentExceedsApproved)
    apps[1].close()
    fresh = make_app()
    paid = released = 0
    for index, request in enumerate(awards):
        award = fresh.get_request(FINANCE, request.id).award
        assert award is not None
        assert award.paid_out + award.released <= award.approved == pounds("1200.00")
        assert award.committed == award.paid + award.scheduled_unpaid + award.held
        if index % 2 == 0:
            # Paid first, then the other 400.00 released; or all 1,200.00 released first, and
            # the payment refused.
            assert (award.paid_out, award.released) in {
                (pounds("800.00"), pounds("400.00")),
                (Money(0), pounds("1200.00")),
            }
        else:
            assert (award.paid_out, award.released) in {(pounds("800.00"), Money(0)), (Money(0), pounds("600.00"))}
        paid += award.paid_out.pence
        released += award.released.pence
    assert len(results) == 2 * AWARDS - len(errors)
    budget = fresh.get_budget(FINANCE, CLUSTER, YEAR)
    committed = AWARDS * 120_000 - released
    assert (budget.committed.pence, budget.paid.pence) == (committed, paid)
    assert budget.available.pence == 2_000_000 - committed
    payments = [e for e in events_of(fresh, BUDGET_ID) if isinstance(e, Fund.PaymentRecorded)]
    releases = [e for e in events_of(fresh, BUDGET_ID) if isinstance(e, Fund.FundsReleased)]
    assert sum(e.amount.pence for e in payments) == paid
    assert sum(e.amount.pence for e in releases) == released


def test_payments_and_releases_racing_on_one_award_settle_it_exactly_once(app, make_app):
    """Many payments and releases of 100.00 at once on one award of 1,200.00: exactly twelve
    succeed between them, and the award ends paid or released with nothing left."""
    set_up_world(app, budget="5000.00")
    request = evidenced_request(app, amount_requested="1200.00")
    app.approve(LEAD, request.id, "1200.00", REASON)
    apps = two_processes(app, make_app)
    jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
    for index in range(10):
        jobs.append((apps[index % 2].record_payment, (FINANCE, request.id, "100.00", f"BACS-{index}")))
        jobs.append((apps[(index + 1) % 2].release_award, (LEAD, request.id, "underspend", "Unused.", "100.00")))

    results, errors = race(jobs)

    assert len(results) == 12
    assert_only(errors, InvalidTransition, PaymentExceedsApproved)
    apps[1].close()
    settled = make_app().get_request(FINANCE, request.id)
    award = settled.award
    assert award is not None
    assert award.paid_out + award.released == pounds("1200.00")
    assert settled.status in (RequestStatus.PAID, RequestStatus.RELEASED)
    assert (settled.status is RequestStatus.RELEASED) == award.released.is_positive
    budget = app.get_budget(FINANCE, CLUSTER, YEAR)
    assert budget.committed == budget.paid == award.paid_out
    assert budget.available == pounds("5000.00") - award.paid_out


# ------------------------------------------------------------------------------------------------
# Approvals spanning two financial years' budgets
# ------------------------------------------------------------------------------------------------


def test_approvals_spanning_two_years_at_once_overspend_neither_years_budget(app, make_app):
    """2026-27 has 5,000.00 (room for seven autumn-and-spring shares of 700.00); 2027-28 has
    2,500.00 (room for five summer shares of 500.00): exactly five of twenty approvals win."""
    set_up_world(app, budget="5000.00")
    app.allocate_budget(FINANCE, CLUSTER, NEXT_YEAR, "2500.00", "next year's allocation")
    requests = [evidenced_request(app, amount_requested="1200.00") for _ in range(APPROVALS)]
    apps = two_processes(app, make_app)

    results, errors = race(
        [(academic_year_approval, (apps[index % 2], request.id)) for index, request in enumerate(requests)]
    )

    assert len(results) == 5
    assert_only(errors, InsufficientFunds)
    apps[1].close()
    fresh = make_app()
    this, following = fresh.get_budget(FINANCE, CLUSTER, YEAR), fresh.get_budget(FINANCE, CLUSTER, NEXT_YEAR)
    assert (this.committed, this.available) == (pounds("3500.00"), pounds("1500.00"))
    assert (following.committed, following.available) == (pounds("2500.00"), Money(0))
    winners = {result.id for result in results}
    for budget_id in (BUDGET_ID, NEXT_BUDGET_ID):
        committed = [e for e in events_of(fresh, budget_id) if isinstance(e, Fund.FundsCommitted)]
        assert {e.request_id for e in committed} == winners
    statuses = {r.id: fresh.get_request(LEAD, r.id).status for r in requests}
    assert {rid for rid, status in statuses.items() if status is RequestStatus.CLUSTER_APPROVED} == winners


def test_approvals_spanning_into_a_year_with_no_allocation_commit_ahead_exactly(app, make_app):
    """2027-28 has no allocation: each winner commits its summer share ahead there. 2026-27's
    5,000.00 decides: seven of twenty win, and exactly 3,500.00 is committed ahead, which the next
    allocation covers before anything else."""
    set_up_world(app, budget="5000.00")
    requests = [evidenced_request(app, amount_requested="1200.00") for _ in range(APPROVALS)]
    apps = two_processes(app, make_app)

    results, errors = race(
        [(academic_year_approval, (apps[index % 2], request.id)) for index, request in enumerate(requests)]
    )

    assert len(results) == 7
    assert_only(errors, InsufficientFunds)
    apps[1].close()
    fresh = make_app()
    this = fresh.get_budget(FINANCE, CLUSTER, YEAR)
    assert (this.committed, this.available) == (pounds("4900.00"), pounds("100.00"))
    following: ClusterBudget = fresh.repository.get(NEXT_BUDGET_ID)
    assert (following.forward, following.committed, following.available) == (pounds("3500.00"), Money(0), Money(0))
    ahead = [e for e in events_of(fresh, NEXT_BUDGET_ID) if isinstance(e, Fund.FundsCommittedForward)]
    assert {e.request_id for e in ahead} == {result.id for result in results}
    assert sum(e.amount.pence for e in ahead) == 350_000

    fresh.allocate_budget(FINANCE, CLUSTER, NEXT_YEAR, "3000.00", "next year's allocation")

    following = fresh.repository.get(NEXT_BUDGET_ID)
    assert (following.forward, following.committed, following.available) == (
        pounds("500.00"),
        pounds("3000.00"),
        Money(0),
    )


def test_council_approvals_spanning_two_years_at_once_overspend_neither_years_fund(app, make_app):
    """The council fund: 2026-27 has 3,500.00 (five shares of 700.00), 2027-28 has 10,000.00."""
    set_up_world(app, budget="500.00", council_fund="3500.00")
    app.allocate_council_fund(FINANCE, NEXT_YEAR, "10000.00", "next year's fund")
    requests = [escalated_request(app, "1200.00", amount_requested="1200.00") for _ in range(APPROVALS // 2)]
    apps = two_processes(app, make_app)

    def decide(application: FundingApplication, request_id: UUID) -> FundingRequest:
        return application.decide_escalation(COUNCIL, request_id, "approve", "Exceptional.", **ACADEMIC_YEAR)

    results, errors = race([(decide, (apps[index % 2], request.id)) for index, request in enumerate(requests)])

    assert len(results) == 5
    assert_only(errors, InsufficientFunds)
    apps[1].close()
    fresh = make_app()
    this, following = fresh.get_council_fund(FINANCE, YEAR), fresh.get_council_fund(FINANCE, NEXT_YEAR)
    assert (this.committed, this.available) == (pounds("3500.00"), Money(0))
    assert (following.committed, following.available) == (pounds("2500.00"), pounds("7500.00"))


# ------------------------------------------------------------------------------------------------
# Closes racing each other, and the commitments on their year
# ------------------------------------------------------------------------------------------------


def test_two_closes_of_one_year_at_once_close_it_once_and_carry_forward_once(app, make_app):
    set_up_world(app, budget="5000.00")
    apps = two_processes(app, make_app)
    jobs = [(apps[index % 2].close_budget_year, (FINANCE, CLUSTER, YEAR, "1000.00")) for index in range(6)]

    results, errors = race(jobs)

    assert len(results) == 1
    assert_only(errors, YearClosed)
    apps[1].close()
    fresh = make_app()
    closes = [e for e in events_of(fresh, BUDGET_ID) if isinstance(e, Fund.YearClosed)]
    assert len(closes) == 1
    assert closes[0].carried_forward == pounds("1000.00")
    assert fresh.get_budget(FINANCE, CLUSTER, NEXT_YEAR).allocated == pounds("1000.00")
    assert fresh.get_budget(FINANCE, CLUSTER, YEAR).allocated == pounds("4000.00")


def test_approvals_racing_the_close_of_the_year_they_commit_on_commit_nothing_after_it(app, make_app):
    """Requests of 2026-27 whose awards run into 2027-28 are approved while finance closes
    2027-28 (nothing waits on it: they are 2026-27's requests). Whatever the order, nothing is
    committed on 2027-28 after its close, and the close recorded exactly what was committed."""
    set_up_world(app, budget="50000.00")
    app.allocate_budget(FINANCE, CLUSTER, NEXT_YEAR, "50000.00", "next year's allocation")
    requests = [evidenced_request(app, amount_requested="1200.00") for _ in range(12)]
    apps = two_processes(app, make_app)
    jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
        (academic_year_approval, (apps[index % 2], request.id)) for index, request in enumerate(requests)
    ]
    jobs.insert(6, (apps[1].close_budget_year, (FINANCE, CLUSTER, NEXT_YEAR, "0")))

    results, errors = race(jobs)

    assert_only(errors, YearClosed)
    apps[1].close()
    fresh = make_app()
    history = events_of(fresh, NEXT_BUDGET_ID)
    (closed_at,) = [index for index, e in enumerate(history) if isinstance(e, Fund.YearClosed)]
    assert not [e for e in history[closed_at:] if isinstance(e, Fund.FundsCommitted | Fund.FundsCommittedForward)]
    winners = [r for r in results if isinstance(r, FundingRequest)]
    assert len(winners) + len(errors) == len(requests)
    committed_before = sum(e.amount.pence for e in history[:closed_at] if isinstance(e, Fund.FundsCommitted))
    assert committed_before == 50_000 * len(winners)
    assert history[closed_at].committed_unpaid.pence == committed_before
    for request in requests:
        status = fresh.get_request(LEAD, request.id).status
        assert status in (RequestStatus.CLUSTER_APPROVED, RequestStatus.EVIDENCED)
    this = fresh.get_budget(FINANCE, CLUSTER, YEAR)
    assert this.committed.pence == 70_000 * len(winners)  # losers committed nothing on 2026-27 either


def test_a_commission_and_a_close_racing_on_one_year_never_overspend_it(app, make_app):
    """A commission of 4,500.00 against a close carrying 1,000.00 forward from 5,000.00: after the
    commission only 500.00 could be carried, so the close is refused; after the close the
    commission is. One of the two wins, and the year adds up either way."""
    set_up_world(app, budget="5000.00")
    apps = two_processes(app, make_app)

    def commission(application: FundingApplication) -> Any:
        return application.commission_service(
            LEAD,
            CLUSTER,
            YEAR,
            service="educational_psychology",
            provider="Broadland Psychology Partnership",
            amount="4500.00",
            school_urns=[SCHOOL],
            description="Twenty days of educational psychology.",
        )

    results, errors = race([(commission, (apps[0],)), (apps[1].close_budget_year, (FINANCE, CLUSTER, YEAR, "1000.00"))])

    assert len(results) == len(errors) == 1
    assert_only(errors, YearClosed, AmountNotAllowed)
    apps[1].close()
    fresh = make_app()
    budget = fresh.get_budget(FINANCE, CLUSTER, YEAR)
    following = fresh.get_budget(FINANCE, CLUSTER, NEXT_YEAR)
    if isinstance(errors[0], YearClosed):  # closed first
        assert (budget.allocated, budget.commissioned, following.allocated) == (
            pounds("4000.00"),
            Money(0),
            pounds("1000.00"),
        )
    else:
        assert (budget.commissioned, budget.available, following.allocated) == (
            pounds("4500.00"),
            pounds("500.00"),
            Money(0),
        )
    assert budget.available >= Money(0)


def test_a_council_fund_closed_by_two_processes_at_once_closes_once(app, make_app):
    set_up_world(app, budget=None, council_fund="2000.00")
    apps = two_processes(app, make_app)

    results, errors = race([(apps[i % 2].close_council_fund_year, (FINANCE, YEAR, "2000.00")) for i in range(4)])

    assert len(results) == 1
    assert_only(errors, YearClosed)
    apps[1].close()
    fresh = make_app()
    assert fresh.get_council_fund(FINANCE, NEXT_YEAR).allocated == pounds("2000.00")
    closes = [
        e for e in events_of(fresh, CouncilFund.id_for(FinancialYear.parse(YEAR))) if isinstance(e, Fund.YearClosed)
    ]
    assert len(closes) == 1
