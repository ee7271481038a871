import pytest
from pydantic import ValidationError

from funding_engine.settings import PostgresStore, Settings, SQLiteStore, parse_database_url


def test_the_default_store_is_a_sqlite_file_under_var(monkeypatch):
    monkeypatch.delenv("FUNDING_ENGINE_DATABASE_URL", raising=False)
    assert Settings().store == SQLiteStore("var/funding.sqlite3")


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
        ("postgresql://postgres@localhost/funding?sslmode=disable", "unsupported PostgreSQL URL option"),
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
