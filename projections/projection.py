"""What a read model is to the projector: its tables, and how one stored event changes them."""

from __future__ import annotations

from abc import ABC, abstractmethod

from eventsourcing.domain import Aggregate

from projections.database import Cursor
from projections.source import NotificationLike


class Projection(ABC):
    """A read model: its tables, and how one stored event changes them."""

    name: str
    tables: tuple[str, ...]
    # Raw projections (the audit chain) read the stored bytes and never need the domain event.
    needs_events: bool = True

    @abstractmethod
    def create_statements(self) -> list[str]: ...

    @abstractmethod
    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        """Change the tables for one stored event (``None`` unless ``needs_events``)."""

    def begin_batch(self, cursor: Cursor) -> None:  # noqa: B027 - a hook most projections leave empty
        """Called at the start of each batch's transaction: reset per-batch caches here.

        Caches live for one batch only, so a batch that rolls back leaves nothing behind.
        """

    def end_batch(self, cursor: Cursor) -> None:  # noqa: B027 - a hook most projections leave empty
        """Called after the batch's last ``apply``, in the same transaction, before positions move.

        A projection may hold back its writes until here and send them together: a statement
        costs far more than a row, on PostgreSQL above all. Whatever ``apply`` reads back within
        the batch must then come from what it holds, not from the tables.
        """
