"""``finance reconcile`` as a person reads it: the balances side by side, then every read-model table."""

from __future__ import annotations

from typing import Any, TextIO

from domain.formatting import pounds
from projections.reconciliation import BUDGET_FIGURES, Reconciliation, ReconciliationRow, TableReconciliation

# A budget's figures, in the order people read them; the council fund's are a few of these.
FIGURES = BUDGET_FIGURES
MAX_CELL = 60
# The awards or funds named under an invariant that fails: enough to start on.
FAILURES_PRINTED = 5


def print_reconciliation(result: Reconciliation, out: TextIO) -> None:
    _balances(result, out)
    _tables(result, out)
    _invariants(result, out)
    print(f"\nconsistent: {'yes' if result.consistent else 'NO'}", file=out)


def _invariants(result: Reconciliation, out: TextIO) -> None:
    print(f"\nThe awards' invariants, with the log folded to position {result.invariants_position}", file=out)
    for check in result.invariants:
        holds = "yes" if check.holds else "NO"
        print(f"{check.name}: checked {check.checked}, failing {len(check.failures)}  {holds}", file=out)
        for failure in check.failures[:FAILURES_PRINTED]:
            print(f"  {failure}", file=out)


def _balances(result: Reconciliation, out: TextIO) -> None:
    print(f"Reconciliation for {result.financial_year}: read models against a fold of the event log (GBP)", file=out)
    rows: list[tuple[str, ReconciliationRow]] = [(row.cluster_id or "", row) for row in result.clusters]
    if result.council_fund is not None:
        rows.append(("council fund", result.council_fund))
    width = max([len("cluster"), *(len(name) for name, _ in rows)])
    header = "  ".join(f"{f:>12}" for f in FIGURES)
    print(f"{'cluster':<{width}}  {'source':<10}  {header}  {'version':>7}  consistent", file=out)
    for name, row in rows:
        for source, values, version in (
            ("projected", row.projected, row.projected_version),
            ("log", row.recomputed, row.recomputed_version),
        ):
            cells = "  ".join(f"{_figure(values.get(f)) if f in values else '':>12}" for f in FIGURES)
            mark = ("yes" if row.consistent else "NO") if source == "log" else ""
            label = name if source == "projected" else ""
            shown_version = "?" if version is None else version
            print(f"{label:<{width}}  {source:<10}  {cells}  {shown_version:>7}  {mark}", file=out)


def _tables(result: Reconciliation, out: TextIO) -> None:
    print(f"\nRead models, row by row, against the log folded to position {result.log_position}", file=out)
    width = max(len(table.name) for table in result.tables)
    model_width = max(len(table.table.read_model) for table in result.tables)
    print(
        f"{'table':<{width}}  {'read model':<{model_width}}  {'position':>8}  {'rows':>7}  {'differing':>9}  "
        f"{'missing':>7}  {'extra':>5}  consistent",
        file=out,
    )
    for table in result.tables:
        print(
            f"{table.name:<{width}}  {table.table.read_model:<{model_width}}  {table.position:>8}  "
            f"{table.rows_checked:>7}  {table.differing:>9}  {table.missing:>7}  {table.extra:>5}  "
            f"{'yes' if table.consistent else 'NO'}",
            file=out,
        )
    for table in result.tables:
        if table.first_difference is not None:
            print(f"  {_first_difference(table)}", file=out)


def _first_difference(table: TableReconciliation) -> str:
    difference = table.first_difference
    assert difference is not None
    key = f"{table.table.key} {_shown(difference.key, False)}"
    columns = difference.columns
    if all(projected is None for projected, _ in columns.values()):
        return f"{table.name}: first difference at {key}: missing from the read model"
    if all(recomputed is None for _, recomputed in columns.values()):
        return f"{table.name}: first difference at {key}: not in the log (an extra row)"
    changes = "; ".join(
        f"{column}: read model {_shown(projected, column in table.table.money)}, "
        f"log {_shown(recomputed, column in table.table.money)}"
        for column, (projected, recomputed) in columns.items()
    )
    return f"{table.name}: first difference at {key}: {changes}"


def _figure(value: int | None) -> str:
    return "unreadable" if value is None else pounds(value)


def _shown(value: Any, money: bool) -> str:
    if value is None:
        return "null"
    if money and isinstance(value, int) and not isinstance(value, bool):
        return pounds(value)
    text = repr(value) if isinstance(value, str) else str(value)
    # One line per difference, whatever an edited cell holds.
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."
