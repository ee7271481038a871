"""The school register: each school's name and phase of education, kept by the council.

A school has been known by its URN since clusters were first set up: ``SchoolMembership`` (in
``domain.clusters``) holds which cluster it is in. The register entry is a second aggregate,
``School``, with an id of its own (``School.id_for``), so the membership's history and its rule
(one cluster at a time) are untouched, and a school that joined a cluster before the register
existed is simply a school whose name is not known yet. Registering it later adds the entry
beside the membership it already has; it never rewrites it.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValue
from domain.funds import ID_NAMESPACE
from domain.limits import SHORT_TEXT
from domain.text import check_text
from domain.values import Actor, SchoolPhase, SchoolUrn


class School(Aggregate):
    """A school on the council's register: its URN, name and phase of education."""

    @staticmethod
    def id_for(school_urn: SchoolUrn) -> UUID:
        # Not "school/{urn}": that is the school's membership (``SchoolMembership.id_for``).
        return uuid5(ID_NAMESPACE, f"school-register/{school_urn}")

    class Registered(Aggregate.Created):
        class_version = 1
        school_urn: SchoolUrn
        name: str
        phase: SchoolPhase
        actor: Actor

    class DetailsChanged(Aggregate.Event):
        """Renamed, or its phase changed (an infant school becoming a primary), or both."""

        class_version = 1
        name: str
        phase: SchoolPhase
        actor: Actor

        def apply(self, school: School) -> None:
            school.name = self.name
            school.phase = self.phase

    def __init__(self, school_urn: SchoolUrn, name: str, phase: SchoolPhase, actor: Actor) -> None:
        self.school_urn = school_urn
        self.name = name
        self.phase = phase

    @staticmethod
    def check_details(name: str, phase: SchoolPhase) -> None:
        check_text(name, field="name", max_length=SHORT_TEXT)
        if not isinstance(phase, SchoolPhase):
            raise InvalidValue(f"phase must be a phase of education, got {phase!r}")

    @classmethod
    def register(cls, school_urn: SchoolUrn, name: str, phase: SchoolPhase, actor: Actor) -> School:
        cls.check_details(name, phase)
        return cls._create(
            cls.Registered, id=cls.id_for(school_urn), school_urn=school_urn, name=name, phase=phase, actor=actor
        )

    def has_details(self, name: str, phase: SchoolPhase) -> bool:
        return (self.name, self.phase) == (name, phase)

    def change_details(self, name: str, phase: SchoolPhase, actor: Actor) -> None:
        """The register entry as now written; the same details again change nothing (a re-import)."""
        self.check_details(name, phase)
        if not self.has_details(name, phase):
            self.trigger_event(self.DetailsChanged, name=name, phase=phase, actor=actor)
