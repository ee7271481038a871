from pathlib import Path

import pytest
from pydantic import ValidationError

from funding_engine.settings import PostgresStore, Settings, SQLiteStore, parse_database_url

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_store_is_a_sqlite_file_under_the_projects_var_whatever_the_current_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("FUNDING_ENGINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("FUNDING_ENGINE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().store == SQLiteStore(str(ROOT / "var" / "funding.sqlite3"))


def test_the_data_dir_moves_the_default_store(monkeypatch, tmp_path):
    monkeypatch.delenv("FUNDING_ENGINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("FUNDING_ENGINE_DATA_DIR", str(tmp_path / "data"))
    assert Settings().store == SQLiteStore(str(tmp_path / "data" / "funding.sqlite3"))


def test_the_database_url_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("FUNDING_ENGINE_DATABASE_URL", "sqlite:////srv/funding/engine.sqlite3")
    assert Settings().store == SQLiteStore("/srv/funding/engine.sqlite3")


def test_a_postgresql_url_selects_the_postgresql_store_with_its_parts():
    store = parse_database_url("postgresql://engine:s%40cret@db.internal:6543/funding?schema=county")
    assert store == PostgresStore(
        host="db.internal", port=6543, user="engine", password="s@cret", dbname="funding", schema="county"
    )
    env = store.library_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_SCHEMA"]) == ("db.internal", "6543", "county")


def test_a_postgresql_url_defaults_to_the_public_schema_and_port_5432():
    store = parse_database_url("postgresql://postgres@127.0.0.1/funding")
    assert isinstance(store, PostgresStore)
    assert (store.port, store.schema, store.password) == (5432, "public", "")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/funding", "must start with sqlite:/// or postgresql://"),
        ("funding.sqlite3", "must start with sqlite:/// or postgresql://"),
        ("sqlite://host/funding.sqlite3", "has no host"),
        ("sqlite:///", "needs a file path"),
        ("postgresql://postgres@localhost", "needs a database name"),
        ("postgresql://postgres@localhost:port/funding", "port must be a number"),
        ("postgresql://postgres@localhost/funding?ssl_mode=disable", "unsupported PostgreSQL URL option"),
        ("postgresql://postgres@localhost/funding?sslmode=maybe", "sslmode must be one of"),
        ("postgresql://postgres@localhost/funding?sslmode=require&sslmode=disable", "more than once"),
        ("postgresql://postgres@localhost/funding?connect_timeout=soon", "connect_timeout must be"),
        ("postgresql://postgres@localhost/funding?schema=a;drop", "schema must be letters"),
    ],
)
def test_a_bad_database_url_is_refused_at_start_up_with_a_clear_message(monkeypatch, url, message):
    monkeypatch.setenv("FUNDING_ENGINE_DATABASE_URL", url)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_reading_settings_connects_to_nothing(monkeypatch):
    # A PostgreSQL URL to a port nothing listens on: reading settings must still succeed.
    monkeypatch.setenv("FUNDING_ENGINE_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    assert Settings().store.describe() == "PostgreSQL database nowhere on 127.0.0.1:1, schema public"


# -- secrets: the token secret and the audit key ---------------------------------------------------

SECRET_SETTINGS = ["FUNDING_ENGINE_JWT_SECRET", "FUNDING_ENGINE_AUDIT_KEY"]
GENERATOR = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'


@pytest.mark.parametrize("variable", SECRET_SETTINGS)
@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("a" * 32, "too little variety"),
        ("a" * 200, "too little variety"),
        (" " * 32, "spaces, line breaks"),
        ("ab" * 16, "too little variety"),
        ("abcdefgh" * 4, "repeats a shorter string"),
        ("0123456789abcdef" * 2, "repeats a shorter string"),
        ("password1234password1234password", "repeats a shorter string"),
        ("abcdefghijklmnopqrstuvwxyz012345", "looks like a pattern"),
        ("0123456789" * 3 + "01234567890123456789abcdefghijkl", "looks like a pattern"),
        ("correct horse battery staple and more", "spaces, line breaks"),
        ("Zq8vN2pW5rT1xY7kM4bH9cJ3dF6gL0sA\n", "spaces, line breaks"),
        ("Zq8vN2pW5rT1xY7kM4bH9cJ3dF6gL0sA\t", "spaces, line breaks"),
        ("Zq8vN2pW5rT1xY7kM4bH9cJ3dF6gL0sA\x1b", "spaces, line breaks"),
        ("Zq8vN2pW5rT1xY7k\u200bM4bH9cJ3dF6gL0sA", "spaces, line breaks"),
        ("Zq8vN2pW5rT1xY7kM4bH9cJ3dF6gL0s", "at least 32 characters"),
    ],
)
def test_a_guessable_secret_is_refused_with_a_command_that_makes_a_good_one(monkeypatch, variable, secret, why):
    monkeypatch.setenv(variable, secret)
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert why in message and variable in message
    assert GENERATOR in message
    assert not secret.strip() or secret.strip() not in message, "the refused secret is not repeated"


def _openssl(*args: str) -> str:
    import os
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("openssl must be installed in CI")
        pytest.skip("openssl is not installed")
    return subprocess.run(["openssl", "rand", *args], capture_output=True, text=True, check=True).stdout.strip()


GENERATED = {
    "the suggested command": lambda: __import__("secrets").token_urlsafe(48),
    "openssl rand -hex 32": lambda: _openssl("-hex", "32"),
    "openssl rand -base64 48": lambda: _openssl("-base64", "48"),
    "openssl rand -hex 16": lambda: _openssl("-hex", "16"),  # 128 bits, the shortest accepted
}


