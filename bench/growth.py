"""Scenario 5: command and query latency as the log grows, ours beside the bare library.

    .venv/bin/python -m bench.growth --quick                       # 1,000 and 10,000 events
    .venv/bin/python -m bench.growth [--store sqlite|postgres] [--sizes 10000 100000 1000000]

Target: no latency more than 1.5x higher with the largest log than with the smallest.

Each size has its own pair of stores, all open at once: ours, filled through
``FundingApplication.save()`` in bulk (``bench.fill``), and the baseline's, filled with the bare
library's events in the same shape (``bench.baseline``) to the same number of events. The bare
side needs a fill of its own: on PostgreSQL every application has its own tables, so it could not
be measured against a log it did not write. Keeping every size open lets the rounds visit all of
them in turn, so the smallest and the largest are measured minutes apart at most and a change in
the load of this shared machine hits both (measuring each size as the store grows put a quarter
of an hour between them and the drift swamped the figure).

Ours is the product as deployed (``bootstrap``, read models inline). Its read models are caught up
with the fill before measuring, untimed, so the bulk-written log's catch-up is not counted. Then
``--rounds`` rounds, each visiting every size (the order reverses each round, as does which side
goes first), each visit doing ``--ops`` times:

- commands on the first cluster, whose budget holds the longest history: submit, evidence,
  approve (the approval loads the budget and saves it with the request);
- queries straight after: ``balance`` of that cluster (the first read after the approval, so it
  includes catching the read models up with the three commands, whatever the background follower
  has not done yet: the price of reading your own write), then, with the read models current,
  ``balances`` of every cluster with totals, the lead's first page of ``list_requests``, and the
  lead's queue (``status=evidenced``, 10 open requests: the newest of the cluster's thousands).

The baseline's figures beside them: the same three commands (``BareApplication``); for
``balance``, a get of the budget (cached, as ours); for ``balances``, a get of every budget; for
the two pages, a page of 50 notifications from the head of its log: the store's own floor.

Latencies are the median of each visit's median, with the min-max over rounds, and the 95th
percentile over every sample. Growth is taken per round (largest over smallest in the same
round), then its median and min-max. Full mode fills 1.11M events per side; with progress printed,
that is about 6 minutes on SQLite and 12 on PostgreSQL on an idle 2-core machine. Results go to
bench/results/growth.json (``--quick``: bench/results/quick/). Nothing here asserts time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench import workflow
from bench.baseline import BareApplication, BareBudget, bare_application
from bench.common import Spread, database_url, fresh_store, summary_row, table, verdict, write_result
from bench.fill import (
    BARE_YEAR,
    CLUSTERS,
    FINANCE,
    YEAR,
    catch_up_to,
    cluster_id_of,
    fill,
    fill_bare,
    head_of,
    printing_progress,
    school_of,
)
from domain.values import Actor
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap
from funding_engine.read_side import ReadSide
from funding_engine.settings import Settings

FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
TARGET = 1.5
OPEN_REQUESTS = 10
METRICS = ("submit", "evidence", "approve", "balance after approve", "balances", "requests page", "open queue")
# The two: a command's latency and a balance query's (the rest are in the JSON and tables).
SUMMARY_METRICS = ("approve", "balances")
BARE_PROVISION = [{"category": "therapies", "amount": 500_00}]
BARE_SPEND = [{"category": "therapies", "amount": 1000_00, "description": "speech and language sessions"}]

# The measured cluster: the fill's first, so its budget has the longest history.
CLUSTER = cluster_id_of(0)
SCHOOL = Actor.school("bench-senco", school_of(0))
LEAD = Actor.cluster_lead("bench-lead", CLUSTER)
BARE_SCHOOL: dict[str, Any] = {"role": "school", "sub": "bench-senco", "school_urn": str(school_of(0))}
BARE_LEAD: dict[str, Any] = {"role": "cluster_lead", "sub": "bench-lead", "cluster_id": str(CLUSTER)}

Samples = dict[str, list[float]]


class Clock:
    """Times named steps into per-metric sample lists."""

    def __init__(self) -> None:
        self.samples: Samples = {metric: [] for metric in METRICS}

    @contextmanager
    def timing(self, metric: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.samples[metric].append(time.perf_counter() - started)


def ours_round(app: FundingApplication, ops: int) -> Samples:
    clock = Clock()
    for _ in range(ops):
        with clock.timing("submit"):
            request_id = workflow.submit(app, SCHOOL, YEAR)
        with clock.timing("evidence"):
            workflow.provide_evidence(app, SCHOOL, request_id)
        with clock.timing("approve"):
            workflow.approve(app, LEAD, request_id)
        with clock.timing("balance after approve"):
            app.read_models.balance(LEAD, CLUSTER, YEAR)
        with clock.timing("balances"):
            app.read_models.balances(FINANCE, YEAR)
        with clock.timing("requests page"):
            app.read_models.list_requests(LEAD, cluster_id=CLUSTER)
        with clock.timing("open queue"):
            queue = app.read_models.list_requests(LEAD, cluster_id=CLUSTER, status="evidenced")
        if len(queue.items) != OPEN_REQUESTS:
            raise RuntimeError(f"the open queue has {len(queue.items)} requests, not {OPEN_REQUESTS}")
    return clock.samples


def bare_round(app: BareApplication, ops: int) -> Samples:
    clock = Clock()
    budget_id = BareBudget.create_id(str(CLUSTER), BARE_YEAR)
    every_budget = [BareBudget.create_id(str(cluster_id_of(index)), BARE_YEAR) for index in range(CLUSTERS)]
    urn = BARE_SCHOOL["school_urn"]
    for _ in range(ops):
        with clock.timing("submit"):
            request_id = app.submit(urn, BARE_YEAR, 500_00, BARE_PROVISION, BARE_SCHOOL)
        with clock.timing("evidence"):
            app.provide_evidence(request_id, 6000_00, BARE_SPEND, workflow.DOCUMENTS, BARE_SCHOOL)
        with clock.timing("approve"):
            app.approve(request_id, 400_00, BARE_LEAD)
        with clock.timing("balance after approve"):
            app.find(budget_id)
        with clock.timing("balances"):
            for each in every_budget:
                app.find(each)
        for metric in ("requests page", "open queue"):
            with clock.timing(metric):
                app.recorder.select_notifications(max(head_of(app) - 49, 1), 50)
    return clock.samples


def read_side_of(app: FundingApplication) -> ReadSide:
    return app.read_side


def open_requests(app: FundingApplication) -> None:
    """Requests left waiting for the lead's decision, so the queue query has something to find."""
    for _ in range(OPEN_REQUESTS):
        workflow.provide_evidence(app, SCHOOL, workflow.submit(app, SCHOOL, YEAR))


