"""The provision map endpoints (issue 12): the journey, who may do what, and bad input.

A path writes the year ``2026-27``; bodies and answers write ``2026/27``. Every refused call is
checked to have written nothing.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from domain import limits
from funding_engine.application import FundingApplication
from tests.api.conftest import (
    STORES,
    assert_etag_matches,
    assert_money_2dp,
    assert_problem,
    auth,
    client_for,
    fresh_store,
    writes_nothing,
)
from tests.support import (
    COUNCIL,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_HEAD,
    OTHER_LEAD,
    SCHOOL,
    SECOND_HEAD,
    set_up_world,
)
from tests.unit.test_provision_maps import line_fields

MAPS = f"/schools/{SCHOOL}/provision-maps"
MAP = f"{MAPS}/2026-27"
LINE = line_fields()
_years = itertools.count(2000)  # years gone by: their lines have started, so they can be reviewed today


@pytest.fixture(scope="module", params=STORES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """One store per module: a map for 2026/27 with one line, published once, and a draft line after."""
    with fresh_store(request.param, tmp_path_factory.mktemp(f"maps-{request.param}")) as make:
        app: FundingApplication = make()
        set_up_world(app, budget=None)
        app.open_provision_map(HEAD, SCHOOL, "2026/27")
        app.add_provision_line(HEAD, SCHOOL, "2026/27", LINE)
        app.publish_provision_map(HEAD, SCHOOL, "2026/27")
        app.add_provision_line(HEAD, SCHOOL, "2026/27", line_fields(description="Draft only"))
        with client_for(app) as client:
            yield app, client


def fresh_map(app: FundingApplication) -> str:
    """A year of its own with one line, for a test that changes it: its path."""
    year = next(_years)
    app.open_provision_map(HEAD, SCHOOL, f"{year}/{(year + 1) % 100:02d}")
    app.add_provision_line(
        HEAD,
        SCHOOL,
        f"{year}/{(year + 1) % 100:02d}",
        line_fields(starts_on=f"{year}-09-01", ends_on=f"{year + 1}-07-20"),
    )
    return f"{MAPS}/{year}-{(year + 1) % 100:02d}"


def ok(client: Any, method: str, path: str, actor: Any, body: Any = None, status: int = 200) -> Any:
    response = client.request(method, path, json=body, headers=auth(actor))
    assert response.status_code == status, (method, path, response.text)
    return response


# -- the journey ---------------------------------------------------------------------------------------


def test_a_school_opens_a_map_adds_lines_reviews_and_publishes(world):
    _, client = world
    year = next(_years)
    path = f"{MAPS}/{year}-{(year + 1) % 100:02d}"
    opened = ok(client, "POST", path, HEAD, status=201)
    assert opened.headers["Location"] == path
    assert opened.json()["academic_year"] == f"{year}/{(year + 1) % 100:02d}"
    body = line_fields(starts_on=f"{year}-09-01", ends_on=f"{year + 1}-07-20")
    added = ok(client, "POST", f"{path}/lines", HEAD, body, 201)
    assert added.headers["Location"] == f"{path}/lines/1"
    assert_etag_matches(added)
    (line,) = added.json()["draft"]["lines"]
    assert (line["cost"], line["total_cost"], line["hours_per_week"]) == ("120.50", "723.00", "2.50")
    assert_money_2dp(added.json())
    ok(client, "PUT", f"{path}/lines/1", HEAD, {**body, "pupil_count": 8})
    reviewed = ok(client, "POST", f"{path}/lines/1/reviews", HEAD, {"impact": "some", "note": "Early days."}, 201)
    assert reviewed.json()["draft"]["lines"][0]["reviews"][0]["impact"] == "some"
    published = ok(client, "POST", f"{path}/publish", HEAD, status=201).json()
    assert published["version"] == 1
    assert published["sha256"] == hashlib.sha256(published["content"].encode("utf-8")).hexdigest()
    assert json.loads(published["content"])["lines"][0]["total_cost_pence"] == 96400
    ok(client, "DELETE", f"{path}/lines/1", HEAD)
    cited = ok(client, "GET", f"{path}/versions/1", COUNCIL).json()
    assert (cited["content"], cited["sha256"]) == (published["content"], published["sha256"])
    assert cited["published_by"] == {"sub": HEAD.sub, "role": "school"}


def test_the_lead_and_council_read_the_published_map_and_never_the_draft(world):
    _, client = world
    own = ok(client, "GET", MAP, HEAD).json()
    assert len(own["draft"]["lines"]) == 2 and own["draft"]["version"] == 2
    for reader in (LEAD, COUNCIL):
        seen = ok(client, "GET", MAP, reader).json()
        assert seen["draft"] is None and [v["version"] for v in seen["published_versions"]] == [1]
        listed = ok(client, "GET", MAPS, reader).json()["items"]
        assert ("2026/27", None, 1) in [
            (item["academic_year"], item["draft_version"], item["latest_published_version"]) for item in listed
        ]
        assert [v["version"] for v in ok(client, "GET", f"{MAP}/versions", reader).json()] == [1]


def test_publishing_with_nothing_changed_is_a_conflict(world):
    app, client = world
    path = fresh_map(app)
    ok(client, "POST", f"{path}/publish", HEAD, status=201)
    with writes_nothing(app):
        assert_problem(client.post(f"{path}/publish", headers=auth(HEAD)), 409, "conflict")


def test_opening_a_year_twice_is_a_conflict(world):
    app, client = world
    with writes_nothing(app):
        assert_problem(client.post(MAP, headers=auth(HEAD)), 409, "conflict")


def test_a_stale_if_match_is_412(world):
    app, client = world
    path = fresh_map(app)
    with writes_nothing(app):
        response = client.post(f"{path}/publish", headers={**auth(HEAD), "If-Match": '"1"'})
    assert_problem(response, 412, "precondition-failed")


# -- who may do what -----------------------------------------------------------------------------------

READERS = {"the school": (HEAD, 200), "its lead": (LEAD, 200), "council": (COUNCIL, 200)}
REFUSED = {
    "another school": SECOND_HEAD,
    "a school elsewhere": OTHER_HEAD,
    "another lead": OTHER_LEAD,
    "finance": FINANCE,
}
READS = [MAPS, MAP, f"{MAP}/versions", f"{MAP}/versions/1"]
COMMANDS = [
    ("POST", f"{MAPS}/2050-51", None),
    ("POST", f"{MAP}/lines", LINE),
    ("PUT", f"{MAP}/lines/1", LINE),
    ("DELETE", f"{MAP}/lines/1", None),
    ("POST", f"{MAP}/lines/1/reviews", {"impact": "good"}),
    ("POST", f"{MAP}/publish", None),
]


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("reader", list(READERS))
def test_the_school_its_lead_and_the_council_read(world, reader, path):
    app, client = world
    with writes_nothing(app):
        ok(client, "GET", path, READERS[reader][0])


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("caller", list(REFUSED))
def test_anyone_else_is_refused_a_read(world, caller, path):
    app, client = world
    with writes_nothing(app):
        assert_problem(client.get(path, headers=auth(REFUSED[caller])), 403, "forbidden")


@pytest.mark.parametrize(("method", "path", "body"), COMMANDS)
@pytest.mark.parametrize("caller", [LEAD, COUNCIL, FINANCE, SECOND_HEAD, OTHER_HEAD])
def test_only_the_school_itself_changes_its_map(world, caller, method, path, body):
    app, client = world
    with writes_nothing(app):
        response = client.request(method, path, json=body, headers=auth(caller))
    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize(("method", "path", "body"), COMMANDS)
def test_no_token_is_401(world, method, path, body):
    app, client = world
    with writes_nothing(app):
        assert_problem(client.request(method, path, json=body), 401, "unauthenticated")


def test_a_role_never_allowed_with_a_bad_body_is_403_not_422(world):
    app, client = world
    with writes_nothing(app):
        response = client.post(f"{MAP}/lines", json={"cost": 12.5}, headers=auth(LEAD))
    assert_problem(response, 403, "forbidden")


def test_a_map_nothing_is_published_of_is_not_there_for_the_lead(world):
    app, client = world
    path = fresh_map(app)
    assert_problem(client.get(path, headers=auth(LEAD)), 404, "not-found")
    assert ok(client, "GET", path, HEAD).json()["published_versions"] == []


# -- bad input -----------------------------------------------------------------------------------------


def without(field: str) -> dict[str, Any]:
    body = copy.deepcopy(LINE)
    del body[field]
    return body


BAD_LINES = {
    "cost as a number": {**LINE, "cost": 120.5},
    "cost with 3 dp": {**LINE, "cost": "1.005"},
    "negative cost": {**LINE, "cost": "-1.00"},
    "total over the limit": {**LINE, "cost": "9000000.00", "pupil_count": 2},
    "unknown category": {**LINE, "category": "haircuts"},
    "unknown tier": {**LINE, "tier": "premium"},
    "unknown area of need": {**LINE, "area_of_need": "behaviour"},
    "unknown funding": {**LINE, "funded_by": "pta"},
    "no pupils": {**LINE, "pupil_count": 0},
    "pupils as text": {**LINE, "pupil_count": "6"},
    "too many pupils": {**LINE, "pupil_count": limits.MAX_PROVISION_PUPILS + 1},
    "hours as a number": {**LINE, "hours_per_week": 2.5},
    "too many hours": {**LINE, "hours_per_week": "61"},
    "zero hours": {**LINE, "hours_per_week": "0"},
    "too many weeks": {**LINE, "weeks": 53},
    "blank description": {**LINE, "description": " "},
    "long provider": {**LINE, "staff_or_provider": "x" * (limits.SHORT_TEXT + 1)},
    "control character": {**LINE, "description": "a\x00b"},
    "commissioned without a service": {**LINE, "funded_by": "school_commissioned"},
    "a service not commissioned": {**LINE, "commissioned_service": "camhs"},
    "not a date": {**LINE, "starts_on": "01/09/2026"},
    "not in the calendar": {**LINE, "starts_on": "2026-02-30"},
    "ends before it starts": {**LINE, "ends_on": "2026-08-01"},
    "outside the year": {**LINE, "starts_on": "2025-09-01", "ends_on": "2026-07-31"},
    "a pupil's name": {**LINE, "pupil_names": ["never"]},
    "no tier": without("tier"),
    "not an object": ["a list"],
}


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_a_bad_line_is_422_and_writes_nothing(world, case):
    app, client = world
    with writes_nothing(app):
        response = client.post(f"{MAP}/lines", json=BAD_LINES[case], headers=auth(HEAD))
    assert_problem(response, 422, "validation-error")


BAD_REVIEWS = {
    "unknown impact": {"impact": "great"},
    "no impact": {"note": "x"},
    "long note": {"impact": "good", "note": "x" * (limits.NOTE_TEXT + 1)},
    "in the future": {"impact": "good", "reviewed_on": "2099-01-01"},
    "before the line starts": {"impact": "good", "reviewed_on": "2026-08-01"},
    "not a date": {"impact": "good", "reviewed_on": "yesterday"},
}


@pytest.mark.parametrize("case", list(BAD_REVIEWS))
def test_a_bad_review_is_422_and_writes_nothing(world, case):
    app, client = world
    with writes_nothing(app):
        response = client.post(f"{MAP}/lines/1/reviews", json=BAD_REVIEWS[case], headers=auth(HEAD))
    assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize(
    "path",
    [
        "/schools/12345/provision-maps/2026-27",
        f"{MAPS}/2026%2F27",
        f"{MAPS}/2026-28",
        f"{MAPS}/26-27",
        f"{MAPS}/2031-32",
        f"{MAP}/versions/0",
        f"{MAP}/versions/one",
        f"{MAP}/versions/9",
        f"{MAP}/versions/99999999999999999999",
    ],
)
def test_a_malformed_or_unknown_place_in_the_path_is_404(world, path):
    app, client = world
    with writes_nothing(app):
        assert_problem(client.get(path, headers=auth(HEAD)), 404, "not-found")


@pytest.mark.parametrize("line_number", ["0", "x", "-1", "1.5", "99"])
def test_a_malformed_or_unknown_line_number_is_404(world, line_number):
    app, client = world
    with writes_nothing(app):
        response = client.put(f"{MAP}/lines/{line_number}", json=LINE, headers=auth(HEAD))
    assert_problem(response, 404, "not-found")
