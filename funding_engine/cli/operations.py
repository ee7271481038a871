"""The operator's commands: the read models (run, status, rebuild), finance (reconcile, ledger),
the audit chain (verify, anchor) and the council's register imports. ``funding_engine.cli`` parses
and wires them.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable

from domain.values import Actor
from funding_engine.application import FundingApplication, ImportRefused
from funding_engine.bootstrap import bootstrap, start_anchoring
from funding_engine.cli.failures import require_existing_database
from funding_engine.cli.reconciliation_report import print_reconciliation
from funding_engine.settings import Settings
from projections.engine import ProjectionBusy

# The command line is an operator's tool on the server itself. It reads as finance (balances,
# reconciliation, ledger) or as the council (audit); none of these readers is recorded on an event.
CLI_READER = Actor.finance("funding-engine-cli")
CLI_AUDITOR = Actor.council("funding-engine-cli")
# An import writes events, each recording who: the officer named with --as, or this tool.
CLI_IMPORTER_SUB = "funding-engine-cli"


def run_projection_worker(args: argparse.Namespace, settings: Settings) -> int:
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    with bootstrap(settings) as app:
        start_anchoring(app, settings)
        projector = app.read_side.projector
        names = ", ".join(projector.projections)
        print(f"projection worker on {settings.store.describe()}: {names}", flush=True)
        applied = 0

        def report(count: int) -> None:
            nonlocal applied
            applied += count
            print(f"applied {count} events (total {applied}); log head {projector.source.head()}", flush=True)

        try:
            projector.run_worker(poll_interval=args.poll, stop=stop, on_batch=report)
        except ProjectionBusy as error:
            print(f"funding-engine: {error}", file=sys.stderr)
            return 1
    print("projection worker stopped", flush=True)
    return 0


def run_projection_status(args: argparse.Namespace, settings: Settings) -> int:
    with bootstrap(settings) as app:
        statuses = app.read_side.projector.status()
    width = max(len(status.name) for status in statuses)
    print(f"{'projection':<{width}}  {'position':>10}  {'head':>10}  {'lag':>8}")
    for status in statuses:
        print(f"{status.name:<{width}}  {status.position:>10}  {status.head:>10}  {status.lag:>8}")
    return 0


def run_projection_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    with bootstrap(settings) as app:
        projector = app.read_side.projector
        names = [args.name] if args.name else list(projector.projections)
        unknown = [name for name in names if name not in projector.projections]
        if unknown:
            print(
                f"funding-engine: no projection called {unknown[0]}; known: {', '.join(projector.projections)}",
                file=sys.stderr,
            )
            return 2
        if "audit_chain" in names and not args.force:
            # Re-chaining an altered log would make it verify again and hide the alteration.
            result = app.verify_audit_chain(CLI_AUDITOR).chain
            if not result.ok:
                print(
                    f"funding-engine: the audit chain reports an alteration at position {result.first_bad_position}; "
                    "rebuilding it would hide that. Investigate first; --force rebuilds anyway.",
                    file=sys.stderr,
                )
                return 1
        for name in names:
            started = time.perf_counter()
            try:
                count = projector.rebuild(name, progress=_progress_bar(name))
            except ProjectionBusy as error:
                print(f"\nfunding-engine: {error}", file=sys.stderr)
                return 1
            seconds = time.perf_counter() - started
            rate = count / seconds if seconds > 0 else 0.0
            print(
                f"\rrebuilt {name}: {count} events in {seconds:.2f}s ({rate:,.0f} events/s)" + " " * 20, file=sys.stderr
            )
    return 0


def _progress_bar(name: str, width: int = 30) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        filled = width if total == 0 else width * done // total
        percent = 100 if total == 0 else 100 * done // total
        bar = "#" * filled + "." * (width - filled)
        print(f"\r{name:<18} [{bar}] {percent:3d}% {done}/{total} events", end="", file=sys.stderr, flush=True)

    return show


def run_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    with bootstrap(settings) as app:
        result = app.read_models.reconcile(CLI_READER, args.year)
    print_reconciliation(result, sys.stdout)
    return 0 if result.consistent else 1


def run_ledger(args: argparse.Namespace, settings: Settings) -> int:
    with bootstrap(settings) as app:
        if args.output == "-":
            app.read_models.write_ledger_csv(CLI_READER, args.year, sys.stdout)
            return 0
        with open(args.output, "w", newline="", encoding="utf-8") as out:
            count = app.read_models.write_ledger_csv(CLI_READER, args.year, out)
    print(f"wrote {count} ledger lines for {args.year} to {args.output}", file=sys.stderr)
    return 0


def run_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    with bootstrap(settings) as app:
        report = app.verify_audit_chain(CLI_AUDITOR, args.anchor)
    chain = report.chain
    print(f"ok: {'true' if report.ok else 'false'}")
    print(f"events_checked: {chain.events_checked}")
    print(f"head: {chain.head}")
    print(f"first_bad_position: {'null' if chain.first_bad_position is None else chain.first_bad_position}")
    print(f"snapshots_checked: {report.snapshots.checked}")
    for bad in report.snapshots.bad:
        print(f"bad snapshot: {bad.aggregate_id} version {bad.version}: {bad.problem}")
    for check in report.anchors:
        where = f" (position {check.anchor.position})" if check.anchor else ""
        print(f"anchor {check.source}{where}: {'ok' if check.ok else 'FAILED: ' + str(check.problem)}")
    return 0 if report.ok else 1


def run_audit_anchor(args: argparse.Namespace, settings: Settings) -> int:
    if args.to is None and settings.audit_anchor_dir is None:
        # Said before whether there is a log to anchor: it is what the command was not told.
        print(
            "funding-engine: say where to write the anchor (--to FILE|DIR, or FUNDING_ENGINE_AUDIT_ANCHOR_DIR)",
            file=sys.stderr,
        )
        return 1
    require_existing_database(settings.store)
    with bootstrap(settings) as app:
        anchor, path = app.anchor_audit_chain(CLI_AUDITOR, args.to)
    # Printed as well, so it can be copied into the minutes of a meeting or an email to the auditor.
    print(json.dumps(anchor.fields(), indent=2))
    print(f"wrote the anchor to {path}", file=sys.stderr)
    return 0


def run_clusters_import(args: argparse.Namespace, settings: Settings) -> int:
    def run(app: FundingApplication, actor: Actor, data: bytes) -> str:
        done = app.import_clusters(actor, data)
        return f"{done.registered} registered, {done.renamed} renamed, {done.unchanged} unchanged"

    return _import(args, settings, "clusters", run)


def run_schools_import(args: argparse.Namespace, settings: Settings) -> int:
    def run(app: FundingApplication, actor: Actor, data: bytes) -> str:
        done = app.import_schools(actor, data)
        return f"{done.registered} registered, {done.updated} updated, {done.moved} moved, {done.unchanged} unchanged"

    return _import(args, settings, "schools", run)


def _import(
    args: argparse.Namespace,
    settings: Settings,
    register: str,
    run: Callable[[FundingApplication, Actor, bytes], str],
) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as error:
        print(f"funding-engine: cannot read {args.file}: {error.strerror or error}", file=sys.stderr)
        return 1
    actor = Actor.council(args.staff_id)
    with bootstrap(settings) as app:
        try:
            summary = run(app, actor, data)
        except ImportRefused as refused:
            count = len(refused.bad_rows)
            print(
                f"funding-engine: {args.file} was not imported: {count} problem{'s' if count != 1 else ''}; "
                "nothing was changed.",
                file=sys.stderr,
            )
            for bad in refused.bad_rows:
                print(f"  {bad}", file=sys.stderr)
            return 1
    print(f"imported {register} from {args.file}: {summary}")
    return 0
