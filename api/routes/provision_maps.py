"""A school's provision maps (issue 12): lines, reviews, publishing, and published versions to cite.

A year is written ``"2026/27"`` in bodies and answers, but ``"2026-27"`` in the path, where a slash
cannot stand inside a segment. A malformed URN, year, line number or version in the path names
nothing: 404, as everywhere in this contract.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Response, status

from api import provision_maps as bodies
from api.deps import AppDep, ExpectedVersion, allowed
from api.routes.common import path_id, with_etag
from domain.academic_year import AcademicYear
from domain.errors import InvalidValue
from domain.values import Actor, SchoolUrn
from funding_engine.application import FundingApplication

router = APIRouter(prefix="/schools/{urn}/provision-maps", tags=["provision maps"])
MAP = "/{academic_year}"
_NUMBER = re.compile(r"^[1-9][0-9]{0,8}$")


def _number(value: str) -> int:
    if not _NUMBER.fullmatch(value):
        raise InvalidValue(f"not a number: {value!r}")
    return int(value)


def _place(urn: str, academic_year: str) -> tuple[SchoolUrn, AcademicYear]:
    return path_id(SchoolUrn, urn, "school"), path_id(AcademicYear.from_path, academic_year, "academic year")


def _answer(
    app: FundingApplication, actor: Actor, urn: SchoolUrn, year: AcademicYear, response: Response
) -> bodies.ProvisionMapResponse:
    view = app.provision_map(actor, urn, year)
    with_etag(response, view.version)
    return bodies.provision_map(view)


@router.get("", response_model=bodies.ProvisionMapListResponse)
def list_maps(
    urn: str, app: AppDep, actor: Annotated[Actor, allowed("read_provision_map")]
) -> bodies.ProvisionMapListResponse:
    """A school's provision maps, latest year first (its cluster's lead and the council: published ones)."""
    school = path_id(SchoolUrn, urn, "school")
    return bodies.summaries(str(school), app.provision_maps(actor, school))


@router.post(MAP, status_code=status.HTTP_201_CREATED, response_model=bodies.ProvisionMapResponse)
def open_map(
    urn: str,
    academic_year: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("open_provision_map")],
    response: Response,
) -> bodies.ProvisionMapResponse:
    """Open the school's provision map for an academic year (the school; once a year)."""
    school, year = _place(urn, academic_year)
    app.open_provision_map(actor, school, year)
    response.headers["Location"] = f"/schools/{school}/provision-maps/{year.path}"
    return _answer(app, actor, school, year, response)


@router.get(MAP, response_model=bodies.ProvisionMapResponse)
def get_map(
    urn: str,
    academic_year: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("read_provision_map")],
    response: Response,
) -> bodies.ProvisionMapResponse:
    """The map now: the school sees its draft and published versions, its lead and the council the published."""
    school, year = _place(urn, academic_year)
    return _answer(app, actor, school, year, response)


@router.post(MAP + "/lines", status_code=status.HTTP_201_CREATED, response_model=bodies.ProvisionMapResponse)
def add_line(
    urn: str,
    academic_year: str,
    body: bodies.ProvisionMapLineRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("change_provision_map")],
    expected_version: ExpectedVersion,
    response: Response,
) -> bodies.ProvisionMapResponse:
    """Add a line to the draft; ``Location`` names the new line's number."""
    school, year = _place(urn, academic_year)
    changed = app.add_provision_line(actor, school, year, body.model_dump(), expected_version=expected_version)
    response.headers["Location"] = f"/schools/{school}/provision-maps/{year.path}/lines/{changed.next_line_number - 1}"
    return _answer(app, actor, school, year, response)


@router.put(MAP + "/lines/{line_number}", response_model=bodies.ProvisionMapResponse)
def change_line(
    urn: str,
    academic_year: str,
    line_number: str,
    body: bodies.ProvisionMapLineRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("change_provision_map")],
    expected_version: ExpectedVersion,
    response: Response,
) -> bodies.ProvisionMapResponse:
    """Replace a line of the draft (its reviews stay with it)."""
    school, year = _place(urn, academic_year)
    number = path_id(_number, line_number, "line")
    app.change_provision_line(actor, school, year, number, body.model_dump(), expected_version=expected_version)
    return _answer(app, actor, school, year, response)


@router.delete(MAP + "/lines/{line_number}", response_model=bodies.ProvisionMapResponse)
def remove_line(
    urn: str,
    academic_year: str,
    line_number: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("change_provision_map")],
    expected_version: ExpectedVersion,
    response: Response,
) -> bodies.ProvisionMapResponse:
    """Remove a line from the draft (its number is never given to another line)."""
    school, year = _place(urn, academic_year)
    number = path_id(_number, line_number, "line")
    app.remove_provision_line(actor, school, year, number, expected_version=expected_version)
    return _answer(app, actor, school, year, response)


@router.post(
    MAP + "/lines/{line_number}/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=bodies.ProvisionMapResponse,
)
def review_line(
    urn: str,
    academic_year: str,
    line_number: str,
    body: bodies.ProvisionMapReviewRequest,
    app: AppDep,
    actor: Annotated[Actor, allowed("change_provision_map")],
    expected_version: ExpectedVersion,
    response: Response,
) -> bodies.ProvisionMapResponse:
    """Record a review of a line: its impact (none, some, good), a note and the day."""
    school, year = _place(urn, academic_year)
    number = path_id(_number, line_number, "line")
    app.review_provision_line(
        actor,
        school,
        year,
        number,
        impact=body.impact.value,
        note=body.note,
        reviewed_on=body.reviewed_on,
        expected_version=expected_version,
    )
    return _answer(app, actor, school, year, response)


@router.post(MAP + "/publish", status_code=status.HTTP_201_CREATED, response_model=bodies.PublishedVersionResponse)
def publish(
    urn: str,
    academic_year: str,
    app: AppDep,
    actor: Annotated[Actor, allowed("publish_provision_map")],
    expected_version: ExpectedVersion,
    response: Response,
) -> bodies.PublishedVersionResponse:
    """Publish the draft as the next version: frozen, with the SHA-256 of its canonical content."""
    school, year = _place(urn, academic_year)
    published = app.publish_provision_map(actor, school, year, expected_version=expected_version)
    version = published.published[-1]
    with_etag(response, published.version)
    response.headers["Location"] = f"/schools/{school}/provision-maps/{year.path}/versions/{version.version}"
    return bodies.published_version(version)


@router.get(MAP + "/versions", response_model=list[bodies.PublishedVersionSummaryResponse])
def list_versions(
    urn: str, academic_year: str, app: AppDep, actor: Annotated[Actor, allowed("read_provision_map")]
) -> list[bodies.PublishedVersionSummaryResponse]:
    """Every published version of the map, first to latest."""
    school, year = _place(urn, academic_year)
    return [bodies.published_summary(version) for version in app.provision_map(actor, school, year).published]


@router.get(MAP + "/versions/{version}", response_model=bodies.PublishedVersionResponse)
def get_version(
    urn: str, academic_year: str, version: str, app: AppDep, actor: Annotated[Actor, allowed("read_provision_map")]
) -> bodies.PublishedVersionResponse:
    """One published version, frozen: the content as hashed, its SHA-256, when and by whom. For citing."""
    school, year = _place(urn, academic_year)
    number = path_id(_number, version, "published version")
    return bodies.published_version(app.published_provision_map(actor, school, year, number))
