"""How often anyone may do something that needs no sign-in: a sliding window per client and overall.

The public may report a broken link without signing in, so nothing but a limit stops a script
from filling the council's list. Each process keeps its own counts in memory: with N server
processes a client may make N times the limit, and a restart forgets the counts. That is enough
to keep the list readable; a deployment that needs one shared limit puts it in front of the
servers (its proxy's rate limiting), as it would for any other flood.

Memory is bounded: only accepted actions are remembered, so no more than ``overall`` timestamps
are ever held, however many clients ask.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from domain.errors import FundingError


class RateLimited(FundingError):
    """Too many of these lately; ``retry_after`` seconds until one more would be accepted (HTTP 429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SlidingWindowLimit:
    """At most ``per_client`` actions per client and ``overall`` in all per ``window`` seconds."""

    def __init__(
        self, *, per_client: int, overall: int, window: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_client = per_client
        self.overall = overall
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._all: deque[tuple[float, str]] = deque()
        self._by_client: dict[str, deque[float]] = {}

    def _forget_before(self, moment: float) -> None:
        while self._all and self._all[0][0] <= moment:
            _, client = self._all.popleft()
            times = self._by_client[client]
            times.popleft()
            if not times:
                del self._by_client[client]

    def acquire(self, client: str) -> None:
        """Count one action by ``client``, or raise ``RateLimited`` (and count nothing)."""
        with self._lock:
            now = self.clock()
            self._forget_before(now - self.window)
            mine = self._by_client.get(client)
            if mine is not None and len(mine) >= self.per_client:
                raise RateLimited(
                    f"at most {self.per_client} reports an hour from one place; try again later",
                    self._wait(mine[0], now),
                )
            if len(self._all) >= self.overall:
                raise RateLimited(
                    "too many reports lately from everyone; try again later", self._wait(self._all[0][0], now)
                )
            self._all.append((now, client))
            self._by_client.setdefault(client, deque()).append(now)

    def _wait(self, oldest: float, now: float) -> int:
        return max(1, math.ceil(oldest + self.window - now))

    def reset(self) -> None:
        with self._lock:
            self._all.clear()
            self._by_client.clear()
