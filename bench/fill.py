"""Filling a store in bulk, and bringing its read models level with it a step at a time.

The benchmarks that need a big log (catch-up, growth) write it here rather than through the
commands: one ``save()`` of a few hundred events is tens of times faster than one command per
event, and what they measure is what happens once the log is there, not how it got there.

``fill`` writes our events through ``FundingApplication.save()``; ``fill_bare`` writes the bare
library's events (``bench.baseline``) in the same shape, so a baseline store can be grown to the
same size. Both can be called again on the same store to grow it further.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application

from bench.baseline import BareApplication, BareBudget, BareMembership, BareRequest
from domain.clusters import Cluster, SchoolMembership
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget
from domain.money import Money
from domain.values import (
    Actor,
    ClusterId,
    EvidenceDocument,
    FinancialYear,
    ProvisionCategory,
    ProvisionLine,
    SchoolUrn,
    SpendLine,
    TopUpReason,
)
from funding_engine.application import FundingApplication
from projections.engine import NotificationLike, NotificationSource, Projector

YEAR = FinancialYear(2026)
BARE_YEAR = 2026
COUNCIL = Actor.council("bench-council")
FINANCE = Actor.finance("bench-finance")
CLUSTERS = 20
# Requests per save: one save is one transaction of about 6 events per request.
REQUESTS_PER_SAVE = 50

Progress = Callable[[int, int], None]


def cluster_id_of(index: int) -> ClusterId:
    return ClusterId(f"bench-cluster-{index:03d}")


def school_of(index: int) -> SchoolUrn:
    return SchoolUrn(f"{800000 + index:06d}")


def head_of(app: Application[Any]) -> int:
    return app.recorder.max_notification_id() or 0


def fill(app: FundingApplication, events: int, *, clusters: int = CLUSTERS, progress: Progress | None = None) -> int:
    """Grow the log to at least ``events`` events; returns the log head.

    A realistic mix: each cluster has one school and a budget; each request goes through its
    whole life (submit, evidence, approve committing on the budget, pay out of the budget), so
    budgets gather long histories and every read model has work to do.
    """
    if ClusterBudget.id_for(cluster_id_of(0), YEAR) not in app.repository:
        for index in range(clusters):
            cluster_id, urn = cluster_id_of(index), school_of(index)
            cluster = Cluster.register(cluster_id, f"Bench cluster {index}", COUNCIL)
            membership = SchoolMembership.start(urn)
            membership.join(cluster_id, COUNCIL)
            cluster.add_school(urn, COUNCIL)
            budget = ClusterBudget.open(cluster_id, YEAR, FINANCE)
            budget.allocate(Money(10**13), "bench allocation", FINANCE)
            app.save(cluster, membership, budget)
    evidence = [SpendLine(ProvisionCategory.THERAPIES, Money(100_00), "bench")]
    documents = [EvidenceDocument("evidence.pdf", "0" * 64)]
    provision = [ProvisionLine(ProvisionCategory.THERAPIES, Money(500_00))]
    written = head_of(app)
    batch = 0
    while written < events:
        index = batch % clusters
        cluster_id, urn = cluster_id_of(index), school_of(index)
        school = Actor.school("bench-senco", urn)
        lead = Actor.cluster_lead("bench-lead", cluster_id)
        budget = app.repository.get(ClusterBudget.id_for(cluster_id, YEAR))
        pending: list[Any] = [budget]
        for _ in range(REQUESTS_PER_SAVE):
            request = FundingRequest.submit(
                school_urn=urn,
                cluster_id=cluster_id,
                financial_year=YEAR,
                amount_requested=Money(500_00),
                reason=TopUpReason.COMPLEX_NEEDS,
                pupil_count=1,
                needs_summary="bench needs summary",
                planned_provision=provision,
                actor=school,
            )
            request.provide_evidence(Money(1000_00), evidence, documents, school)
            request.approve(Money(400_00), "bench approval", "", lead, budget)
            request.record_payment(Money(400_00), "BENCH", FINANCE, budget)
            pending.append(request)
        app.save(*pending)
        written = head_of(app)
        batch += 1
        if progress is not None:
            progress(written, events)
    return written


def fill_bare(app: BareApplication, events: int, *, clusters: int = CLUSTERS, progress: Progress | None = None) -> int:
    """``fill`` with the bare library's aggregates: the same shape, fewer events per request
    (the bare request has no payment), so more requests reach the same log size."""
    actor: dict[str, Any] = {"role": "council", "sub": "bench-council"}
    if app.find(BareBudget.create_id(str(cluster_id_of(0)), BARE_YEAR)) is None:
        for index in range(clusters):
            budget = BareBudget(str(cluster_id_of(index)), BARE_YEAR, actor)
            budget.allocate(10**13, "bench allocation", actor)
            membership = BareMembership(str(school_of(index)))
            membership.join(str(cluster_id_of(index)), actor)
            app.save(budget, membership)
    provision = [{"category": "therapies", "amount": 500_00}]
    spend = [{"category": "therapies", "amount": 100_00, "description": "bench"}]
    documents = [{"name": "evidence.pdf", "sha256": "0" * 64}]
    written = head_of(app)
    batch = 0
    while written < events:
        index = batch % clusters
        cluster_id, urn = str(cluster_id_of(index)), str(school_of(index))
        school = {"role": "school", "sub": "bench-senco", "school_urn": urn}
        lead = {"role": "cluster_lead", "sub": "bench-lead", "cluster_id": cluster_id}
        budget = app.repository.get(BareBudget.create_id(cluster_id, BARE_YEAR))
        pending: list[Any] = [budget]
        for _ in range(REQUESTS_PER_SAVE):
            request = BareRequest(
                urn, cluster_id, BARE_YEAR, 500_00, "complex_needs", 1, "bench needs summary", provision, school
            )
            request.provide_evidence(1000_00, spend, documents, school)
            request.approve(400_00, "bench approval", "", lead)
            budget.commit(str(request.id), 400_00, lead)
            pending.append(request)
        app.save(*pending)
        written = head_of(app)
        batch += 1
        if progress is not None:
            progress(written, events)
    return written


def printing_progress(label: str, every: float = 10.0) -> Progress:
    """A progress callback that prints at most once every ``every`` seconds (long fills say they live)."""
    started = time.perf_counter()
    last = started

    def show(done: int, total: int) -> None:
        nonlocal last
        now = time.perf_counter()
        if now - last >= every or done >= total:
            last = now
            rate = done / (now - started) if now > started else 0.0
            print(f"  {label}: {done:,}/{total:,} ({rate:,.0f}/s, {now - started:,.0f}s)", flush=True)

    return show


# -- read models ---------------------------------------------------------------------------------


class CappedSource:
    """A notification source that ends at ``stop``: lets a projector catch up to a chosen position.

    The projector has no "catch up to here" of its own; giving it a log that ends early lets the
    benchmarks catch up in steps (to sample memory as the log grows) or over a fixed window.
    """

    def __init__(self, source: NotificationSource, stop: int) -> None:
        self.source = source
        self.stop = stop

    def select(self, after: int, limit: int) -> Sequence[NotificationLike]:
        if after >= self.stop:
            return []
        batch = self.source.select(after, min(limit, self.stop - after))
        return [notification for notification in batch if notification.id <= self.stop]

    def head(self) -> int:
        return min(self.source.head(), self.stop)

    def to_event(self, notification: NotificationLike) -> Any:
        return self.source.to_event(notification)


def catch_up_to(projector: Projector, stop: int) -> int:
    """Catch every projection of ``projector`` up to log position ``stop``; returns notifications read."""
    capped = Projector(
        projector.database,
        CappedSource(projector.source, stop),
        list(projector.projections.values()),
        batch_size=projector.batch_size,
    )
    return capped.catch_up()


def catch_up_in_steps(projector: Projector, head: int, steps: int, on_step: Callable[[int, float], None]) -> float:
    """Catch up to ``head`` in ``steps`` equal steps, calling ``on_step(position, seconds so far)``
    after each; returns the total seconds (the callbacks' own time excluded)."""
    elapsed = 0.0
    for step in range(1, steps + 1):
        stop = head * step // steps
        started = time.perf_counter()
        catch_up_to(projector, stop)
        elapsed += time.perf_counter() - started
        on_step(stop, elapsed)
    return elapsed


def reset_read_models(projector: Projector) -> None:
    """Empty every read model and move every position to 0: the state before a first catch-up.

    The same first half as ``Projector.rebuild``, for all projections at once, so a catch-up of
    all of them together from the start of the log can be timed again and again.
    """
    with projector.database.transaction() as cursor:
        for name, projection in projector.projections.items():
            for table in projection.tables:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in projection.create_statements():
                cursor.execute(statement)
            cursor.execute("UPDATE projection_tracking SET position = 0 WHERE name = ?", (name,))
