"""The clusters read model: every registered cluster, its name, version and schools, by cluster id.

It answers the listing of clusters without reading the log or loading an aggregate. A cluster's
schools are held in one column, in the order the aggregate keeps them (by URN), separated by
``URN_SEPARATOR``: a URN is six digits, so the text is never ambiguous.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate

from domain.clusters import Cluster
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.common import hex_id
from projections.source import NotificationLike

URN_SEPARATOR = ","


def school_urns_text(urns: Sequence[str]) -> str:
    return URN_SEPARATOR.join(urns)


def school_urns_of(text: str) -> tuple[str, ...]:
    return tuple(text.split(URN_SEPARATOR)) if text else ()


class ClusterRow(NamedTuple):
    """A cluster as people list it."""

    cluster_id: str
    name: str
    school_urns: tuple[str, ...]
    version: int


# Every column of the table, the key first.
CLUSTERS_COLUMNS = ("cluster_id", "aggregate_id", "name", "school_urns", "version")


@dataclass(slots=True)
class _ClusterState:
    """A cluster's row as this batch leaves it; ``new`` if registered in this batch (not yet written)."""

    aggregate_id: str
    cluster_id: str
    name: str
    school_urns: list[str]
    version: int
    new: bool = True

    def values(self) -> tuple[str, str, str, str, int]:
        """In ``CLUSTERS_COLUMNS`` order."""
        return (self.cluster_id, self.aggregate_id, self.name, school_urns_text(self.school_urns), self.version)


class Clusters(Projection):
    """One row per registered cluster."""

    name = "clusters"
    tables = ("clusters",)

    def __init__(self) -> None:
        self._handlers: dict[type, Callable[[Cursor, Any], None]] = {
            Cluster.Registered: self._registered,
            Cluster.Renamed: self._renamed,
            Cluster.SchoolAdded: self._school_added,
            Cluster.SchoolRemoved: self._school_removed,
        }
        self._reset()

    def create_statements(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS clusters (
                cluster_id TEXT PRIMARY KEY,
                aggregate_id TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                school_urns TEXT NOT NULL,
                version BIGINT NOT NULL
            )""",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        self._reset()

    def _reset(self) -> None:
        # Clusters seen this batch, by aggregate id, in the order first seen: each written once at the end.
        self._clusters: dict[str, _ClusterState] = {}
        self._registered_in_batch: list[_ClusterState] = []  # every registration (one twice still fails on its key)

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(cursor, event)

    def end_batch(self, cursor: Cursor) -> None:
        cursor.insert_rows("clusters", CLUSTERS_COLUMNS, [state.values() for state in self._registered_in_batch])
        changed = [
            (state.name, school_urns_text(state.school_urns), state.version, state.aggregate_id)
            for state in self._clusters.values()
            if not state.new
        ]
        if changed:
            cursor.executemany(
                "UPDATE clusters SET name = ?, school_urns = ?, version = ? WHERE aggregate_id = ?", changed
            )
        self._reset()

    def _registered(self, cursor: Cursor, event: Cluster.Registered) -> None:
        aggregate_id = hex_id(event.originator_id)
        state = _ClusterState(aggregate_id, str(event.cluster_id), event.name, [], event.originator_version)
        self._clusters[aggregate_id] = state
        self._registered_in_batch.append(state)

    def _renamed(self, cursor: Cursor, event: Cluster.Renamed) -> None:
        state = self._cluster(cursor, event)
        state.name = event.name
        state.version = event.originator_version

    def _school_added(self, cursor: Cursor, event: Cluster.SchoolAdded) -> None:
        state = self._cluster(cursor, event)
        # As the aggregate keeps them: sorted by URN.
        state.school_urns = sorted([*state.school_urns, str(event.school_urn)])
        state.version = event.originator_version

    def _school_removed(self, cursor: Cursor, event: Cluster.SchoolRemoved) -> None:
        state = self._cluster(cursor, event)
        state.school_urns = [urn for urn in state.school_urns if urn != str(event.school_urn)]
        state.version = event.originator_version

    def _cluster(
        self, cursor: Cursor, event: Cluster.Renamed | Cluster.SchoolAdded | Cluster.SchoolRemoved
    ) -> _ClusterState:
        aggregate_id = hex_id(event.originator_id)
        state = self._clusters.get(aggregate_id)
        if state is None:
            cursor.execute(
                "SELECT cluster_id, name, school_urns, version FROM clusters WHERE aggregate_id = ?", (aggregate_id,)
            )
            cluster_id, name, urns, version = cursor.fetchone()
            state = _ClusterState(aggregate_id, cluster_id, name, list(school_urns_of(urns)), int(version), new=False)
            self._clusters[aggregate_id] = state
        return state
