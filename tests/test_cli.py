"""The command line as a new user meets it: a real subprocess, a fresh folder, no settings."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.api.test_server import postgres_schema_exists
from tests.conftest import postgres_base_url

CLI = [sys.executable, "-m", "funding_engine.cli"]
ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], cwd: Path, **env: str | None) -> subprocess.CompletedProcess[str]:
    """The CLI in ``cwd``, with its default database in ``cwd/var`` (not the project's) unless ``env``
    says otherwise; a variable given as None is unset."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FUNDING_ENGINE_")}
    environment["PYTHONPATH"] = str(ROOT)
    environment["FUNDING_ENGINE_DATA_DIR"] = str(cwd / "var")
    environment.update({name: value for name, value in env.items() if value is not None})
    for name in [name for name, value in env.items() if value is None]:
        environment.pop(name, None)
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
    # Northmere: this year's share (7/12) of an 8000.00 academic-year award, its autumn third paid, and three
    # months of a 3000.00 monthly award paid before it was released. Fenwick: 5400.00 paid, 400.00 recovered.
    assert lines["northmere-coast"] == ["60000.00", "5952.37", "7500.00", "46547.63", "3952.37"]
    assert lines["fenwick-broads"] == ["45000.00", "5000.00", "0.00", "40000.00", "5000.00"]
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
    # The demo year's 19 money movements and the header: 4 allocations and 3 carried in from the closed
    # year, a commission, 4 commitments, 5 payments, a release and a recovery.
    assert len(lines) == 20


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
    result = run(["token", "--role", "finance", "--sub", sub], tmp_path, FUNDING_ENGINE_JWT_SECRET=SECRET)
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
    assert (
        run(
            ["token", "--role", "finance", "--sub", "finance-1", "--minutes", "720"],
            tmp_path,
            FUNDING_ENGINE_JWT_SECRET=SECRET,
        ).returncode
        == 0
    )
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


# -- a first run as the README tells it: --version, --help, where the database is ------------------


