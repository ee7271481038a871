"""The errors the application raises besides the domain's (``domain.errors``), for adapters to map.

Each is defined where it arises, in the read side or the idempotency store, and named here so an
adapter depends on the application alone:

- ``InvalidQuery``: a malformed cursor, limit or filter on a read-model query;
- ``ProjectionTimeout``: the read models did not reach the log's head in time (worker mode);
- ``LogUnreadable``: a stored event cannot be read or folded; the log is damaged at a position;
- ``IdempotencyKeyReused``: an ``Idempotency-Key`` came back with a different body;
- ``AlreadyAnswered``: a concurrent request with the same key was refused, and that answer kept;
- ``RateLimited``: too many of something anyone may do without signing in (a broken-link report).
"""

from __future__ import annotations

from funding_engine.idempotency import AlreadyAnswered, IdempotencyKeyReused
from funding_engine.rate_limits import RateLimited
from projections.engine import ProjectionTimeout
from projections.queries import InvalidQuery
from projections.unreadable import LogUnreadable

__all__ = [
    "AlreadyAnswered",
    "IdempotencyKeyReused",
    "InvalidQuery",
    "LogUnreadable",
    "ProjectionTimeout",
    "RateLimited",
]
