"""Catch-up throughput of the read models beside the raw rate of reading the same log.

    .venv/bin/python -m bench.projection_catch_up --events 200000 [--store sqlite|postgres]

Fills a fresh store with a realistic mix of events (clusters, budgets, requests through their
lifecycle, approvals committing on budgets, payments), written in bulk through the application's
own ``save()``, then measures in one run:

- read: selecting and mapping every notification to its domain event, applying nothing;
- catch-up: all read models and the audit chain from position 0, exactly-once transactions;
- rebuild: each projection dropped and rebuilt alone (what ``projections rebuild`` does).

Figures are printed and written as JSON to bench/results/. Not a test: nothing here asserts time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from domain.clusters import Cluster, SchoolMembership
from domain.funding_request import FundingRequest
from domain.funds import ClusterBudget
from domain.values import (
    Actor,
    ClusterId,
    EvidenceDocument,
    FinancialYear,
    Money,
    ProvisionCategory,
    ProvisionLine,
    SchoolUrn,
    SpendLine,
    TopUpReason,
)
from funding_engine.application import FundingApplication
from funding_engine.read_side import ReadSide
from funding_engine.settings import PostgresStore, SQLiteStore, ensure_sqlite_file, parse_database_url
from projections.engine import LibraryNotificationSource

YEAR = FinancialYear(2026)
COUNCIL = Actor.council("bench-council")
FINANCE = Actor.finance("bench-finance")


def fill(app: FundingApplication, events: int, clusters: int = 20) -> int:
    """Write about ``events`` events; returns the log head."""
    budgets = []
    for index in range(clusters):
        cluster_id = ClusterId(f"bench-cluster-{index:03d}")
        cluster = Cluster.register(cluster_id, f"Bench cluster {index}", COUNCIL)
        urn = SchoolUrn(f"{800000 + index:06d}")
        membership = SchoolMembership.start(urn)
        membership.join(cluster_id, COUNCIL)
        cluster.add_school(urn, COUNCIL)
        budget = ClusterBudget.open(cluster_id, YEAR, FINANCE)
        budget.allocate(Money(10**13), "bench allocation", FINANCE)
        app.save(cluster, membership, budget)
        budgets.append((cluster_id, urn))
    evidence = [SpendLine(ProvisionCategory.THERAPIES, Money(100_00), "bench")]
    documents = [EvidenceDocument("evidence.pdf", "0" * 64)]
    written = app.recorder.max_notification_id() or 0
    batch = 0
    while written < events:
        # One request's life: submit, evidence, approve (+ budget commitment), pay (+ budget payment).
        cluster_id, urn = budgets[batch % clusters]
        school = Actor.school("bench-senco", urn)
        lead = Actor.cluster_lead("bench-lead", cluster_id)
        budget = app.repository.get(ClusterBudget.id_for(cluster_id, YEAR))
        pending: list[Any] = [budget]
        for _ in range(50):
            request = FundingRequest.submit(
                school_urn=urn,
                cluster_id=cluster_id,
                financial_year=YEAR,
                amount_requested=Money(500_00),
                reason=TopUpReason.COMPLEX_NEEDS,
                pupil_count=1,
                needs_summary="bench needs summary",
                planned_provision=[ProvisionLine(ProvisionCategory.THERAPIES, Money(500_00))],
                actor=school,
            )
            request.provide_evidence(Money(1000_00), evidence, documents, school)
            request.approve(Money(400_00), "bench approval", "", lead, budget)
            request.record_payment(Money(400_00), "BENCH", FINANCE, budget)
            pending.append(request)
        app.save(*pending)
        written = app.recorder.max_notification_id() or 0
        batch += 1
    return written


def measure_read(source: LibraryNotificationSource, head: int, batch_size: int = 500) -> float:
    started = time.perf_counter()
    after = 0
    while batch := source.select(after, batch_size):
        for notification in batch:
            source.to_event(notification)
        after = batch[-1].id
    return head / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("FUNDING_ENGINE_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()

    schema = None
    if args.store == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench-")
        url = f"sqlite:///{folder}/bench.sqlite3"
    else:
        if not args.postgres_url:
            parser.error("--postgres-url or FUNDING_ENGINE_TEST_POSTGRES_URL is needed for --store postgres")
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        url = f"{args.postgres_url}?schema={schema}"
    store = parse_database_url(url)
    if isinstance(store, SQLiteStore):
        ensure_sqlite_file(store.path)
    else:
        from funding_engine.bootstrap import _ensure_postgres_schema

        _ensure_postgres_schema(store)

    app = FundingApplication(env=store.library_env())
    try:
        started = time.perf_counter()
        head = fill(app, args.events)
        fill_seconds = time.perf_counter() - started
        print(f"filled {head} events in {fill_seconds:.1f}s ({head / fill_seconds:,.0f} events/s written)")

        read_side = ReadSide.build(store, app.recorder, app.mapper)
        projector = read_side.projector
        source = projector.source  # type: ignore[assignment]

        read_rate = measure_read(source, head)  # type: ignore[arg-type]
        print(f"read + map only:       {read_rate:>10,.0f} events/s")

        started = time.perf_counter()
        projector.catch_up()
        catch_up_seconds = time.perf_counter() - started
        catch_up_rate = head / catch_up_seconds
        print(f"catch-up, all models:  {catch_up_rate:>10,.0f} events/s ({catch_up_seconds:.1f}s; "
              f"{catch_up_rate / read_rate:.2f} of the read rate)")

        rebuilds = {}
        total_rebuild = 0.0
        for name in projector.projections:
            started = time.perf_counter()
            projector.rebuild(name)
            seconds = time.perf_counter() - started
            total_rebuild += seconds
            rebuilds[name] = {"seconds": round(seconds, 2), "events_per_second": round(head / seconds)}
            print(f"rebuild {name:<17} {seconds:>7.1f}s ({head / seconds:,.0f} events/s)")
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"rebuild, every model:  {total_rebuild:>7.1f}s; peak RSS of this process {peak_rss_mb:.0f} MB")

        result = {
            "benchmark": "projection_catch_up",
            "store": args.store,
            "events": head,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "write_events_per_second": round(head / fill_seconds),
            "read_and_map_events_per_second": round(read_rate),
            "catch_up_events_per_second": round(catch_up_rate),
            "catch_up_over_read": round(catch_up_rate / read_rate, 3),
            "rebuild": rebuilds,
            "rebuild_all_seconds": round(total_rebuild, 1),
            "peak_rss_mb": round(peak_rss_mb),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        out = Path(__file__).parent / "results" / f"projection_catch_up_{args.store}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written to {out}")
        read_side.close()
    finally:
        app.close()
        if isinstance(store, PostgresStore) and schema:
            import psycopg

            with psycopg.connect(store.conninfo(), autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
