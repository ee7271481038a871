"""The school register: registering and updating schools, and importing the cluster and school lists.

A school's register entry (``School``: name and phase) and its cluster (``SchoolMembership``) are
two aggregates, saved together. Joining a cluster follows ``add_school``'s rule: one cluster at a
time. Registering a school that is in another cluster is refused, as ``add_school`` refuses it;
updating a school (``update_school``) or re-importing the register with a different cluster moves
it, which is ``remove_school`` then ``add_school`` in one transaction, so the school is never in
two clusters, nor, in between, in none.

An import is all rows or none. Every row is checked first and every bad row reported (with its
line); if there is none, everything the file changes is saved in one ``save()``, which is one
transaction on either store: a failure anywhere, or another officer changing one of the same
schools meanwhile, writes nothing of the file (the command then decides again, as every command
does). A row that says what the register already says changes nothing, so importing the same file
twice is harmless.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.clusters import Cluster, SchoolMembership
from domain.errors import AlreadyExists, NotFound, SchoolInAnotherCluster
from domain.permissions import check_role
from domain.schools import School
from domain.values import Actor, ClusterId, SchoolPhase, SchoolUrn, parse_enum
from funding_engine.application.clusters import Clusters
from funding_engine.application.engine import Decision
from funding_engine.application.register_files import (
    BadRow,
    ImportRefused,
    read_cluster_file,
    read_school_file,
    text_of,
)

__all__ = ["BadRow", "ClusterImport", "ImportRefused", "SchoolImport", "SchoolRegister"]


@dataclass(frozen=True)
class ClusterImport:
    """What importing a cluster file did: how many rows registered, renamed or left a cluster as it was."""

    registered: int = 0
    renamed: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class SchoolImport:
    """What importing a school file did, row by row, counted."""

    registered: int = 0
    updated: int = 0  # name or phase changed
    moved: int = 0  # into another cluster (or back into one, after leaving)
    unchanged: int = 0


class _Nothing(Exception):
    """Every row says what is already there: there is nothing to save."""


class _Touched:
    """The aggregates one decision loads and changes, each loaded once, in the order first touched."""

    def __init__(self, app: SchoolRegister) -> None:
        self._app = app
        self._loaded: dict[UUID, Aggregate | None] = {}

    def find(self, aggregate_id: UUID, cls: type[Aggregate]) -> Aggregate | None:
        if aggregate_id not in self._loaded:
            self._loaded[aggregate_id] = self._app._find(aggregate_id, cls)
        return self._loaded[aggregate_id]

    def add(self, aggregate: Aggregate) -> None:
        self._loaded[aggregate.id] = aggregate

    def changed(self) -> list[Aggregate]:
        return [a for a in self._loaded.values() if a is not None and a.pending_events]


class SchoolRegister(Clusters):
    """The council's register of schools: one at a time, or a whole file at once."""

    # -- one school ---------------------------------------------------------------------------------

    def register_school(
        self,
        actor: Actor,
        school_urn: SchoolUrn | str,
        name: str,
        phase: SchoolPhase | str,
        cluster_id: ClusterId | str,
    ) -> School:
        """Put a school on the register, in its cluster. 409 if registered, or in another cluster."""
        check_role(actor, "register_school")
        urn, cluster = SchoolUrn.parse(school_urn), ClusterId.parse(cluster_id)
        phase = parse_enum(SchoolPhase, phase, field="phase")
        School.check_details(name, phase)

        def decide() -> Decision[School]:
            touched = _Touched(self)
            if touched.find(School.id_for(urn), School) is not None:
                raise AlreadyExists(f"school {urn} is already registered")
            school = School.register(urn, name, phase, actor)
            touched.add(school)
            self._place(touched, urn, cluster, actor, move=False)
            return school, *[a for a in touched.changed() if a is not school]

        return self._run_command(decide, *self._lock_ids(urn, cluster))

    def update_school(
        self,
        actor: Actor,
        school_urn: SchoolUrn | str,
        name: str,
        phase: SchoolPhase | str,
        cluster_id: ClusterId | str,
        *,
        expected_version: int | None = None,
    ) -> School:
        """A registered school's details as now written; a new cluster moves it there."""
        check_role(actor, "update_school")
        urn, cluster = SchoolUrn.parse(school_urn), ClusterId.parse(cluster_id)
        phase = parse_enum(SchoolPhase, phase, field="phase")
        School.check_details(name, phase)

        def decide() -> Decision[School]:
            touched = _Touched(self)
            school = touched.find(School.id_for(urn), School)
            if not isinstance(school, School):
                raise NotFound(f"school {urn} not found")
            self._check_version(school, expected_version)
            school.change_details(name, phase, actor)
            self._place(touched, urn, cluster, actor, move=True)
            return school, *[a for a in touched.changed() if a is not school]

        return self._run_command(decide, *self._lock_ids(urn, cluster))

    def get_school(self, actor: Actor, school_urn: SchoolUrn | str) -> School:
        """A registered school's entry (404 for a URN the register does not hold)."""
        check_role(actor, "read_schools")
        urn = SchoolUrn.parse(school_urn)
        return self._get(School.id_for(urn), School, f"school {urn}")

    # -- whole files ----------------------------------------------------------------------------------

    def import_clusters(self, actor: Actor, data: bytes) -> ClusterImport:
        """A CSV file of clusters (``cluster_id,name``): new ones registered, changed names renamed."""
        check_role(actor, "import_clusters")
        rows, bad = read_cluster_file(text_of(data))
        if bad:
            raise ImportRefused(bad)
        counts: dict[str, int] = {}

        def decide() -> Decision[Aggregate]:
            counts.clear()
            touched = _Touched(self)
            for row in rows:
                cluster = touched.find(Cluster.id_for(row.cluster_id), Cluster)
                if cluster is None:
                    touched.add(Cluster.register(row.cluster_id, row.name, actor))
                    outcome = "registered"
                elif isinstance(cluster, Cluster) and cluster.name != row.name:
                    cluster.rename(row.name, actor)
                    outcome = "renamed"
                else:
                    outcome = "unchanged"
                counts[outcome] = counts.get(outcome, 0) + 1
            return self._all_changed(touched)

        self._run_import(decide, [Cluster.id_for(row.cluster_id) for row in rows])
        return ClusterImport(**counts)

    def import_schools(self, actor: Actor, data: bytes) -> SchoolImport:
        """A CSV file of schools (``urn,name,phase,cluster_id``): registered, updated or moved as it says.

        Every cluster it names must be registered already (import the clusters first).
        """
        check_role(actor, "import_schools")
        rows, bad = read_school_file(text_of(data))
        counts: dict[str, int] = {}

        def decide() -> Decision[Aggregate]:
            counts.clear()
            touched = _Touched(self)
            missing = [
                BadRow(row.line, f"cluster {row.cluster_id} is not registered (import the clusters first)")
                for row in rows
                if touched.find(Cluster.id_for(row.cluster_id), Cluster) is None
            ]
            if bad or missing:
                raise ImportRefused([*bad, *missing])
            for row in rows:
                school = touched.find(School.id_for(row.urn), School)
                if school is None:
                    touched.add(School.register(row.urn, row.name, row.phase, actor))
                    outcome = "registered"
                elif isinstance(school, School) and not school.has_details(row.name, row.phase):
                    school.change_details(row.name, row.phase, actor)
                    outcome = "updated"
                else:
                    outcome = "unchanged"
                if self._place(touched, row.urn, row.cluster_id, actor, move=True) and outcome != "registered":
                    outcome = "moved"
                counts[outcome] = counts.get(outcome, 0) + 1
            return self._all_changed(touched)

        ids = [School.id_for(row.urn) for row in rows] + [SchoolMembership.id_for(row.urn) for row in rows]
        self._run_import(decide, ids + [Cluster.id_for(row.cluster_id) for row in rows])
        return SchoolImport(**counts)

    # -- the rules both share -------------------------------------------------------------------------

    def _place(self, touched: _Touched, urn: SchoolUrn, cluster_id: ClusterId, actor: Actor, *, move: bool) -> bool:
        """Put the school in ``cluster_id`` as ``add_school`` does; ``move`` takes it out of another
        cluster first (as ``remove_school`` does). True if its cluster changed."""
        cluster = touched.find(Cluster.id_for(cluster_id), Cluster)
        if not isinstance(cluster, Cluster):
            raise NotFound(f"cluster {cluster_id} not found")
        membership = touched.find(SchoolMembership.id_for(urn), SchoolMembership)
        if not isinstance(membership, SchoolMembership):
            membership = SchoolMembership.start(urn)
            touched.add(membership)
        current = membership.cluster_id
        if current == cluster_id:
            return False
        if current is not None:
            if not move:
                raise SchoolInAnotherCluster(f"school {urn} is already in cluster {current}")
            old = touched.find(Cluster.id_for(current), Cluster)
            if isinstance(old, Cluster):
                old.remove_school(urn, actor)
            membership.leave(current, actor)
        membership.join(cluster_id, actor)
        cluster.add_school(urn, actor)
        return True

    @staticmethod
    def _lock_ids(urn: SchoolUrn, cluster_id: ClusterId) -> list[UUID]:
        # A school moving out of a cluster changes that cluster too; it is not known before the
        # membership is read, so it is not locked here. Locks only queue this process's commands:
        # a clash on it is caught by the store's version check, and the command decides again.
        return [School.id_for(urn), SchoolMembership.id_for(urn), Cluster.id_for(cluster_id)]

    @staticmethod
    def _all_changed(touched: _Touched) -> Decision[Aggregate]:
        changed = touched.changed()
        if not changed:
            raise _Nothing
        return changed[0], *changed[1:]

    def _run_import(self, decide: Callable[[], Decision[Aggregate]], lock_ids: list[UUID]) -> None:
        with contextlib.suppress(_Nothing):
            self._run_command(decide, *lock_ids)
