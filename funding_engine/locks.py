"""Per-aggregate locks, so commands on one aggregate queue up inside a process.

Without them every thread approving against one budget reads the same version, all but one
save fails, and they retry in a storm (measured: about 35 approvals/s on PostgreSQL with eight
clients). With them, optimistic-concurrency conflicts come only from other processes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID


class AggregateLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[UUID, threading.Lock] = {}
        self._holders: dict[UUID, int] = {}

    @contextmanager
    def hold(self, *aggregate_ids: UUID) -> Iterator[None]:
        # A fixed order (sorted ids) means two commands never wait on each other in a cycle.
        ids = sorted(set(aggregate_ids))
        locks = [self._checkout(aggregate_id) for aggregate_id in ids]
        acquired: list[threading.Lock] = []
        try:
            for lock in locks:
                lock.acquire()
                acquired.append(lock)
            yield
        finally:
            for lock in reversed(acquired):
                lock.release()
            for aggregate_id in ids:
                self._checkin(aggregate_id)

    def _checkout(self, aggregate_id: UUID) -> threading.Lock:
        with self._guard:
            lock = self._locks.setdefault(aggregate_id, threading.Lock())
            self._holders[aggregate_id] = self._holders.get(aggregate_id, 0) + 1
            return lock

    def _checkin(self, aggregate_id: UUID) -> None:
        # Forget a lock nobody holds or waits for, so the table stays as small as the live work.
        with self._guard:
            self._holders[aggregate_id] -= 1
            if self._holders[aggregate_id] == 0:
                del self._holders[aggregate_id]
                del self._locks[aggregate_id]

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)
