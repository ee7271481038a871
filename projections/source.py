"""What a projection reads: the application's notification log, one stored event at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.domain import Aggregate

from projections.unreadable import LogUnreadable, one_line


class NotificationLike(Protocol):
    id: int
    originator_id: Any
    originator_version: int
    topic: str
    state: bytes


class NotificationSource(Protocol):
    """The application's notification log and its mapper."""

    def select(self, after: int, limit: int) -> Sequence[NotificationLike]: ...

    def head(self) -> int: ...

    def to_event(self, notification: NotificationLike) -> Aggregate.Event: ...


class LibraryNotificationSource:
    """The notification log of an ``eventsourcing`` application (its recorder and mapper)."""

    def __init__(self, recorder: Any, mapper: Any) -> None:
        self.recorder = recorder
        self.mapper = mapper

    def select(self, after: int, limit: int) -> Sequence[NotificationLike]:
        notifications: Sequence[NotificationLike] = self.recorder.select_notifications(
            after, limit, inclusive_of_start=False
        )
        return notifications

    def head(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def to_event(self, notification: NotificationLike) -> Aggregate.Event:
        try:
            event: Aggregate.Event = self.mapper.to_domain_event(notification)
        except Exception as error:  # whatever the stored bytes break in the mapper, the log is damaged
            raise LogUnreadable(notification.id, f"the stored event cannot be decoded ({one_line(error)})") from error
        return event