def test_version_is_the_packages(tmp_path):
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = run(["--version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"funding-engine {version}"


def test_help_names_the_same_default_database_from_any_folder_and_creates_nothing(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    helps = [run(["--help"], folder, FUNDING_ENGINE_DATA_DIR=None) for folder in (first, second)]

    default = ROOT / "var" / "funding.sqlite3"
    for help_text in helps:
        assert help_text.returncode == 0, help_text.stderr
        assert f"Database in use: SQLite file {default} (the default)" in " ".join(help_text.stdout.split())
    assert list(tmp_path.rglob("*")) == [first, second], "nothing is created"


def test_help_names_a_configured_postgresql_database_without_its_password(tmp_path):
    url = "postgresql://engine:pw-Kq83sLm@db.internal:6543/funding?schema=county&sslmode=require"
    result = run(["--help"], tmp_path, FUNDING_ENGINE_DATABASE_URL=url)
    described = " ".join(result.stdout.split())
    assert "PostgreSQL database funding on db.internal:6543, schema county (sslmode=require)" in described
    assert "(FUNDING_ENGINE_DATABASE_URL)" in described
    assert "pw-Kq83sLm" not in result.stdout


def test_a_command_run_from_another_folder_reads_the_same_database(tmp_path):
    data = {"FUNDING_ENGINE_DATA_DIR": str(tmp_path / "data")}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run(["demo", "--year", "2026-27"], tmp_path, **data).returncode == 0
    here = run(["balances", "--year", "2026-27"], tmp_path, **data)
    there = run(["balances", "--year", "2026-27"], elsewhere, **data)
    assert there.returncode == 0, there.stderr
    assert "46547.63" in there.stdout and there.stdout == here.stdout
    assert list(elsewhere.iterdir()) == []


READING_COMMANDS = [
    ["balances", "--year", "2026-27"],
    ["finance", "reconcile", "--year", "2026-27"],
    ["finance", "ledger", "--year", "2026-27"],
    ["audit", "verify"],
    ["audit", "anchor", "--to", "anchors"],
    ["projections", "status"],
    ["projections", "rebuild"],
]


@pytest.mark.parametrize("command", READING_COMMANDS, ids=" ".join)
def test_a_command_on_an_existing_log_says_there_is_none_and_creates_nothing(tmp_path, command):
    result = run(command, tmp_path)

    assert result.returncode == 1
    assert result.stderr == (
        f"funding-engine: there is no database at {tmp_path / 'var' / 'funding.sqlite3'}: nothing has been "
        "recorded there. Create one with `funding-engine demo` or `funding-engine serve`, or point "
        "FUNDING_ENGINE_DATABASE_URL (or FUNDING_ENGINE_DATA_DIR) at the one you meant\n"
    )
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_a_command_on_an_existing_log_says_an_empty_postgresql_schema_holds_none(tmp_path):
    base = postgres_base_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    url = f"{base}{'&' if '?' in base else '?'}schema={schema}"

    result = run(["balances", "--year", "2026-27"], tmp_path, FUNDING_ENGINE_DATABASE_URL=url)

    assert result.returncode == 1
    assert "there is no event log in PostgreSQL database" in result.stderr
    assert f"schema {schema}: nothing has been recorded there" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not postgres_schema_exists(url), "nothing is created"


# -- every failure is one line and a non-zero status ------------------------------------------------

DOWN = "postgresql://engine:pw-Kq83sLm@127.0.0.1:1/funding"  # nothing listens on port 1


@pytest.mark.parametrize(
    "command",
    [
        ["demo", "--year", "2026-27"],
        ["balances", "--year", "2026-27"],
        ["finance", "ledger", "--year", "2026-27"],
        ["audit", "verify"],
        ["projections", "status"],
        ["projections", "run"],
        ["serve", "--port", "1"],
    ],
    ids=" ".join,
)
def test_a_postgresql_server_that_is_down_is_one_line_naming_it_never_its_password(tmp_path, command):
    result = run(command, tmp_path, FUNDING_ENGINE_DATABASE_URL=DOWN, FUNDING_ENGINE_JWT_SECRET=SECRET)

    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("funding-engine: cannot use PostgreSQL database funding on 127.0.0.1:1, schema public: ")
    assert "Connection refused" in line
    assert "pw-Kq83sLm" not in result.stderr + result.stdout
    assert not (tmp_path / "var").exists()


def test_an_unreadable_sqlite_file_is_one_line(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "funding.sqlite3").write_text("not a database")
    for command in (["balances", "--year", "2026-27"], ["demo", "--year", "2026-27"]):
        result = run(command, tmp_path)
        assert result.returncode == 1
        assert result.stderr.endswith(
            f"cannot use SQLite file {tmp_path / 'var' / 'funding.sqlite3'}: file is not a database\n"
        )
        assert "Traceback" not in result.stderr


def test_a_data_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("")
    result = run(["demo", "--year", "2026-27"], tmp_path, FUNDING_ENGINE_DATA_DIR=str(tmp_path / "a-file" / "var"))
    assert result.returncode == 1
    assert result.stderr == f"funding-engine: {tmp_path / 'a-file' / 'var'}: Not a directory\n"


@pytest.mark.parametrize(
    ("output", "why"),
    [("missing-folder/ledger.csv", "No such file or directory"), (".", "Is a directory")],
)
def test_a_ledger_file_that_cannot_be_written_is_one_line(tmp_path, output, why):
    run(["demo", "--year", "2026-27"], tmp_path)
    result = run(["finance", "ledger", "--year", "2026-27", "-o", output], tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"funding-engine: {output}: {why}\n"


def test_a_ledger_file_the_user_may_not_write_is_one_line(tmp_path, monkeypatch, capsys):
    # In this process, so that it holds when the tests run as root (who may write anywhere).
    from funding_engine.cli import commands as cli
    from funding_engine.cli import operations as cli_operations

    run(["demo", "--year", "2026-27"], tmp_path)
    monkeypatch.setenv("FUNDING_ENGINE_DATA_DIR", str(tmp_path / "var"))
    refused = tmp_path / "ledger.csv"

    def open_refusing(file: object, *args: object, **kwargs: object) -> object:
        if str(file) == str(refused):
            raise PermissionError(13, "Permission denied", str(file))
        return open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(cli_operations, "open", open_refusing, raising=False)

    assert cli.main(["finance", "ledger", "--year", "2026-27", "-o", str(refused)]) == 1
    assert capsys.readouterr().err == f"funding-engine: {refused}: Permission denied\n"


def test_an_output_closed_early_is_one_line_and_status_141(tmp_path):
    run(["demo", "--year", "2026-27"], tmp_path)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FUNDING_ENGINE_")}
    environment.update(PYTHONPATH=str(ROOT), FUNDING_ENGINE_DATA_DIR=str(tmp_path / "var"))
    ledger = subprocess.Popen(
        [*CLI, "finance", "ledger", "--year", "2026-27"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert ledger.stdout is not None
    ledger.stdout.close()  # as `| head` does once it has its lines: before the ledger is written

    _, stderr = ledger.communicate(timeout=120)

    assert ledger.returncode == 141
    assert stderr == "funding-engine: the output was closed before everything was written (broken pipe)\n"


@pytest.mark.parametrize(
    ("raised", "status", "line"),
    [
        (KeyboardInterrupt(), 130, "funding-engine: interrupted\n"),
        (
            RuntimeError("no\nsuch\tluck"),
            1,
            "funding-engine: unexpected error: RuntimeError: no such luck (--traceback shows where)\n",
        ),
    ],
)
def test_ctrl_c_and_an_unexpected_error_are_one_line(tmp_path, monkeypatch, capsys, raised, status, line):
    from funding_engine.cli import commands as cli

    run(["demo", "--year", "2026-27"], tmp_path)
    monkeypatch.setenv("FUNDING_ENGINE_DATA_DIR", str(tmp_path / "var"))

    def fail(*_: object) -> None:
        raise raised

    monkeypatch.setattr(cli, "print_balances", fail)

    assert cli.main(["balances", "--year", "2026-27"]) == status
    assert capsys.readouterr().err == line


def test_traceback_shows_an_unexpected_error_in_full(tmp_path, monkeypatch):
    from funding_engine.cli import commands as cli

    run(["demo", "--year", "2026-27"], tmp_path)
    monkeypatch.setenv("FUNDING_ENGINE_DATA_DIR", str(tmp_path / "var"))

    def fail(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "print_balances", fail)

    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["--traceback", "balances", "--year", "2026-27"])


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_serve_refuses_a_port_that_is_not_one(tmp_path, port):
    result = run(["serve", "--port", port], tmp_path)
    assert result.returncode == 2
    assert "--port: must be a port number from 1 to 65535" in result.stderr


# -- `token` and the development server's secret ----------------------------------------------------


def leave_a_dev_servers_files(folder: Path, secret: str) -> None:
    """What ``serve --dev`` leaves in its data folder: its database and its secret."""
    (folder / "var").mkdir()
    (folder / "var" / "dev.sqlite3").write_bytes(b"")
    (folder / "var" / "dev-token-secret").write_text(secret + "\n")


def test_token_signs_with_the_dev_servers_secret_when_nothing_is_configured_and_says_so(tmp_path):
    import jwt

    leave_a_dev_servers_files(tmp_path, SECRET)

    result = run(["token", "--role", "finance", "--sub", "finance-1"], tmp_path)

    assert result.returncode == 0, result.stderr
    assert jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])["sub"] == "finance-1"
    assert "signed with the development server's throwaway secret" in result.stderr
    assert str(tmp_path / "var" / "dev-token-secret") in result.stderr
    assert SECRET not in result.stderr


def test_token_prefers_a_configured_secret_to_the_dev_servers(tmp_path):
    import jwt

    leave_a_dev_servers_files(tmp_path, "Dq7-" + SECRET[4:])

    result = run(["token", "--role", "finance", "--sub", "finance-1"], tmp_path, FUNDING_ENGINE_JWT_SECRET=SECRET)

    assert result.returncode == 0, result.stderr
    assert jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])["sub"] == "finance-1"
    assert result.stderr == ""


def test_token_never_uses_the_dev_servers_secret_when_a_database_is_configured(tmp_path):
    leave_a_dev_servers_files(tmp_path, SECRET)
    url = f"sqlite:///{tmp_path / 'production.sqlite3'}"

    result = run(["token", "--role", "finance", "--sub", "finance-1"], tmp_path, FUNDING_ENGINE_DATABASE_URL=url)

    assert result.returncode == 2
    assert "FUNDING_ENGINE_JWT_SECRET is not set" in result.stderr and result.stdout == ""


def test_after_make_run_a_missing_database_points_at_the_dev_servers_demo_data(tmp_path):
    leave_a_dev_servers_files(tmp_path, SECRET)
    dev_database = tmp_path / "var" / "dev.sqlite3"

    result = run(["balances", "--year", "2026-27"], tmp_path)

    assert result.returncode == 1
    assert result.stderr.endswith(
        f" (`serve --dev`'s demo data is in {dev_database}: FUNDING_ENGINE_DATABASE_URL=sqlite:///{dev_database})\n"
    )
    assert result.stderr.count("\n") == 1
