"""The bodies of the policy's endpoints (issue 14), and how the policy and its changes are shown.

A parameter's value travels as the text it is stored as: money as a 2-dp string ("10000.00"), a
number as digits ("20"), the instalment shares as "4,3,5".
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from api import presenters
from api.presenters import actor
from api.schemas import ActorResponse, Day, LongText, PolicyPinResponse, Strict
from domain.formatting import utc_text
from domain.limits import POLICY_VALUE_LENGTH
from domain.policy import Policy, PolicyChange, PolicyInForce
from domain.policy_parameters import PARAMETERS

ParameterName = Literal[tuple(PARAMETERS)]  # type: ignore[valid-type]
ParameterValue = Annotated[str, StringConstraints(min_length=1, max_length=POLICY_VALUE_LENGTH)]

# -- requests ------------------------------------------------------------------------------------------


class PolicyChangeRequest(Strict):
    parameter: ParameterName = Field(description="The parameter to change (GET /policy lists them)")  # type: ignore[valid-type]
    value: ParameterValue = Field(
        description='The new value as text: "10000.00", "20" or "4,3,5"', examples=["10000.00"]
    )
    effective_from: Day = Field(
        description="The day it takes effect: today in England or later, at most two years ahead"
    )
    reason: LongText = Field(examples=["Cabinet decision of 12 November 2026, minute 14"])


class PolicyRejectionRequest(Strict):
    reason: LongText = Field(examples=["The cabinet has not agreed this figure"])


# -- responses -----------------------------------------------------------------------------------------


class PolicyChangeResponse(BaseModel):
    number: int
    parameter: str
    value: str
    effective_from: datetime.date
    reason: str
    status: Literal["approved", "awaiting_second_person", "rejected"]
    needs_second_person: bool
    proposed_by: ActorResponse
    proposed_at: str
    approved_by: ActorResponse | None
    approved_at: str | None
    rejected_by: ActorResponse | None
    rejected_at: str | None
    rejection_reason: str | None


class ParameterResponse(BaseModel):
    name: str
    title: str
    unit: str
    value: str = Field(description="The value in force")
    default: str
    set_by: str | None = Field(description='"council" or "cluster": whose change set it; null for the default')
    change: int | None = Field(description="The number of the change that set it, in that policy's changes")
    cluster_may_set: bool
    explanation: str


class PolicyResponse(BaseModel):
    scope: str = Field(description='"council", or the cluster id whose overrides are included')
    as_of: str = Field(description="The moment the values are in force at")
    version: int = Field(description="This policy's version (0 while it has no changes); the ETag")
    pin: PolicyPinResponse = Field(description="What a decision at `as_of` would record as its policy")
    parameters: list[ParameterResponse]
    changes: list[PolicyChangeResponse] = Field(description="Every change to this policy, first to last")


def policy_change(change: PolicyChange) -> PolicyChangeResponse:
    return PolicyChangeResponse(
        number=change.number,
        parameter=change.parameter,
        value=change.value,
        effective_from=change.effective_from,
        reason=change.reason,
        status=change.status,
        needs_second_person=change.needs_second_person,
        proposed_by=actor(change.proposed_by),
        proposed_at=utc_text(change.proposed_at),
        approved_by=None if change.approved_by is None else actor(change.approved_by),
        approved_at=None if change.approved_at is None else utc_text(change.approved_at),
        rejected_by=None if change.rejected_by is None else actor(change.rejected_by),
        rejected_at=None if change.rejected_at is None else utc_text(change.rejected_at),
        rejection_reason=change.rejection_reason or None,
    )


def parameters(in_force: PolicyInForce) -> list[ParameterResponse]:
    """Every parameter's value in force, and where it came from."""
    shown = []
    for name, spec in PARAMETERS.items():
        source = in_force.sources.get(name)
        shown.append(
            ParameterResponse(
                name=name,
                title=spec.title,
                unit=spec.unit,
                value=in_force.values[name],
                default=spec.default,
                set_by=None if source is None else source[0],
                change=None if source is None else source[1].number,
                cluster_may_set=spec.cluster_may_set,
                explanation=spec.explanation,
            )
        )
    return shown


def policy(scope: str, as_of: datetime.datetime, in_force: PolicyInForce, record: Policy | None) -> PolicyResponse:
    return PolicyResponse(
        scope=scope,
        as_of=utc_text(as_of),
        version=0 if record is None else record.version,
        pin=presenters.pin(in_force.pin),
        parameters=parameters(in_force),
        changes=[] if record is None else [policy_change(change) for change in record.changes],
    )
