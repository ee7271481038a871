"""The command line as a new user meets it: a real subprocess, a fresh folder, no settings."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "funding_engine.cli"]
ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FUNDING_ENGINE_")}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env)
    return subprocess.run([*CLI, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def test_help_lists_the_commands(tmp_path):
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    assert "demo" in result.stdout and "balances" in result.stdout


def test_demo_creates_the_default_sqlite_store_readable_only_by_its_owner(tmp_path):
    result = run(["demo", "--year", "2026-27"], tmp_path)
    assert result.returncode == 0, result.stderr
    database = tmp_path / "var" / "funding.sqlite3"
    assert database.exists()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_demo_prints_each_clusters_balance_and_the_council_fund(tmp_path):
    result = run(["demo", "--year", "2026-27"], tmp_path)
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line[:1].isalpha()}
    # allocated, committed, commissioned, available, paid
    assert lines["northmere-coast"] == ["60000.00", "8000.00", "7500.00", "44500.00", "4000.00"]
    assert lines["fenwick-broads"] == ["45000.00", "5400.00", "0.00", "39600.00", "5400.00"]
    assert lines["marshfield-vale"] == ["8000.00", "0.00", "0.00", "8000.00", "0.00"]
    assert "council fund" in result.stdout and "88000.00" in result.stdout


def test_running_the_demo_twice_loads_the_data_once(tmp_path):
    first = run(["demo", "--year", "2026-27"], tmp_path)
    second = run(["demo", "--year", "2026-27"], tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already loaded" in second.stdout
    assert first.stdout.split("Balances")[1] == second.stdout.split("Balances")[1]


def test_balances_reads_the_store_named_by_the_database_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    run(["demo", "--year", "2026-27"], tmp_path, FUNDING_ENGINE_DATABASE_URL=url)
    result = run(["balances", "--year", "2026-27"], tmp_path, FUNDING_ENGINE_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "northmere-coast" in result.stdout
    assert not (tmp_path / "var").exists()


def test_a_bad_database_url_stops_with_exit_status_2_and_one_clear_line(tmp_path):
    result = run(["demo"], tmp_path, FUNDING_ENGINE_DATABASE_URL="mysql://root@localhost/funding")
    assert result.returncode == 2
    assert "bad settings" in result.stderr and "sqlite:///" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()


def test_a_malformed_year_is_a_usage_error(tmp_path):
    result = run(["balances", "--year", "2026-28"], tmp_path)
    assert result.returncode == 2
    assert "second part must be the year after the first" in result.stderr
