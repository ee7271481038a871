"""What the council has awarded in one school term, against the policy's per-term cap.

Norfolk's exceptional-circumstances panels could award at most £10,000 a term. An award is
counted in the term its decision was taken in (autumn: September to December, spring: January to
March, summer: April to August, as instalments are), whichever financial year's fund it commits
on. The tally is an aggregate of its own, saved in the same transaction as the council's
approval and under its lock, so two approvals racing in one term can never pass the cap together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.copying import shared_when_copied
from domain.errors import PolicyLimitExceeded
from domain.funds import ID_NAMESPACE
from domain.money import Money
from domain.values import Actor


@shared_when_copied
@dataclass(frozen=True, slots=True, order=True)
class SchoolTerm:
    """A school term: the academic year it belongs to (by its first calendar year) and its name."""

    academic_year: int
    name: str  # "autumn", "spring" or "summer"

    @classmethod
    def containing(cls, day: date) -> SchoolTerm:
        if day.month >= 9:
            return cls(day.year, "autumn")
        return cls(day.year - 1, "spring" if day.month <= 3 else "summer")

    def __str__(self) -> str:
        return f"{self.name} term {self.academic_year}/{(self.academic_year + 1) % 100:02d}"


class CouncilTermAwards(Aggregate):
    """The council's approvals decided in one term, added up."""

    class Opened(Aggregate.Created):
        class_version = 1
        academic_year: int
        term: str

    class AwardCounted(Aggregate.Event):
        class_version = 1
        request_id: UUID
        amount: Money
        actor: Actor

        def apply(self, tally: CouncilTermAwards) -> None:
            tally.awarded += self.amount

    def __init__(self, academic_year: int, term: str) -> None:
        self.academic_year = academic_year
        self.term = term
        self.awarded = Money.zero()

    @staticmethod
    def id_for(term: SchoolTerm) -> UUID:
        return uuid5(ID_NAMESPACE, f"council-term-awards:{term.academic_year}:{term.name}")

    @classmethod
    def open(cls, term: SchoolTerm) -> CouncilTermAwards:
        return cls._create(cls.Opened, id=cls.id_for(term), academic_year=term.academic_year, term=term.name)

    @property
    def school_term(self) -> SchoolTerm:
        return SchoolTerm(self.academic_year, self.term)

    def count(self, request_id: UUID, amount: Money, cap: Money, cap_source: str, actor: Actor) -> None:
        if self.awarded + amount > cap:
            left = cap - self.awarded
            raise PolicyLimitExceeded(
                f"the council has awarded {self.awarded} in the {self.school_term} against a cap of {cap} "
                f"({cap_source}): {left if left.is_positive else Money.zero()} is left, "
                f"{amount} is {(self.awarded + amount) - cap} over"
            )
        self.trigger_event(self.AwardCounted, request_id=request_id, amount=amount, actor=actor)
