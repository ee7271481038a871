"""Where a loaded server's time goes: py-spy samples of ``funding-engine serve`` under load.

    .venv/bin/pip install -e '.[profile]'
    .venv/bin/python -m bench.profile_server [--store sqlite|postgres] [--endpoint approve|submit] [--seconds 8]

Prepares a store as scenario 2 does, starts the server, drives it with ``bench.loadgen`` at 8
connections and records every thread of the server with py-spy (the server runs its routes on a
thread pool and the read-model follower on a thread of its own, so a main-thread profiler would
miss most of it). Prints the share of samples under each of a few frames we care about, and
keeps the raw folded stacks in bench/results/quick/ for a flame graph. Not part of the figures.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import database_url, fresh_store, results_folder
from bench.http_load import Load, Ours, approve_specs, drive, submit_specs
from bench.servers import free_port, running

# Frame names whose inclusive share of the samples is printed, in this order.
FRAMES = {
    "uvicorn / asyncio (HTTP parsing, event loop)": ("uvicorn/", "asyncio/", "httptools", "uvloop"),
    "FastAPI / Starlette (routing, validation, dependencies)": ("fastapi/", "starlette/", "pydantic/"),
    "route handlers (api/)": ("api/routes/",),
    "command: decide (domain + application)": ("decide (funding_engine/application/",),
    "command: save (library: encode + insert + commit)": ("save (eventsourcing/application.py",),
    "command: repository.get (library)": ("get (eventsourcing/application.py",),
    "read models: follower catch-up": ("_follow (funding_engine/read_side.py",),
    "logging (access log)": ("logging/",),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--endpoint", choices=["approve", "submit"], default="approve")
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        parser.error("py-spy is not installed: .venv/bin/pip install -e '.[profile]'")

    ours = Ours()
    contender = ours.contender()
    count = int(args.seconds * 600) + 200
    with fresh_store(args.store, "profile") as store, tempfile.TemporaryDirectory(prefix="profile-") as tmp:
        url = database_url(store)
        ids = contender.prepare(url, count * 10**6, count if args.endpoint == "approve" else 0)
        specs = approve_specs(contender, ids) if args.endpoint == "approve" else submit_specs(contender, count)
        port = free_port()
        out = results_folder(quick=True) / f"profile_{args.store}_{args.endpoint}.folded"
        out.parent.mkdir(parents=True, exist_ok=True)
        with running(contender.argv(port, 1), contender.env(url), port=port, label="ours") as server:
            recorder = subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(server.process.pid),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--duration",
                    str(int(args.seconds)),
                    "--output",
                    str(out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            report = drive(port, specs, Load(8, args.seconds), Path(tmp), "profile")
            recorder.wait(timeout=args.seconds + 30)
    print(
        f"{args.store} {args.endpoint}: {report['throughput']:.0f} req/s at 8 connections; "
        f"p99 {report['p99_ms']:.1f} ms"
    )
    shares, total = collections.Counter[str](), 0
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        samples = int(count_text)
        total += samples
        for label, needles in FRAMES.items():
            if any(needle in stack for needle in needles):
                shares[label] += samples
    print(f"{total} samples over every thread that was not idle; inclusive share of each:")
    for label in FRAMES:
        print(f"  {shares[label] / max(total, 1):6.1%}  {label}")
    print(f"folded stacks: {out}")


if __name__ == "__main__":
    main()
