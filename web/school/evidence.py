"""Spend evidence: how the school spent its own notional SEN budget, and the documents behind it.
It is also how a school answers a lead's information request: the answer is the evidence.

Since issue 12 the school may instead use one of its published provision map versions: the spend is
then that version's lines funded by its notional SEN budget, taken by the application from the frozen
version (``source=map`` and ``map_version=2026-27:2``), and the typed lines are ignored.

The domain keeps a supporting document as its name and SHA-256 only; the school holds the file.
Nobody can type a SHA-256, so the page takes the files themselves: the server hashes each one as it
arrives and keeps its name and hash, never its bytes (they are in memory for the one request, never
written anywhere). The form is multipart, parsed here with the standard library; its CSRF token is
checked as any form's. Documents already hashed travel with the form as name and hash, so "Add
another line" or a mistake elsewhere never asks for the files again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.academic_year import AcademicYear
from domain.errors import Conflict, FundingError, NotFound, NotPermitted
from domain.formatting import pounds
from domain.funding_request import FundingRequest
from domain.limits import MAX_LINES, SHA256_PATTERN, SHORT_TEXT
from domain.map_evidence import citation_of
from domain.provision_maps import PublishedVersion
from domain.values import Actor, Role
from web.kit import Errors, Form, FormExpired, Kit, application_message, parse_pounds
from web.multipart import parse_form_data
from web.school.forms import (
    ADD_ANOTHER,
    BREADCRUMBS,
    Line,
    latest_question,
    line_values,
    open_request,
    pounds_text,
    read_lines,
    request_url,
    row_count,
    rows_for,
)
from web.session import CSRF_COOKIE, CSRF_FIELD

# Supporting documents are summaries and letters, not archives: this bounds what one post holds in memory.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    name: str
    sha256: str


@dataclass
class Posted:
    """A posted evidence form: its fields and the files that came with it, hashed."""

    form: Form
    files: list[Document]


class TooLarge(Exception):
    pass


async def read_posted(kit: Kit, request: Request) -> Posted:
    """The form (multipart, or urlencoded without files), its CSRF token checked; files hashed."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return Posted(await kit.form(request), [])
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD_BYTES:
            raise TooLarge
    fields, files = parse_multipart(content_type, bytes(body))
    if not kit.signer.csrf_matches(request.cookies.get(CSRF_COOKIE), (fields.get(CSRF_FIELD) or [""])[0]):
        raise FormExpired
    return Posted(Form({name: values[0] for name, values in fields.items()}, fields), files)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], list[Document]]:
    """RFC 7578 form data: text fields by name, and each non-empty file's name and SHA-256."""
    fields, uploaded = parse_form_data(content_type, body)
    return fields, [
        Document(file.filename or "unnamed document", hashlib.sha256(file.content).hexdigest()) for file in uploaded
    ]


def version_choice(year: AcademicYear, version: int) -> str:
    return f"{year.path}:{version}"


def published_versions(kit: Kit, actor: Actor) -> list[PublishedVersion]:
    """Every version the school has published, latest year first and latest version first."""
    urn = actor.school_urn
    if urn is None:
        return []
    versions: list[PublishedVersion] = []
    for summary in kit.application.provision_maps(actor, urn):
        if summary.latest_published_version is not None:
            versions += reversed(kit.application.provision_map(actor, urn, summary.academic_year).published)
    return versions


def evidence_values(funding_request: FundingRequest) -> tuple[dict[str, str], list[Line], list[Document]]:
    """The evidence the school gave before, to change rather than type again."""
    evidence = funding_request.evidence
    if evidence is None:
        return {}, [], []
    cited = evidence.provision_map
    lines = [] if cited else [Line(line.category.value, line.amount.pence, line.note) for line in evidence.spend]
    values = {
        "notional_sen_budget": pounds_text(evidence.notional_sen_budget.pence),
        "source": "map" if cited else "typed",
        "map_version": version_choice(cited.academic_year, cited.version) if cited else "",
        **line_values(lines, with_note=True),
    }
    return values, lines, [Document(document.name, document.sha256) for document in evidence.documents]


def kept_documents(form: Form, errors: Errors) -> list[Document]:
    """Documents hashed before (``document-name-N`` and ``document-sha256-N``) the school still ticks."""
    kept = set(form.lists.get("keep", []))
    documents = []
    for number in range(1, MAX_LINES + 1):
        name, digest = form.get(f"document-name-{number}"), form.get(f"document-sha256-{number}")
        if not name and not digest:
            continue
        if not re.fullmatch(SHA256_PATTERN, digest):
            errors.add("documents", "A document's fingerprint was damaged: choose the file again")
            continue
        if str(number) in kept:
            documents.append(Document(name, digest))
    return documents