def grow(app: FundingApplication, bare: BareApplication, size: int, kind: str) -> dict[str, float]:
    """Fill both stores to ``size`` events and catch our read models up, printing progress."""
    started = time.perf_counter()
    fill(app, size, progress=printing_progress(f"{kind} fill, ours"))
    filled = time.perf_counter()
    read_side = read_side_of(app)
    projector = read_side.projector
    head = head_of(app)
    start = min(projector.position(name) for name in projector.projections)
    steps = 10
    with read_side.saving():  # as the product's own catch-ups do, so no command interleaves
        for step in range(1, steps + 1):
            applied = (head - start) * step // steps
            catch_up_to(projector, start + applied)
            elapsed = time.perf_counter() - filled
            print(
                f"  {kind} read models: {start + applied:,}/{head:,} "
                f"({applied / elapsed:,.0f} events/s, {elapsed:,.0f}s)",
                flush=True,
            )
    caught_up = time.perf_counter()
    fill_bare(bare, size, progress=printing_progress(f"{kind} fill, bare"))
    done = time.perf_counter()
    return {
        "fill_seconds": round(filled - started, 1),
        "catch_up_seconds": round(caught_up - filled, 1),
        "bare_fill_seconds": round(done - caught_up, 1),
    }


def summarise(rounds_ours: list[Samples], rounds_bare: list[Samples]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for metric in METRICS:
        mine, theirs = round_medians(rounds_ours, metric), round_medians(rounds_bare, metric)
        figures[metric] = {
            "ours_ms": ms(Spread.of(mine)),
            "ours_p95_ms": round(p95([s for samples in rounds_ours for s in samples[metric]]) * 1000, 3),
            "bare_ms": ms(Spread.of(theirs)),
            "bare_p95_ms": round(p95([s for samples in rounds_bare for s in samples[metric]]) * 1000, 3),
            "ours_over_bare": ratios(mine, theirs).as_json(2),
        }
    return figures


def ratios(numerators: list[float], denominators: list[float]) -> Spread:
    """Ratios pair by pair (same round), so a slow moment on the machine hits both sides of a pair."""
    return Spread.of([a / b for a, b in zip(numerators, denominators, strict=True)])


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) > 1 else samples[0]


def ms(spread: Spread) -> dict[str, Any]:
    return Spread(spread.median * 1000, spread.low * 1000, spread.high * 1000, spread.runs).as_json(3)


@dataclass
class Subject:
    """One size: our store and the baseline's, filled and open."""

    size: int
    app: FundingApplication
    bare: BareApplication
    setup: dict[str, float]
    rounds_ours: list[Samples] = field(default_factory=list)
    rounds_bare: list[Samples] = field(default_factory=list)


def prepare(stack: ExitStack, kind: str, size: int) -> Subject:
    store = stack.enter_context(fresh_store(kind, f"growth{size}"))
    bare_store = stack.enter_context(fresh_store(kind, f"growthbare{size}"))
    app = bootstrap(Settings(database_url=database_url(store)))
    stack.callback(app.close)
    bare = bare_application(bare_store.library_env())
    stack.callback(bare.close)
    setup = grow(app, bare, size, kind)
    open_requests(app)
    read_side_of(app).make_fresh()
    return Subject(size, app, bare, setup)


