"""How a payment run's file reads to the council's finance system: its columns and cost centres.

Both are settings, because each council's finance system names its import columns its own way and
books top-ups to its own cost centres. They are read here from the JSON the settings hold:

- ``FUNDING_ENGINE_PAYMENT_RUN_COLUMNS``: a JSON object from a field of the file to the heading its
  column has, e.g. ``{"payee_urn": "Supplier Ref", "amount": "Net Amount"}``. The fields are
  ``FIELDS``; one not named keeps its default heading. Columns come in the object's order, then the
  fields it does not name, in the default order.
- ``FUNDING_ENGINE_COST_CENTRES``: ``{"clusters": {"<cluster id>": "<cost centre>", ...},
  "council": "<cost centre>"}``. A cluster award is booked to its cluster's cost centre, a council
  award to the council's; a cluster not named is booked to its cluster id, and the council, if not
  named, to ``council``, so a run is never refused for want of a mapping, and the file says which
  mapping is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from domain.errors import InvalidValue
from domain.limits import SHORT_TEXT
from domain.text import check_text
from domain.values import ClusterId

# The file's fields, in their default order, with their default headings.
DEFAULT_HEADINGS: dict[str, str] = {
    "payee_urn": "payee_school_urn",
    "payee_name": "payee_name",
    "award_reference": "award_reference",
    "cost_centre": "cost_centre",
    "amount": "amount",
    "due_on": "due_date",
    "line_reference": "line_reference",
}
FIELDS = tuple(DEFAULT_HEADINGS)
COUNCIL_COST_CENTRE = "council"


def _json_object(text: str, setting: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidValue(f"{setting} must be a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidValue(f"{setting} must be a JSON object")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{what} must be text")
    return check_text(value.strip(), field=what, max_length=SHORT_TEXT)


@dataclass(frozen=True)
class RunFileColumns:
    """The run file's columns: each field with its heading, in the order they are written."""

    columns: tuple[tuple[str, str], ...] = tuple(DEFAULT_HEADINGS.items())

    @classmethod
    def parse(cls, text: str) -> RunFileColumns:
        setting = "FUNDING_ENGINE_PAYMENT_RUN_COLUMNS"
        named = _json_object(text, setting)
        unknown = sorted(set(named) - set(FIELDS))
        if unknown:
            raise InvalidValue(f"{setting} names no field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
        headings = {name: _text(heading, f"{setting} heading of {name}") for name, heading in named.items()}
        order = [*named, *(name for name in FIELDS if name not in named)]
        columns = tuple((name, headings.get(name, DEFAULT_HEADINGS[name])) for name in order)
        seen: dict[str, str] = {}
        for name, heading in columns:
            if heading.lower() in seen:
                raise InvalidValue(f"{setting}: {name} and {seen[heading.lower()]} both have the heading {heading!r}")
            seen[heading.lower()] = name
        return cls(columns)

    @property
    def headings(self) -> list[str]:
        return [heading for _, heading in self.columns]

    @property
    def fields(self) -> list[str]:
        return [name for name, _ in self.columns]


@dataclass(frozen=True)
class CostCentres:
    """Which cost centre an award is booked to, by who made it (see the module's note)."""

    clusters: dict[str, str] = field(default_factory=dict)
    council: str = COUNCIL_COST_CENTRE

    @classmethod
    def parse(cls, text: str) -> CostCentres:
        setting = "FUNDING_ENGINE_COST_CENTRES"
        given = _json_object(text, setting)
        unknown = sorted(set(given) - {"clusters", "council"})
        if unknown:
            raise InvalidValue(f"{setting} has clusters and council, not {unknown[0]!r}")
        clusters = given.get("clusters", {})
        if not isinstance(clusters, dict):
            raise InvalidValue(f"{setting}: clusters must be a JSON object from cluster id to cost centre")
        mapped: dict[str, str] = {}
        for cluster_id, centre in clusters.items():
            try:
                ClusterId.parse(cluster_id)
            except InvalidValue as error:
                raise InvalidValue(f"{setting}: {error}") from None
            mapped[cluster_id] = _text(centre, f"{setting} cost centre of {cluster_id}")
        council = given.get("council", COUNCIL_COST_CENTRE)
        return cls(mapped, _text(council, f"{setting} council cost centre"))

    def for_award(self, funded_by: str, cluster_id: ClusterId) -> str:
        if funded_by == "council":
            return self.council
        return self.clusters.get(str(cluster_id), str(cluster_id))
