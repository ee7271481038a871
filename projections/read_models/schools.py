"""The schools read model: every school the engine knows, with its name, phase and cluster, by URN.

Two aggregates make a row: the register entry (``School``: name, phase) and the membership
(``SchoolMembership``: cluster). A school that joined a cluster before the register existed has a
row with no name and no phase (``registered`` is false) until the council registers it; a
registered school that left its cluster has no cluster. ``version`` is the register entry's (0 while
unregistered), the one ``PUT /schools/{urn}`` compares with ``If-Match``.

The membership's events do not carry the URN, so each row keeps the ids of both aggregates, by
which later events find it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate

from domain.clusters import SchoolMembership
from domain.schools import School
from projections.database import Cursor
from projections.projection import Projection
from projections.read_models.common import hex_id
from projections.source import NotificationLike


class SchoolRow(NamedTuple):
    """A school as people list it; ``name`` and ``phase`` are None until it is on the register."""

    urn: str
    name: str | None
    phase: str | None
    cluster_id: str | None
    version: int

    @property
    def registered(self) -> bool:
        return self.name is not None


# Every column of the table, the key first.
SCHOOLS_COLUMNS = ("urn", "name", "phase", "cluster_id", "version", "school_id", "membership_id")


@dataclass(slots=True)
class _SchoolState:
    """A school's row as this batch leaves it; ``new`` if the table has no row for it yet."""

    urn: str
    name: str | None = None
    phase: str | None = None
    cluster_id: str | None = None
    version: int = 0
    school_id: str | None = None
    membership_id: str | None = None
    new: bool = True

    def values(self) -> tuple[Any, ...]:
        """In ``SCHOOLS_COLUMNS`` order."""
        return (self.urn, self.name, self.phase, self.cluster_id, self.version, self.school_id, self.membership_id)


class Schools(Projection):
    """One row per school with a register entry, a membership, or both."""

    name = "schools"
    tables = ("schools",)

    def __init__(self) -> None:
        self._handlers: dict[type, Callable[[Cursor, Any], None]] = {
            School.Registered: self._registered,
            School.DetailsChanged: self._details_changed,
            SchoolMembership.Started: self._membership_started,
            SchoolMembership.JoinedCluster: self._joined,
            SchoolMembership.LeftCluster: self._left,
        }
        self._reset()

    def create_statements(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS schools (
                urn TEXT PRIMARY KEY,
                name TEXT,
                phase TEXT,
                cluster_id TEXT,
                version BIGINT NOT NULL,
                school_id TEXT UNIQUE,
                membership_id TEXT UNIQUE
            )""",
            "CREATE INDEX IF NOT EXISTS schools_by_cluster ON schools (cluster_id, urn)",
        ]

    def begin_batch(self, cursor: Cursor) -> None:
        self._reset()

    def _reset(self) -> None:
        # Rows touched this batch, by URN, each written once at the end; and the aggregate ids that lead to them.
        self._schools: dict[str, _SchoolState] = {}
        self._urn_of: dict[str, str] = {}

    def apply(self, cursor: Cursor, notification: NotificationLike, event: Aggregate.Event | None) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(cursor, event)

    def end_batch(self, cursor: Cursor) -> None:
        new = [state.values() for state in self._schools.values() if state.new]
        cursor.insert_rows("schools", SCHOOLS_COLUMNS, new)
        changed = [(*state.values()[1:], state.urn) for state in self._schools.values() if not state.new]
        if changed:
            cursor.executemany(
                "UPDATE schools SET name = ?, phase = ?, cluster_id = ?, version = ?, school_id = ?, "
                "membership_id = ? WHERE urn = ?",
                changed,
            )
        self._reset()

    # -- the register entry ----------------------------------------------------------------------------

    def _registered(self, cursor: Cursor, event: School.Registered) -> None:
        state = self._by_urn(cursor, str(event.school_urn))
        state.name, state.phase, state.version = event.name, event.phase.value, event.originator_version
        state.school_id = hex_id(event.originator_id)
        self._urn_of[state.school_id] = state.urn

    def _details_changed(self, cursor: Cursor, event: School.DetailsChanged) -> None:
        state = self._by_id(cursor, "school_id", hex_id(event.originator_id))
        state.name, state.phase, state.version = event.name, event.phase.value, event.originator_version

    # -- the membership ----------------------------------------------------------------------------------

    def _membership_started(self, cursor: Cursor, event: SchoolMembership.Started) -> None:
        state = self._by_urn(cursor, str(event.school_urn))
        state.membership_id = hex_id(event.originator_id)
        self._urn_of[state.membership_id] = state.urn

    def _joined(self, cursor: Cursor, event: SchoolMembership.JoinedCluster) -> None:
        self._by_id(cursor, "membership_id", hex_id(event.originator_id)).cluster_id = str(event.cluster_id)

    def _left(self, cursor: Cursor, event: SchoolMembership.LeftCluster) -> None:
        self._by_id(cursor, "membership_id", hex_id(event.originator_id)).cluster_id = None

    # -- finding a row: this batch's first, then the table's -------------------------------------------

    def _by_urn(self, cursor: Cursor, urn: str) -> _SchoolState:
        state = self._schools.get(urn)
        if state is None:
            cursor.execute(f"SELECT {', '.join(SCHOOLS_COLUMNS)} FROM schools WHERE urn = ?", (urn,))
            state = self._state_of(cursor.fetchone()) or _SchoolState(urn)
            self._schools[urn] = state
        return state

    def _by_id(self, cursor: Cursor, column: str, aggregate_id: str) -> _SchoolState:
        urn = self._urn_of.get(aggregate_id)
        if urn is not None:
            return self._schools[urn]
        cursor.execute(f"SELECT {', '.join(SCHOOLS_COLUMNS)} FROM schools WHERE {column} = ?", (aggregate_id,))
        state = self._state_of(cursor.fetchone())
        if state is None:
            raise LookupError(f"no school row for {column} {aggregate_id}: its Created event was never applied")
        state = self._schools.setdefault(state.urn, state)
        self._urn_of[aggregate_id] = state.urn
        return state

    @staticmethod
    def _state_of(row: Any) -> _SchoolState | None:
        if row is None:
            return None
        urn, name, phase, cluster_id, version, school_id, membership_id = row
        return _SchoolState(urn, name, phase, cluster_id, int(version), school_id, membership_id, new=False)
