"""Clusters and their schools."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status

from api import presenters
from api.deps import AppDep, allowed
from api.routes.common import Cursor, Limit, path_id, with_etag
from api.schemas import ClusterCreateRequest, ClusterListResponse, ClusterResponse
from domain.limits import DEFAULT_PAGE_SIZE
from domain.values import Actor, ClusterId, SchoolUrn

router = APIRouter(tags=["clusters"])


@router.post("/clusters", status_code=status.HTTP_201_CREATED, response_model=ClusterResponse)
def register_cluster(
    body: ClusterCreateRequest, app: AppDep, actor: Annotated[Actor, allowed("register_cluster")], response: Response
) -> ClusterResponse:
    """Register a cluster (council). 409 if it exists."""
    cluster = app.register_cluster(actor, body.cluster_id, body.name)
    with_etag(response, cluster.version)
    return presenters.cluster(cluster)


@router.get("/clusters", response_model=ClusterListResponse)
def list_clusters(
    app: AppDep,
    actor: Annotated[Actor, allowed("read_cluster")],
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> ClusterListResponse:
    """Every cluster, by id."""
    page = app.read_models.clusters(actor, limit=limit, cursor=cursor)
    items = [presenters.cluster_listed(row) for row in page.items]
    return ClusterListResponse(items=items, next_cursor=page.next_cursor)


@router.get("/clusters/{cluster_id}", response_model=ClusterResponse)
def get_cluster(
    cluster_id: str, app: AppDep, actor: Annotated[Actor, allowed("read_cluster")], response: Response
) -> ClusterResponse:
    """One cluster with its member schools."""
    cluster = app.get_cluster(actor, path_id(ClusterId, cluster_id, "cluster"))
    with_etag(response, cluster.version)
    return presenters.cluster(cluster)


@router.put("/clusters/{cluster_id}/schools/{urn}", response_model=ClusterResponse)
def add_school(
    cluster_id: str, urn: str, app: AppDep, actor: Annotated[Actor, allowed("add_school")], response: Response
) -> ClusterResponse:
    """Put a school in the cluster (council). 409 if it is in another cluster."""
    cluster = app.add_school(actor, path_id(ClusterId, cluster_id, "cluster"), path_id(SchoolUrn, urn, "school"))
    with_etag(response, cluster.version)
    return presenters.cluster(cluster)


@router.delete("/clusters/{cluster_id}/schools/{urn}", response_model=ClusterResponse)
def remove_school(
    cluster_id: str, urn: str, app: AppDep, actor: Annotated[Actor, allowed("remove_school")], response: Response
) -> ClusterResponse:
    """Take a school out of the cluster (council)."""
    cluster = app.remove_school(actor, path_id(ClusterId, cluster_id, "cluster"), path_id(SchoolUrn, urn, "school"))
    with_etag(response, cluster.version)
    return presenters.cluster(cluster)
