"""Snapshots the engine may trust: sealed with a key the database does not hold, checked before use.

A snapshot sums up an aggregate's events to a version, so a load can start from it rather than
from the first event. It is stored beside the log but is not part of it, so the audit chain does
not cover it: an edited snapshot (a budget's ``allocated`` raised by ten million) would change what
the next decision sees while every event stays as it was. So every snapshot is sealed as it is
written, with an HMAC-SHA256 over the aggregate's id, the version it sums up, its topic and its
bytes as stored; a load starts from the newest snapshot whose seal verifies and replays the events
after it. A snapshot whose seal fails is passed over: never used, never an error.

The key is ``FUNDING_ENGINE_AUDIT_KEY`` when it is set, so a deployment's processes trust each
other's snapshots. Without it each process draws a random key as it starts and trusts only the
snapshots it wrote itself; after a restart it starts from the events again. Either way, whoever can
only write to the database cannot make a snapshot the engine will use. ``audit verify`` goes further
and folds the events under every stored snapshot, naming each one that does not match them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProjectorFunction, Repository
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore, Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import TopicError

from projections.unreadable import AggregateUnreadable, one_line

log = logging.getLogger(__name__)

SEAL_PREFIX = b"funding-engine-seal-v1:"
SEAL_LENGTH = 64  # hex digits of an HMAC-SHA256
# A load looks this far back for a snapshot it can trust before it replays from the first event.
SNAPSHOTS_TRIED = 3


class SnapshotSealBroken(Exception):
    """The snapshot is unsealed, or its seal does not verify under this process's key."""


def seal_key(audit_key: str | None) -> tuple[bytes, bool]:
    """The key to seal with, and whether other processes share it."""
    if audit_key:
        return hashlib.sha256(b"funding-engine snapshot seal\n" + audit_key.encode()).digest(), True
    return secrets.token_bytes(32), False


def seal_of(key: bytes, stored: StoredEvent) -> bytes:
    originator_id = stored.originator_id.hex if isinstance(stored.originator_id, UUID) else str(stored.originator_id)
    header = f"{originator_id}\n{stored.originator_version}\n{stored.topic}\n".encode()
    return hmac.new(key, header + stored.state, hashlib.sha256).hexdigest().encode()


def unsealed(stored: StoredEvent) -> tuple[StoredEvent, bytes | None]:
    """The record as the library wrote it, and the seal it carried (None if it carried none)."""
    state = bytes(stored.state)
    if not state.startswith(SEAL_PREFIX) or len(state) < len(SEAL_PREFIX) + SEAL_LENGTH + 1:
        return stored, None
    seal = state[len(SEAL_PREFIX) : len(SEAL_PREFIX) + SEAL_LENGTH]
    return replace(stored, state=state[len(SEAL_PREFIX) + SEAL_LENGTH + 1 :]), seal


class SealingMapper(Mapper):
    """The application's mapper for snapshots: seals what it writes, refuses what it cannot verify."""

    def __init__(self, mapper: Mapper, key: bytes, *, shared: bool) -> None:
        super().__init__(transcoder=mapper.transcoder, compressor=mapper.compressor, cipher=mapper.cipher)
        self.key = key
        self.shared = shared

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        return replace(stored, state=SEAL_PREFIX + seal_of(self.key, stored) + b":" + stored.state)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        record, seal = unsealed(stored_event)
        if seal is None or not hmac.compare_digest(seal, seal_of(self.key, record)):
            raise SnapshotSealBroken(
                f"snapshot of {stored_event.originator_id} at version {stored_event.originator_version} is not sealed "
                "by this deployment's key"
            )
        return super().to_domain_event(record)

    def read_unverified(self, stored_event: StoredEvent) -> Any:
        """The snapshot as stored, seal or not: for the audit, which checks it against its events."""
        return super().to_domain_event(unsealed(stored_event)[0])


