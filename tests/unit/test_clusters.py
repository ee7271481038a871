"""Clusters and school memberships: a school is in at most one cluster at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import CanMutateAggregate

from domain.clusters import Cluster, SchoolMembership
from domain.errors import InvalidValue, SchoolInAnotherCluster, SchoolNotInCluster
from domain.funds import ClusterBudget
from domain.values import Actor, ClusterId, FinancialYear, SchoolUrn

CLUSTER = ClusterId("northmere-coast")
OTHER_CLUSTER = ClusterId("fenwick-broads")
SCHOOL = SchoolUrn("900001")
SECOND_SCHOOL = SchoolUrn("900002")
THIRD_SCHOOL = SchoolUrn("900003")
COUNCIL = Actor.council("council-officer-1")


def registered(cluster_id: ClusterId = CLUSTER, *schools: SchoolUrn) -> Cluster:
    cluster = Cluster.register(cluster_id, "Northmere Coast", COUNCIL)
    for school in schools:
        cluster.add_school(school, COUNCIL)
    cluster.collect_events()
    return cluster


def membership(in_cluster: ClusterId | None = None) -> SchoolMembership:
    member = SchoolMembership.start(SCHOOL)
    if in_cluster is not None:
        member.join(in_cluster, COUNCIL)
    member.collect_events()
    return member


def state(aggregate: Any) -> dict[str, Any]:
    return {key: value for key, value in vars(aggregate).items() if key != "_pending_events"}


def replay(events: Sequence[CanMutateAggregate[UUID]]) -> Any:
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


# ---------------------------------------------------------------------------------------------
# Cluster
# ---------------------------------------------------------------------------------------------


def test_registering_a_cluster_records_its_id_name_and_actor():
    cluster = Cluster.register(CLUSTER, "Northmere Coast", COUNCIL)
    (event,) = cluster.collect_events()
    assert isinstance(event, Cluster.Registered)
    assert (event.cluster_id, event.name, event.actor) == (CLUSTER, "Northmere Coast", COUNCIL)
    assert (cluster.cluster_id, cluster.name, cluster.school_urns) == (CLUSTER, "Northmere Coast", [])


def test_a_clusters_id_is_derived_from_its_slug():
    first = Cluster.register(CLUSTER, "Northmere Coast", COUNCIL)
    again = Cluster.register(CLUSTER, "Another name", COUNCIL)
    assert first.id == again.id == Cluster.id_for(CLUSTER)
    assert Cluster.id_for(CLUSTER) != Cluster.id_for(OTHER_CLUSTER)


def test_a_clusters_id_differs_from_its_budgets_and_its_schools_memberships():
    year = FinancialYear.parse("2026-27")
    assert Cluster.id_for(CLUSTER) != ClusterBudget.id_for(CLUSTER, year)
    assert Cluster.id_for(ClusterId("900001")) != SchoolMembership.id_for(SchoolUrn("900001"))


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "Northmere\x00Coast"])
def test_a_cluster_needs_a_sensible_name(name):
    with pytest.raises(InvalidValue, match="name"):
        Cluster.register(CLUSTER, name, COUNCIL)


def test_adding_a_school_records_it():
    cluster = registered()
    cluster.add_school(SCHOOL, COUNCIL)
    (event,) = cluster.collect_events()
    assert isinstance(event, Cluster.SchoolAdded)
    assert (event.school_urn, event.actor) == (SCHOOL, COUNCIL)
    assert cluster.has_school(SCHOOL)
    assert cluster.school_urns == [SCHOOL]


def test_schools_are_listed_in_urn_order():
    cluster = registered(CLUSTER, THIRD_SCHOOL, SCHOOL, SECOND_SCHOOL)
    assert cluster.school_urns == [SCHOOL, SECOND_SCHOOL, THIRD_SCHOOL]


def test_adding_a_member_school_again_records_nothing():
    cluster = registered(CLUSTER, SCHOOL)
    version = cluster.version
    cluster.add_school(SCHOOL, COUNCIL)
    assert list(cluster.pending_events) == []
    assert cluster.version == version
    assert cluster.school_urns == [SCHOOL]


def test_removing_a_school_records_it():
    cluster = registered(CLUSTER, SCHOOL, SECOND_SCHOOL)
    cluster.remove_school(SCHOOL, COUNCIL)
    (event,) = cluster.collect_events()
    assert isinstance(event, Cluster.SchoolRemoved)
    assert (event.school_urn, event.actor) == (SCHOOL, COUNCIL)
    assert not cluster.has_school(SCHOOL)
    assert cluster.school_urns == [SECOND_SCHOOL]


def test_removing_a_school_that_is_not_a_member_is_refused():
    cluster = registered(CLUSTER, SECOND_SCHOOL)
    with pytest.raises(SchoolNotInCluster):
        cluster.remove_school(SCHOOL, COUNCIL)
    assert list(cluster.pending_events) == []
    assert cluster.school_urns == [SECOND_SCHOOL]


def test_a_removed_school_may_be_added_back():
    cluster = registered(CLUSTER, SCHOOL)
    cluster.remove_school(SCHOOL, COUNCIL)
    cluster.add_school(SCHOOL, COUNCIL)
    assert [type(event) for event in cluster.collect_events()] == [Cluster.SchoolRemoved, Cluster.SchoolAdded]
    assert cluster.has_school(SCHOOL)


def test_replaying_a_clusters_events_rebuilds_the_same_cluster():
    cluster = Cluster.register(CLUSTER, "Northmere Coast", COUNCIL)
    cluster.add_school(SECOND_SCHOOL, COUNCIL)
    cluster.add_school(SCHOOL, COUNCIL)
    cluster.remove_school(SECOND_SCHOOL, COUNCIL)
    events = cluster.collect_events()

    rebuilt = replay(events)

    assert state(rebuilt) == state(cluster)
    assert rebuilt.school_urns == [SCHOOL]


# ---------------------------------------------------------------------------------------------
# SchoolMembership
# ---------------------------------------------------------------------------------------------


def test_a_membership_id_is_derived_from_the_urn():
    assert SchoolMembership.start(SCHOOL).id == SchoolMembership.start(SCHOOL).id == SchoolMembership.id_for(SCHOOL)
    assert SchoolMembership.id_for(SCHOOL) != SchoolMembership.id_for(SECOND_SCHOOL)


def test_a_new_membership_belongs_to_no_cluster():
    assert membership().cluster_id is None


def test_joining_a_cluster_records_it():
    member = membership()
    member.join(CLUSTER, COUNCIL)
    (event,) = member.collect_events()
    assert isinstance(event, SchoolMembership.JoinedCluster)
    assert (event.cluster_id, event.actor) == (CLUSTER, COUNCIL)
    assert member.cluster_id == CLUSTER


def test_a_school_in_another_cluster_is_refused():
    member = membership(in_cluster=OTHER_CLUSTER)
    with pytest.raises(SchoolInAnotherCluster, match=str(OTHER_CLUSTER)):
        member.join(CLUSTER, COUNCIL)
    assert list(member.pending_events) == []
    assert member.cluster_id == OTHER_CLUSTER


def test_joining_the_same_cluster_again_records_nothing():
    member = membership(in_cluster=CLUSTER)
    member.join(CLUSTER, COUNCIL)
    assert list(member.pending_events) == []


def test_leaving_a_cluster_records_it_and_frees_the_school():
    member = membership(in_cluster=CLUSTER)
    member.leave(CLUSTER, COUNCIL)
    (event,) = member.collect_events()
    assert isinstance(event, SchoolMembership.LeftCluster)
    assert event.cluster_id == CLUSTER
    assert member.cluster_id is None


def test_a_school_that_left_may_join_another_cluster():
    member = membership(in_cluster=CLUSTER)
    member.leave(CLUSTER, COUNCIL)
    member.join(OTHER_CLUSTER, COUNCIL)
    assert member.cluster_id == OTHER_CLUSTER


def test_leaving_a_cluster_the_school_is_not_in_is_refused():
    member = membership(in_cluster=OTHER_CLUSTER)
    with pytest.raises(SchoolNotInCluster):
        member.leave(CLUSTER, COUNCIL)
    assert list(member.pending_events) == []
    assert member.cluster_id == OTHER_CLUSTER


def test_leaving_when_in_no_cluster_is_refused():
    member = membership()
    with pytest.raises(SchoolNotInCluster):
        member.leave(CLUSTER, COUNCIL)
    assert list(member.pending_events) == []


def test_replaying_a_memberships_events_rebuilds_the_same_membership():
    member = SchoolMembership.start(SCHOOL)
    member.join(CLUSTER, COUNCIL)
    member.leave(CLUSTER, COUNCIL)
    member.join(OTHER_CLUSTER, COUNCIL)
    events = member.collect_events()

    rebuilt = replay(events)

    assert state(rebuilt) == state(member)
    assert rebuilt.cluster_id == OTHER_CLUSTER
