"""Exactly-once catch-up of read models from the notification log.

The library's ``ProjectionRunner`` cannot follow a SQLite store, so this reads the log by
position instead, the same way on both stores:

  1. open one transaction on the read-model database and lock the projections' tracking rows;
  2. read the notifications after the lowest tracked position (a bounded batch);
  3. apply each to every projection that has not seen it;
  4. move each projection's tracking position, guarded by its old value, and commit.

Rows and positions commit together or not at all, so a process killed anywhere re-applies
nothing twice and loses nothing. Two catch-ups of the same projection serialise on the tracking
row; a long-running worker additionally holds a lock per projection (a PostgreSQL advisory lock,
or an ``flock`` beside the SQLite file) so a second worker or a rebuild is refused, not merged.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.formatting import utc_text
from projections.database import (
    Cursor,
    PostgresProjectionDatabase,
    ProjectionDatabase,
    SQLiteProjectionDatabase,
    advisory_lock_key,
)
from projections.projection import Projection
from projections.source import LibraryNotificationSource, NotificationLike, NotificationSource

# What a projection is (``projections.projection``) and where it reads (``projections.source``) live
# beside this module; their names are still found here.
__all__ = [
    "LibraryNotificationSource",
    "NotificationLike",
    "NotificationSource",
    "Projection",
    "ProjectionBusy",
    "ProjectionError",
    "ProjectionStatus",
    "ProjectionTimeout",
    "Projector",
    "TrackingConflict",
    "utc_now_text",
]

TRACKING_TABLE = """
CREATE TABLE IF NOT EXISTS projection_tracking (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


# Batches of fewer notifications than this end inside the pipeline (see ``_apply_batch``).
PIPELINED_BATCH_BELOW = 64


class ProjectionError(Exception):
    """Base of the projection machinery's own errors."""


class ProjectionBusy(ProjectionError):
    """Another worker holds the projection."""


class ProjectionTimeout(ProjectionError):
    """The read models did not reach a log position in time."""


class TrackingConflict(ProjectionError):
    """Someone else moved a tracking position while this batch was applied; the batch rolled back."""


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


def utc_now_text() -> str:
    """Now, to the second (``2026-11-27T20:06:44Z``): when a tracking row moved or a checkpoint was written.

    Written by the one formatter, less its fraction of a second: docs/AUDIT_CHAIN.md documents the
    audit checkpoints' ``recorded_at`` as ``YYYY-MM-DDTHH:MM:SSZ``, and people file those copies.
    """
    text = utc_text(datetime.now(UTC))
    return text[: text.index(".")] + "Z"


class Projector:
    """Keeps a set of projections caught up with the log, exactly once."""

    def __init__(
        self,
        database: ProjectionDatabase,
        source: NotificationSource,
        projections: Sequence[Projection],
        *,
        batch_size: int = 500,
    ) -> None:
        self.database = database
        self.source = source
        self.projections = {projection.name: projection for projection in projections}
        self.batch_size = batch_size
        self._catch_up_lock = threading.Lock()

    # -- set-up ------------------------------------------------------------------------------

    def create_tables(self) -> None:
        """Create what is missing; every process runs this as it starts, beside running catch-ups.

        Two processes starting together are the caller's to serialise (``bootstrap`` holds an
        advisory lock while it creates tables).
        """
        with self.database.transaction() as cursor:
            cursor.execute(TRACKING_TABLE)
            if isinstance(self.database, PostgresProjectionDatabase):
                # An index that already exists still locks its table before finding so, and that
                # lock waits for writers. Taking the tracking table first, as every catch-up does,
                # makes a catch-up in flight finish before, and the next one start after, instead
                # of each holding a table the other waits for.
                cursor.execute("LOCK TABLE projection_tracking IN EXCLUSIVE MODE")
            for projection in self.projections.values():
                for statement in projection.create_statements():
                    cursor.execute(statement)
            for name in self.projections:
                cursor.execute(
                    "INSERT INTO projection_tracking (name, position, updated_at) VALUES (?, 0, ?) "
                    "ON CONFLICT (name) DO NOTHING",
                    (name, utc_now_text()),
                )

    # -- catching up -------------------------------------------------------------------------

    def catch_up(self, names: Sequence[str] | None = None) -> int:
        """Apply every new notification; returns how many notifications were read."""
        selected = [self.projections[name] for name in (names or self.projections)]
        total = 0
        with self._catch_up_lock:
            # A plain read first: when nothing is new (most queries), no write transaction is
            # opened, so a query does not queue behind writers for the tracking rows.
            if self._lowest_position([p.name for p in selected]) >= self.source.head():
                return 0
            while True:
                read = self._apply_batch(selected)
                total += read
                # A short batch reached the head as it was when the batch read the log, which
                # is later than the call began: done, without one more (empty) transaction.
                if read < self.batch_size:
                    return total

    def _apply_batch(self, projections: Sequence[Projection]) -> int:
        names = [projection.name for projection in projections]
        with self.database.transaction() as cursor:
            positions = self._lock_positions(cursor, names)
            start = min(positions.values())
            notifications = self.source.select(start, self.batch_size)
            if not notifications:
                return 0
            needs_events = any(p.needs_events for p in projections)
            to_event = self.source.to_event
            # Each projection applies only what it has not seen: positions may differ.
            appliers = [(positions[projection.name], projection.apply) for projection in projections]
            # A small batch (a command's few events) is written within the pipeline, with no round
            # trip per table; a large one after it, where PostgreSQL can COPY its rows in bulk.
            small = len(notifications) < PIPELINED_BATCH_BELOW
            with cursor.pipeline():
                for projection in projections:
                    projection.begin_batch(cursor)
                for notification in notifications:
                    event = to_event(notification) if needs_events else None
                    for position, apply in appliers:
                        if notification.id > position:
                            apply(cursor, notification, event)
                if small:
                    self._end_batch(cursor, projections)
            if not small:
                self._end_batch(cursor, projections)
            last = notifications[-1].id
            for name, old in positions.items():
                if last > old:
                    self._record_position(cursor, name, old, last)
            return len(notifications)

    @staticmethod
    def _end_batch(cursor: Cursor, projections: Sequence[Projection]) -> None:
        for projection in projections:
            projection.end_batch(cursor)

    def _lock_positions(self, cursor: Cursor, names: Sequence[str]) -> dict[str, int]:
        marks = ", ".join("?" for _ in names)
        lock = ""
        if isinstance(self.database, PostgresProjectionDatabase):
            lock = " FOR UPDATE"
            # Read models are derived, as on SQLite (synchronous=NORMAL): the commit need not wait
            # for the WAL flush. A crash can lose the last few batches, rows and positions
            # together, and they are applied again. Only this transaction; the event log's and
            # the idempotency records' commits keep full durability.
            cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            f"SELECT name, position FROM projection_tracking WHERE name IN ({marks}) ORDER BY name{lock}",
            tuple(names),
        )
        positions = {row[0]: int(row[1]) for row in cursor.fetchall()}
        missing = sorted(set(names) - set(positions))
        if missing:
            raise ProjectionError(f"projection tables not created for: {', '.join(missing)}")
        return positions

    def _record_position(self, cursor: Cursor, name: str, old: int, new: int) -> None:
        cursor.execute(
            "UPDATE projection_tracking SET position = ?, updated_at = ? WHERE name = ? AND position = ?",
            (new, utc_now_text(), name, old),
        )
        if cursor.rowcount != 1:
            raise TrackingConflict(f"projection {name} moved past {old} during this batch")

    # -- reading positions ---------------------------------------------------------------------

    def _lowest_position(self, names: Sequence[str]) -> int:
        marks = ", ".join("?" for _ in names)
        with self.database.reading() as cursor:
            cursor.execute(f"SELECT min(position) FROM projection_tracking WHERE name IN ({marks})", tuple(names))
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def position(self, name: str) -> int:
        with self.database.reading() as cursor:
            cursor.execute("SELECT position FROM projection_tracking WHERE name = ?", (name,))
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def status(self) -> list[ProjectionStatus]:
        head = self.source.head()
        with self.database.reading() as cursor:
            cursor.execute("SELECT name, position FROM projection_tracking ORDER BY name")
            rows = {row[0]: int(row[1]) for row in cursor.fetchall()}
        return [ProjectionStatus(name, rows.get(name, 0), head) for name in sorted(self.projections)]

    def wait_for(self, position: int, *, timeout: float = 5.0, names: Sequence[str] | None = None) -> None:
        """Block until the projections have applied ``position`` (a worker is catching them up)."""
        deadline = time.monotonic() + timeout
        wanted = list(names or self.projections)
        delay = 0.005
        while True:
            if all(self.position(name) >= position for name in wanted):
                return
            if time.monotonic() >= deadline:
                behind = [name for name in wanted if self.position(name) < position]
                raise ProjectionTimeout(
                    f"read models {', '.join(behind)} did not reach log position {position} within {timeout:g}s; "
                    "is the projection worker running?"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    # -- rebuilding ------------------------------------------------------------------------------

    def rebuild(self, name: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop one projection's tables and build them again from the whole log."""
        projection = self.projections[name]
        # This process's follower and queries wait for the whole rebuild, not just its batches.
        with self.holding([name]), self._catch_up_lock:
            with self.database.transaction() as cursor:
                # The tracking row first, then the tables: the order every catch-up takes them in,
                # here or in another process. A catch-up in flight finishes its batch before the
                # tables go, and the next one waits for the new tables. Dropping first could take
                # one table while a catch-up held another, each waiting for the other: a deadlock.
                self._lock_positions(cursor, [name])
                for table in projection.tables:
                    cursor.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in projection.create_statements():
                    cursor.execute(statement)
                cursor.execute(
                    "UPDATE projection_tracking SET position = 0, updated_at = ? WHERE name = ?",
                    (utc_now_text(), name),
                )
            head = self.source.head()
            applied = 0
            while True:
                read = self._apply_batch([projection])
                if read == 0:
                    break
                applied += read
                if progress is not None:
                    progress(min(self.position(name), head), head)
            return applied

    # -- worker locks ------------------------------------------------------------------------------

    @contextmanager
    def holding(self, names: Sequence[str]) -> Iterator[None]:
        """Hold the worker lock of each named projection, or refuse at once with ProjectionBusy."""
        with _worker_locks(self.database, names):
            yield

    def run_worker(
        self,
        *,
        poll_interval: float = 0.2,
        stop: threading.Event | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        """Follow the log until ``stop`` is set: the long-running ``projections run`` process."""
        stop = stop or threading.Event()
        with self.holding(list(self.projections)):
            while not stop.is_set():
                applied = self.catch_up()
                if applied and on_batch is not None:
                    on_batch(applied)
                if not applied:
                    stop.wait(poll_interval)


@contextmanager
def _worker_locks(database: ProjectionDatabase, names: Sequence[str]) -> Iterator[None]:
    if isinstance(database, PostgresProjectionDatabase):
        with database.session() as session:
            for name in names:
                key = advisory_lock_key(database.schema, name)
                row = session.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if not row or not row[0]:
                    raise ProjectionBusy(f"projection {name} is held by another worker; stop that one first")
            # The session's locks go when it closes, including when the process is killed.
            yield
        return
    if isinstance(database, SQLiteProjectionDatabase):
        import fcntl

        descriptors: list[int] = []
        try:
            for name in names:
                descriptor = _open_lock_file(f"{database.path}.{name}.lock")
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(descriptor)
                    raise ProjectionBusy(f"projection {name} is held by another worker; stop that one first") from None
                descriptors.append(descriptor)
            yield
        finally:
            for descriptor in descriptors:
                os.close(descriptor)
        return
    yield


def _open_lock_file(path: str) -> int:
    """The lock file, owner-only, opened without following a symbolic link.

    Someone who can write to the folder could otherwise point the name at a file of the service's
    (the database itself), which opening with O_CREAT would then touch, or leave it readable to all.
    """
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ProjectionError(f"{path} is a symbolic link; refusing to use it as a lock file") from None
        raise
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ProjectionError(f"{path} is not a regular file; refusing to use it as a lock file")
    # A file left by an older version (made with the process's umask) becomes owner-only too.
    os.fchmod(descriptor, 0o600)
    return descriptor
