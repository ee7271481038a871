"""How each domain value type is written into, and read back from, the stored event JSON.

The library's JSON transcoder knows only UUID, Decimal and datetime; every other type an event or
snapshot carries needs a registered transcoding, or ``save()`` fails. Names are part of the
stored format: never rename one without an upcaster.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain import values


class MoneyAsPence(Transcoding):
    type = values.Money
    name = "money_pence"

    def encode(self, obj: values.Money) -> int:
        return obj.pence

    def decode(self, data: int) -> values.Money:
        return values.Money(data)


class FinancialYearAsStr(Transcoding):
    type = values.FinancialYear
    name = "financial_year"

    def encode(self, obj: values.FinancialYear) -> str:
        return str(obj)

    def decode(self, data: str) -> values.FinancialYear:
        return values.FinancialYear.parse(data)


class SchoolUrnAsStr(Transcoding):
    type = values.SchoolUrn
    name = "school_urn"

    def encode(self, obj: values.SchoolUrn) -> str:
        return obj.value

    def decode(self, data: str) -> values.SchoolUrn:
        return values.SchoolUrn(data)


class ClusterIdAsStr(Transcoding):
    type = values.ClusterId
    name = "cluster_id"

    def encode(self, obj: values.ClusterId) -> str:
        return obj.value

    def decode(self, data: str) -> values.ClusterId:
        return values.ClusterId(data)


class EnumAsValue(Transcoding):
    """One per enum class, named after it: ``"role"``, ``"provision_category"``..."""

    def __init__(self, enum_class: type[Enum], name: str) -> None:
        self.type = enum_class
        self.name = name

    def encode(self, obj: Enum) -> str:
        return obj.value

    def decode(self, data: str) -> Enum:
        return self.type(data)


class DataclassAsDict(Transcoding):
    """A frozen dataclass as a dict of its fields; nested values are transcoded in turn."""

    def __init__(self, dataclass_type: type[Any], name: str) -> None:
        self.type = dataclass_type
        self.name = name
        self.fields = [field.name for field in dataclasses.fields(dataclass_type)]

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self.fields}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


# A council decision is recorded by the event's type (CouncilApproved / CouncilDeclined), so no
# stored record carries a CouncilDecision value and it needs no transcoding.
STORED_ENUMS = [enum_class for enum_class in values.ENUMS if enum_class is not values.CouncilDecision]
ENUM_TRANSCODINGS = [EnumAsValue(enum_class, _snake(enum_class.__name__)) for enum_class in STORED_ENUMS]

DATACLASS_TRANSCODINGS = [
    DataclassAsDict(values.Actor, "actor"),
    DataclassAsDict(values.ProvisionLine, "provision_line"),
    DataclassAsDict(values.SpendLine, "spend_line"),
    DataclassAsDict(values.EvidenceDocument, "evidence_document"),
    DataclassAsDict(values.SpendEvidence, "spend_evidence"),
    DataclassAsDict(values.Decision, "decision"),
]

ALL_TRANSCODINGS: list[Transcoding] = [
    MoneyAsPence(),
    FinancialYearAsStr(),
    SchoolUrnAsStr(),
    ClusterIdAsStr(),
    *ENUM_TRANSCODINGS,
    *DATACLASS_TRANSCODINGS,
]


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    for transcoding in ALL_TRANSCODINGS:
        transcoder.register(transcoding)
