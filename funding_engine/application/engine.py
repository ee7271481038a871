"""What every use case stands on: how a command runs, and what the engine stores and loads with.

A command is a ``decide`` function that loads what it needs, checks the rules and returns the
aggregates it changed, the one the command answers with first. ``_run_command`` runs it under the
per-aggregate locks and saves everything it returns in one ``save()`` (one transaction on either
store); when another process saved first it decides again, a bounded number of times. A command
run under an idempotency claim records the claim with its events, so a repeat finds it.

The engine is built whole from the settings: the event log, the read side (read-model database,
projector and freshness) and the idempotency store, so no use case meets a missing part.

The library's parts are replaced in three places: the event recorders (which write idempotency
records in the events' transaction), the snapshot store (snapshots are sealed) and the repository
(it starts a load only from a snapshot whose seal verifies).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeAlias, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import EventStore, IntegrityError, JSONTranscoder
from eventsourcing.utils import Environment, strtobool

from domain.errors import ConcurrencyConflict, FundingError, NotFound, StaleVersion
from funding_engine.idempotency import (
    AlreadyAnswered,
    Answer,
    ClaimInForce,
    IdempotencyClaim,
    IdempotencyKeyReused,
    IdempotencyRecord,
    IdempotencyStore,
    claimed,
    current_claim,
)
from funding_engine.locks import AggregateLocks
from funding_engine.read_side import ReadSide
from funding_engine.settings import Settings
from funding_engine.storage.recorders import RECORDER_TOPICS
from funding_engine.storage.snapshots import SealingMapper, TrustingRepository, seal_key
from funding_engine.storage.transcodings import register_domain_transcodings
from projections.database import ProjectionDatabase

A = TypeVar("A", bound=Aggregate)
# What a command's decision returns: the aggregate it answers with, then any others it changed.
Decision: TypeAlias = tuple[A, *tuple[Aggregate, ...]]

MAX_ATTEMPTS = 30
# Read from the application's environment, where the constructor puts the setting of the same name.
AUDIT_KEY_VARIABLE = "FUNDING_ENGINE_AUDIT_KEY"


def library_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing library's settings for the configured store (and the snapshots' seal)."""
    env = settings.store.library_env()
    if settings.audit_key is not None:
        # Snapshots are sealed with it too (funding_engine/storage/snapshots.py).
        env[AUDIT_KEY_VARIABLE] = settings.audit_key.get_secret_value()
    return env


