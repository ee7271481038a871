"""What every use case stands on: how a command runs, and what the engine stores and loads with.

A command (see ``funding_engine.application``) is a ``decide`` function that loads what it needs,
checks the rules and returns the aggregates it changed. ``_run_command`` runs it under the
per-aggregate locks and saves everything it returns in one ``save()`` (one transaction on either
store); when another process saved first it decides again, a bounded number of times. A command
run under an idempotency claim records the claim with its events, so a repeat finds it.

The library's parts are replaced in three places: the event recorders (which write idempotency
records in the events' transaction), the snapshot store (snapshots are sealed) and the repository
(it starts a load only from a snapshot whose seal verifies).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import EventStore, IntegrityError, JSONTranscoder
from eventsourcing.utils import Environment, strtobool

from domain.errors import ConcurrencyConflict, FundingError, NotFound, StaleVersion
from funding_engine.idempotency import (
    AlreadyAnswered,
    ClaimInForce,
    IdempotencyClaim,
    IdempotencyKeyReused,
    IdempotencyStore,
    claimed,
    current_claim,
)
from funding_engine.locks import AggregateLocks
from funding_engine.read_side import ReadSide
from funding_engine.recorders import RECORDER_TOPICS
from funding_engine.snapshots import SealingMapper, TrustingRepository, seal_key
from funding_engine.transcodings import register_domain_transcodings
from projections.database import ProjectionDatabase

A = TypeVar("A", bound=Aggregate)

MAX_ATTEMPTS = 30
# Read from the application's environment, where bootstrap puts the setting of the same name.
AUDIT_KEY_VARIABLE = "FUNDING_ENGINE_AUDIT_KEY"


class EngineApplication(Application):  # type: ignore[type-arg]
    """The eventsourcing Application as the engine uses it; ``FundingApplication`` adds the use cases."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        self.locks = AggregateLocks()
        # Wired by the composition root; without them the application still decides and records.
        self.read_side: ReadSide | None = None
        self.idempotency: IdempotencyStore | None = None

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        environment = super().construct_env(name, env)
        # Our recorders write an idempotency key's record in the same transaction as the events.
        topic = RECORDER_TOPICS.get(environment.get("PERSISTENCE_MODULE", ""))
        if topic is not None:
            environment["APPLICATION_RECORDER_TOPIC"] = topic
        return environment

    def construct_snapshot_store(self) -> EventStore:  # type: ignore[type-arg]
        # Sealed with a key the database does not hold; see funding_engine/snapshots.py.
        key, shared = seal_key(self.env.get(AUDIT_KEY_VARIABLE))
        return self.factory.event_store(
            mapper=SealingMapper(self.mapper, key, shared=shared),
            recorder=self.factory.aggregate_recorder(purpose="snapshots"),
        )

    def construct_repository(self) -> Repository:  # type: ignore[type-arg]
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

    def idempotently(self, claim: IdempotencyClaim) -> AbstractContextManager[ClaimInForce]:
        """Commands run in the block act once for ``claim``: a repeat returns what the first committed."""
        if self.idempotency is None:
            raise RuntimeError("this application was built without an idempotency store (use bootstrap)")
        return claimed(claim)

    def close(self) -> None:
        if getattr(self, "read_side", None) is not None:
            self.read_side.close()  # type: ignore[union-attr]
        super().close()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    def _read_side(self) -> ReadSide:
        if self.read_side is None:
            raise RuntimeError("this application was built without read models (use funding_engine.bootstrap)")
        return self.read_side

    def _fresh_read_models(self) -> ProjectionDatabase:
        read_side = self._read_side()
        read_side.make_fresh()
        return read_side.database

    # -- running a command ------------------------------------------------------------------------

    def _run_command(self, decide: Callable[[], list[Aggregate]], *lock_ids: UUID) -> Aggregate:
        """Decide and save under the locks, re-deciding when another process saved first."""
        claim = current_claim()
        with self.locks.hold(*lock_ids):
            saved = self._decide_and_save(decide, claim)
        # Outside the aggregate locks: other commands proceed while the read models catch up.
        if self.read_side is not None:
            self.read_side.after_command()
        return saved

    def _decide_and_save(self, decide: Callable[[], list[Aggregate]], claim: ClaimInForce | None) -> Aggregate:
        for attempt in range(MAX_ATTEMPTS):
            # Looked for before each decision: a save that failed may have lost to a repeat of this
            # very request, which committed the key.
            earlier = self._committed_earlier(claim)
            if earlier is not None:
                return earlier
            try:
                aggregates = decide()
            except FundingError:
                # A repeat in another process may have committed since we looked, and changed
                # what the decision saw (an approved request cannot be approved again).
                earlier = self._committed_earlier(claim)
                if earlier is not None:
                    return earlier
                raise
            result = aggregates[0]
            extra: dict[str, Any] = {}
            if claim is not None and self.idempotency is not None:
                extra["idempotency"] = self.idempotency.commit(claim.claim, result.id, result.version)
            try:
                with self.read_side.saving() if self.read_side is not None else nullcontext():
                    self.save(*aggregates, **extra)
            except IntegrityError:
                # Jittered back-off so competing processes stop colliding in lock-step.
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
            return result
        raise ConcurrencyConflict("the record kept changing under this command; try again")

    def _committed_earlier(self, in_force: ClaimInForce | None) -> Aggregate | None:
        """The aggregate as an earlier request with this key left it, if one committed."""
        if in_force is None or self.idempotency is None:
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
        return self.repository.get(record.aggregate_id, version=record.version)

    def _find(self, aggregate_id: UUID, cls: type[A], *, to_change: bool = True) -> A | None:
        """The aggregate, or None. ``to_change=False`` is for reading one settled field at once.

        The library hands out a deep copy of its cached aggregate, so a command that fails halfway
        cannot corrupt the cache. A caller that only reads a field that never changes after
        creation (a request's cluster, a school's membership) can skip that copy, which measured
        as most of the cost of a cached get.
        """
        try:
            aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=to_change)
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
