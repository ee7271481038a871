"""An independent reference for the audit chain, written from docs/AUDIT_CHAIN.md alone.

It reads the stored event records and the recorded chain straight from the database with its own
SQL (``sqlite3`` or ``psycopg``), never through the application, the eventsourcing library or the
projection code, and recomputes every link as the document describes. Tests compare the engine's
``audit_chain`` table and ``verify_audit_chain`` with it, so a change to what the engine hashes
(a field dropped from the record, a different separator, the key used differently) fails them.

Nothing here may import ``projections.audit_chain`` or any other hashing code of the product.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from funding_engine.settings import SQLiteStore, parse_database_url

GENESIS = "0" * 64
CHECKPOINT_EVERY = 1000


@dataclass(frozen=True)
class EventRecord:
    """One row of the event table, as stored."""

    position: int
    originator_id: str  # as the store gives it: SQLite TEXT "8-4-4-4-12", PostgreSQL a uuid
    version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class ReferenceVerdict:
    """What ``audit verify`` must report, worked out by the document's rules (section 5)."""

    ok: bool
    events_checked: int
    head: str
    first_bad_position: int | None


def record_bytes(record: EventRecord) -> bytes:
    """Section 2: position, 32-hex originator id, version and topic, each ended by a line feed, then the state."""
    originator = UUID(str(record.originator_id)).hex  # 32 lower-case hex digits, no hyphens
    header = f"{record.position}\n{originator}\n{record.version}\n{record.topic}\n"
    return header.encode("utf-8") + record.state


def next_link(previous: str, record: EventRecord, key: bytes | None) -> str:
    """Section 3: SHA-256, or HMAC-SHA256 under the key, over the previous link's raw bytes and the record."""
    message = bytes.fromhex(previous) + record_bytes(record)
    if key:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def key_bytes(key: str | bytes | None) -> bytes | None:
    """The key as the document says: the setting's UTF-8 bytes exactly as set; empty means none."""
    if key is None:
        return None
    return key.encode("utf-8") if isinstance(key, str) else key


def reference_links(records: Sequence[EventRecord], key: str | bytes | None = None) -> list[tuple[int, str]]:
    """Every record's link, in position order, from the genesis value."""
    previous, links = GENESIS, []
    for record in sorted(records, key=lambda r: r.position):
        previous = next_link(previous, record, key_bytes(key))
        links.append((record.position, previous))
    return links


def reference_checkpoints(links: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """Section 4: the link again at every chained position that is a multiple of 1,000."""
    return [(position, digest) for position, digest in links if position % CHECKPOINT_EVERY == 0]


def reference_verdict(
    records: Sequence[EventRecord],
    chain: Sequence[tuple[int, str]],
    tracked: int,
    key: str | bytes | None = None,
) -> ReferenceVerdict:
    """Section 5, step by step: the first deleted, inserted, altered or cut-off position, if any."""
    by_position = {record.position: record for record in records}
    recorded = dict(chain)
    chain_end = max(recorded, default=0)
    previous, checked = GENESIS, 0
    for position in sorted(set(by_position) | set(recorded)):
        if position > chain_end:
            break  # step 4: not chained yet
        if position not in by_position or position not in recorded:
            return ReferenceVerdict(False, checked, previous, position)  # steps 1 and 2
        computed = next_link(previous, by_position[position], key_bytes(key))
        if computed != recorded[position]:
            return ReferenceVerdict(False, checked, previous, position)  # step 3
        previous, checked = computed, checked + 1
    if chain_end < tracked:  # step 5
        after = [position for position in by_position if position > chain_end]
        return ReferenceVerdict(False, checked, previous, min(after) if after else chain_end + 1)
    return ReferenceVerdict(True, checked, previous, None)


# -- reading the database directly (section 1 and section 4) --------------------------------------


class StoredChain:
    """The raw tables of one store: its event records, its recorded links, checkpoints and tracking."""

    def __init__(self, database_url: str) -> None:
        self.store = parse_database_url(database_url)

    @contextmanager
    def _cursor(self) -> Iterator[tuple[Any, str, str]]:
        """A cursor, the event table and its position column."""
        if isinstance(self.store, SQLiteStore):
            connection = sqlite3.connect(self.store.path)
            try:
                yield connection.cursor(), "stored_events", "rowid"
            finally:
                connection.close()
            return
        import psycopg

        options = f"-c search_path={self.store.schema}"
        with (
            psycopg.connect(self.store.conninfo(), options=options, autocommit=True) as pg_connection,
            pg_connection.cursor() as cursor,
        ):
            yield cursor, "fundingengine_events", "notification_id"

    def records(self) -> list[EventRecord]:
        with self._cursor() as (cursor, table, position):
            cursor.execute(
                f"SELECT {position}, originator_id, originator_version, topic, state FROM {table} ORDER BY {position}"
            )
            return [
                EventRecord(int(row[0]), str(row[1]), int(row[2]), str(row[3]), bytes(row[4]))
                for row in cursor.fetchall()
            ]

    def links(self) -> list[tuple[int, str]]:
        return self._pairs("SELECT position, hash FROM audit_chain ORDER BY position")

    def checkpoints(self) -> list[tuple[int, str]]:
        return self._pairs("SELECT position, hash FROM audit_checkpoints ORDER BY position")

    def tracked(self) -> int:
        rows = self._pairs("SELECT position, name FROM projection_tracking WHERE name = 'audit_chain'")
        return rows[0][0] if rows else 0

    def verdict(self, key: str | bytes | None = None) -> ReferenceVerdict:
        return reference_verdict(self.records(), self.links(), self.tracked(), key)

    def _pairs(self, sql: str) -> list[tuple[int, str]]:
        with self._cursor() as (cursor, _, _):
            cursor.execute(sql)
            return [(int(row[0]), str(row[1])) for row in cursor.fetchall()]