def run_store(kind: str, sizes: list[int], rounds: int, ops: int) -> dict[str, Any]:
    with ExitStack() as stack:
        subjects = [prepare(stack, kind, size) for size in sizes]
        events = {subject.size: {"ours": head_of(subject.app), "bare": head_of(subject.bare)} for subject in subjects}
        print(
            f"{kind}: measuring {rounds} rounds of {ops} over "
            + ", ".join(f"{counts['ours']:,} (bare {counts['bare']:,})" for counts in events.values())
            + " events",
            flush=True,
        )
        for round_number in range(rounds):
            forwards = round_number % 2 == 0
            for subject in subjects if forwards else reversed(subjects):
                if forwards:
                    subject.rounds_ours.append(ours_round(subject.app, ops))
                    subject.rounds_bare.append(bare_round(subject.bare, ops))
                else:
                    subject.rounds_bare.append(bare_round(subject.bare, ops))
                    subject.rounds_ours.append(ours_round(subject.app, ops))
            print(f"  {kind}: round {round_number + 1}/{rounds} done", flush=True)

    by_size = [
        {
            "size": subject.size,
            "events": events[subject.size],
            **subject.setup,
            "metrics": summarise(subject.rounds_ours, subject.rounds_bare),
        }
        for subject in subjects
    ]
    smallest, largest = subjects[0], subjects[-1]
    growth = {}
    for metric in METRICS:
        ours_growth = ratios(round_medians(largest.rounds_ours, metric), round_medians(smallest.rounds_ours, metric))
        bare_growth = ratios(round_medians(largest.rounds_bare, metric), round_medians(smallest.rounds_bare, metric))
        growth[metric] = {
            "ours": ours_growth.as_json(2),
            "bare": bare_growth.as_json(2),
            "met": ours_growth.median <= TARGET,
        }
    return {"store": kind, "sizes": by_size, "largest_over_smallest": growth}


def round_medians(rounds: list[Samples], metric: str) -> list[float]:
    return [statistics.median(samples[metric]) for samples in rounds]


def text(figure: dict[str, Any]) -> str:
    return f"{figure['median']:.2f} ({figure['min']:.2f}-{figure['max']:.2f})"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--quick", action="store_true", help=f"sizes {', '.join(f'{s:,}' for s in QUICK_SIZES)}")
    parser.add_argument("--sizes", type=int, nargs="+", help="log sizes, smallest first (default 10k 100k 1M)")
    parser.add_argument("--rounds", type=int, help="rounds, each visiting every size (default 5; quick 3)")
    parser.add_argument("--ops", type=int, help="workflows and queries per round and side (default 60; quick 15)")
    args = parser.parse_args(argv)
    sizes = sorted(args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES))
    rounds = args.rounds or (3 if args.quick else 5)
    ops = args.ops or (15 if args.quick else 60)

    figures = [run_store(kind, sizes, rounds, ops) for kind in args.store or ["sqlite", "postgres"]]

    rows, growth_rows = [], []
    for figure in figures:
        for metric in METRICS:
            for at_size in figure["sizes"]:
                numbers = at_size["metrics"][metric]
                rows.append(
                    [
                        figure["store"],
                        metric,
                        f"{at_size['events']['ours']:,}",
                        text(numbers["ours_ms"]),
                        f"{numbers['ours_p95_ms']:.2f}",
                        text(numbers["bare_ms"]),
                        f"{numbers['bare_p95_ms']:.2f}",
                        text(numbers["ours_over_bare"]),
                    ]
                )
            growth = figure["largest_over_smallest"][metric]
            growth_rows.append(
                [
                    figure["store"],
                    metric,
                    text(growth["ours"]),
                    text(growth["bare"]),
                    verdict(growth["ours"]["median"], TARGET, at_most=True),
                ]
            )
    print()
    print(table(["store", "metric", "events", "ours ms", "ours p95", "bare ms", "bare p95", "ours / bare"], rows))
    print()
    print(
        table(
            ["store", "metric", f"ours {sizes[-1]:,} / {sizes[0]:,}", "bare, same", f"target <= {TARGET}x"], growth_rows
        )
    )
    summary = [
        summary_row(
            scenario="5 growth",
            store=figure["store"],
            measure=f"{metric} latency, {sizes[-1]:,} / {sizes[0]:,} events (bare beside)",
            ours=Spread.of_json(figure["largest_over_smallest"][metric]["ours"]),
            baseline=Spread.of_json(figure["largest_over_smallest"][metric]["bare"]),
            ratio=figure["largest_over_smallest"][metric]["ours"]["median"],
            target=f"<= {TARGET}x",
            met=figure["largest_over_smallest"][metric]["met"],
        )
        for figure in figures
        for metric in SUMMARY_METRICS
    ]
    result = {
        "scenario": 5,
        "summary": summary,
        "quick": args.quick,
        "sizes": sizes,
        "rounds": rounds,
        "ops_per_round": ops,
        "target": {"largest_over_smallest_at_most": TARGET},
        "figures": figures,
    }
    path = write_result("growth", result, quick=args.quick)
    print(f"written to {path}")
    return result


if __name__ == "__main__":
    main()