@pytest.mark.parametrize("variable", SECRET_SETTINGS)
@pytest.mark.parametrize("generator", list(GENERATED))
def test_secrets_from_the_usual_generators_are_accepted(monkeypatch, variable, generator):
    for _ in range(50):
        secret = GENERATED[generator]()
        monkeypatch.setenv(variable, secret)
        field = variable.removeprefix("FUNDING_ENGINE_").lower()
        assert getattr(Settings(), field).get_secret_value() == secret


def test_the_test_suites_own_secrets_are_accepted(monkeypatch):
    from tests.api.conftest import OTHER_SECRET, SECRET

    for secret in (SECRET, OTHER_SECRET, SECRET[::-1]):
        monkeypatch.setenv("FUNDING_ENGINE_JWT_SECRET", secret)
        assert Settings().jwt_secret is not None


# -- the token lifetime cap ------------------------------------------------------------------------


def test_a_token_may_last_12_hours_unless_set_otherwise(monkeypatch):
    monkeypatch.delenv("FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES", raising=False)
    assert Settings().token_max_lifetime_minutes == 720
    monkeypatch.setenv("FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES", "60")
    assert Settings().token_max_lifetime_minutes == 60


@pytest.mark.parametrize("minutes", ["0", "-5", "10081", "twelve hours", "1.5"])
def test_a_token_lifetime_cap_outside_a_minute_to_a_week_is_refused(monkeypatch, minutes):
    monkeypatch.setenv("FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES", minutes)
    with pytest.raises(ValidationError, match="token_max_lifetime_minutes"):
        Settings()


def test_an_empty_data_dir_is_refused_rather_than_taken_as_the_current_folder(monkeypatch):
    monkeypatch.setenv("FUNDING_ENGINE_DATA_DIR", "")
    with pytest.raises(ValidationError, match="FUNDING_ENGINE_DATA_DIR is empty"):
        Settings()


# -- libpq's connection options in a PostgreSQL URL --------------------------------------------------

MANAGED = (
    "postgresql://engine:s3cret@db.example:5432/funding?schema=county&sslmode=verify-full"
    "&sslrootcert=%2Fetc%2Fssl%2Fca.pem&sslcert=/etc/ssl/client.crt&sslkey=/etc/ssl/client.key"
    "&sslpassword=k3y-pass&connect_timeout=7&application_name=funding-engine&target_session_attrs=read-write"
    "&options=-c%20statement_timeout%3D5000"
)


def test_libpq_options_in_the_url_are_kept_in_order():
    store = parse_database_url(MANAGED)
    assert isinstance(store, PostgresStore)
    assert store.schema == "county"
    assert store.options == (
        ("sslmode", "verify-full"),
        ("sslrootcert", "/etc/ssl/ca.pem"),
        ("sslcert", "/etc/ssl/client.crt"),
        ("sslkey", "/etc/ssl/client.key"),
        ("sslpassword", "k3y-pass"),
        ("connect_timeout", "7"),
        ("application_name", "funding-engine"),
        ("target_session_attrs", "read-write"),
        ("options", "-c statement_timeout=5000"),
    )


def test_the_conninfo_carries_every_libpq_option():
    from psycopg.conninfo import conninfo_to_dict

    store = parse_database_url(MANAGED)
    assert isinstance(store, PostgresStore)
    assert conninfo_to_dict(store.conninfo()) == {
        "host": "db.example",
        "port": "5432",
        "user": "engine",
        "password": "s3cret",
        "dbname": "funding",
        **dict(store.options),
    }


def test_the_librarys_connections_get_the_libpq_options_through_the_engines_factory():
    from psycopg.conninfo import conninfo_to_dict

    store = parse_database_url(MANAGED)
    assert isinstance(store, PostgresStore)
    env = store.library_env()
    assert env["PERSISTENCE_MODULE"] == "funding_engine.storage.postgres_factory:PostgresFactory"
    assert conninfo_to_dict(env["FUNDING_ENGINE_LIBPQ_OPTIONS"]) == dict(store.options)
    plain = parse_database_url("postgresql://postgres@localhost/funding").library_env()
    assert plain["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert "FUNDING_ENGINE_LIBPQ_OPTIONS" not in plain


def test_a_store_is_described_without_its_password_or_key_secrets():
    described = parse_database_url(MANAGED).describe()
    assert described.startswith("PostgreSQL database funding on db.example:5432, schema county (sslmode=verify-full")
    assert "s3cret" not in described and "k3y-pass" not in described
    assert "sslpassword=***" in described and "sslkey=***" in described


def test_the_payment_run_file_settings_are_read_as_json(monkeypatch):
    monkeypatch.setenv("FUNDING_ENGINE_PAYMENT_RUN_COLUMNS", '{"amount": "Net Amount"}')
    monkeypatch.setenv("FUNDING_ENGINE_COST_CENTRES", '{"clusters": {"northmere-coast": "CC-100"}}')

    settings = Settings()

    assert settings.payment_run_columns == '{"amount": "Net Amount"}'
    assert settings.cost_centres == '{"clusters": {"northmere-coast": "CC-100"}}'


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FUNDING_ENGINE_PAYMENT_RUN_COLUMNS", "amount=Net", "PAYMENT_RUN_COLUMNS must be a JSON object"),
        ("FUNDING_ENGINE_PAYMENT_RUN_COLUMNS", '{"pupil": "x"}', "names no field 'pupil'"),
        ("FUNDING_ENGINE_COST_CENTRES", '{"clusters": {"Bad Id": "CC"}}', "FUNDING_ENGINE_COST_CENTRES"),
    ],
)
def test_a_bad_payment_run_file_setting_is_refused_at_start_up_naming_it(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=message):
        Settings()
