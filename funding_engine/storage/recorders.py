"""The event log's recorders: the library's own, plus the idempotency record in the same transaction.

``Application.save(..., idempotency=commit)`` hands ``commit`` through the event store to
``insert_events``; these recorders write it beside the events, so a key is recorded exactly when
its command's events are. A live record with the same scope makes the insert fail, and with it the
whole save (an ``IntegrityError``, as for a stale aggregate): two requests with one key never
both commit. The table and its statements belong to ``funding_engine.idempotency``; they are
created here, with the event tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from funding_engine import idempotency as keys
from funding_engine.idempotency import Commit

_SQLITE_NAMES = {"table": keys.TABLE, "index": keys.INDEX, "old_table": keys.OLD_TABLE}


class SQLiteEventRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        own = [statement.format(**_SQLITE_NAMES) for statement in keys.CREATE_STATEMENTS]
        return [*super().construct_create_table_statements(), *own]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        commit: Commit | None = kwargs.get("idempotency")
        if commit is not None:
            c.execute(keys.DELETE_EXPIRED_SCOPE.format(**_SQLITE_NAMES), commit.delete_expired_params())
            c.execute(keys.INSERT_COMMIT.format(**_SQLITE_NAMES), commit.insert_params())
        return notification_ids


class PostgresEventRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema = self.datastore.schema
        names = {
            "table": Identifier(schema, keys.TABLE),
            "index": Identifier(keys.INDEX),
            "old_table": Identifier(schema, keys.OLD_TABLE),
        }

        def statement(template: str) -> Composed:
            return SQL(template.replace("?", "%s")).format(**names)

        self.sql_create_statements.extend(statement(template) for template in keys.CREATE_STATEMENTS)
        self._delete_expired = statement(keys.DELETE_EXPIRED_SCOPE)
        self._insert_commit = statement(keys.INSERT_COMMIT)

    def _insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        commit: Commit | None = kwargs.get("idempotency")
        if commit is None:
            return
        if self.datastore.enable_db_functions:
            # That path inserts events through a stored function and would drop the record.
            raise ProgrammingError("idempotency records need POSTGRES_ENABLE_DB_FUNCTIONS off")
        curs.execute(self._delete_expired, commit.delete_expired_params())
        curs.execute(self._insert_commit, commit.insert_params())


# The recorder ``FundingApplication`` uses for each persistence module (as the library's
# ``APPLICATION_RECORDER_TOPIC`` setting).
RECORDER_TOPICS = {
    "eventsourcing.sqlite": "funding_engine.storage.recorders:SQLiteEventRecorder",
    "eventsourcing.postgres": "funding_engine.storage.recorders:PostgresEventRecorder",
}