class EngineApplication(Application[UUID]):
    """The eventsourcing Application as the engine uses it; the use-case modules add the commands."""

    def __init__(self, settings: Settings, env: Mapping[str, str] | None = None) -> None:
        """The engine on the configured store; ``env`` overrides library settings (tests, benchmarks)."""
        super().__init__({**library_env(settings), **(env or {})})
        self.locks = AggregateLocks()
        # Set by FUNDING_ENGINE_AUDIT_ANCHOR_DIR; None when not configured.
        self.audit_anchor_dir: Path | None = settings.audit_anchor_dir
        try:
            self.read_side = ReadSide.build(
                settings.store,
                self.recorder,
                self.mapper,
                mode=settings.projections,
                read_timeout=settings.read_timeout_seconds,
                audit_key=settings.audit_key.get_secret_value().encode() if settings.audit_key else None,
            )
        except BaseException:
            super().close()
            raise
        self.idempotency = IdempotencyStore(self.read_side.database, settings.idempotency_ttl_hours * 3600)

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        environment = super().construct_env(name, env)
        # Our recorders write an idempotency key's record in the same transaction as the events.
        topic = RECORDER_TOPICS.get(environment.get("PERSISTENCE_MODULE", ""))
        if topic is not None:
            environment["APPLICATION_RECORDER_TOPIC"] = topic
        return environment

    def construct_snapshot_store(self) -> EventStore[UUID]:
        # Sealed with a key the database does not hold; see funding_engine/storage/snapshots.py.
        key, shared = seal_key(self.env.get(AUDIT_KEY_VARIABLE))
        return self.factory.event_store(
            mapper=SealingMapper(self.mapper, key, shared=shared),
            recorder=self.factory.aggregate_recorder(purpose="snapshots"),
        )

    def construct_repository(self) -> Repository[UUID]:
        # The library's own construction, with its settings read as it reads them, but our class.
        cache_size = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return TrustingRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(cache_size) if cache_size else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    def close(self) -> None:
        self.read_side.close()
        super().close()

    # -- idempotency keys -------------------------------------------------------------------------

    def idempotently(self, claim: IdempotencyClaim) -> AbstractContextManager[ClaimInForce]:
        """Commands run in the block act once for ``claim``: a repeat returns what the first committed."""
        return claimed(claim)

    def idempotency_record(self, claim: IdempotencyClaim) -> IdempotencyRecord | None:
        """What an earlier request with this claim's key left: a commit, an answer, or nothing (None)."""
        return self.idempotency.find(claim.scope)

    def record_answer(self, claim: IdempotencyClaim, answer: Answer) -> None:
        """Keep the answer given under ``claim``, for its repeats (the first answer recorded stays)."""
        self.idempotency.record_answer(claim, answer)

    # -- the read side ------------------------------------------------------------------------------

    def fresh_read_models(self, names: list[str] | None = None) -> ProjectionDatabase:
        """The read models with everything committed before now (in ``names``, or all) reflected."""
        self.read_side.make_fresh(names)
        return self.read_side.database

    # -- running a command ------------------------------------------------------------------------

    def _run_command(self, decide: Callable[[], Decision[A]], *lock_ids: UUID) -> A:
        """Decide and save under the locks, re-deciding when another process saved first."""
        claim = current_claim()
        with self.locks.hold(*lock_ids):
            saved = self._decide_and_save(decide, claim)
        # Outside the aggregate locks: other commands proceed while the read models catch up.
        self.read_side.after_command()
        return saved

    def _decide_and_save(self, decide: Callable[[], Decision[A]], claim: ClaimInForce | None) -> A:
        for attempt in range(MAX_ATTEMPTS):
            # Looked for before each decision: a save that failed may have lost to a repeat of this
            # very request, which committed the key.
            earlier = self._committed_earlier(claim)
            if earlier is not None:
                return self.repository.get(earlier[0], version=earlier[1])
            try:
                aggregates = decide()
            except FundingError:
                # A repeat in another process may have committed since we looked, and changed
                # what the decision saw (an approved request cannot be approved again).
                earlier = self._committed_earlier(claim)
                if earlier is not None:
                    return self.repository.get(earlier[0], version=earlier[1])
                raise
            result = aggregates[0]
            extra: dict[str, Any] = {}
            if claim is not None:
                extra["idempotency"] = self.idempotency.commit(claim.claim, result.id, result.version)
            try:
                with self.read_side.saving():
                    self.save(*aggregates, **extra)
            except IntegrityError:
                # Jittered back-off so competing processes stop colliding in lock-step.
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
            return result
        raise ConcurrencyConflict("the record kept changing under this command; try again")

    def _committed_earlier(self, in_force: ClaimInForce | None) -> tuple[UUID, int] | None:
        """The aggregate id and version an earlier request with this key committed, if one did.

        The command is the same one (same caller, path and body), so that aggregate is of the kind
        this command answers with.
        """
        if in_force is None:
            return None
        record = self.idempotency.find(in_force.claim.scope)
        if record is None:
            return None
        if record.fingerprint != in_force.claim.fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
        if record.aggregate_id is None or record.version is None:
            # Nothing committed, but a refusal was answered for this key first: that is the answer.
            if record.answer is not None:
                raise AlreadyAnswered(record.answer)
            return None
        in_force.committed_earlier = True
        return record.aggregate_id, record.version

    def _find(self, aggregate_id: UUID, cls: type[A], *, to_change: bool = True) -> A | None:
        """The aggregate, or None. ``to_change=False`` is for reading one settled field at once.

        The library hands out a deep copy of its cached aggregate, so a command that fails halfway
        cannot corrupt the cache. A caller that only reads a field that never changes after
        creation (a request's cluster, a school's membership) can skip that copy, which measured
        as most of the cost of a cached get.
        """
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=to_change)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

    def _get(self, aggregate_id: UUID, cls: type[A], what: str, *, to_change: bool = True) -> A:
        aggregate = self._find(aggregate_id, cls, to_change=to_change)
        if aggregate is None:
            raise NotFound(f"{what} not found")
        return aggregate

    @staticmethod
    def _check_version(aggregate: Aggregate | None, expected_version: int | None) -> None:
        if expected_version is None:
            return
        actual = aggregate.version if aggregate is not None else 0
        if actual != expected_version:
            raise StaleVersion(f"expected version {expected_version}, but it is at version {actual}")
