"""Scenario 3: read-model catch-up beside the raw rate of reading the same log; rebuild time and memory.

    .venv/bin/python -m bench.projection_catch_up --quick                  # 20,000 events, both stores
    .venv/bin/python -m bench.projection_catch_up [--store sqlite|postgres] [--events 1000000]

Targets: catch-up of all read models together at least 0.3 of the rate of reading and mapping the
same notifications without applying them; a rebuild of 1,000,000 events with memory flat as the
log grows (RSS at 100% of the log within 10% of RSS at 10%) and under 300 MB.

The parent fills a fresh store through ``FundingApplication.save()`` (``bench.fill``), then starts
a fresh process on that store (``--measure URL``) so nothing the fill allocated is in the
memory figures. That process measures, in order:

1. rebuild, all together: every read model emptied, then caught up from position 0 in ten equal
   steps, sampling this process's current RSS after each (10%, 20%, ... 100% of the log);
2. read + map of the whole log once, beside it: the whole-log ratio;
3. the same pair on the first ``--window`` events, ``--repeats`` times alternating (each catch-up
   from emptied read models): the ratio the target is judged on, as median (min-max);
4. rebuild one at a time, the way ``funding-engine projections rebuild`` does it, with RSS
   sampled at each batch through its progress callback (``--rebuild-each``; off unless asked for).

Full mode (1,000,000 events) takes roughly 5 minutes on SQLite and 10 on PostgreSQL on an idle
2-core machine, most of it filling the store (twice that with ``--rebuild-each``); ``--events``
sets the size. Nothing
here asserts time; figures are printed and written to bench/results/ (``--quick`` runs to
bench/results/quick/, so they never overwrite a full run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    Spread,
    alternate,
    database_url,
    fresh_store,
    process_rss_mb,
    summary_row,
    table,
    verdict,
    write_result,
)
from bench.fill import catch_up_in_steps, catch_up_to, fill, printing_progress, reset_read_models
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings
from projections.engine import NotificationSource, Projector

QUICK_EVENTS = 20_000
FULL_EVENTS = 1_000_000
QUICK_WINDOW = 2_500
FULL_WINDOW = 100_000
TARGET_RATIO = 0.3
TARGET_PEAK_MB = 300.0
# "Flat": RSS once the whole log is applied at most this much above RSS at the first tenth.
TARGET_FLAT = 1.10
STEPS = 10
ROOT = Path(__file__).resolve().parent.parent


def current_rss_mb() -> float:
    return process_rss_mb(os.getpid())[0]


def peak_rss_of_this_process_mb() -> float:
    return process_rss_mb(os.getpid())[1]


def measure_read(source: NotificationSource, stop: int, batch_size: int = 500) -> float:
    """Events/s of selecting notifications up to ``stop`` and mapping each to its domain event."""
    started = time.perf_counter()
    after = 0
    while after < stop and (batch := source.select(after, min(batch_size, stop - after))):
        for notification in batch:
            source.to_event(notification)
        after = batch[-1].id
    return after / (time.perf_counter() - started)


def sample_at(samples: Sequence[tuple[int, float]], head: int, fraction: float) -> float:
    """RSS of the first sample taken at or beyond ``fraction`` of the log."""
    for position, rss in samples:
        if position >= head * fraction:
            return rss
    return samples[-1][1]


def rebuild_together(projector: Projector, head: int) -> dict[str, Any]:
    reset_read_models(projector)
    samples: list[tuple[int, float]] = []

    def on_step(position: int, seconds: float) -> None:
        samples.append((position, current_rss_mb()))
        print(
            f"  rebuild together: {position:,}/{head:,} in {seconds:,.1f}s, RSS {samples[-1][1]:.0f} MB",
            file=sys.stderr,
            flush=True,
        )

    seconds = catch_up_in_steps(projector, head, STEPS, on_step)
    return {
        "seconds": round(seconds, 2),
        "events_per_second": round(head / seconds),
        "rss_mb_by_tenth": [round(rss, 1) for _, rss in samples],
        "rss_mb_at_10": round(sample_at(samples, head, 0.1), 1),
        "rss_mb_at_50": round(sample_at(samples, head, 0.5), 1),
        "rss_mb_at_100": round(samples[-1][1], 1),
    }


def rebuild_each(projector: Projector, head: int) -> dict[str, Any]:
    """What ``funding-engine projections rebuild`` does: one projection after another."""
    models: dict[str, Any] = {}
    total = 0.0
    for name in projector.projections:
        samples: list[tuple[int, float]] = []

        def progress(done: int, _total: int, samples: list[tuple[int, float]] = samples) -> None:
            samples.append((done, current_rss_mb()))

        started = time.perf_counter()
        projector.rebuild(name, progress=progress)
        seconds = time.perf_counter() - started
        total += seconds
        models[name] = {
            "seconds": round(seconds, 2),
            "events_per_second": round(head / seconds),
            "rss_mb_at_10": round(sample_at(samples, head, 0.1), 1),
            "rss_mb_at_50": round(sample_at(samples, head, 0.5), 1),
            "rss_mb_at_100": round(samples[-1][1], 1),
        }
        print(
            f"  rebuild {name}: {seconds:,.1f}s ({head / seconds:,.0f} events/s), RSS {samples[-1][1]:.0f} MB",
            file=sys.stderr,
            flush=True,
        )
    return {"seconds": round(total, 2), "models": models}


def measure(url: str, *, window: int, repeats: int, each: bool) -> dict[str, Any]:
    """The measured phase, run in a process of its own on a store already filled."""
    app = bootstrap(Settings(database_url=url))
    projector = app.read_side.projector
    source = projector.source
    try:
        head = source.head()
        window = min(window, head)
        result: dict[str, Any] = {"events": head, "rss_mb_before": round(current_rss_mb(), 1)}

        result["rebuild_together"] = rebuild_together(projector, head)
        result["peak_rss_mb_after_rebuild_together"] = round(peak_rss_of_this_process_mb(), 1)
        read_rate = measure_read(source, head)
        result["whole_log"] = {
            "read_events_per_second": round(read_rate),
            "catch_up_events_per_second": result["rebuild_together"]["events_per_second"],
            "ratio": round(result["rebuild_together"]["events_per_second"] / read_rate, 3),
        }

        def catch_up_rate() -> float:
            reset_read_models(projector)  # not timed: the state before a first catch-up
            started = time.perf_counter()
            catch_up_to(projector, window)
            return window / (time.perf_counter() - started)

        catch_up, read, ratio = alternate(catch_up_rate, lambda: measure_read(source, window), repeats)
        result["window"] = {
            "events": window,
            "read_events_per_second": read.as_json(0),
            "catch_up_events_per_second": catch_up.as_json(0),
            "ratio": ratio.as_json(3),
        }
        print(
            f"  first {window:,} events x{repeats}: catch-up {catch_up} /s, read {read} /s, ratio {ratio.median:.3f}",
            file=sys.stderr,
            flush=True,
        )
        if each:
            result["rebuild_each"] = rebuild_each(projector, head)
        result["peak_rss_mb"] = round(peak_rss_of_this_process_mb(), 1)
        return result
    finally:
        app.close()


def measure_in_subprocess(url: str, *, window: int, repeats: int, each: bool) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.projection_catch_up",
        "--measure",
        url,
        "--window",
        str(window),
        "--repeats",
        str(repeats),
    ]
    command.append("--rebuild-each" if each else "--no-rebuild-each")
    # stderr passes through (progress); stdout carries one JSON document.
    completed = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    measured: dict[str, Any] = json.loads(completed.stdout)
    return measured


def run_store(kind: str, events: int, window: int, repeats: int, each: bool) -> dict[str, Any]:
    with fresh_store(kind, "catchup") as store:
        # Worker mode, and no worker: the fill leaves the read models to the measured phase.
        app = bootstrap(Settings(database_url=database_url(store), projections="worker"))
        try:
            started = time.perf_counter()
            head = fill(app, events, progress=printing_progress(f"{kind} fill"))
            fill_seconds = time.perf_counter() - started
        finally:
            app.close()
        print(
            f"{kind}: filled {head:,} events in {fill_seconds:.1f}s ({head / fill_seconds:,.0f} events/s)", flush=True
        )
        measured = measure_in_subprocess(database_url(store), window=window, repeats=repeats, each=each)
    return {"store": kind, "write_events_per_second": round(head / fill_seconds), **measured}


def judge(figure: dict[str, Any]) -> dict[str, Any]:
    together = figure["rebuild_together"]
    flat = together["rss_mb_at_100"] / together["rss_mb_at_10"]
    return {
        "ratio_met": figure["window"]["ratio"]["median"] >= TARGET_RATIO,
        "memory_flat": round(flat, 3),
        "memory_met": flat <= TARGET_FLAT and figure["peak_rss_mb"] < TARGET_PEAK_MB,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:,} events, window {QUICK_WINDOW:,}")
    parser.add_argument("--events", type=int, help=f"log size (default {FULL_EVENTS:,}; quick {QUICK_EVENTS:,})")
    parser.add_argument(
        "--window", type=int, help=f"events per catch-up/read pair (default {FULL_WINDOW:,}; quick {QUICK_WINDOW:,})"
    )
    parser.add_argument("--repeats", type=int, default=3, help="alternating catch-up/read pairs (default 3)")
    parser.add_argument(
        "--rebuild-each",
        action=argparse.BooleanOptionalAction,
        help="also rebuild one projection at a time, as the CLI does (five more passes; default off)",
    )
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)  # the measuring child process
    args = parser.parse_args(argv)

    window = args.window or (QUICK_WINDOW if args.quick else FULL_WINDOW)
    if args.measure:
        measured = measure(args.measure, window=window, repeats=args.repeats, each=bool(args.rebuild_each))
        print(json.dumps(measured))
        return measured

    events = args.events or (QUICK_EVENTS if args.quick else FULL_EVENTS)
    # Five more passes over the log (what `projections rebuild NAME` does, one model at a time): asked for.
    each = bool(args.rebuild_each)
    figures = []
    for kind in args.store or ["sqlite", "postgres"]:
        figure = run_store(kind, events, window, args.repeats, each)
        figure.update(judge(figure))
        figures.append(figure)

    ratio_rows, memory_rows = [], []
    for figure in figures:
        part = figure["window"]
        ratio = part["ratio"]
        ratio_rows.append(
            [
                figure["store"],
                f"{part['events']:,} x{ratio['runs']}",
                spread_text(part["read_events_per_second"]),
                spread_text(part["catch_up_events_per_second"]),
                f"{ratio['median']:.3f} ({ratio['min']:.3f}-{ratio['max']:.3f})",
                f"{figure['whole_log']['ratio']:.3f}",
                verdict(ratio["median"], TARGET_RATIO),
            ]
        )
        together = figure["rebuild_together"]
        rebuilt_each = figure.get("rebuild_each")
        memory_rows.append(
            [
                figure["store"],
                f"{figure['events']:,}",
                f"{together['seconds']:,.1f} ({together['events_per_second']:,}/s)",
                f"{rebuilt_each['seconds']:,.1f}" if rebuilt_each else "skipped",
                f"{figure['rss_mb_before']:.0f}",
                f"{together['rss_mb_at_10']:.0f} / {together['rss_mb_at_50']:.0f} / {together['rss_mb_at_100']:.0f}",
                f"{figure['peak_rss_mb']:.0f}",
                "met" if figure["memory_met"] else "NOT met",
            ]
        )
    print()
    print(
        table(
            [
                "store",
                "window x runs",
                "read + map events/s",
                "catch-up events/s",
                "catch-up / read",
                "whole log, once",
                f"target >= {TARGET_RATIO}",
            ],
            ratio_rows,
        )
    )
    print()
    print(
        table(
            [
                "store",
                "events",
                "rebuild all together s",
                "rebuild one by one s",
                "RSS before MB",
                "RSS at 10/50/100% MB",
                "peak MB",
                f"target flat, < {TARGET_PEAK_MB:.0f} MB",
            ],
            memory_rows,
        )
    )
    summary = []
    for figure in figures:
        part, together = figure["window"], figure["rebuild_together"]
        summary.append(
            summary_row(
                scenario="3 projections",
                store=figure["store"],
                measure="catch-up vs read + map, events/s",
                ours=Spread.of_json(part["catch_up_events_per_second"]),
                baseline=Spread.of_json(part["read_events_per_second"]),
                ratio=part["ratio"]["median"],
                target=f"ratio >= {TARGET_RATIO}",
                met=figure["ratio_met"],
            )
        )
        summary.append(
            summary_row(
                scenario="3 projections",
                store=figure["store"],
                measure=f"rebuild {figure['events']:,} events: RSS MB at 10% / 100% (peak)",
                ours=f"{together['rss_mb_at_10']:.0f} / {together['rss_mb_at_100']:.0f} ({figure['peak_rss_mb']:.0f}); "
                f"{together['seconds']:,.0f} s",
                baseline=None,
                ratio=figure["memory_flat"],
                target=f"flat (<= {TARGET_FLAT}x), < {TARGET_PEAK_MB:.0f} MB",
                met=figure["memory_met"],
            )
        )
    result = {
        "scenario": 3,
        "summary": summary,
        "quick": args.quick,
        "targets": {"catch_up_over_read": TARGET_RATIO, "peak_rss_mb": TARGET_PEAK_MB, "rss_100_over_10": TARGET_FLAT},
        "figures": figures,
    }
    path = write_result("projection_catch_up", result, quick=args.quick)
    print(f"written to {path}")
    return result


def spread_text(figure: dict[str, Any]) -> str:
    return f"{figure['median']:,.0f} ({figure['min']:,.0f}-{figure['max']:,.0f})"


if __name__ == "__main__":
    main()
