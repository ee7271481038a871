"""How each domain value type is written into, and read back from, the stored event JSON.

The library's JSON transcoder knows only UUID, Decimal and datetime; every other type an event or
snapshot carries needs a registered transcoding, or ``save()`` fails. Names are part of the
stored format: never rename one without an upcaster.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from enum import Enum
from functools import lru_cache
from types import MemberDescriptorType
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain import awards, money, payment_runs, policy_pin, provision_lines, remittances, schedules, values
from domain.academic_year import AcademicYear

# Every stored event is decoded again by every catch-up of the read models and every load of an
# aggregate, so decoding is kept cheap: the few distinct years, URNs and cluster ids are parsed
# (and validated) once and then shared, which is safe as they are immutable. Bounded, so a log
# with very many distinct values only costs the parse again.
_DISTINCT_VALUES = 4096


@lru_cache(maxsize=_DISTINCT_VALUES)
def _financial_year(data: str) -> values.FinancialYear:
    return values.FinancialYear.parse(data)


@lru_cache(maxsize=_DISTINCT_VALUES)
def _school_urn(data: str) -> values.SchoolUrn:
    return values.SchoolUrn(data)


@lru_cache(maxsize=_DISTINCT_VALUES)
def _cluster_id(data: str) -> values.ClusterId:
    return values.ClusterId(data)


class MoneyAsPence(Transcoding):
    type = money.Money
    name = "money_pence"

    def encode(self, obj: money.Money) -> int:
        return obj.pence

    def decode(self, data: int) -> money.Money:
        return money.Money(data)


class FinancialYearAsStr(Transcoding):
    type = values.FinancialYear
    name = "financial_year"

    def encode(self, obj: values.FinancialYear) -> str:
        return str(obj)

    def decode(self, data: str) -> values.FinancialYear:
        return _financial_year(data)


class SchoolUrnAsStr(Transcoding):
    type = values.SchoolUrn
    name = "school_urn"

    def encode(self, obj: values.SchoolUrn) -> str:
        return obj.value

    def decode(self, data: str) -> values.SchoolUrn:
        return _school_urn(data)


class ClusterIdAsStr(Transcoding):
    type = values.ClusterId
    name = "cluster_id"

    def encode(self, obj: values.ClusterId) -> str:
        return obj.value

    def decode(self, data: str) -> values.ClusterId:
        return _cluster_id(data)


class AcademicYearAsStr(Transcoding):
    type = AcademicYear
    name = "academic_year"

    def encode(self, obj: AcademicYear) -> str:
        return str(obj)

    def decode(self, data: str) -> AcademicYear:
        return AcademicYear.parse(data)


class DateAsIso(Transcoding):
    """A calendar date (not a moment): ``"2026-09-01"``. A datetime is the library's own, by its exact type."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumAsValue(Transcoding):
    """One per enum class, named after it: ``"role"``, ``"provision_category"``..."""

    def __init__(self, enum_class: type[Enum], name: str) -> None:
        self.type = enum_class
        self.name = name
        # A dict lookup is ten times cheaper than calling the enum class.
        self.members: dict[Any, Enum] = {member.value: member for member in enum_class}

    def encode(self, obj: Enum) -> str:
        return obj.value

    def decode(self, data: str) -> Enum:
        member = self.members.get(data)
        return member if member is not None else self.type(data)  # an unknown value raises as it always did


class DataclassAsDict(Transcoding):
    """A frozen, slotted dataclass as a dict of its fields; nested values are transcoded in turn.

    Decoding does not run the class's validation again: the value was validated when the event
    was made, nothing writes the log but ``save()``, and an edit to the stored record is the audit
    chain's to find. Revalidating (an actor on nearly every event) cost three times building the
    value. A record whose fields are not exactly the class's goes through the constructor, as before.
    """

    def __init__(self, dataclass_type: type[Any], name: str) -> None:
        self.type = dataclass_type
        self.name = name
        self.fields = [field.name for field in dataclasses.fields(dataclass_type)]
        # A slot's descriptor writes the slot directly, past the frozen class's __setattr__; a class
        # without slots is always built by its constructor.
        slots = [vars(dataclass_type).get(field) for field in self.fields]
        self._setters: list[tuple[str, Callable[[Any, Any], None]]] | None = (
            [(field, slot.__set__) for field, slot in zip(self.fields, slots, strict=True)]
            if all(isinstance(slot, MemberDescriptorType) for slot in slots)
            else None
        )

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self.fields}

    def decode(self, data: dict[str, Any]) -> Any:
        if self._setters is None or len(data) != len(self._setters):
            return self.type(**data)
        value: Any = object.__new__(self.type)
        try:
            for field, set_field in self._setters:
                set_field(value, data[field])
        except KeyError:
            return self.type(**data)
        return value


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


# A council decision is recorded by the event's type (CouncilApproved / CouncilDeclined), so no
# stored record carries a CouncilDecision value and it needs no transcoding.
STORED_ENUMS: list[type[Enum]] = [
    *(enum_class for enum_class in values.ENUMS if enum_class is not values.CouncilDecision),
    *provision_lines.PROVISION_MAP_ENUMS,
    schedules.ScheduleKind,
    awards.ReleaseReason,
    awards.RecoveryReason,
]
ENUM_TRANSCODINGS = [EnumAsValue(enum_class, _snake(enum_class.__name__)) for enum_class in STORED_ENUMS]

DATACLASS_TRANSCODINGS = [
    DataclassAsDict(values.Actor, "actor"),
    DataclassAsDict(values.ProvisionLine, "provision_line"),
    DataclassAsDict(values.SpendLine, "spend_line"),
    DataclassAsDict(values.EvidenceDocument, "evidence_document"),
    DataclassAsDict(values.SpendEvidence, "spend_evidence"),
    DataclassAsDict(values.ProvisionMapCitation, "provision_map_citation"),
    DataclassAsDict(values.Decision, "decision"),
    DataclassAsDict(policy_pin.PolicyPin, "policy_pin"),
    DataclassAsDict(provision_lines.ProvisionMapLine, "provision_map_line"),
    DataclassAsDict(provision_lines.LineReview, "line_review"),
    DataclassAsDict(schedules.AwardPeriod, "award_period"),
    DataclassAsDict(awards.Award, "award"),
    DataclassAsDict(awards.Instalment, "instalment"),
    DataclassAsDict(awards.InstalmentAmount, "instalment_amount"),
    DataclassAsDict(awards.Recovery, "recovery"),
    DataclassAsDict(payment_runs.InstalmentKey, "instalment_key"),
    DataclassAsDict(payment_runs.RunSelection, "run_selection"),
    DataclassAsDict(payment_runs.RunLine, "run_line"),
    DataclassAsDict(payment_runs.LinePayment, "line_payment"),
    DataclassAsDict(remittances.RemittancePayment, "remittance_payment"),
    DataclassAsDict(remittances.RemittanceProblem, "remittance_problem"),
]

ALL_TRANSCODINGS: list[Transcoding] = [
    MoneyAsPence(),
    FinancialYearAsStr(),
    SchoolUrnAsStr(),
    ClusterIdAsStr(),
    AcademicYearAsStr(),
    DateAsIso(),
    *ENUM_TRANSCODINGS,
    *DATACLASS_TRANSCODINGS,
]


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    for transcoding in ALL_TRANSCODINGS:
        transcoder.register(transcoding)
