"""The ``funding-engine`` command: serve, demo, tokens, balances, the cluster and school registers'
imports, payment runs and remittances, projections, reconciliation, the ledger and the audit chain.

``commands`` parses the command line and runs each subcommand; ``operations`` holds the longer
ones (projections, finance, audit), ``payments`` the payment runs; ``failures`` turns every failure
into one line and an exit status; ``reconciliation_report`` prints a reconciliation for people.
"""

from funding_engine.cli.commands import main

__all__ = ["main"]
