"""A request's past: the request as it was at a version or a moment, and every event that made it.

Both read the request's own events from the log, not a read model: an auditor asking what a lead
saw when deciding gets exactly the state that decision was taken on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent

from domain.errors import InvalidValue, NotFound
from domain.funding_request import FundingRequest
from domain.permissions import check_may_read_request, check_role
from domain.values import Actor
from funding_engine.application.requests import Requests

# What every event carries and an entry shows in its own fields, not in ``data``.
_ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic", "actor")


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    type: str
    timestamp: datetime
    actor: Actor | None
    data: dict[str, Any]


class History(Requests):
    """Reading a request now, as it was, and event by event."""

    def get_request(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        as_at: datetime | None = None,
        version: int | None = None,
    ) -> FundingRequest:
        """The request now, as at a version, or as at a moment (``NotFound`` if it did not exist yet)."""
        check_role(actor, "read_request")
        current = self._request(request_id)
        check_may_read_request(actor, current)
        if as_at is not None:
            if as_at.tzinfo is None:
                raise InvalidValue("as_at must carry a time zone")
            version = 0
            for event in self._events_of(request_id):
                if event.timestamp > as_at:
                    break
                version = event.originator_version
            if version == 0:
                raise NotFound(f"request {request_id} did not exist at {as_at.isoformat()}")
        if version is not None:
            if not 1 <= version <= current.version:
                raise NotFound(f"request {request_id} has no version {version}")
            as_it_was: FundingRequest = self.repository.get(request_id, version=version)
            return as_it_was
        return current

    def request_history(self, actor: Actor, request_id: UUID) -> list[HistoryEntry]:
        check_role(actor, "read_request")
        request = self._request(request_id)
        check_may_read_request(actor, request)
        return [
            HistoryEntry(
                version=event.originator_version,
                type=type(event).__name__,
                timestamp=event.timestamp,
                actor=getattr(event, "actor", None),
                data={key: value for key, value in vars(event).items() if key not in _ENVELOPE},
            )
            for event in self._events_of(request_id)
        ]

    def _events_of(self, request_id: UUID) -> Iterator[DomainEvent]:
        # Every event of ours is a DomainEvent (it carries a timestamp); the store is typed for any.
        return (event for event in self.events.get(request_id) if isinstance(event, DomainEvent))
