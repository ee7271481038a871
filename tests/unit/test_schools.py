"""The school register: a school's name and phase, beside (never instead of) its cluster membership."""

from __future__ import annotations

import pytest

from domain.clusters import Cluster, SchoolMembership
from domain.errors import InvalidValue
from domain.schools import School
from domain.values import Actor, ClusterId, SchoolPhase, SchoolUrn

SCHOOL = SchoolUrn("900001")
COUNCIL = Actor.council("council-officer-1")


def registered() -> School:
    school = School.register(SCHOOL, "Northmere Primary School", SchoolPhase.PRIMARY, COUNCIL)
    school.collect_events()
    return school


def test_registering_a_school_records_its_urn_name_phase_and_who():
    school = School.register(SCHOOL, "Northmere Primary School", SchoolPhase.PRIMARY, COUNCIL)
    (event,) = school.collect_events()
    assert isinstance(event, School.Registered)
    assert (event.school_urn, event.name, event.phase, event.actor) == (
        SCHOOL,
        "Northmere Primary School",
        SchoolPhase.PRIMARY,
        COUNCIL,
    )
    assert (school.name, school.phase, school.version) == ("Northmere Primary School", SchoolPhase.PRIMARY, 1)


def test_a_register_entry_has_an_id_of_its_own_apart_from_the_schools_membership():
    assert School.id_for(SCHOOL) == School.id_for(SchoolUrn("900001"))
    assert School.id_for(SCHOOL) != SchoolMembership.id_for(SCHOOL)
    assert School.id_for(SCHOOL) != School.id_for(SchoolUrn("900002"))
    assert School.id_for(SCHOOL) != Cluster.id_for(ClusterId("northmere-coast"))


@pytest.mark.parametrize("name", ["", "   ", "a" * 201, "Bad\x00name"])
def test_a_school_needs_a_written_name(name):
    with pytest.raises(InvalidValue):
        School.register(SCHOOL, name, SchoolPhase.PRIMARY, COUNCIL)


def test_a_phase_must_be_one_of_the_phases_of_education():
    with pytest.raises(InvalidValue, match="phase"):
        School.register(SCHOOL, "Northmere Primary School", "primary", COUNCIL)  # type: ignore[arg-type]


def test_the_phases_are_those_of_get_information_about_schools():
    assert [phase.value for phase in SchoolPhase] == [
        "nursery",
        "primary",
        "middle_deemed_primary",
        "middle_deemed_secondary",
        "secondary",
        "all_through",
        "16_plus",
        "not_applicable",
    ]


def test_renaming_a_school_records_the_new_details():
    school = registered()
    school.change_details("Northmere Church of England Primary School", SchoolPhase.PRIMARY, COUNCIL)
    (event,) = school.collect_events()
    assert isinstance(event, School.DetailsChanged)
    assert (event.name, event.phase, event.actor) == (
        "Northmere Church of England Primary School",
        SchoolPhase.PRIMARY,
        COUNCIL,
    )
    assert school.name == "Northmere Church of England Primary School"


def test_a_change_of_phase_alone_is_recorded():
    school = registered()
    school.change_details("Northmere Primary School", SchoolPhase.ALL_THROUGH, COUNCIL)
    assert [type(event) for event in school.collect_events()] == [School.DetailsChanged]
    assert school.phase is SchoolPhase.ALL_THROUGH


def test_the_same_details_again_change_nothing():
    school = registered()
    school.change_details("Northmere Primary School", SchoolPhase.PRIMARY, COUNCIL)
    assert school.collect_events() == []
    assert school.version == 1


def test_new_details_are_checked_like_the_first():
    school = registered()
    with pytest.raises(InvalidValue):
        school.change_details(" ", SchoolPhase.PRIMARY, COUNCIL)
    assert school.collect_events() == []


def test_replaying_a_schools_events_rebuilds_it():
    school = School.register(SCHOOL, "Northmere Primary School", SchoolPhase.PRIMARY, COUNCIL)
    school.change_details("Northmere Academy", SchoolPhase.ALL_THROUGH, COUNCIL)
    rebuilt = None
    for event in school.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert isinstance(rebuilt, School)
    assert (rebuilt.school_urn, rebuilt.name, rebuilt.phase, rebuilt.version) == (
        SCHOOL,
        "Northmere Academy",
        SchoolPhase.ALL_THROUGH,
        2,
    )


def test_renaming_a_cluster_records_the_new_name_and_keeps_its_id():
    cluster = Cluster.register(ClusterId("northmere-coast"), "Northmere Coast", COUNCIL)
    cluster.collect_events()
    cluster.rename("Northmere and Coast", COUNCIL)
    (event,) = cluster.collect_events()
    assert isinstance(event, Cluster.Renamed)
    assert (event.name, event.actor, cluster.name, cluster.cluster_id) == (
        "Northmere and Coast",
        COUNCIL,
        "Northmere and Coast",
        ClusterId("northmere-coast"),
    )


def test_renaming_a_cluster_to_its_own_name_changes_nothing():
    cluster = Cluster.register(ClusterId("northmere-coast"), "Northmere Coast", COUNCIL)
    cluster.collect_events()
    cluster.rename("Northmere Coast", COUNCIL)
    assert cluster.collect_events() == []


def test_a_cluster_cannot_be_renamed_to_a_blank_name():
    cluster = Cluster.register(ClusterId("northmere-coast"), "Northmere Coast", COUNCIL)
    with pytest.raises(InvalidValue):
        cluster.rename("", COUNCIL)
