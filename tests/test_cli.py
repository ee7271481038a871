"""The command line as a new user meets it: a real subprocess, a fresh folder, no settings."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

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


SECRET = "Vt3x9QeLw2RmZ7kP_yB4nH8cJ-5dF1gS6aU0oI"  # a generated-looking secret for these tests
GENERATOR = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'


def test_token_needs_the_secret_and_prints_a_verifiable_token(tmp_path):
    refused = run(["token", "--role", "finance", "--sub", "finance-1"], tmp_path)
    assert refused.returncode == 2
    assert "FUNDING_ENGINE_JWT_SECRET is not set" in refused.stderr and GENERATOR in refused.stderr
    result = run(
        ["token", "--role", "school", "--school-urn", "990001", "--sub", "senco-1", "--minutes", "30"],
        tmp_path,
        FUNDING_ENGINE_JWT_SECRET=SECRET,
    )
    assert result.returncode == 0, result.stderr
    import jwt

    from funding_engine.tokens import actor_from_token

    actor = actor_from_token(result.stdout.strip(), SECRET)
    assert (actor.sub, actor.role.value, str(actor.school_urn)) == ("senco-1", "school", "990001")
    claims = jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 30 * 60


def test_token_requires_the_staff_id_it_is_for(tmp_path):
    result = run(["token", "--role", "school", "--school-urn", "990001"], tmp_path, FUNDING_ENGINE_JWT_SECRET=SECRET)
    assert result.returncode == 2
    assert "--sub" in result.stderr and "required" in result.stderr
    assert result.stdout == ""
    help_text = run(["token", "--help"], tmp_path).stdout
    assert "idempotency keys and the audit trail" in " ".join(help_text.split())


@pytest.mark.parametrize("sub", ["senco\u202e1", "senco\u20661", "senco\t1", "senco\x1b[2J"])
def test_token_refuses_a_staff_id_with_control_or_bidirectional_characters(tmp_path, sub):
    result = run(
        ["token", "--role", "finance", "--sub", sub], tmp_path, FUNDING_ENGINE_JWT_SECRET=SECRET
    )
    assert result.returncode == 2
    assert "sub must not contain" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_token_refuses_a_lifetime_beyond_the_cap_and_says_which_setting(tmp_path):
    too_long = run(
        ["token", "--role", "finance", "--sub", "finance-1", "--minutes", "721"],
        tmp_path,
        FUNDING_ENGINE_JWT_SECRET=SECRET,
    )
    assert too_long.returncode == 2
    assert "FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES=720" in too_long.stderr and too_long.stdout == ""
    assert run(
        ["token", "--role", "finance", "--sub", "finance-1", "--minutes", "720"],
        tmp_path,
        FUNDING_ENGINE_JWT_SECRET=SECRET,
    ).returncode == 0
    raised = run(
        ["token", "--role", "finance", "--sub", "finance-1", "--minutes", "721"],
        tmp_path,
        FUNDING_ENGINE_JWT_SECRET=SECRET,
        FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES="1440",
    )
    assert raised.returncode == 0, raised.stderr


@pytest.mark.parametrize("minutes", ["0", "-60", "sixty"])
def test_token_refuses_a_lifetime_that_is_not_a_positive_number_of_minutes(tmp_path, minutes):
    result = run(
        ["token", "--role", "finance", "--sub", "finance-1", "--minutes", minutes],
        tmp_path,
        FUNDING_ENGINE_JWT_SECRET=SECRET,
    )
    assert result.returncode == 2 and "--minutes" in result.stderr


COMMANDS = [
    ["demo", "--year", "2026-27"],
    ["balances", "--year", "2026-27"],
    ["audit", "verify"],
    ["token", "--role", "finance", "--sub", "finance-1"],
    ["serve", "--port", "1"],
]


@pytest.mark.parametrize("variable", ["FUNDING_ENGINE_JWT_SECRET", "FUNDING_ENGINE_AUDIT_KEY"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command[0])
def test_every_command_refuses_a_guessable_secret_before_it_touches_anything(tmp_path, command, variable):
    weak = "a" * 32
    result = run(command, tmp_path, **{variable: weak})
    assert result.returncode == 2
    assert variable in result.stderr and "too little variety" in result.stderr
    assert GENERATOR in result.stderr
    assert weak not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "var").exists()
