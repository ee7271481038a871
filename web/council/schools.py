"""The council's school register: the list with search and cluster filter, registering and editing a
school, and uploading the cluster or school file (CSV) that loads the register in bulk.

An upload is all rows or none, as on the command line: the application checks every row, and a
file with bad rows comes back as the GOV.UK error summary and a table of every bad row by line
number, with nothing imported.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.errors import Conflict, InvalidValue, NotFound
from domain.limits import MAX_IMPORT_BYTES
from domain.values import Actor, Role, SchoolUrn
from funding_engine.application import BadRow, ImportRefused
from web.kit import Errors, Form, Kit, application_message
from web.multipart import TooLarge, read_form_data

SCHOOLS = "/council/schools"
# The file, a few fields and the multipart framing around them.
MAX_UPLOAD_BYTES = MAX_IMPORT_BYTES + 16 * 1024
# Bad rows named one by one in the error summary; the table below it lists them all.
SUMMARY_ROWS = 10
FIELDS = ("urn", "name", "phase", "cluster_id")


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    def register_page(
        request: Request,
        errors: Errors | None = None,
        values: dict[str, str] | None = None,
        bad_rows: list[BadRow] | None = None,
        filename: str = "",
    ) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        q = request.query_params.get("q", "").strip()
        cluster_id = request.query_params.get("cluster_id", "").strip()
        clusters = kit.application.read_models.list_clusters(actor)
        filter_errors = Errors()
        try:
            page = kit.application.read_models.schools(
                actor, cluster_id=cluster_id or None, q=q or None, limit=500, cursor=None
            )
            schools, more = page.items, page.next_cursor is not None
        except InvalidValue as error:
            filter_errors.add("q" if "q " in str(error) else "cluster_id", application_message(error))
            schools, more = [], False
        shown = errors or (filter_errors or None)
        return kit.render(
            request,
            "council/schools/schools.html",
            title="School register",
            status=400 if shown else 200,
            errors=shown,
            values=values,
            schools=schools,
            more=more,
            clusters=clusters,
            cluster_names={row.cluster_id: row.name for row in clusters},
            search={"q": q, "cluster_id": cluster_id},
            bad_rows=bad_rows or [],
            filename=filename,
        )

    @pages.get(SCHOOLS)
    def schools(request: Request) -> Response:
        return register_page(request)

    @pages.post(SCHOOLS)
    async def register(request: Request) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        form = await kit.form(request)
        values, errors = _school_form(form, with_urn=True)
        if not errors:
            try:
                kit.application.register_school(
                    actor, values["urn"], values["name"], values["phase"], values["cluster_id"]
                )
            except (InvalidValue, Conflict, NotFound) as error:
                errors.add(_field_of(error), application_message(error))
        if errors:
            return register_page(request, errors, values)
        return kit.redirect(SCHOOLS, flash=f"{values['name']} ({values['urn']}) registered")

    @pages.post(SCHOOLS + "/import")
    async def upload(request: Request) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        errors = Errors()
        try:
            form, files = await read_form_data(kit, request, MAX_UPLOAD_BYTES)
        except TooLarge:
            errors.add("file", f"The file must be smaller than {MAX_IMPORT_BYTES // 1_000_000} MB")
            return register_page(request, errors)
        kind = form.get("kind")
        uploaded = next((file for file in files if file.field == "file"), None)
        if kind not in ("clusters", "schools"):
            errors.add("kind", "Select what the file lists")
        if uploaded is None:
            errors.add("file", "Select a CSV file")
        if errors or uploaded is None:
            return register_page(request, errors, {"kind": kind})
        try:
            summary = _import(kit, actor, kind, uploaded.content)
        except ImportRefused as refused:
            return register_page(
                request, _report(refused.bad_rows), {"kind": kind}, refused.bad_rows, uploaded.filename
            )
        return kit.redirect(SCHOOLS, flash=f"{uploaded.filename} imported: {summary}")

    def school_page(
        request: Request, urn: str, errors: Errors | None = None, values: dict[str, str] | None = None
    ) -> Response:
        actor = kit.actor(request, Role.COUNCIL)
        try:
            row = kit.application.read_models.school(actor, SchoolUrn.parse(urn))
        except InvalidValue:
            raise NotFound(f"no school {urn!r}") from None
        shown = values or {"name": row.name or "", "phase": row.phase or "", "cluster_id": row.cluster_id or ""}
        return kit.render(
            request,
            "council/schools/school.html",
            title=f"School {row.name or row.urn}",
            status=400 if errors else 200,
            errors=errors,
            values=shown,
            breadcrumbs=[(SCHOOLS, "School register")],
            school=row,
            clusters=kit.application.read_models.list_clusters(actor),
        )

    @pages.get(SCHOOLS + "/{school_urn}")
    def school(request: Request, school_urn: str) -> Response:
        return school_page(request, school_urn)

    @pages.post(SCHOOLS + "/{school_urn}")
    async def update(request: Request, school_urn: str) -> Response:
        urn = school_urn
        actor = kit.actor(request, Role.COUNCIL)
        form = await kit.form(request)
        values, errors = _school_form(form, with_urn=False)
        if not errors:
            try:
                row = kit.application.read_models.school(actor, SchoolUrn.parse(urn))
            except InvalidValue:
                raise NotFound(f"no school {urn!r}") from None
            command = kit.application.update_school if row.registered else kit.application.register_school
            try:
                command(actor, row.urn, values["name"], values["phase"], values["cluster_id"])
            except (InvalidValue, Conflict, NotFound) as error:
                errors.add(_field_of(error), application_message(error))
        if errors:
            return school_page(request, urn, errors, values)
        return kit.redirect(f"{SCHOOLS}/{urn}", flash=f"{values['name']} saved")

    return pages


def _school_form(form: Form, *, with_urn: bool) -> tuple[dict[str, str], Errors]:
    values = {name: form.get(name) for name in FIELDS if with_urn or name != "urn"}
    errors = Errors()
    if with_urn and not values["urn"]:
        errors.add("urn", "Enter the school's URN")
    if not values["name"]:
        errors.add("name", "Enter the school's name")
    if not values["phase"]:
        errors.add("phase", "Select the school's phase of education")
    if not values["cluster_id"]:
        errors.add("cluster_id", "Select the school's cluster")
    return values, errors


def _field_of(error: Exception) -> str:
    """The form field an application refusal is about: its message names it first."""
    text = str(error)
    if text.startswith("phase"):
        return "phase"
    if text.startswith("name"):
        return "name"
    if isinstance(error, NotFound) or text.startswith("cluster"):
        return "cluster_id"
    return "urn"  # malformed, already registered, or in another cluster


def _import(kit: Kit, actor: Actor, kind: str, data: bytes) -> str:
    if kind == "clusters":
        clusters = kit.application.import_clusters(actor, data)
        return f"{clusters.registered} registered, {clusters.renamed} renamed, {clusters.unchanged} unchanged"
    done = kit.application.import_schools(actor, data)
    return f"{done.registered} registered, {done.updated} updated, {done.moved} moved, {done.unchanged} unchanged"


def _report(bad_rows: list[BadRow]) -> Errors:
    """The error summary of a refused file: each bad row (the first few), linked to its row of the table."""
    errors = Errors()
    for number, bad in enumerate(bad_rows[:SUMMARY_ROWS]):
        text = str(bad)
        errors.add(f"bad-row-{number}", text[0].upper() + text[1:])
    if len(bad_rows) > SUMMARY_ROWS:
        errors.add("bad-rows", f"And {len(bad_rows) - SUMMARY_ROWS} more problems, listed in the table")
    return errors
