"""The school register: schools by URN with their name, phase and cluster (since issue 12)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import AppDep, ExpectedVersion, allowed
from api.register_schemas import SchoolCreateRequest, SchoolListResponse, SchoolResponse, SchoolUpdateRequest
from api.routes.common import Cursor, Limit, path_id, with_etag
from domain.limits import CLUSTER_ID_MAX_LENGTH, DEFAULT_PAGE_SIZE, SHORT_TEXT
from domain.schools import School
from domain.values import Actor, SchoolPhase, SchoolUrn
from funding_engine.application.read_models import SchoolRow

router = APIRouter(tags=["schools"])


def _registered(school: School, cluster_id: str) -> SchoolResponse:
    return SchoolResponse(
        urn=str(school.school_urn),
        name=school.name,
        phase=school.phase,
        cluster_id=cluster_id,
        registered=True,
        version=school.version,
    )


def _listed(row: SchoolRow) -> SchoolResponse:
    return SchoolResponse(
        urn=row.urn,
        name=row.name,
        phase=None if row.phase is None else SchoolPhase(row.phase),
        cluster_id=row.cluster_id,
        registered=row.registered,
        version=row.version,
    )


@router.post("/schools", status_code=status.HTTP_201_CREATED, response_model=SchoolResponse)
def register_school(
    body: SchoolCreateRequest, app: AppDep, actor: Annotated[Actor, allowed("register_school")], response: Response
) -> SchoolResponse:
    """Put a school on the register, in its cluster (council). 409 if registered, or in another cluster."""
    school = app.register_school(actor, body.urn, body.name, body.phase, body.cluster_id)
    with_etag(response, school.version)
    return _registered(school, body.cluster_id)


@router.put("/schools/{urn}", response_model=SchoolResponse)
def update_school(
    urn: str,
    body: SchoolUpdateRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("update_school")],
    expected_version: ExpectedVersion,
    response: Response,
) -> SchoolResponse:
    """A registered school's name, phase and cluster as now written (council); a new cluster moves it."""
    school = app.update_school(
        actor,
        path_id(SchoolUrn, urn, "school"),
        body.name,
        body.phase,
        body.cluster_id,
        expected_version=expected_version,
    )
    with_etag(response, school.version)
    return _registered(school, body.cluster_id)


@router.get("/schools", response_model=SchoolListResponse)
def list_schools(
    app: AppDep,
    actor: Annotated[Actor, allowed("read_schools")],
    cluster_id: Annotated[str | None, Query(max_length=CLUSTER_ID_MAX_LENGTH)] = None,
    q: Annotated[str | None, Query(max_length=SHORT_TEXT, description="Part of a name or URN, any case")] = None,
    registered: Annotated[
        bool | None, Query(description="Only schools on (true) or not yet on (false) the register")
    ] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> SchoolListResponse:
    """Every school the engine knows, by URN, including those in a cluster but not yet registered."""
    page = app.read_models.schools(actor, cluster_id=cluster_id, q=q, registered=registered, limit=limit, cursor=cursor)
    return SchoolListResponse(items=[_listed(row) for row in page.items], next_cursor=page.next_cursor)


@router.get("/schools/{urn}", response_model=SchoolResponse)
def get_school(
    urn: str, app: AppDep, actor: Annotated[Actor, allowed("read_schools")], response: Response
) -> SchoolResponse:
    """One school by URN."""
    row = app.read_models.school(actor, path_id(SchoolUrn, urn, "school"))
    with_etag(response, row.version)
    return _listed(row)
