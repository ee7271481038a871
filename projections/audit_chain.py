"""A tamper-evident hash chain over the stored event records, in log order.

Each link is ``sha256(previous link + record)`` where the record is the notification's position,
aggregate id, version, topic and its state **bytes exactly as stored**. Any edit to a stored
record (even one byte of whitespace), a deleted or inserted record, or two records swapped, makes
the recomputed chain part from the recorded one at that position. With ``FUNDING_ENGINE_AUDIT_KEY``
set, links are HMACs under that key, so someone able to rewrite the database but not holding the
key cannot forge a consistent chain either.

The chain grows as the projection catches up (one link per new event), never by rehashing the
log; ``verify`` rehashes everything, on demand.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

from eventsourcing.domain import Aggregate

from projections.database import Cursor, ProjectionDatabase
from projections.engine import utc_now_text
from projections.projection import Projection
from projections.source import NotificationLike, NotificationSource

GENESIS = "0" * 64
CHECKPOINT_EVERY = 1000


def record_bytes(notification: NotificationLike) -> bytes:
    originator_id = getattr(notification.originator_id, "hex", notification.originator_id)
    header = f"{notification.id}\n{originator_id}\n{notification.originator_version}\n{notification.topic}\n"
    return header.encode() + bytes(notification.state)


def link(previous: str, notification: NotificationLike, key: bytes | None) -> str:
    message = bytes.fromhex(previous) + record_bytes(notification)
    if key:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


class AuditChain(Projection):
    name = "audit_chain"
    tables = ("audit_chain", "audit_checkpoints")
    needs_events = False

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key
        self._previous = GENESIS
        self._links: list[tuple[int, str]] = []
        self._checkpoints: list[tuple[int, str, str]] = []

    def create_statements(self) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS audit_chain (position BIGINT PRIMARY KEY, hash TEXT NOT NULL)",
            """CREATE TABLE IF NOT EXISTS audit_checkpoints (
                position BIGINT PRIMARY KEY,
                hash TEXT NOT NULL,
                recorded_at TEXT NOT NULL
            )""",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        cursor.execute("SELECT hash FROM audit_chain ORDER BY position DESC LIMIT 1")
        row = cursor.fetchone()
        self._previous = row[0] if row else GENESIS
        # The batch's links, written together at its end.
        self._links, self._checkpoints = [], []

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        digest = link(self._previous, notification, self.key)
        self._links.append((notification.id, digest))
        self._previous = digest
        if notification.id % CHECKPOINT_EVERY == 0:
            self._checkpoints.append((notification.id, digest, utc_now_text()))

    def end_batch(self, cursor: Cursor) -> None:
        cursor.insert_rows("audit_chain", ("position", "hash"), self._links)
        cursor.insert_rows("audit_checkpoints", ("position", "hash", "recorded_at"), self._checkpoints)
        self._links, self._checkpoints = [], []


@dataclass(frozen=True)
class Verification:
    ok: bool
    events_checked: int
    head: str
    first_bad_position: int | None
    # The link recomputed from the log at each position asked for (to compare with anchors), and
    # the log's last position.
    links_at: dict[int, str] = field(default_factory=dict)
    log_head: int = 0


def verify(
    database: ProjectionDatabase,
    source: NotificationSource,
    key: bytes | None = None,
    *,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    watch: Collection[int] = (),
) -> Verification:
    """Rehash every stored record and compare with the recorded chain, link by link.

    ``watch``: positions whose recomputed links to report (an anchor's), beyond the chain's head too.
    """
    # Read before the chain: links are only ever added, so the chain must reach at least this far.
    chained_up_to = _tracked_position(database)
    log_head = source.head()
    records = _records(source, batch_size)
    previous, checked, last = GENESIS, 0, 0
    links_at: dict[int, str] = {}

    def result(ok: bool, bad: int | None) -> Verification:
        return Verification(ok, checked, previous, bad, links_at, log_head)

    for position, recorded in _chain_rows(database, batch_size):
        record = next(records, None)
        if record is None or record.id != position:
            # A deleted record (the log skips a chained position) or an inserted one (an unchained position).
            return result(False, position if record is None or record.id > position else record.id)
        computed = link(previous, record, key)
        if position in watch:
            links_at[position] = computed
        if computed != recorded:
            return result(False, position)
        previous, checked, last = recorded, checked + 1, position
        if progress is not None and checked % batch_size == 0:
            progress(checked)
    if last < chained_up_to:
        # Links the projection recorded are gone from the chain's end, so the records after the cut
        # would pass unverified: fail at the first record the chain no longer covers.
        record = next(records, None)
        return result(False, record.id if record is not None else last + 1)
    # Records past the chain's head are simply not chained yet (the next catch-up links them); an
    # anchor taken meanwhile by a process whose chain was further on may name one.
    beyond, furthest = previous, max(watch, default=0)
    while last < furthest and (record := next(records, None)) is not None:
        beyond, last = link(beyond, record, key), record.id
        if last in watch:
            links_at[last] = beyond
    return result(True, None)


def _tracked_position(database: ProjectionDatabase) -> int:
    with database.reading() as cursor:
        cursor.execute("SELECT position FROM projection_tracking WHERE name = ?", (AuditChain.name,))
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _records(source: NotificationSource, batch_size: int) -> Iterator[NotificationLike]:
    after = 0
    while True:
        batch = source.select(after, batch_size)
        if not batch:
            return
        yield from batch
        after = batch[-1].id


def _chain_rows(database: ProjectionDatabase, batch_size: int) -> Iterator[tuple[int, str]]:
    after = 0
    while True:
        with database.reading() as cursor:
            cursor.execute(
                "SELECT position, hash FROM audit_chain WHERE position > ? ORDER BY position LIMIT ?",
                (after, batch_size),
            )
            rows = [(int(row[0]), str(row[1])) for row in cursor.fetchall()]
        if not rows:
            return
        yield from rows
        after = rows[-1][0]
