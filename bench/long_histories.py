"""Scenario 4: loading a cluster budget with a long history, ours beside the bare library.

    .venv/bin/python -m bench.long_histories --quick
    .venv/bin/python -m bench.long_histories [--store sqlite|postgres] [--loads 200] [--rounds 7]

Target: with snapshots on, loading a budget with 10,000 events takes at most 2x loading one with 10.

Budgets of 10, 1,000 and 10,000 events (an opening, then allocations and commitments, as finance
and approvals write them) are written through our ``ClusterBudget`` and through the bare
library's ``BareBudget``, both snapshotted at the product's interval (``snapshotting_intervals``,
20 for budgets; the sizes below follow it). 1,000 and 10,000 are multiples of the interval, so
their load is a snapshot and nothing else: the best case. 10,010 adds the average case (a
snapshot and half an interval to replay), 1,019 and 10,019 the worst (a snapshot and 19). The
10-event budget has no snapshot yet: ten events replayed. ``--quick`` leaves out 1,019 and 10,010
and does fewer loads.

Loads go through applications built with the aggregate cache switched off
(``AGGREGATE_CACHE_MAXSIZE`` empty: the library then has no cache at all; note ``0`` would mean
an unbounded one), so each is a real read of the snapshot and the events after it. Measured:

- load: ``repository.get(budget id)``, ours and bare, in alternating blocks of ``--loads``;
- query: ``FundingApplication.get_budget`` (permission check, the cluster and the budget loaded).

Each round times ``--loads`` loads of each kind per size and keeps their median; rounds alternate
which side goes first. Figures are the median of the round medians, with their min-max.
Results go to bench/results/long_histories.json (``--quick``: bench/results/quick/).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import SecretStr

from bench.baseline import BareApplication, BareBudget
from bench.common import Spread, database_url, fresh_store, summary_row, table, verdict, write_result
from domain.clusters import Cluster
from domain.funds import ClusterBudget
from domain.money import Money
from domain.values import Actor, ClusterId, FinancialYear
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings, Store

YEAR = FinancialYear(2026)
BARE_YEAR = 2026
COUNCIL = Actor.council("bench-council")
FINANCE = Actor.finance("bench-finance")
SMALLEST, TARGET_SIZE = 10, 10_000
# Sizes follow the product's interval, so the best, average and worst cases stay what they say.
SNAPSHOT_INTERVAL = FundingApplication.snapshotting_intervals[ClusterBudget]
BARE_SNAPSHOT_INTERVAL = BareApplication.snapshotting_intervals[BareBudget]
WORST = SNAPSHOT_INTERVAL - 1
SIZES = (SMALLEST, 1_000, 1_000 + WORST, TARGET_SIZE, TARGET_SIZE + SNAPSHOT_INTERVAL // 2, TARGET_SIZE + WORST)
# Writing the budgets is most of a quick run: keep the target's sizes and the worst case.
QUICK_SIZES = (SMALLEST, 1_000, TARGET_SIZE, TARGET_SIZE + WORST)
TARGET = 2.0
EVENTS_PER_SAVE = 500
BARE_FINANCE: dict[str, Any] = {"role": "finance", "sub": "bench-finance"}


def cluster_of(size: int) -> ClusterId:
    return ClusterId(f"long-history-{size}")


def lead_of(size: int) -> Actor:
    return Actor.cluster_lead("bench-lead", cluster_of(size))


def write_ours(app: FundingApplication, size: int) -> uuid.UUID:
    """A budget of ``size`` events: opened, a first allocation, then commitments and top-ups in turn."""
    cluster_id = cluster_of(size)
    app.save(Cluster.register(cluster_id, f"Long history {size}", COUNCIL))
    budget = ClusterBudget.open(cluster_id, YEAR, FINANCE)
    budget.allocate(Money(10**12), "opening allocation", FINANCE)
    lead = lead_of(size)
    while budget.version < size:
        for _ in range(min(EVENTS_PER_SAVE, size - budget.version)):
            if budget.version % 2:
                budget.commit(uuid.uuid4(), Money(250_00), lead)
            else:
                budget.allocate(Money(250_00), "in-year top-up", FINANCE)
        app.save(budget)
    return budget.id


def write_bare(app: BareApplication, size: int) -> uuid.UUID:
    cluster_id = str(cluster_of(size))
    budget = BareBudget(cluster_id, BARE_YEAR, BARE_FINANCE)
    budget.allocate(10**12, "opening allocation", BARE_FINANCE)
    lead = {"role": "cluster_lead", "sub": "bench-lead", "cluster_id": cluster_id}
    while budget.version < size:
        for _ in range(min(EVENTS_PER_SAVE, size - budget.version)):
            if budget.version % 2:
                budget.commit(str(uuid.uuid4()), 250_00, lead)
            else:
                budget.allocate(250_00, "in-year top-up", BARE_FINANCE)
        app.save(budget)
    return budget.id


# As deployed: the writer's and the loader's snapshots are sealed under one audit key, so the
# loading process trusts the writer's (without a key, each process trusts only its own).
AUDIT_KEY = "bench-long-histories-" + "6e2b9f0c4a1d7385" * 3
SEALED = {"FUNDING_ENGINE_AUDIT_KEY": AUDIT_KEY}
# Empty, not "0": the library reads 0 as "cache without a size limit".
UNCACHED = {"AGGREGATE_CACHE_MAXSIZE": ""}


def uncached_env(store: Store) -> dict[str, str]:
    return {**store.library_env(), **SEALED, **UNCACHED}


def ours_on(store: Store, env: dict[str, str] | None = None) -> FundingApplication:
    """Ours as deployed, sealed with the audit key; no read-model work beside it (worker mode, no worker)."""
    settings = Settings(database_url=database_url(store), audit_key=SecretStr(AUDIT_KEY), projections="worker")
    return bootstrap(settings, env=env)


def timed(action: Callable[[], object], times: int) -> float:
    """Median seconds of ``times`` calls of ``action``."""
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def check_replay(app: FundingApplication | BareApplication, budget_id: uuid.UUID, size: int, interval: int) -> int:
    """Events replayed after the newest snapshot: proves snapshots are on and as expected."""
    if app.snapshots is None:
        raise RuntimeError("snapshotting is off: the scenario is about loads with snapshots on")
    snapshots = list(app.snapshots.get(budget_id, desc=True, limit=1))
    from_version = snapshots[0].originator_version if snapshots else 0
    expected = size // interval * interval
    if from_version != expected:
        raise RuntimeError(f"budget of {size} events has its newest snapshot at {from_version}, not {expected}")
    return size - from_version


def run_store(kind: str, sizes: tuple[int, ...], loads: int, rounds: int) -> list[dict[str, Any]]:
    with fresh_store(kind, "long") as store:
        writer = ours_on(store)
        bare_writer = BareApplication(env=store.library_env())
        try:
            started = time.perf_counter()
            ours_ids = {size: write_ours(writer, size) for size in sizes}
            bare_ids = {size: write_bare(bare_writer, size) for size in sizes}
            print(f"{kind}: wrote {2 * sum(sizes):,} events in {time.perf_counter() - started:.1f}s", flush=True)
        finally:
            writer.close()
            bare_writer.close()

        ours = ours_on(store, UNCACHED)
        bare = BareApplication(env=uncached_env(store))
        try:
            if ours.repository.cache is not None or bare.repository.cache is not None:
                raise RuntimeError("the loading applications have an aggregate cache: it would hide the load")
            replayed = {size: check_replay(ours, ours_ids[size], size, SNAPSHOT_INTERVAL) for size in sizes}
            bare_replayed = {size: check_replay(bare, bare_ids[size], size, BARE_SNAPSHOT_INTERVAL) for size in sizes}
            for size in sizes:
                # Also proves the query answers for every budget before we time it.
                statement = ours.get_budget(FINANCE, cluster_of(size), YEAR)
                if statement.version != size:
                    raise RuntimeError(f"get_budget saw version {statement.version}, not {size}")

            samples: dict[int, dict[str, list[float]]] = {size: {"ours": [], "bare": [], "query": []} for size in sizes}
            for round_number in range(rounds):
                for size in sizes:
                    sides: list[tuple[str, Callable[[], object]]] = [
                        ("ours", partial(ours.repository.get, ours_ids[size])),
                        ("bare", partial(bare.repository.get, bare_ids[size])),
                        ("query", partial(ours.get_budget, FINANCE, cluster_of(size), YEAR)),
                    ]
                    # Flip the order each round so no side always runs on the warmer cache.
                    for name, action in sides if round_number % 2 == 0 else reversed(sides):
                        samples[size][name].append(timed(action, loads))
                print(f"  {kind}: round {round_number + 1}/{rounds} done", flush=True)
        finally:
            ours.close()
            bare.close()

    figures = []
    smallest = samples[SMALLEST]
    for size in sizes:
        mine, theirs, query = samples[size]["ours"], samples[size]["bare"], samples[size]["query"]
        figures.append(
            {
                "store": kind,
                "events": size,
                "events_replayed_after_snapshot": replayed[size],
                "bare_events_replayed_after_snapshot": bare_replayed[size],
                "ours_load_ms": ms(Spread.of(mine)),
                "bare_load_ms": ms(Spread.of(theirs)),
                "ours_over_bare": ratios(mine, theirs).as_json(2),
                "get_budget_ms": ms(Spread.of(query)),
                "get_budget_over_bare_load": ratios(query, theirs).as_json(2),
                "ours_over_10_events": ratios(mine, smallest["ours"]).as_json(2),
                "bare_over_10_events": ratios(theirs, smallest["bare"]).as_json(2),
                "get_budget_over_10_events": ratios(query, smallest["query"]).as_json(2),
            }
        )
    return figures


def ratios(numerators: list[float], denominators: list[float]) -> Spread:
    """Ratios pair by pair (same round), so a slow moment on the machine hits both sides of a pair."""
    return Spread.of([a / b for a, b in zip(numerators, denominators, strict=True)])


def ms(spread: Spread) -> dict[str, Any]:
    return Spread(spread.median * 1000, spread.low * 1000, spread.high * 1000, spread.runs).as_json(3)


def text(figure: dict[str, Any], digits: int = 3) -> str:
    return f"{figure['median']:.{digits}f} ({figure['min']:.{digits}f}-{figure['max']:.{digits}f})"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--quick", action="store_true", help="fewer loads, rounds and sizes")
    parser.add_argument("--loads", type=int, help="loads per size, side and round (default 200; quick 30)")
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 7; quick 3)")
    args = parser.parse_args(argv)
    loads = args.loads or (30 if args.quick else 200)
    rounds = args.rounds or (3 if args.quick else 7)

    figures: list[dict[str, Any]] = []
    for kind in args.store or ["sqlite", "postgres"]:
        figures.extend(run_store(kind, QUICK_SIZES if args.quick else SIZES, loads, rounds))

    rows = []
    for figure in figures:
        on_target = TARGET_SIZE <= figure["events"] < TARGET_SIZE + SNAPSHOT_INTERVAL
        rows.append(
            [
                figure["store"],
                f"{figure['events']:,}",
                f"{figure['events_replayed_after_snapshot']} / {figure['bare_events_replayed_after_snapshot']}",
                text(figure["ours_load_ms"]),
                text(figure["bare_load_ms"]),
                text(figure["ours_over_bare"], 2),
                text(figure["ours_over_10_events"], 2),
                text(figure["bare_over_10_events"], 2),
                text(figure["get_budget_ms"]),
                text(figure["get_budget_over_10_events"], 2),
                verdict(figure["ours_over_10_events"]["median"], TARGET, at_most=True) if on_target else "",
            ]
        )
    print()
    headers = [
        "store",
        "events",
        "replayed ours / bare",
        "ours load ms",
        "bare load ms",
        "ours / bare",
        "ours / 10-event",
        "bare / 10-event",
        "get_budget ms",
        "get_budget / 10-event",
        f"target <= {TARGET:g}x",
    ]
    print(table(headers, rows))
    summary = [
        summary_row(
            scenario="4 long histories",
            store=figure["store"],
            measure=(
                f"load a {figure['events']:,}-event budget "
                f"(snapshot + {figure['events_replayed_after_snapshot']}), ms, and x the 10-event load"
            ),
            ours=Spread.of_json(figure["ours_load_ms"]),
            baseline=Spread.of_json(figure["bare_load_ms"]),
            ratio=figure["ours_over_10_events"]["median"],
            target=f"<= {TARGET:g}x the 10-event load",
            met=figure["ours_over_10_events"]["median"] <= TARGET,
        )
        for figure in figures
        if figure["events"] >= TARGET_SIZE
    ]
    result = {
        "scenario": 4,
        "summary": summary,
        "quick": args.quick,
        "loads_per_round": loads,
        "rounds": rounds,
        "snapshot_interval": {"ours": SNAPSHOT_INTERVAL, "bare": BARE_SNAPSHOT_INTERVAL},
        "target": {"events": TARGET_SIZE, "over_10_events_at_most": TARGET},
        "figures": figures,
    }
    path = write_result("long_histories", result, quick=args.quick)
    print(f"written to {path}")
    return result


if __name__ == "__main__":
    main()
