"""Idempotency keys: a retried command acts once, whatever moment a process died.

A client that sends ``Idempotency-Key`` asks that a repeat of the same request, with the same
body, not act again. The promise has to survive a crash, so a key's record is written in the
same transaction as the events its command produced (``funding_engine.storage.recorders``): both are in
the log or neither is. A repeat then finds one of three things:

- nothing: the command never committed (or its record expired), so it runs, once;
- a commit without an answer: the process died after committing and before answering; the
  application hands back the aggregate as that commit left it and the adapter answers again;
- an answer: given back as it was first given.

A key's scope is the caller's whole verified identity (sub, role, school or cluster), the method,
the path and the key, hashed together: no caller can reach another's record, and neither the key
nor the identity is stored in clear. Records expire (24 hours by default) and hold only what a
repeat needs: the body's hash, the committed aggregate and version, and the answer's status,
replayed headers and body.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

from domain.errors import FundingError
from domain.values import Actor
from projections.database import ProjectionDatabase

TABLE = "idempotency_records"
# Statement templates: ``{table}`` is the table's name, qualified with its schema on PostgreSQL
# (``funding_engine.storage.recorders``); ``?`` marks a parameter. The store's own statements run on
# connections whose search path is that schema, so they name the table plainly.
CREATE_STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS {table} (
        scope TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        recorded_at DOUBLE PRECISION NOT NULL,
        aggregate_id TEXT,
        aggregate_version BIGINT,
        status BIGINT,
        headers TEXT,
        body TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS {index} ON {table} (recorded_at)",
    # The table from before commits and keys were recorded together: its rows said "in progress"
    # for ever after a crash. Nothing in it is worth keeping once this version runs.
    "DROP TABLE IF EXISTS {old_table}",
)
INDEX = f"{TABLE}_by_age"
OLD_TABLE = "idempotency_keys"
# With the events: a record that expired is replaced, a live one makes the whole save fail.
DELETE_EXPIRED_SCOPE = "DELETE FROM {table} WHERE scope = ? AND recorded_at < ?"
INSERT_COMMIT = (
    "INSERT INTO {table} (scope, fingerprint, recorded_at, aggregate_id, aggregate_version) VALUES (?, ?, ?, ?, ?)"
)

DEFAULT_TTL_SECONDS = 24 * 3600
# Expired records are swept at most this often per process, when an answer is recorded.
PURGE_EVERY_SECONDS = 600.0


class IdempotencyKeyReused(FundingError):
    """The key came back with a different body (HTTP 422 ``idempotency-key-reused``)."""


class AlreadyAnswered(FundingError):
    """A concurrent request with the same key was refused and its answer recorded first."""

    def __init__(self, answer: Answer) -> None:
        super().__init__("a request with this Idempotency-Key has already been answered")
        self.answer = answer


@dataclass(frozen=True)
class IdempotencyClaim:
    """A caller's key for one request: its scope and the hash of the body it came with."""

    scope: str
    fingerprint: str

    @classmethod
    def of(cls, actor: Actor, method: str, path: str, key: str, body: bytes) -> IdempotencyClaim:
        identity = [actor.sub, actor.role.value, str(actor.school_urn or ""), str(actor.cluster_id or "")]
        scope = hashlib.sha256(json.dumps([*identity, method, path, key]).encode()).hexdigest()
        return cls(scope, hashlib.sha256(body).hexdigest())


@dataclass(frozen=True)
class Commit:
    """What the recorder writes beside a command's events: the claim and the aggregate it returns."""

    claim: IdempotencyClaim
    aggregate_id: UUID
    version: int
    recorded_at: float
    expired_before: float

    def delete_expired_params(self) -> tuple[str, float]:
        return (self.claim.scope, self.expired_before)

    def insert_params(self) -> tuple[str, str, float, str, int]:
        return (self.claim.scope, self.claim.fingerprint, self.recorded_at, self.aggregate_id.hex, self.version)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: str


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    aggregate_id: UUID | None
    version: int | None
    answer: Answer | None


@dataclass
class ClaimInForce:
    """A claim for the commands of one request, and whether one of them found it already committed."""

    claim: IdempotencyClaim
    committed_earlier: bool = False


_claim: ContextVar[ClaimInForce | None] = ContextVar("idempotency_claim", default=None)


@contextmanager
def claimed(claim: IdempotencyClaim) -> Iterator[ClaimInForce]:
    """Commands run inside the block record ``claim`` with their events.

    A context variable rather than a parameter on every command: the claim belongs to the
    request, and it travels with it through FastAPI's thread pool (which copies the context).
    """
    in_force = ClaimInForce(claim)
    token = _claim.set(in_force)
    try:
        yield in_force
    finally:
        _claim.reset(token)


def current_claim() -> ClaimInForce | None:
    return _claim.get()


class IdempotencyStore:
    """Reads records and records answers; commits are written by the recorder, with the events."""

    def __init__(self, database: ProjectionDatabase, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self.database = database
        self.ttl_seconds = ttl_seconds
        self._last_purge = 0.0
        self._purge_guard = threading.Lock()

    def expired_before(self) -> float:
        return time.time() - self.ttl_seconds

    def commit(self, claim: IdempotencyClaim, aggregate_id: UUID, version: int) -> Commit:
        return Commit(claim, aggregate_id, version, time.time(), self.expired_before())

    def find(self, scope: str) -> IdempotencyRecord | None:
        """The live record for ``scope``, or None (never recorded, or expired)."""
        with self.database.reading() as cursor:
            cursor.execute(
                f"SELECT fingerprint, aggregate_id, aggregate_version, status, headers, body FROM {TABLE} "
                "WHERE scope = ? AND recorded_at >= ?",
                (scope, self.expired_before()),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        fingerprint, aggregate_id, version, status, headers, body = row
        answer = None
        if status is not None:
            answer = Answer(int(status), [(str(name), str(value)) for name, value in json.loads(headers)], str(body))
        return IdempotencyRecord(
            str(fingerprint),
            UUID(aggregate_id) if aggregate_id else None,
            int(version) if version is not None else None,
            answer,
        )

    def record_answer(self, claim: IdempotencyClaim, answer: Answer) -> None:
        """Keep the answer for repeats: beside the commit, or alone when nothing was committed (a refusal).

        A record already holding an answer keeps it: the first answer is the one repeats get.
        """
        headers = json.dumps(answer.headers)
        with self.database.transaction() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET status = ?, headers = ?, body = ? "
                "WHERE scope = ? AND fingerprint = ? AND status IS NULL AND recorded_at >= ?",
                (answer.status, headers, answer.body, claim.scope, claim.fingerprint, self.expired_before()),
            )
            if cursor.rowcount == 0:
                cursor.execute(DELETE_EXPIRED_SCOPE.format(table=TABLE), (claim.scope, self.expired_before()))
                cursor.execute(
                    f"INSERT INTO {TABLE} (scope, fingerprint, recorded_at, status, headers, body) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope) DO NOTHING",
                    (claim.scope, claim.fingerprint, time.time(), answer.status, headers, answer.body),
                )
        self._purge_now_and_then()

    def purge_expired(self) -> int:
        with self.database.transaction() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE recorded_at < ?", (self.expired_before(),))
            return cursor.rowcount

    def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        with self._purge_guard:
            if now - self._last_purge < PURGE_EVERY_SECONDS and self._last_purge:
                return
            self._last_purge = now
        self.purge_expired()
