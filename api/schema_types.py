"""The value types request and response bodies are built from, shared by every ``*_schemas`` module.

Every limit and pattern comes from ``domain.limits``, where the domain's values check the same
ones. Money travels as a JSON string: ``Amount`` accepts only strings (a JSON number is refused by
pydantic's string type before any code of ours runs); the domain's own parser then enforces at
most 2 dp, the sign rules and the largest amount.
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from domain import limits

Amount = Annotated[
    str,
    StringConstraints(pattern=limits.MONEY_PATTERN, max_length=limits.MONEY_TEXT_LENGTH),
    Field(description="Pounds as a string with at most 2 decimal places", examples=["1500.00"]),
]
Money2dp = Annotated[str, Field(description="Pounds, exactly 2 decimal places", examples=["1500.00"])]
Urn = Annotated[str, StringConstraints(pattern=limits.URN_PATTERN), Field(examples=["990001"])]
Slug = Annotated[str, StringConstraints(pattern=limits.CLUSTER_ID_PATTERN), Field(examples=["northmere-coast"])]
Year = Annotated[str, StringConstraints(pattern=limits.FINANCIAL_YEAR_PATTERN), Field(examples=["2026-27"])]
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_text(value: object) -> object:
    # Only an ISO date: pydantic would otherwise read a number as a Unix time, or take a date-time.
    if isinstance(value, datetime.date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("must be a date such as 2026-09-01")


Day = Annotated[datetime.date, BeforeValidator(_date_text), Field(examples=["2026-09-01"])]
# Written text as the domain takes it (``check_text``): no control characters and, where required,
# not blank. Checked here too so that invalid input is a 422 before a request's state is looked at.
ShortText = Annotated[str, StringConstraints(max_length=limits.SHORT_TEXT, pattern=limits.REQUIRED_TEXT_PATTERN)]
LongText = Annotated[str, StringConstraints(max_length=limits.LONG_TEXT, pattern=limits.REQUIRED_TEXT_PATTERN)]
OptionalLongText = Annotated[str, StringConstraints(max_length=limits.LONG_TEXT, pattern=limits.OPTIONAL_TEXT_PATTERN)]
Note = Annotated[str, StringConstraints(max_length=limits.NOTE_TEXT, pattern=limits.OPTIONAL_TEXT_PATTERN)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a misspelt field is a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class PolicyPinResponse(BaseModel):
    council_version: int = Field(description="The council's policy's version (0: no change yet)")
    cluster_version: int = Field(description="The cluster's policy's version (0: no override yet)")
    on: str = Field(description="The day (in England) whose changes in force the decision read")
