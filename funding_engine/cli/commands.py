"""The ``funding-engine`` command line.

Settings come from the environment (``FUNDING_ENGINE_DATABASE_URL``); a bad setting stops the
command with a one-line explanation and exit status 2, before anything connects. Any other failure
a person can act on is one line and exit status 1 or more (``funding_engine.cli.failures``).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from pydantic import ValidationError

from domain.errors import FundingError
from domain.formatting import pounds
from domain.funds import FundFigures
from domain.values import FinancialYear, Role
from funding_engine import demo, dev_mode
from funding_engine.application import FundingApplication
from funding_engine.application.calendar import current_financial_year
from funding_engine.bootstrap import bootstrap
from funding_engine.cli.failures import (
    FAILED,
    describe_failure,
    one_line,
    probe_database,
    require_existing_database,
)
from funding_engine.cli.operations import (
    CLI_IMPORTER_SUB,
    CLI_READER,
    run_audit_anchor,
    run_audit_verify,
    run_clusters_import,
    run_ledger,
    run_projection_rebuild,
    run_projection_status,
    run_projection_worker,
    run_reconcile,
    run_schools_import,
)
from funding_engine.cli.payments import add_payment_commands
from funding_engine.cli.replay import add_replay_parser
from funding_engine.settings import GENERATE_A_SECRET, Settings
from projections.engine import ProjectionError
from projections.unreadable import LogUnreadable


def main(argv: Sequence[str] | None = None) -> int:
    settings: Settings | None = None
    traceback = False
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        traceback = args.traceback
        if not hasattr(args, "handler"):
            parser.print_help()
            return 0
        try:
            settings = Settings()
        except ValidationError as error:
            print(f"funding-engine: bad settings: {_settings_problems(error)}", file=sys.stderr)
            return 2
        if getattr(args, "reads_existing_log", False):
            require_existing_database(settings.store, _dev_database_hint(settings))
        status = int(args.handler(args, settings) or 0)
        # Here, not at exit, so that an output closed early (`| head`) is reported as one.
        sys.stdout.flush()
        return status
    except (FundingError, ProjectionError, LogUnreadable) as error:
        print(f"funding-engine: {error}", file=sys.stderr)
        return FAILED
    except (Exception, KeyboardInterrupt) as error:
        failure = describe_failure(error, settings.store if settings is not None else None)
        if failure is None and traceback:
            raise
        unexpected = f"unexpected error: {type(error).__name__}: {one_line(error)} (--traceback shows where)"
        message, status = failure or (unexpected, FAILED)
        print(f"funding-engine: {message}", file=sys.stderr)
        return status


def _dev_database_hint(settings: Settings) -> str:
    """After `make run`, the demo data a person looks for is in the development server's own file."""
    dev_database = dev_mode.dev_database(settings)
    if settings.database_url is not None or not dev_database.is_file():
        return ""
    return f" (`serve --dev`'s demo data is in {dev_database}: FUNDING_ENGINE_DATABASE_URL=sqlite:///{dev_database})"


def _settings_problems(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors())


