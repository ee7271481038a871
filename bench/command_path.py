"""Scenario 1: the top-up workflow in process, ours beside the bare library.

    .venv/bin/python -m bench.command_path [--store sqlite|postgres] [--clients 1 8] [--seconds 3] [--repeats 3]

One workflow is what a school and its cluster lead do for one pupil's top-up: submit, provide
spend evidence, approve (which commits the amount on the cluster budget, saved together).
``clients`` threads run workflows against one hot budget for ``seconds``. Ours is the whole
product as deployed (``bootstrap``: permissions, validation, locks, read models inline, audit
chain); the clock stops only once the read models have caught up with every event written, so
the projection work is inside the figure. The baseline (``bench.baseline``) does the same gets
and saves with bare aggregates. Each run starts from a fresh store; runs alternate.
"""

from __future__ import annotations

import argparse
import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from bench import workflow as workflow_steps
from bench.baseline import BareBudget, BareMembership, bare_application
from bench.common import alternate, database_url, fresh_store, summary_row, table, verdict, write_result
from domain.values import Actor
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings

YEAR = "2026-27"
CLUSTER = "bench-cluster"
SCHOOLS = [f"{900000 + index:06d}" for index in range(8)]
COUNCIL = Actor.council("bench-council")
FINANCE = Actor.finance("bench-finance")
LEAD = Actor.cluster_lead("bench-lead", CLUSTER)
TARGET = 0.7


def run_clients(clients: int, seconds: float, workflow: Callable[[int], None]) -> int:
    """Run ``workflow(client)`` in ``clients`` threads until ``seconds`` pass; returns workflows done."""
    deadline = time.perf_counter() + seconds
    counts = [0] * clients
    errors: list[BaseException] = []

    def client(index: int) -> None:
        try:
            while time.perf_counter() < deadline:
                workflow(index)
                counts[index] += 1
        except BaseException as error:  # noqa: BLE001 - a benchmark that fails must say so, not report a rate
            errors.append(error)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sum(counts)


def ours(kind: str, clients: int, seconds: float) -> float:
    with fresh_store(kind, "cmd") as store:
        app = bootstrap(Settings(database_url=database_url(store)))
        try:
            app.register_cluster(COUNCIL, CLUSTER, "Bench cluster")
            for urn in SCHOOLS:
                app.add_school(COUNCIL, CLUSTER, urn)
            app.allocate_budget(FINANCE, CLUSTER, YEAR, "9000000.00", "bench allocation")

            def workflow(client: int) -> None:
                school = Actor.school(f"senco-{client}", SCHOOLS[client % len(SCHOOLS)])
                request_id = workflow_steps.submit(app, school, YEAR)
                workflow_steps.provide_evidence(app, school, request_id)
                workflow_steps.approve(app, LEAD, request_id)

            started = time.perf_counter()
            done = run_clients(clients, seconds, workflow)
            app.read_models.balance(LEAD, CLUSTER, YEAR)  # read models caught up: their work is in the figure
            elapsed = time.perf_counter() - started
            return done / elapsed
        finally:
            app.close()


def baseline(kind: str, clients: int, seconds: float) -> float:
    with fresh_store(kind, "bare") as store:
        app = bare_application(store.library_env())
        try:
            actor = {"role": "council", "sub": "bench-council"}
            budget = BareBudget(CLUSTER, 2026, actor)
            budget.allocate(900000000, "bench allocation", actor)
            memberships = []
            for urn in SCHOOLS:
                membership = BareMembership(urn)
                membership.join(CLUSTER, actor)
                memberships.append(membership)
            app.save(budget, *memberships)
            locks: dict[Any, threading.Lock] = {}
            guard = threading.Lock()

            def lock_for(key: Any) -> threading.Lock:
                with guard:
                    return locks.setdefault(key, threading.Lock())

            def workflow(client: int) -> None:
                school = {"role": "school", "sub": f"senco-{client}", "school_urn": SCHOOLS[client % len(SCHOOLS)]}
                lead = {"role": "cluster_lead", "sub": "bench-lead", "cluster_id": CLUSTER}
                request_id = app.submit(
                    school["school_urn"], 2026, 500_00, [{"category": "therapies", "amount": 500_00}], school
                )
                app.provide_evidence(
                    request_id,
                    6000_00,
                    [{"category": "therapies", "amount": 1000_00, "description": "sessions"}],
                    workflow_steps.DOCUMENTS,
                    school,
                )
                # The same in-process lock on the hot budget as ours, so neither side retries in a storm.
                with lock_for(budget.id):
                    app.approve(request_id, 400_00, lead)

            started = time.perf_counter()
            done = run_clients(clients, seconds, workflow)
            return done / (time.perf_counter() - started)
        finally:
            app.close()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--clients", type=int, nargs="+")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--quick", action="store_true", help="8 clients only, 2 runs of 2 s each side")
    args = parser.parse_args(argv)
    args.clients = args.clients or ([8] if args.quick else [1, 8])
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    args.repeats = args.repeats or (2 if args.quick else 5)
    rows, figures, summary = [], [], []
    for kind in args.store or ["sqlite", "postgres"]:
        for clients in args.clients:
            mine, theirs, ratio = alternate(
                functools.partial(ours, kind, clients, args.seconds),
                functools.partial(baseline, kind, clients, args.seconds),
                args.repeats,
            )
            summary.append(
                summary_row(
                    scenario="1 command path",
                    store=kind,
                    measure=f"workflows/s, {clients} clients",
                    ours=mine,
                    baseline=theirs,
                    ratio=ratio,
                    target=f"ratio >= {TARGET}",
                    met=ratio.median >= TARGET,
                )
            )
            figures.append(
                {
                    "store": kind,
                    "clients": clients,
                    "ours_workflows_per_second": mine.as_json(),
                    "baseline_workflows_per_second": theirs.as_json(),
                    "ratio": ratio.as_json(3),
                    "target": TARGET,
                    "met": ratio.median >= TARGET,
                }
            )
            rows.append([kind, clients, str(mine), str(theirs), f"{ratio.median:.2f}", verdict(ratio.median, TARGET)])
            print(rows[-1], flush=True)
    print(table(["store", "clients", "ours workflows/s", "bare library workflows/s", "ratio", "target 0.7"], rows))
    result = {
        "scenario": 1,
        "seconds_per_run": args.seconds,
        "repeats": args.repeats,
        "figures": figures,
        "summary": summary,
    }
    write_result("command_path", result, quick=args.quick)
    return result


if __name__ == "__main__":
    main()