def router(kit: Kit) -> APIRouter:
    pages = kit.router()

    def evidence_page(
        request: Request,
        funding_request: FundingRequest,
        *,
        values: dict[str, str],
        rows: int,
        documents: list[Document],
        errors: Errors | None = None,
        status: int = 200,
    ) -> Response:
        question = latest_question(funding_request)
        actor = kit.actor(request, Role.SCHOOL)
        return kit.render(
            request,
            "school/evidence.html",
            title="Answer the information request" if question else "Add spend evidence",
            status=status,
            breadcrumbs=(*BREADCRUMBS, (request_url(funding_request.id), "Request")),
            errors=errors,
            values=values,
            rows=rows,
            documents=documents,
            question=question,
            funding_request=funding_request,
            request_id=funding_request.id.hex,
            max_upload_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
            versions=[(version_choice(v.academic_year, v.version), v) for v in published_versions(kit, actor)],
        )

    @pages.get("/school/requests/{request_id}/evidence")
    def evidence(request: Request, request_id: str) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        funding_request = open_request(kit, actor, request_id, "add spend evidence to")
        values, lines, documents = evidence_values(funding_request)
        return evidence_page(request, funding_request, values=values, rows=rows_for(len(lines)), documents=documents)

    @pages.post("/school/requests/{request_id}/evidence")
    async def evidence_given(request: Request, request_id: str) -> Response:
        actor = kit.actor(request, Role.SCHOOL)
        try:
            posted = await read_posted(kit, request)
        except TooLarge:
            funding_request = open_request(kit, actor, request_id, "add spend evidence to")
            values, lines, documents = evidence_values(funding_request)
            errors = Errors()
            errors.add("documents", f"The files must be smaller than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB together")
            return evidence_page(
                request,
                funding_request,
                values=values,
                rows=rows_for(len(lines)),
                documents=documents,
                errors=errors,
                status=413,
            )
        funding_request = open_request(kit, actor, request_id, "add spend evidence to")
        return give_evidence(request, actor, funding_request, posted)

    def give_evidence(request: Request, actor: Actor, funding_request: FundingRequest, posted: Posted) -> Response:
        form = posted.form
        errors = Errors()
        values = {"notional_sen_budget": form.get("notional_sen_budget")}
        notional = parse_pounds(
            values["notional_sen_budget"],
            errors,
            "notional_sen_budget",
            "your school's notional SEN budget",
            allow_zero=True,
        )
        versions = {version_choice(v.academic_year, v.version): v for v in published_versions(kit, actor)}
        rows = row_count(form)
        # Without a published map there is nothing to choose; lines typed without choosing mean typed.
        typed_something = any(form.get(f"category-{n}") or form.get(f"amount-{n}") for n in range(1, rows + 1))
        source = form.get("source") or ("typed" if typed_something or not versions else "")
        values.update(source=source, map_version=form.get("map_version"))
        line_errors = Errors()
        lines, line_fields = read_lines(form, rows, line_errors if source == "map" else errors, with_note=True)
        values.update(line_fields)
        cited = versions.get(values["map_version"]) if source == "map" else None
        if source not in ("map", "typed"):
            errors.add("source", "Choose whether to use your published provision map or type in what your school spent")
        elif source == "map" and cited is None:
            errors.add("map_version", "Choose the published version of your provision map to use")
        elif source == "typed" and not lines and not set(errors.by_field) & set(line_fields):
            errors.add("category-1", "Enter at least one line of what your school spent")
        documents = kept_documents(form, errors) + posted.files
        for document in posted.files:
            if len(document.name) > SHORT_TEXT:
                errors.add(
                    "documents",
                    f"A document's name must be {SHORT_TEXT} characters or fewer: rename {document.name[:40]}…",
                )
        if len(documents) > MAX_LINES:
            errors.add("documents", f"Add at most {MAX_LINES} documents")

        def again(shown: Errors | None = None, status: int = 200) -> Response:
            return evidence_page(
                request, funding_request, values=values, rows=rows, documents=documents, errors=shown, status=status
            )

        if form.get("action") == ADD_ANOTHER:
            return again()
        if errors or notional is None:
            return again(errors, 400)
        answering = latest_question(funding_request) is not None
        try:
            kit.application.provide_evidence(
                actor,
                funding_request.id,
                notional_sen_budget=pounds(notional),
                spend=[
                    {"category": line.category, "amount": pounds(line.pence), "note": line.note}
                    for line in (lines if cited is None else [])
                ],
                documents=[{"name": document.name, "sha256": document.sha256} for document in documents],
                provision_map=None if cited is None else citation_of(cited),
            )
        except (NotFound, NotPermitted):
            raise
        except FundingError as error:
            errors.add("map_version" if cited else "notional_sen_budget", application_message(error))
            return again(errors, 409 if isinstance(error, Conflict) else 400)
        flash = "Your answer was sent to the cluster lead" if answering else "Spend evidence added"
        return kit.redirect(request_url(funding_request.id), flash=flash)

    return pages
