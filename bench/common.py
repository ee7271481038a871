"""What every benchmark shares: fresh stores, repeated alternating runs, summaries, results files.

The rule of the harness: a figure is only reported beside its baseline, measured in the same run,
alternating, because this machine is shared and noisy. Absolute times move from run to run;
ratios measured side by side are what we compare against the targets.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from funding_engine.settings import PostgresStore, SQLiteStore, Store, ensure_sqlite_file, parse_database_url

# Full runs write beside the code (their figures are the ones docs/PERFORMANCE.md quotes); quick
# runs write to results/quick/ (not committed), so a quick look never overwrites them.
RESULTS = Path(__file__).parent / "results"
POSTGRES_URL_VARIABLE = "FUNDING_ENGINE_BENCH_POSTGRES_URL"
FALLBACK_POSTGRES_URL_VARIABLE = "FUNDING_ENGINE_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_url() -> str:
    return (
        os.environ.get(POSTGRES_URL_VARIABLE) or os.environ.get(FALLBACK_POSTGRES_URL_VARIABLE) or DEFAULT_POSTGRES_URL
    )


def postgres_answers() -> bool:
    import psycopg

    store = parse_database_url(postgres_url())
    assert isinstance(store, PostgresStore)
    try:
        with psycopg.connect(store.conninfo(), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def fresh_store(kind: str, label: str = "bench") -> Iterator[Store]:
    """A new, empty store: a SQLite file in a temp folder, or a new PostgreSQL schema (dropped after)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{label}-") as folder:
            store = parse_database_url(f"sqlite:///{folder}/{label}.sqlite3")
            assert isinstance(store, SQLiteStore)
            ensure_sqlite_file(store.path)
            yield store
        return
    if kind != "postgres":
        raise ValueError(f"unknown store {kind!r}")
    import psycopg
    from psycopg import sql

    schema = f"{label}_{uuid.uuid4().hex[:10]}"
    store = parse_database_url(f"{postgres_url()}?schema={schema}")
    assert isinstance(store, PostgresStore)
    with psycopg.connect(store.conninfo(), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield store
    finally:
        with psycopg.connect(store.conninfo(), autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def database_url(store: Store) -> str:
    if isinstance(store, SQLiteStore):
        return f"sqlite:///{store.path}"
    password = f":{store.password}" if store.password else ""
    return f"postgresql://{store.user}{password}@{store.host}:{store.port}/{store.dbname}?schema={store.schema}"


@dataclass(frozen=True)
class Spread:
    """Median and spread of repeated measurements of one figure."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values), len(values))

    @classmethod
    def of_json(cls, figure: dict[str, Any]) -> Spread:
        return cls(figure["median"], figure["min"], figure["max"], figure["runs"])

    def as_json(self, digits: int = 1) -> dict[str, Any]:
        return {
            "median": round(self.median, digits),
            "min": round(self.low, digits),
            "max": round(self.high, digits),
            "runs": self.runs,
        }

    def __str__(self) -> str:
        return f"{self.median:,.1f} ({self.low:,.1f}-{self.high:,.1f})"


def alternate(ours: Callable[[], float], baseline: Callable[[], float], repeats: int) -> tuple[Spread, Spread, Spread]:
    """Run ours and the baseline in turn ``repeats`` times; returns (ours, baseline, ours/baseline).

    Each callable returns a rate (bigger is better). The ratio is taken per pair, so a slow moment
    on the machine hurts both sides of the same pair rather than one side of the comparison.
    The order flips each round so neither side always runs on a warmer cache.
    """
    ours_rates, baseline_rates, ratios = [], [], []
    for round_number in range(repeats):
        if round_number % 2 == 0:
            mine, theirs = ours(), baseline()
        else:
            theirs, mine = baseline(), ours()
        ours_rates.append(mine)
        baseline_rates.append(theirs)
        ratios.append(mine / theirs)
    return Spread.of(ours_rates), Spread.of(baseline_rates), Spread.of(ratios)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a running process, from /proc, in MB."""
    current = peak = 0.0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return current, peak


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as meminfo:
            info["memory_gb"] = round(int(meminfo.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info["postgres"] = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    return info


def results_folder(quick: bool) -> Path:
    return RESULTS / "quick" if quick else RESULTS


def write_result(name: str, result: dict[str, Any], *, quick: bool = False) -> Path:
    folder = results_folder(quick)
    folder.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        **result,
        "machine": machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def read_result(name: str, *, quick: bool = False) -> dict[str, Any] | None:
    path = results_folder(quick) / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table: prints readably and pastes into docs/PERFORMANCE.md."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    lines = [
        "| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    return "\n".join(lines)


def verdict(value: float, target: float, *, at_most: bool = False) -> str:
    met = value <= target if at_most else value >= target
    return "met" if met else "NOT met"


def summary_row(
    *,
    scenario: str,
    store: str,
    measure: str,
    ours: Spread | float | str,
    baseline: Spread | float | str | None,
    ratio: Spread | float | None,
    target: str,
    met: bool,
) -> dict[str, Any]:
    """One line of the table ``make bench`` prints and docs/PERFORMANCE.md shows."""

    def text(value: Spread | float | str | None, digits: int = 1) -> str:
        if value is None:
            return "-"
        if isinstance(value, Spread):
            return f"{value.median:,.{digits}f} ({value.low:,.{digits}f}-{value.high:,.{digits}f})"
        if isinstance(value, float | int):
            return f"{value:,.{digits}f}"
        return value

    return {
        "scenario": scenario,
        "store": store,
        "measure": measure,
        "ours": text(ours),
        "baseline": text(baseline),
        "ratio": text(ratio.median if isinstance(ratio, Spread) else ratio, 2),
        "target": target,
        "met": met,
    }


SUMMARY_HEADERS = ["scenario", "store", "measure", "ours", "baseline", "ratio", "target", "met"]


def summary_table(rows: Sequence[dict[str, Any]]) -> str:
    return table(
        SUMMARY_HEADERS,
        [[row[h] if h != "met" else ("yes" if row["met"] else "**no**") for h in SUMMARY_HEADERS] for row in rows],
    )