class TrustingRepository(Repository):
    """The library's repository, starting a load only from a snapshot whose seal verifies.

    A stored event it cannot decode is the log's damage, reported as such (``AggregateUnreadable``,
    a 409 ``log-unreadable`` over HTTP), never an error from inside the library.
    """

    def get(self, aggregate_id: Any, **kwargs: Any) -> Any:
        try:
            return super().get(aggregate_id, **kwargs)
        except (MapperDeserialisationError, TopicError) as error:
            raise AggregateUnreadable(aggregate_id, f"a stored event cannot be decoded ({one_line(error)})") from error

    def _reconstruct_aggregate(self, aggregate_id: Any, version: int | None, projector_func: ProjectorFunction) -> Any:
        snapshot = self._trusted_snapshot(aggregate_id, version)
        events = self.event_store.get(
            originator_id=aggregate_id, gt=snapshot.originator_version if snapshot else None, lte=version
        )
        aggregate = projector_func(None, chain([snapshot] if snapshot else [], events))
        if aggregate is None:
            raise AggregateNotFoundError(f"Aggregate {aggregate_id!r} version {version!r} not found.")
        return aggregate

    def _trusted_snapshot(self, aggregate_id: Any, version: int | None) -> Snapshot | None:
        store = self.snapshot_store
        if store is None:
            return None
        records = store.recorder.select_events(aggregate_id, lte=version, desc=True, limit=SNAPSHOTS_TRIED)
        for record in records:
            try:
                return cast(Snapshot, store.mapper.to_domain_event(record))
            except SnapshotSealBroken:
                if getattr(store.mapper, "shared", False):
                    # Under the deployment's key a bad seal means an edit (or a changed key).
                    log.warning(
                        "passed over snapshot %s v%s: its seal does not verify", aggregate_id, record.originator_version
                    )
        return None


# -- the audit: every stored snapshot against a fold of its events ------------------------------------


@dataclass(frozen=True)
class BadSnapshot:
    aggregate_id: UUID
    version: int
    problem: str


@dataclass(frozen=True)
class SnapshotAudit:
    checked: int
    bad: list[BadSnapshot]

    @property
    def ok(self) -> bool:
        return not self.bad


def audit_snapshots(
    snapshot_store: EventStore | None,
    event_store: EventStore,
    aggregate_ids: Sequence[UUID],
) -> SnapshotAudit:
    """Fold each aggregate's events and compare the state at every snapshot's version with it."""
    if snapshot_store is None or not isinstance(snapshot_store.mapper, SealingMapper):
        return SnapshotAudit(0, [])
    mapper: SealingMapper = snapshot_store.mapper
    checked, bad = 0, []
    for aggregate_id in aggregate_ids:
        records = snapshot_store.recorder.select_events(aggregate_id)
        for record, problem in _check_aggregate(mapper, event_store, aggregate_id, records):
            checked += 1
            if problem is not None:
                bad.append(BadSnapshot(aggregate_id, record.originator_version, problem))
    return SnapshotAudit(checked, bad)


def _canonical(mapper: Mapper, state: dict[str, Any]) -> Any:
    """State as stored JSON reads it back: key order and tuple-or-list do not count as differences."""
    return json.loads(mapper.transcoder.encode(state))


def _check_aggregate(
    mapper: SealingMapper,
    event_store: EventStore,
    aggregate_id: UUID,
    records: Sequence[StoredEvent],
) -> Iterator[tuple[StoredEvent, str | None]]:
    events: Iterator[Any] = iter(event_store.get(aggregate_id))
    aggregate: Any = None
    for record in records:
        try:
            snapshot = mapper.read_unverified(record)
        except Exception as error:  # noqa: BLE001 - any undecodable record is reported, not raised
            yield record, f"unreadable: {type(error).__name__}"
            continue
        try:
            while aggregate is None or aggregate.version < record.originator_version:
                event = next(events, None)
                if event is None:
                    break
                aggregate = event.mutate(aggregate)
        except Exception as error:  # noqa: BLE001 - a log that cannot be folded is reported, not raised
            yield record, f"its events cannot be folded: {type(error).__name__}: {error}"
            return
        if aggregate is None or aggregate.version != record.originator_version:
            yield record, "the log has no events up to its version"
            continue
        folded = Snapshot.take(aggregate)
        if snapshot.topic != folded.topic or _canonical(mapper, snapshot.state) != _canonical(mapper, folded.state):
            yield record, "does not match its events"
            continue
        if mapper.shared and unsealed(record)[1] != seal_of(mapper.key, unsealed(record)[0]):
            yield record, "matches its events, but its seal does not verify under the audit key"
            continue
        yield record, None
