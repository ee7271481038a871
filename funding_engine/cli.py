"""The ``funding-engine`` command line.

Settings come from the environment (``FUNDING_ENGINE_DATABASE_URL``); a bad setting stops the
command with a one-line explanation and exit status 2, before anything connects.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.errors import FundingError
from domain.formatting import pounds
from domain.values import Actor, FinancialYear, Role
from funding_engine import demo, dev_mode
from funding_engine.application import FundingApplication
from funding_engine.bootstrap import bootstrap, start_anchoring
from funding_engine.reconciliation_report import print_reconciliation
from funding_engine.settings import GENERATE_A_SECRET, Settings
from projections.engine import ProjectionBusy, ProjectionError
from projections.unreadable import LogUnreadable

# The command line is an operator's tool on the server itself. It reads as finance (balances,
# reconciliation, ledger) or as the council (audit); none of these readers is recorded on an event.
CLI_READER = Actor.finance("funding-engine-cli")
CLI_AUDITOR = Actor.council("funding-engine-cli")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 0
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors())
        print(f"funding-engine: bad settings: {problems}", file=sys.stderr)
        return 2
    try:
        return int(args.handler(args, settings) or 0)
    except (FundingError, ProjectionError, LogUnreadable) as error:
        print(f"funding-engine: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="funding-engine",
        description="SEND top-up funding engine: decide, fund, audit and reconcile top-up funding.",
        epilog="Settings: FUNDING_ENGINE_DATABASE_URL (default sqlite:///var/funding.sqlite3).",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo_parser = commands.add_parser("demo", help="load a fictional year of data (once) and print the balances")
    demo_parser.add_argument("--year", type=_year, default=None, help="financial year, e.g. 2026-27 (default: current)")
    demo_parser.set_defaults(handler=run_demo)

    balances = commands.add_parser("balances", help="print every cluster's budget and the council fund for a year")
    balances.add_argument("--year", type=_year, default=None, help="financial year, e.g. 2026-27 (default: current)")
    balances.set_defaults(handler=run_balances)

    serve = commands.add_parser("serve", help="serve the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    serve.add_argument(
        "--dev",
        action="store_true",
        help=(
            f"development only: serve the demo data from its own file ({dev_mode.DEV_DATABASE_PATH}) with a fresh "
            "throwaway token secret, and print demo tokens; refused when a database, token secret or "
            "audit key is configured"
        ),
    )
    serve.set_defaults(handler=run_serve)

    token = commands.add_parser("token", help="print a bearer token signed with FUNDING_ENGINE_JWT_SECRET")
    token.add_argument("--role", required=True, choices=[role.value for role in Role])
    token.add_argument(
        "--sub",
        required=True,
        help="the staff id of the one person the token is for: idempotency keys and the audit trail "
        "are scoped by it, so two people must never share one",
    )
    token.add_argument("--school-urn", default=None, help="for --role school")
    token.add_argument("--cluster-id", default=None, help="for --role cluster_lead")
    token.add_argument(
        "--minutes",
        type=_positive_minutes,
        default=60,
        help="lifetime in minutes (default 60; at most FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES, default 720)",
    )
    token.set_defaults(handler=run_token)

    projections = commands.add_parser("projections", help="run, inspect or rebuild the read models")
    projection_commands = projections.add_subparsers(title="projection commands", metavar="ACTION", required=True)
    worker = projection_commands.add_parser("run", help="follow the log and keep every read model current")
    worker.add_argument("--poll", type=float, default=0.2, help="seconds between polls when idle (default 0.2)")
    worker.set_defaults(handler=run_projection_worker)
    status = projection_commands.add_parser("status", help="position and lag of each read model")
    status.set_defaults(handler=run_projection_status)
    rebuild = projection_commands.add_parser("rebuild", help="drop a read model and rebuild it from the log")
    rebuild.add_argument("name", nargs="?", help="one projection (default: all)")
    rebuild.add_argument(
        "--force",
        action="store_true",
        help="rebuild the audit chain even though it reports tampering (this re-chains the altered log)",
    )
    rebuild.set_defaults(handler=run_projection_rebuild)

    finance = commands.add_parser("finance", help="reconciliation and the ledger")
    finance_commands = finance.add_subparsers(title="finance commands", metavar="ACTION", required=True)
    reconcile = finance_commands.add_parser("reconcile", help="read models against the log; exit 1 if they differ")
    reconcile.add_argument("--year", type=_year, required=True, help="financial year, e.g. 2026-27")
    reconcile.set_defaults(handler=run_reconcile)
    ledger = finance_commands.add_parser("ledger", help="every money movement of a year")
    ledger.add_argument("--year", type=_year, required=True, help="financial year, e.g. 2026-27")
    ledger.add_argument("--format", choices=["csv"], default="csv", help="output format (csv)")
    ledger.add_argument("--output", "-o", default="-", help="file to write (default: standard output)")
    ledger.set_defaults(handler=run_ledger)

    audit = commands.add_parser("audit", help="the tamper-evident audit chain")
    audit_commands = audit.add_subparsers(title="audit commands", metavar="ACTION", required=True)
    verify = audit_commands.add_parser(
        "verify", help="rehash the stored log, check every snapshot and the anchors; exit 1 if anything was altered"
    )
    verify.add_argument(
        "--anchor",
        type=Path,
        default=None,
        help="an anchor file, or a folder of them (default: FUNDING_ENGINE_AUDIT_ANCHOR_DIR, if set)",
    )
    verify.set_defaults(handler=run_audit_verify)
    anchor = audit_commands.add_parser(
        "anchor", help="write the chain's head (position, hash, time, HMAC) to a file or folder outside the database"
    )
    anchor.add_argument(
        "--to", type=Path, default=None, help="a new file, or a folder (default: FUNDING_ENGINE_AUDIT_ANCHOR_DIR)"
    )
    anchor.set_defaults(handler=run_audit_anchor)
    return parser


def _year(value: str) -> FinancialYear:
    try:
        return FinancialYear.parse(value)
    except FundingError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_minutes(value: str) -> int:
    try:
        minutes = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of minutes, got {value!r}") from None
    if minutes < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return minutes


def _current_year(args: argparse.Namespace) -> FinancialYear:
    return args.year or FinancialYear.containing(date.today())


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    year = _current_year(args)
    print(f"Store: {settings.store.describe()}")
    with bootstrap(settings) as app:
        if demo.is_loaded(app):
            print("The demo data is already loaded; showing the balances.")
        else:
            demo.load(app, year)
        print_balances(app, year)
    return 0


def run_balances(args: argparse.Namespace, settings: Settings) -> int:
    with bootstrap(settings) as app:
        print_balances(app, _current_year(args))
    return 0


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.dev:
        refused = dev_mode.refusal(settings)
        if refused:
            print(f"funding-engine: {refused}", file=sys.stderr)
            return 2
        dev_mode.start(args.host, args.port)
    elif settings.jwt_secret is None:
        print(
            "funding-engine: FUNDING_ENGINE_JWT_SECRET is not set; set a secret of 32+ characters "
            f"(generate one with: {GENERATE_A_SECRET}), "
            "or use --dev for a throwaway one on a development machine",
            file=sys.stderr,
        )
        return 2
    # Uvicorn drains and closes on SIGTERM, then re-raises the signal for the handler it found;
    # under the default handler a clean stop would end with status -15. A stop that was asked for
    # is a success: exit 0 (this also covers a SIGTERM that arrives before uvicorn is listening).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    from api.http_protocol import bounded_protocol

    uvicorn.run(
        "funding_engine.server:create_from_environment",
        factory=True,
        # Uvicorn's own protocol, with a size limit and a deadline on every request's headers.
        http=bounded_protocol(settings.max_header_bytes, settings.header_timeout_seconds),
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        timeout_graceful_shutdown=10,
    )
    return 0


def _exit_cleanly(signal_number: int, frame: object) -> None:
    raise SystemExit(0)


def run_token(args: argparse.Namespace, settings: Settings) -> int:
    from funding_engine.tokens import issue_token

    if settings.jwt_secret is None:
        print(
            f"funding-engine: FUNDING_ENGINE_JWT_SECRET is not set (generate one with: {GENERATE_A_SECRET})",
            file=sys.stderr,
        )
        return 2
    if args.minutes > settings.token_max_lifetime_minutes:
        print(
            f"funding-engine: --minutes {args.minutes} is longer than a token may last "
            f"(FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES={settings.token_max_lifetime_minutes}); "
            "the server would refuse it",
            file=sys.stderr,
        )
        return 2
    try:
        token = issue_token(
            settings.jwt_secret.get_secret_value(),
            role=args.role,
            sub=args.sub,
            school_urn=args.school_urn,
            cluster_id=args.cluster_id,
            minutes=args.minutes,
        )
    except FundingError as error:
        print(f"funding-engine: {error}", file=sys.stderr)
        return 2
    print(token)
    return 0


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
            print(f"funding-engine: no projection called {unknown[0]}; known: {', '.join(projector.projections)}",
                  file=sys.stderr)
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
            print(f"\rrebuilt {name}: {count} events in {seconds:.2f}s ({rate:,.0f} events/s)" + " " * 20,
                  file=sys.stderr)
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
    with bootstrap(settings) as app:
        anchor, path = app.anchor_audit_chain(CLI_AUDITOR, args.to)
    # Printed as well, so it can be copied into the minutes of a meeting or an email to the auditor.
    print(json.dumps(anchor.fields(), indent=2))
    print(f"wrote the anchor to {path}", file=sys.stderr)
    return 0


COLUMNS = ("allocated", "committed", "commissioned", "available", "paid")


def print_balances(app: FundingApplication, year: FinancialYear) -> None:
    # As the API shows them: from the read models, through the same permission checks.
    read_models = app.read_models
    rows: list[tuple[str, dict[str, Any]]] = [
        (cluster.cluster_id.value, read_models.balance(CLI_READER, cluster.cluster_id, year))
        for cluster in read_models.list_clusters(CLI_READER)
    ]
    # The council fund has nothing commissioned from it: its row has no such figure.
    rows.append(("council fund", read_models.council_fund_balance(CLI_READER, year)))
    width = max([len("cluster"), *(len(name) for name, _ in rows)])
    print(f"\nBalances for {year} (GBP)")
    print(f"{'cluster':<{width}}  " + "  ".join(f"{column:>13}" for column in COLUMNS))
    for name, statement in rows:
        figures = [pounds(statement.get(column, 0)) for column in COLUMNS]
        print(f"{name:<{width}}  " + "  ".join(f"{figure:>13}" for figure in figures))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
