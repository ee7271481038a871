"""The composition root: builds the application from settings. Nothing connects before this runs."""

from __future__ import annotations

from funding_engine.application import FundingApplication
from funding_engine.read_side import ReadSide
from funding_engine.settings import PostgresStore, Settings, SQLiteStore, ensure_sqlite_file


def bootstrap(settings: Settings | None = None) -> FundingApplication:
    settings = settings or Settings()
    store = settings.store
    if isinstance(store, SQLiteStore):
        ensure_sqlite_file(store.path)
    elif isinstance(store, PostgresStore) and store.schema != "public":
        _ensure_postgres_schema(store)
    app = FundingApplication(env=store.library_env())
    try:
        app.read_side = ReadSide.build(
            store,
            app.recorder,
            app.mapper,
            mode=settings.projections,
            read_timeout=settings.read_timeout_seconds,
            audit_key=settings.audit_key.get_secret_value().encode() if settings.audit_key else None,
        )
    except BaseException:
        app.close()
        raise
    return app


def _ensure_postgres_schema(store: PostgresStore) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(store.conninfo(), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(store.schema)))
