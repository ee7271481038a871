"""The policy (issue 14): what is in force at any moment, and the changes to it, for the council's
policy (`/policy`) and a cluster's overrides (`/clusters/{cluster_id}/policy`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import policy as schemas
from api.deps import AppDep, ExpectedVersion, allowed
from api.routes.common import path_id, with_etag
from domain.values import Actor, ClusterId

router = APIRouter(tags=["policy"])

AsOf = Annotated[datetime | None, Query(description="ISO 8601 time with zone: the policy in force then (default now)")]


def _show(
    app: AppDep, actor: Actor, cluster_id: str | None, as_of: datetime | None, response: Response
) -> schemas.PolicyResponse:
    cluster = None if cluster_id is None else path_id(ClusterId.parse, cluster_id, "cluster")
    in_force, record = app.read_policy(actor, cluster, as_of=as_of)
    with_etag(response, 0 if record is None else record.version)
    return schemas.policy(cluster_id or "council", as_of or datetime.now(UTC), in_force, record)


@router.get("/policy", response_model=schemas.PolicyResponse)
def council_policy(
    app: AppDep, actor: Annotated[Actor, allowed("read_policy")], response: Response, as_of: AsOf = None
) -> schemas.PolicyResponse:
    """The council's policy in force now (or at `as_of`): every parameter, where its value came from,
    and every change made, proposed or rejected."""
    return _show(app, actor, None, as_of, response)


@router.get("/clusters/{cluster_id}/policy", response_model=schemas.PolicyResponse)
def cluster_policy(
    cluster_id: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("read_policy")],
    response: Response,
    as_of: AsOf = None,
) -> schemas.PolicyResponse:
    """What a decision on the cluster's requests reads: the council's policy with the cluster's
    overrides; `changes` are the cluster's own."""
    return _show(app, actor, cluster_id, as_of, response)


def _change(
    app: AppDep,
    actor: Actor,
    cluster_id: str | None,
    body: schemas.PolicyChangeRequest,
    version: int | None,
    response: Response,
) -> schemas.PolicyChangeResponse:
    cluster = None if cluster_id is None else path_id(ClusterId.parse, cluster_id, "cluster")
    change = app.change_policy(
        actor,
        parameter=body.parameter,
        value=body.value,
        effective_from=body.effective_from,
        reason=body.reason,
        cluster_id=cluster,
        expected_version=version,
    )
    base = "/policy" if cluster_id is None else f"/clusters/{cluster_id}/policy"
    response.headers["Location"] = f"{base}/changes/{change.number}"
    return schemas.policy_change(change)


@router.post("/policy/changes", status_code=status.HTTP_201_CREATED, response_model=schemas.PolicyChangeResponse)
def change_council_policy(
    body: schemas.PolicyChangeRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("change_policy")],
    expected_version: ExpectedVersion,
    response: Response,
) -> schemas.PolicyChangeResponse:
    """Change a parameter of the council's policy from a date, with a reason.

    201 `approved` when it counts from `effective_from`, or `awaiting_second_person` when it moves a
    value by more than the second-person threshold: then someone else approves it. 409 while another
    change to the same parameter awaits a second person; 412 on a stale `If-Match`."""
    return _change(app, actor, None, body, expected_version, response)


@router.post(
    "/clusters/{cluster_id}/policy/changes",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.PolicyChangeResponse,
)
def change_cluster_policy(
    cluster_id: str,
    body: schemas.PolicyChangeRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("change_policy")],
    expected_version: ExpectedVersion,
    response: Response,
) -> schemas.PolicyChangeResponse:
    """Override a parameter for one cluster from a date, with a reason (422 for one only the council sets)."""
    return _change(app, actor, cluster_id, body, expected_version, response)


@router.post("/policy/changes/{number}/approve", response_model=schemas.PolicyChangeResponse)
def approve_council_change(
    number: int, app: AppDep, actor: Annotated[Actor, allowed("change_policy")]
) -> schemas.PolicyChangeResponse:
    """A second person approves a waiting change (403 for its proposer; 409 if it is not waiting)."""
    return schemas.policy_change(app.approve_policy_change(actor, number))


@router.post("/clusters/{cluster_id}/policy/changes/{number}/approve", response_model=schemas.PolicyChangeResponse)
def approve_cluster_change(
    cluster_id: str, number: int, app: AppDep, actor: Annotated[Actor, allowed("change_policy")]
) -> schemas.PolicyChangeResponse:
    """As for the council's policy, for a cluster's override."""
    cluster = path_id(ClusterId.parse, cluster_id, "cluster")
    return schemas.policy_change(app.approve_policy_change(actor, number, cluster_id=cluster))


@router.post("/policy/changes/{number}/reject", response_model=schemas.PolicyChangeResponse)
def reject_council_change(
    number: int,
    body: schemas.PolicyRejectionRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("change_policy")],
) -> schemas.PolicyChangeResponse:
    """Turn a waiting change down (or, its proposer, withdraw it), with a reason; it never counts."""
    return schemas.policy_change(app.reject_policy_change(actor, number, body.reason))


@router.post("/clusters/{cluster_id}/policy/changes/{number}/reject", response_model=schemas.PolicyChangeResponse)
def reject_cluster_change(
    cluster_id: str,
    number: int,
    body: schemas.PolicyRejectionRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("change_policy")],
) -> schemas.PolicyChangeResponse:
    """As for the council's policy, for a cluster's override."""
    cluster = path_id(ClusterId.parse, cluster_id, "cluster")
    return schemas.policy_change(app.reject_policy_change(actor, number, body.reason, cluster_id=cluster))
