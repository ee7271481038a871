"""The read side of one deployment: the read-model database, the projector, and freshness.

Two ways to keep read models current (``FUNDING_ENGINE_PROJECTIONS``):

- ``inline`` (default): the application catches the projections up itself: a background thread
  of the process follows its own commands, and every read-model query first catches up to the
  log's head, so a read right after a write sees it. Right for one process on SQLite, and fine
  for a few processes on PostgreSQL (catch-ups serialise on the tracking rows). The follower
  takes the work off the command's path and applies events in batches: catching up after each
  command inside it cost a third of the command's time (bench/command_path.py).
- ``worker``: a separate ``funding-engine projections run`` process follows the log; a query
  first waits (bounded) until the read models have reached the log's head as it was when the
  query began, so a client still reads its own writes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Literal

from funding_engine.settings import PostgresStore, SQLiteStore, Store
from projections.audit_anchors import AnchorError, newest_position, take_anchor, write_anchor
from projections.audit_chain import AuditChain
from projections.database import PostgresProjectionDatabase, ProjectionDatabase, SQLiteProjectionDatabase
from projections.engine import LibraryNotificationSource, Projector
from projections.read_models import read_models
from projections.unreadable import LogUnreadable

Mode = Literal["inline", "worker"]

log = logging.getLogger(__name__)

# After a failed background catch-up (the database restarting, say), wait this long before the
# next try; queries still catch up themselves and report the failure to their caller.
FOLLOWER_RETRY_SECONDS = 1.0
# The follower waits this long after a command before catching up, so one transaction carries the
# events of every command in the window: a catch-up's fixed cost (tracking rows, the fund and
# request rows each model reads, the commit) is about a millisecond, ten times an event's share.
# Queries never see the lag: each one catches up to the head itself before it reads.
FOLLOWER_WINDOW_SECONDS = 0.02


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
        self._follower: threading.Thread | None = None
        self._anchorer: threading.Thread | None = None
        self._follower_guard = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()

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
            self._start_follower()
            self._wake.set()

    def _start_follower(self) -> None:
        if self._follower is not None:
            return
        with self._follower_guard:
            if self._follower is None and not self._stopping.is_set():
                self._follower = threading.Thread(target=self._follow, name="read-model-follower", daemon=True)
                self._follower.start()

    def _follow(self) -> None:
        reported: int | None = None  # the damaged position already logged: once is enough
        # ``close`` sets stopping before it wakes us, so whatever we cleared, we see it here.
        while not self._stopping.is_set():
            self._wake.wait()
            if self._stopping.wait(FOLLOWER_WINDOW_SECONDS):
                return
            # Cleared before catching up: a command saved during the catch-up wakes us again.
            self._wake.clear()
            try:
                with self._catching_up():
                    self.projector.catch_up()
            except LogUnreadable as error:
                # Retrying cannot mend the log; say so once, in one line, not with a traceback a second.
                if error.position != reported:
                    log.error("read models stopped before a damaged event: %s", error)
                    reported = error.position
                self._stopping.wait(FOLLOWER_RETRY_SECONDS)
                self._wake.set()
            except Exception:
                log.exception("background read-model catch-up failed; retrying")
                self._stopping.wait(FOLLOWER_RETRY_SECONDS)
                self._wake.set()

    def make_fresh(self, names: Sequence[str] | None = None) -> None:
        """Before a read-model query: everything committed before now is reflected (in ``names``, or all)."""
        if self.mode == "inline":
            with self._catching_up():
                self.projector.catch_up(names)
        else:
            self.projector.wait_for(self.projector.source.head(), timeout=self.read_timeout, names=names)

    def start_anchoring(self, folder: Path, every_seconds: float) -> None:
        """Write an audit anchor into ``folder`` now and every ``every_seconds``, while the chain grows."""
        if not folder.is_dir():
            raise AnchorError(f"the audit anchor folder {folder} does not exist (FUNDING_ENGINE_AUDIT_ANCHOR_DIR)")
        self._anchorer = threading.Thread(
            target=self._anchor_regularly, args=(folder, every_seconds), name="audit-anchors", daemon=True
        )
        self._anchorer.start()

    def _anchor_regularly(self, folder: Path, every_seconds: float) -> None:
        while True:
            try:
                anchor = take_anchor(self.database, self.audit_key)
                newest = newest_position(folder)
                # Several processes anchor into one folder: only a head beyond every anchor there is new.
                if anchor.position > (newest or 0):
                    write_anchor(anchor, folder)
            except Exception:
                log.exception("could not write an audit anchor to %s; trying again at the next interval", folder)
            if self._stopping.wait(every_seconds):
                return

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        with self._follower_guard:
            follower = self._follower
        if follower is not None:
            # Let a catch-up in progress commit: it is one transaction per batch either way.
            follower.join()
        if self._anchorer is not None:
            self._anchorer.join()
        self.database.close()
