"""The ``funding-engine`` command line.

Settings come from the environment (``FUNDING_ENGINE_DATABASE_URL``); a bad setting stops the
command with a one-line explanation and exit status 2, before anything connects.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date

from pydantic import ValidationError

from domain.errors import FundingError
from domain.values import Actor, FinancialYear
from funding_engine import demo
from funding_engine.application import FundingApplication, FundStatement
from funding_engine.bootstrap import bootstrap
from funding_engine.settings import Settings

# Reading balances from the command line is a finance task; the actor is recorded on nothing.
CLI_READER = Actor.finance("funding-engine-cli")


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
    except FundingError as error:
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
    return parser


def _year(value: str) -> FinancialYear:
    try:
        return FinancialYear.parse(value)
    except FundingError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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


COLUMNS = ("allocated", "committed", "commissioned", "available", "paid")


def print_balances(app: FundingApplication, year: FinancialYear) -> None:
    rows: list[tuple[str, FundStatement]] = [
        (cluster.cluster_id.value, app.get_budget(CLI_READER, cluster.cluster_id, year))
        for cluster in app.list_clusters(CLI_READER)
    ]
    rows.append(("council fund", app.get_council_fund(CLI_READER, year)))
    width = max([len("cluster"), *(len(name) for name, _ in rows)])
    print(f"\nBalances for {year} (GBP)")
    print(f"{'cluster':<{width}}  " + "  ".join(f"{column:>13}" for column in COLUMNS))
    for name, statement in rows:
        figures = [str(getattr(statement, column)) for column in COLUMNS]
        print(f"{name:<{width}}  " + "  ".join(f"{figure:>13}" for figure in figures))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
