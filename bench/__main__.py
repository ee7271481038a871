"""Every benchmark in one run: ``make bench`` (quick, 3-4 minutes on 2 cores) or ``make bench-full``.

    .venv/bin/python -m bench [--full] [--store sqlite|postgres ...] [--only NAME ...]

Each scenario runs in its own process (so one's memory and threads never colour another's
figures), on each store, and writes its figures as JSON. This runner then prints one table: every
figure beside its baseline, the ratio, the target and whether it was met. Quick runs write to
bench/results/quick/ (not committed); full runs to bench/results/, which docs/PERFORMANCE.md quotes.
PostgreSQL is the server in FUNDING_ENGINE_BENCH_POSTGRES_URL (else FUNDING_ENGINE_TEST_POSTGRES_URL,
else postgres@127.0.0.1:5432); if it does not answer, the PostgreSQL half is skipped and the
summary says so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import postgres_answers, postgres_url, results_folder, summary_table

# (module, results file, what it measures)
SCENARIOS = [
    ("command_path", "command_path", "1: the top-up workflow in process"),
    ("http_load", "http_load", "2 and 6: HTTP load, and scale-out on PostgreSQL"),
    ("projection_catch_up", "projection_catch_up", "3: read-model catch-up and rebuild"),
    ("long_histories", "long_histories", "4: loading long budget histories"),
    ("growth", "growth", "5: latency as the store grows"),
    ("web_pages", "web_pages", "7: web pages over 10,000 requests"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="the full run (tens of minutes), not the quick one")
    parser.add_argument("--store", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--only", choices=[name for name, _, _ in SCENARIOS], action="append")
    args = parser.parse_args()

    root = Path(__file__).parent
    results = results_folder(quick=not args.full)
    results.mkdir(parents=True, exist_ok=True)
    stores = args.store or ["sqlite", "postgres"]
    notes: list[str] = []
    if "postgres" in stores and not postgres_answers():
        stores.remove("postgres")
        notes.append(f"PostgreSQL at {postgres_url()} did not answer: its half was NOT measured.")
        print(notes[-1], file=sys.stderr)
    if not stores:
        print("no store to measure", file=sys.stderr)
        return 2

    summary: list[dict[str, Any]] = []
    failed: list[str] = []
    started = time.monotonic()
    for module, result_name, what in SCENARIOS:
        if args.only and module not in args.only:
            continue
        command = [sys.executable, "-m", f"bench.{module}", *(() if args.full else ("--quick",))]
        for store in stores:
            command += ["--store", store]
        print(f"\n=== scenario {what}: {' '.join(command[1:])}", flush=True)
        began = time.monotonic()
        outcome = subprocess.run(command, cwd=root.parent)
        if outcome.returncode != 0:
            failed.append(module)
            print(f"!!! bench.{module} failed with exit code {outcome.returncode}", file=sys.stderr)
            continue
        print(f"=== {module} took {time.monotonic() - began:.0f}s", flush=True)
        path = results / f"{result_name}.json"
        if path.exists():
            summary.extend(json.loads(path.read_text()).get("summary", []))

    print(
        f"\nAll figures beside their baselines ({'full' if args.full else 'quick'} run, "
        f"{time.monotonic() - started:.0f}s; medians with the range over repeated runs):\n"
    )
    print(summary_table(summary))
    for note in notes:
        print(f"\nNOTE: {note}")
    unmet = [row for row in summary if not row["met"]]
    if unmet:
        print(f"\n{len(unmet)} of {len(summary)} targets not met; docs/PERFORMANCE.md explains where the time goes.")
    (results / "summary.json").write_text(
        json.dumps({"rows": summary, "notes": notes, "failed": failed}, indent=2) + "\n"
    )
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
