"""Reference data: the clusters, and which cluster each school belongs to.

A school's membership is an aggregate of its own (``SchoolMembership``), saved with the cluster in
one transaction, so a school is in at most one cluster at any moment, under any concurrency.
"""

from __future__ import annotations

from domain.clusters import Cluster, SchoolMembership
from domain.errors import AlreadyExists
from domain.limits import SHORT_TEXT
from domain.permissions import check_role
from domain.text import check_text
from domain.values import Actor, ClusterId, SchoolUrn
from funding_engine.application.engine import Decision, EngineApplication


class Clusters(EngineApplication):
    """Registering clusters and moving schools in and out of them (the council)."""

    def register_cluster(self, actor: Actor, cluster_id: ClusterId | str, name: str) -> Cluster:
        check_role(actor, "register_cluster")
        cluster_id = ClusterId.parse(cluster_id)
        check_text(name, field="name", max_length=SHORT_TEXT)

        def decide() -> Decision[Cluster]:
            if self._find(Cluster.id_for(cluster_id), Cluster) is not None:
                raise AlreadyExists(f"cluster {cluster_id} already exists")
            return (Cluster.register(cluster_id, name, actor),)

        return self._run_command(decide, Cluster.id_for(cluster_id))

    def add_school(self, actor: Actor, cluster_id: ClusterId | str, school_urn: SchoolUrn | str) -> Cluster:
        check_role(actor, "add_school")
        cluster_id, school_urn = ClusterId.parse(cluster_id), SchoolUrn.parse(school_urn)

        def decide() -> Decision[Cluster]:
            cluster = self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")
            membership = self._find(SchoolMembership.id_for(school_urn), SchoolMembership)
            membership = membership or SchoolMembership.start(school_urn)
            membership.join(cluster_id, actor)
            cluster.add_school(school_urn, actor)
            return cluster, membership

        return self._run_command(decide, Cluster.id_for(cluster_id), SchoolMembership.id_for(school_urn))

    def remove_school(self, actor: Actor, cluster_id: ClusterId | str, school_urn: SchoolUrn | str) -> Cluster:
        check_role(actor, "remove_school")
        cluster_id, school_urn = ClusterId.parse(cluster_id), SchoolUrn.parse(school_urn)

        def decide() -> Decision[Cluster]:
            cluster = self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")
            cluster.remove_school(school_urn, actor)
            membership = self._get(SchoolMembership.id_for(school_urn), SchoolMembership, f"school {school_urn}")
            membership.leave(cluster_id, actor)
            return cluster, membership

        return self._run_command(decide, Cluster.id_for(cluster_id), SchoolMembership.id_for(school_urn))

    def get_cluster(self, actor: Actor, cluster_id: ClusterId | str) -> Cluster:
        check_role(actor, "read_cluster")
        cluster_id = ClusterId.parse(cluster_id)
        return self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")

    def cluster_of_school(self, school_urn: SchoolUrn | str) -> ClusterId | None:
        membership = self._find(SchoolMembership.id_for(SchoolUrn.parse(school_urn)), SchoolMembership, to_change=False)
        return membership.cluster_id if membership else None

    def _check_cluster_exists(self, cluster_id: ClusterId) -> None:
        self._get(Cluster.id_for(cluster_id), Cluster, f"cluster {cluster_id}")
