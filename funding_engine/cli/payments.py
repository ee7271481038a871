"""``funding-engine payments``: finance's payment runs and the bank's remittance on the command line.

``payments run`` creates a run of what is due and writes its file; ``payments file`` writes an
existing run's file again; ``payments remittance`` imports the bank's remittance and lists each
line it did not record, by line number and why, on stderr, exiting 1 if there was any (so a script
notices), 0 when every line was paid. The officer named with ``--as`` is who the events record.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from domain.errors import InvalidValue
from domain.formatting import pounds
from domain.values import Actor, FinancialYear
from funding_engine.application import FundingApplication, ImportRefused
from funding_engine.bootstrap import bootstrap
from funding_engine.cli.operations import CLI_IMPORTER_SUB
from funding_engine.settings import Settings


def add_payment_commands(commands: Any) -> None:
    """``payments run``, ``payments file`` and ``payments remittance`` under ``commands``."""
    payments = commands.add_parser("payments", help="payment runs and the bank's remittance (finance)")
    actions = payments.add_subparsers(title="payment commands", metavar="ACTION", required=True)

    run = actions.add_parser("run", help="create a payment run of the instalments due by a date, and write its file")
    run.add_argument("--due-by", type=_date, required=True, help="instalments due on or before this date, YYYY-MM-DD")
    run.add_argument("--out", type=Path, required=True, help="the CSV file to write for the finance system")
    run.add_argument("--funded-by", choices=["cluster", "council"], default=None, help="only one funder's awards")
    run.add_argument("--cluster-id", default=None, help="only this cluster's awards")
    run.add_argument("--year", type=_year, default=None, help="only instalments of this year's fund, e.g. 2026-27")
    _staff(run)
    run.set_defaults(handler=run_payment_run, reads_existing_log=True)

    file = actions.add_parser("file", help="write an existing payment run's file again")
    file.add_argument("number", type=int, help="the run's number (PR-000012 is 12)")
    file.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    file.set_defaults(handler=run_payment_run_file, reads_existing_log=True)

    remittance = actions.add_parser(
        "remittance",
        help="import the bank's remittance (CSV: reference,amount,date); lines not recorded are listed on stderr",
    )
    remittance.add_argument("file", type=Path, help="the remittance CSV")
    _staff(remittance)
    remittance.set_defaults(handler=run_remittance, reads_existing_log=True)


def _staff(parser: argparse.ArgumentParser) -> None:
    help_text = "the finance officer's staff id, recorded on each change"
    parser.add_argument("--as", dest="staff_id", default=CLI_IMPORTER_SUB, help=help_text)


def _date(value: str) -> date:
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"must be a date such as 2026-09-30, got {value!r}")


def _year(value: str) -> FinancialYear:
    try:
        return FinancialYear.parse(value)
    except InvalidValue as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _writable(path: Path) -> str | None:
    """Why ``path`` cannot be written, or None: checked before a run is made for a file nobody gets."""
    if path.is_dir():
        return f"{path} is a folder"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    return None


def _write_file(app: FundingApplication, actor: Actor, number: int, path: Path) -> int:
    try:
        with path.open("w", newline="", encoding="utf-8") as out:
            app.write_payment_run_file(actor, number, out)
    except OSError as error:
        print(f"funding-engine: cannot write {path}: {error.strerror or error}", file=sys.stderr)
        print(f"  write it again with: funding-engine payments file {number} --out FILE", file=sys.stderr)
        return 1
    return 0


def run_payment_run(args: argparse.Namespace, settings: Settings) -> int:
    problem = _writable(args.out)
    if problem:
        print(f"funding-engine: cannot write the run's file: {problem}; no run was made", file=sys.stderr)
        return 1
    actor = Actor.finance(args.staff_id)
    with bootstrap(settings) as app:
        run = app.create_payment_run(
            actor, args.due_by, funded_by=args.funded_by, cluster_id=args.cluster_id, financial_year=args.year
        )
        print(f"created payment run {run.reference}: {len(run.lines)} lines, {pounds(run.total.pence)} in all")
        if _write_file(app, actor, run.number, args.out):
            return 1
    print(f"wrote {args.out}")
    return 0


def run_payment_run_file(args: argparse.Namespace, settings: Settings) -> int:
    problem = _writable(args.out)
    if problem:
        print(f"funding-engine: cannot write the run's file: {problem}", file=sys.stderr)
        return 1
    with bootstrap(settings) as app:
        if _write_file(app, Actor.finance(CLI_IMPORTER_SUB), args.number, args.out):
            return 1
    print(f"wrote {args.out}")
    return 0


def run_remittance(args: argparse.Namespace, settings: Settings) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as error:
        print(f"funding-engine: cannot read {args.file}: {error.strerror or error}", file=sys.stderr)
        return 1
    with bootstrap(settings) as app:
        try:
            report = app.import_remittance(Actor.finance(args.staff_id), data)
        except ImportRefused as refused:
            print(f"funding-engine: {args.file} was not imported; nothing was recorded.", file=sys.stderr)
            for bad in refused.bad_rows:
                print(f"  {bad}", file=sys.stderr)
            return 1
    print(
        f"imported {args.file}: {report.lines_read} lines, {len(report.paid)} paid "
        f"({pounds(report.total_paid.pence)}), {len(report.reported)} not recorded"
    )
    for problem in report.reported:
        print(f"  line {problem.line}: {problem.reference or '(no reference)'}: {problem.reason}", file=sys.stderr)
    return 1 if report.reported else 0
