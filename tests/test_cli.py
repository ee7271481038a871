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


def _alter_first_allocation(database: Path) -> int:
    import sqlite3

    with sqlite3.connect(database) as connection:
        (position,) = connection.execute(
            "SELECT rowid FROM stored_events WHERE topic LIKE '%FundsAllocated' ORDER BY rowid LIMIT 1"
        ).fetchone()
        connection.execute(
            "UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT), ':', ' :') AS BLOB) WHERE rowid = ?",
            (position,),
        )
    return int(position)


def test_audit_verify_names_the_altered_position_and_exits_1(tmp_path):
    run(["demo", "--year", "2026-27"], tmp_path)
    assert run(["audit", "verify"], tmp_path).returncode == 0
    position = _alter_first_allocation(tmp_path / "var" / "funding.sqlite3")

    result = run(["audit", "verify"], tmp_path)

    assert result.returncode == 1
    assert "ok: false" in result.stdout
    assert f"first_bad_position: {position}" in result.stdout


def test_rebuilding_an_audit_chain_that_reports_tampering_is_refused_unless_forced(tmp_path):
    run(["demo", "--year", "2026-27"], tmp_path)
    position = _alter_first_allocation(tmp_path / "var" / "funding.sqlite3")

    refused = run(["projections", "rebuild", "audit_chain"], tmp_path)
    assert refused.returncode == 1
    assert f"alteration at position {position}" in refused.stderr
    assert run(["audit", "verify"], tmp_path).returncode == 1

    forced = run(["projections", "rebuild", "audit_chain", "--force"], tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert run(["audit", "verify"], tmp_path).returncode == 0


def test_finance_reconcile_is_consistent_after_the_demo(tmp_path):
    run(["demo", "--year", "2026-27"], tmp_path)
    result = run(["finance", "reconcile", "--year", "2026-27"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("consistent: yes")


def test_finance_ledger_writes_csv_to_a_file(tmp_path):
    run(["demo", "--year", "2026-27"], tmp_path)
    out = tmp_path / "ledger.csv"
    result = run(["finance", "ledger", "--year", "2026-27", "--format", "csv", "-o", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("position,recorded_at,fund,cluster_id,financial_year,movement")
    assert len(lines) == 11  # the demo year's ten money movements and the header


def test_token_needs_the_secret_and_prints_a_verifiable_token(tmp_path):
    assert run(["token", "--role", "finance"], tmp_path).returncode == 2
    secret = "s" * 40
    result = run(["token", "--role", "school", "--school-urn", "990001"], tmp_path, FUNDING_ENGINE_JWT_SECRET=secret)
    assert result.returncode == 0, result.stderr
    from api.auth import actor_from_token

    actor = actor_from_token(result.stdout.strip(), secret)
    assert (actor.role.value, str(actor.school_urn)) == ("school", "990001")