def _version() -> str:
    try:
        return metadata.version("funding-engine")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _database_in_use() -> str:
    """For --help: the database a command would use here, as settings name it (never a password)."""
    try:
        settings = Settings()
    except ValidationError as error:
        return f"none: the settings are refused ({_settings_problems(error)})"
    configured = "FUNDING_ENGINE_DATABASE_URL" if settings.database_url is not None else "the default"
    return f"{settings.store.describe()} ({configured})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="funding-engine",
        description="SEND top-up funding engine: decide, fund, audit and reconcile top-up funding.",
        epilog=(
            f"Database in use: {_database_in_use()}. Set FUNDING_ENGINE_DATABASE_URL (sqlite:///path or "
            "postgresql://user@host:5432/dbname) to choose another; unset, it is funding.sqlite3 in "
            "FUNDING_ENGINE_DATA_DIR, else in the project's var/ folder, whatever the current folder."
        ),
    )
    parser.add_argument("--version", action="version", version=f"funding-engine {_version()}")
    parser.add_argument(
        "--traceback", action="store_true", help="on an unexpected error, show Python's traceback (for a bug report)"
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo_parser = commands.add_parser("demo", help="load a fictional year of data (once) and print the balances")
    demo_parser.add_argument("--year", type=_year, default=None, help="financial year, e.g. 2026-27 (default: current)")
    demo_parser.set_defaults(handler=run_demo)

    balances = commands.add_parser("balances", help="print every cluster's budget and the council fund for a year")
    balances.add_argument("--year", type=_year, default=None, help="financial year, e.g. 2026-27 (default: current)")
    balances.set_defaults(handler=run_balances, reads_existing_log=True)

    serve = commands.add_parser("serve", help="serve the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    serve.add_argument(
        "--dev",
        action="store_true",
        help=(
            f"development only: serve the demo data from its own file ({dev_mode.DEV_DATABASE_FILE} in the data "
            "folder) with a fresh throwaway token secret, and print demo tokens; refused when a database, "
            "token secret or audit key is configured"
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
    status.set_defaults(handler=run_projection_status, reads_existing_log=True)
    rebuild = projection_commands.add_parser("rebuild", help="drop a read model and rebuild it from the log")
    rebuild.add_argument("name", nargs="?", help="one projection (default: all)")
    rebuild.add_argument(
        "--force",
        action="store_true",
        help="rebuild the audit chain even though it reports tampering (this re-chains the altered log)",
    )
    rebuild.set_defaults(handler=run_projection_rebuild, reads_existing_log=True)

    for register, columns, handler in (
        ("clusters", "cluster_id,name", run_clusters_import),
        ("schools", "urn,name,phase,cluster_id", run_schools_import),
    ):
        register_parser = commands.add_parser(register, help=f"the council's register of {register}")
        register_commands = register_parser.add_subparsers(
            title=f"{register} commands", metavar="ACTION", required=True
        )
        importer = register_commands.add_parser(
            "import", help=f"import a CSV file ({columns}): all rows or none; bad rows listed by line on stderr"
        )
        importer.add_argument("file", type=Path, help=f"CSV with the header {columns}")
        importer.add_argument(
            "--as",
            dest="staff_id",
            default=CLI_IMPORTER_SUB,
            help="the council officer's staff id, recorded on each change",
        )
        importer.set_defaults(handler=handler)

    add_payment_commands(commands)

    finance = commands.add_parser("finance", help="reconciliation and the ledger")
    finance_commands = finance.add_subparsers(title="finance commands", metavar="ACTION", required=True)
    reconcile = finance_commands.add_parser("reconcile", help="read models against the log; exit 1 if they differ")
    reconcile.add_argument("--year", type=_year, required=True, help="financial year, e.g. 2026-27")
    reconcile.set_defaults(handler=run_reconcile, reads_existing_log=True)
    ledger = finance_commands.add_parser("ledger", help="every money movement of a year")
    ledger.add_argument("--year", type=_year, required=True, help="financial year, e.g. 2026-27")
    ledger.add_argument("--format", choices=["csv"], default="csv", help="output format (csv)")
    ledger.add_argument("--output", "-o", default="-", help="file to write (default: standard output)")
    ledger.set_defaults(handler=run_ledger, reads_existing_log=True)

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
    verify.set_defaults(handler=run_audit_verify, reads_existing_log=True)
    anchor = audit_commands.add_parser(
        "anchor", help="write the chain's head (position, hash, time, HMAC) to a file or folder outside the database"
    )
    anchor.add_argument(
        "--to", type=Path, default=None, help="a new file, or a folder (default: FUNDING_ENGINE_AUDIT_ANCHOR_DIR)"
    )
    anchor.set_defaults(handler=run_audit_anchor)  # checks its target, then the log
    add_replay_parser(audit_commands)
    return parser


def _year(value: str) -> FinancialYear:
    try:
        return FinancialYear.parse(value)
    except FundingError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, got {value!r}")
    return int(value)


def _positive_minutes(value: str) -> int:
    try:
        minutes = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of minutes, got {value!r}") from None
    if minutes < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return minutes


def _current_year(args: argparse.Namespace) -> FinancialYear:
    return args.year or current_financial_year()


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
        dev_mode.start(settings, args.host, args.port)
    elif settings.jwt_secret is None:
        print(
            "funding-engine: FUNDING_ENGINE_JWT_SECRET is not set; set a secret of 32+ characters "
            f"(generate one with: {GENERATE_A_SECRET}), "
            "or use --dev for a throwaway one on a development machine",
            file=sys.stderr,
        )
        return 2
    else:
        probe_database(settings.store)
        print(f"Database: {settings.store.describe()}", flush=True)
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

    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
    elif development := dev_mode.secret_for_tokens(settings):
        secret, file = development
        print(
            f"funding-engine: signed with the development server's throwaway secret ({file}): only "
            "`serve --dev` accepts this token; set FUNDING_ENGINE_JWT_SECRET to sign for a real server",
            file=sys.stderr,
        )
    else:
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
            secret,
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


COLUMNS = FundFigures.NAMES


def print_balances(app: FundingApplication, year: FinancialYear) -> None:
    # As the API shows them: from the read models, through the same permission checks.
    read_models = app.read_models
    rows: list[tuple[str, FundFigures[int]]] = [
        (row.cluster_id, read_models.balance(CLI_READER, row.cluster_id, year).figures)
        for row in read_models.list_clusters(CLI_READER)
    ]
    # The council fund has nothing commissioned from it: its row has no such figure.
    rows.append(("council fund", read_models.council_fund_balance(CLI_READER, year).figures))
    width = max([len("cluster"), *(len(name) for name, _ in rows)])
    print(f"\nBalances for {year} (GBP)")
    print(f"{'cluster':<{width}}  " + "  ".join(f"{column:>13}" for column in COLUMNS))
    for name, named in rows:
        figures = [pounds(getattr(named, column)) for column in COLUMNS]
        print(f"{name:<{width}}  " + "  ".join(f"{figure:>13}" for figure in figures))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
