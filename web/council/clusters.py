"""The council's register of clusters: registering a cluster and moving schools in and out.

The council does this once a year or when schools change cluster; the rest of the product (a
school's requests, a lead's queue and budget) hangs off it. Identifiers are checked by the
application; a page only turns its refusals into the GOV.UK error summary.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import AlreadyExists, Conflict, InvalidValue, NotFound
from domain.values import ClusterId, Role
from web.kit import Errors, Kit, application_message

CLUSTERS = "/council/clusters"


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    def register_page(request: Request, errors: Errors | None = None, values: dict[str, str] | None = None) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        return kit.render(
            request,
            "council/clusters/clusters.html",
            title="Clusters",
            status=400 if errors else 200,
            errors=errors,
            values=values,
            clusters=kit.application.read_models.list_clusters(actor),
        )

    @pages.get(CLUSTERS)
    def clusters(request: Request) -> Response:
        return register_page(request)

    @pages.post(CLUSTERS)
    async def register(request: Request) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        form = await kit.form(request)
        values = {"cluster_id": form.get("cluster_id"), "name": form.get("name")}
        errors = Errors()
        if not values["cluster_id"]:
            errors.add("cluster_id", "Enter the cluster's short name, like north-coast")
        if not values["name"]:
            errors.add("name", "Enter the cluster's name")
        if not errors:
            try:
                kit.application.register_cluster(actor, values["cluster_id"], values["name"])
            except AlreadyExists:
                errors.add("cluster_id", f"A cluster called {values['cluster_id']} already exists")
            except InvalidValue as error:
                field = "name" if "name" in str(error) else "cluster_id"
                errors.add(field, application_message(error))
        if errors:
            return register_page(request, errors, values)
        return kit.redirect(f"{CLUSTERS}/{values['cluster_id']}", flash=f"Cluster {values['name']} registered")

    def cluster_page(
        request: Request, cluster_id: str, errors: Errors | None = None, values: dict[str, str] | None = None
    ) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        try:
            cluster = kit.application.get_cluster(actor, ClusterId.parse(cluster_id))
        except InvalidValue:
            raise NotFound(f"no cluster {cluster_id!r}") from None
        return kit.render(
            request,
            "council/clusters/cluster.html",
            title=f"Cluster {cluster.name}",
            status=400 if errors else 200,
            errors=errors,
            values=values,
            breadcrumbs=[(CLUSTERS, "Clusters")],
            cluster=cluster,
            schools=[str(urn) for urn in cluster.school_urns],
            # Names from the school register; a school in the cluster since before it has none yet.
            school_names={
                row.urn: row.name for row in kit.application.read_models.list_schools(actor, cluster_id=cluster_id)
            },
        )

    @pages.get(CLUSTERS + "/{cluster_id}")
    def cluster(request: Request, cluster_id: str) -> Response:
        return cluster_page(request, cluster_id)

    @pages.post(CLUSTERS + "/{cluster_id}/schools")
    async def add_school(request: Request, cluster_id: str) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        form = await kit.form(request)
        urn = form.get("school_urn")
        errors = Errors()
        try:
            kit.application.add_school(actor, cluster_id, urn)
        except (InvalidValue, Conflict) as error:
            errors.add("school_urn", application_message(error) if urn else "Enter the school's URN")
        if errors:
            return cluster_page(request, cluster_id, errors, {"school_urn": urn})
        return kit.redirect(f"{CLUSTERS}/{cluster_id}", flash=f"School {urn} added to the cluster")

    @pages.post(CLUSTERS + "/{cluster_id}/schools/{school_urn}/remove")
    async def remove_school(request: Request, cluster_id: str, school_urn: str) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        await kit.form(request)
        try:
            kit.application.remove_school(actor, cluster_id, school_urn)
        except InvalidValue:
            raise NotFound(f"no school {school_urn!r} in cluster {cluster_id!r}") from None
        return kit.redirect(f"{CLUSTERS}/{cluster_id}", flash=f"School {school_urn} removed from the cluster")

    return pages
