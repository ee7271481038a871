"""Clusters and the schools in them.

"A school is in at most one cluster" spans clusters, so it cannot be guarded by one ``Cluster``
alone. Each school therefore has a ``SchoolMembership`` aggregate with an id derived from its URN;
joining saves the cluster and the membership together, and two council officers adding one
school to two clusters at once collide on the membership's version.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import SchoolInAnotherCluster, SchoolNotInCluster
from domain.funds import ID_NAMESPACE
from domain.limits import SHORT_TEXT
from domain.text import check_text
from domain.values import Actor, ClusterId, SchoolUrn


class Cluster(Aggregate):
    """A group of neighbouring schools holding delegated SEN funding."""

    @staticmethod
    def id_for(cluster_id: ClusterId) -> UUID:
        return uuid5(ID_NAMESPACE, f"cluster/{cluster_id}")

    class Registered(Aggregate.Created):
        class_version = 1
        cluster_id: ClusterId
        name: str
        actor: Actor

    class Renamed(Aggregate.Event):
        class_version = 1
        name: str
        actor: Actor

        def apply(self, cluster: Cluster) -> None:
            cluster.name = self.name

    class SchoolAdded(Aggregate.Event):
        class_version = 1
        school_urn: SchoolUrn
        actor: Actor

        def apply(self, cluster: Cluster) -> None:
            cluster.school_urns = sorted([*cluster.school_urns, self.school_urn])

    class SchoolRemoved(Aggregate.Event):
        class_version = 1
        school_urn: SchoolUrn
        actor: Actor

        def apply(self, cluster: Cluster) -> None:
            cluster.school_urns = [urn for urn in cluster.school_urns if urn != self.school_urn]

    def __init__(self, cluster_id: ClusterId, name: str, actor: Actor) -> None:
        self.cluster_id = cluster_id
        self.name = name
        self.school_urns: list[SchoolUrn] = []

    @classmethod
    def register(cls, cluster_id: ClusterId, name: str, actor: Actor) -> Cluster:
        check_text(name, field="name", max_length=SHORT_TEXT)
        return cls._create(cls.Registered, id=cls.id_for(cluster_id), cluster_id=cluster_id, name=name, actor=actor)

    def rename(self, name: str, actor: Actor) -> None:
        """A cluster keeps its id for life; only the name people read changes (the same name changes nothing)."""
        check_text(name, field="name", max_length=SHORT_TEXT)
        if name != self.name:
            self.trigger_event(self.Renamed, name=name, actor=actor)

    def has_school(self, school_urn: SchoolUrn) -> bool:
        return school_urn in self.school_urns

    def add_school(self, school_urn: SchoolUrn, actor: Actor) -> None:
        if not self.has_school(school_urn):
            self.trigger_event(self.SchoolAdded, school_urn=school_urn, actor=actor)

    def remove_school(self, school_urn: SchoolUrn, actor: Actor) -> None:
        if not self.has_school(school_urn):
            raise SchoolNotInCluster(f"school {school_urn} is not in cluster {self.cluster_id}")
        self.trigger_event(self.SchoolRemoved, school_urn=school_urn, actor=actor)


class SchoolMembership(Aggregate):
    """Which cluster one school belongs to now (at most one)."""

    @staticmethod
    def id_for(school_urn: SchoolUrn) -> UUID:
        return uuid5(ID_NAMESPACE, f"school/{school_urn}")

    class Started(Aggregate.Created):
        class_version = 1
        school_urn: SchoolUrn

    class JoinedCluster(Aggregate.Event):
        class_version = 1
        cluster_id: ClusterId
        actor: Actor

        def apply(self, membership: SchoolMembership) -> None:
            membership.cluster_id = self.cluster_id

    class LeftCluster(Aggregate.Event):
        class_version = 1
        cluster_id: ClusterId
        actor: Actor

        def apply(self, membership: SchoolMembership) -> None:
            membership.cluster_id = None

    def __init__(self, school_urn: SchoolUrn) -> None:
        self.school_urn = school_urn
        self.cluster_id: ClusterId | None = None

    @classmethod
    def start(cls, school_urn: SchoolUrn) -> SchoolMembership:
        return cls._create(cls.Started, id=cls.id_for(school_urn), school_urn=school_urn)

    def check_not_in_another_cluster(self, cluster_id: ClusterId) -> None:
        if self.cluster_id is not None and self.cluster_id != cluster_id:
            raise SchoolInAnotherCluster(f"school {self.school_urn} is already in cluster {self.cluster_id}")

    def join(self, cluster_id: ClusterId, actor: Actor) -> None:
        self.check_not_in_another_cluster(cluster_id)
        if self.cluster_id != cluster_id:
            self.trigger_event(self.JoinedCluster, cluster_id=cluster_id, actor=actor)

    def leave(self, cluster_id: ClusterId, actor: Actor) -> None:
        if self.cluster_id != cluster_id:
            raise SchoolNotInCluster(f"school {self.school_urn} is not in cluster {cluster_id}")
        self.trigger_event(self.LeftCluster, cluster_id=cluster_id, actor=actor)
