"""The read side of one deployment: the read-model database, the projector, and freshness.

Two ways to keep read models current (``FUNDING_ENGINE_PROJECTIONS``):

- ``inline`` (default): the application catches the projections up after every command and
  before every read-model query, so a read right after a write sees it. Right for one process on
  SQLite, and fine for a few processes on PostgreSQL (catch-ups serialise on the tracking rows).
- ``worker``: a separate ``funding-engine projections run`` process follows the log; a query
  first waits (bounded) until the read models have reached the log's head as it was when the
  query began, so a client still reads its own writes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Literal

from funding_engine.settings import PostgresStore, SQLiteStore, Store
from projections.audit_chain import AuditChain
from projections.database import PostgresProjectionDatabase, ProjectionDatabase, SQLiteProjectionDatabase
from projections.engine import LibraryNotificationSource, Projector
from projections.read_models import read_models

Mode = Literal["inline", "worker"]


class ReadSide:
    def __init__(
        self,
        database: ProjectionDatabase,
        projector: Projector,
        *,
        mode: Mode = "inline",
        read_timeout: float = 5.0,
        audit_key: bytes | None = None,
    ) -> None:
        self.database = database
        self.projector = projector
        self.mode = mode
        self.read_timeout = read_timeout
        self.audit_key = audit_key
        # On SQLite the read models share the event log's file. A catch-up holds the file's write
        # lock while it reads the log through the library's connection pool; a save holds the
        # pool's writer lock (and a waiting one its queue) while it waits for the file's write lock.
        # Within one process the two would wait on each other until the pool's 5 s timeout (a 500
        # under concurrent writes), so saves and catch-ups take turns. SQLite serialises writes to
        # the file anyway; PostgreSQL has no such cycle and needs no gate.
        self._gate: threading.Lock | None = threading.Lock() if database.kind == "sqlite" else None

    @classmethod
    def build(
        cls,
        store: Store,
        recorder: object,
        mapper: object,
        *,
        mode: Mode = "inline",
        read_timeout: float = 5.0,
        audit_key: bytes | None = None,
    ) -> ReadSide:
        database: ProjectionDatabase
        if isinstance(store, SQLiteStore):
            database = SQLiteProjectionDatabase(store.path)
        elif isinstance(store, PostgresStore):
            database = PostgresProjectionDatabase(store.conninfo(), store.schema)
        else:  # pragma: no cover - settings admit no other store
            raise TypeError(f"no read models for {store!r}")
        source = LibraryNotificationSource(recorder, mapper)
        projector = Projector(database, source, [*read_models(), AuditChain(audit_key)])
        projector.create_tables()
        return cls(database, projector, mode=mode, read_timeout=read_timeout, audit_key=audit_key)

    def saving(self) -> AbstractContextManager[object]:
        """Held around the application's saves to the event log (see ``_gate``)."""
        return self._gate if self._gate is not None else nullcontext()

    @contextmanager
    def _catching_up(self) -> Iterator[None]:
        with self.saving():
            yield

    def after_command(self) -> None:
        if self.mode == "inline":
            with self._catching_up():
                self.projector.catch_up()

    def make_fresh(self) -> None:
        """Before a read-model query: everything committed before now is reflected."""
        if self.mode == "inline":
            with self._catching_up():
                self.projector.catch_up()
        else:
            self.projector.wait_for(self.projector.source.head(), timeout=self.read_timeout)

    def close(self) -> None:
        self.database.close()
