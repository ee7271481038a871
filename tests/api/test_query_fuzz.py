"""Hostile values in every query parameter and path id of every GET, on both stores.

Each class of value here once reached a 500 (issue 9, point 8) or is its close kin: times at the
calendar's edges with extreme offsets, integers at and beyond the 64-bit range, cursors that are
valid base64 and JSON but not the shape the server gives out, NUL and other control characters,
lone surrogates and invalid UTF-8 (percent-encoded, as a client would send them), very long and
empty strings. Every answer must be below 500; every 4xx must be a problem+json whose ``type``
matches its status; a GET writes nothing to the event log and logs no unexpected error.

The values are percent-encoded by hand so that bytes no text can hold (``%ED%A0%80``, ``%FF``)
reach the server exactly as sent.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.errors import classify
from domain.values import Actor
from funding_engine.application import FundingApplication
from tests.api.conftest import PROBLEM_JSON, auth
from tests.support import (
    CLUSTER,
    COUNCIL,
    FINANCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    SCHOOL,
    YEAR,
    approved_request,
    log_position,
    submit,
)

TYPE_OF_STATUS = {400: "bad-request", 403: "forbidden", 404: "not-found", 422: "validation-error"}


@dataclass(frozen=True)
class Raw:
    """A value already percent-encoded: bytes that no Python text holds (invalid UTF-8)."""

    encoded: str


def encoded(value: str | Raw) -> str:
    if isinstance(value, Raw):
        return value.encoded
    # surrogatepass: a lone surrogate goes out as the three bytes a careless client would send.
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def cursor_of(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def cursor_of_text(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


TIME_EDGES: list[str | Raw] = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-14:00",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00",  # no zone where one is required
    "0500-06-01T00:00:00+01:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999-23:59",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59",
    "9999-12-31T23:59:60Z",
    "2026-06-01T12:00:00+24:00",
    "0000-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
]
INTEGERS: list[str | Raw] = [
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "1e400",
    "-0",
    "0x10",
    "1_000",
    "NaN",
    "Infinity",
]
DEEP = "[" * 300 + "]" * 300
CURSORS: list[str | Raw] = [
    cursor_of([9223372036854775807]),
    cursor_of([9223372036854775808]),
    cursor_of([-9223372036854775808]),
    cursor_of([-9223372036854775809]),
    cursor_of([10**40]),
    cursor_of([0]),
    cursor_of([True]),
    cursor_of([False]),
    cursor_of([None]),
    cursor_of([1.5]),
    cursor_of([1.0]),
    cursor_of([[]]),
    cursor_of([{}]),
    cursor_of(["\u0000"]),
    cursor_of(["a\u0000b", "c"]),
    cursor_of(["a", "b\u0000"]),
    cursor_of(["a", "b", "c"]),
    cursor_of(["a", 1]),
    cursor_of([1, "a"]),
    cursor_of([True, False]),
    cursor_of(["x" * 300]),
    cursor_of(["x" * 120, "y" * 120]),
    cursor_of("x"),
    cursor_of({}),
    cursor_of([]),
    cursor_of(None),
    cursor_of(7),
    cursor_of_text('["\\ud800"]'),  # JSON's own escape for a lone surrogate
    cursor_of_text('["\\ud800", "\\udfff"]'),
    cursor_of_text("[NaN]"),
    cursor_of_text("[Infinity]"),
    cursor_of_text("[-Infinity]"),
    cursor_of_text("[1e400]"),
    cursor_of_text(DEEP[:600]),
    cursor_of_text('["\ud800"]'),  # the surrogate's bytes themselves: not UTF-8
    base64.urlsafe_b64encode(b"\xff\xfe\x00[1]").decode(),
    base64.urlsafe_b64encode('["a"]'.encode("utf-16")).decode(),
    "!!!",
    "a",
    "W10===",
    "W1" + "\x00" + "sxXQ",  # base64 of [1] with a NUL inside
    "W1 sxXQ",
    "W1%sxXQ",
    "A" * 499,
    "A" * 5000,
]
CONTROL_CHARACTERS: list[str | Raw] = [
    "\x00",
    "a\x00b",
    CLUSTER + "\x00",
    "\x01",
    "\x1f",
    "\x7f",
    "\x85",
    "\n",
    "\r\n",
    "\t",
    "\u202e",
    "\ufeff",
    "\u2028",
]
BAD_UNICODE: list[str | Raw] = [
    Raw("%ED%A0%80"),  # U+D800, a lone surrogate, as UTF-8 would encode it if it could
    Raw("%ED%BF%BF"),
    Raw("a%ED%A0%80b"),
    Raw("%C0%80"),  # an overlong NUL
    Raw("%FF"),
    Raw("%F4%90%80%80"),  # beyond U+10FFFF
    Raw("%E2%82"),  # cut short
    "\ud800",
    "\udfff",
]
LONG_AND_EMPTY: list[str | Raw] = ["", " ", "  \t ", "x" * 201, "9" * 5000, "é" * 3000, "💷" * 1000]

HOSTILE: list[str | Raw] = [
    *TIME_EDGES,
    *INTEGERS,
    *CONTROL_CHARACTERS,
    *BAD_UNICODE,
    *LONG_AND_EMPTY,
    "%",
    "%00",  # the literal text "%00", percent-encoded again
    "null",
    "true",
    # A few of the cursors below in every parameter, not only in cursors.
    cursor_of([9223372036854775808]),
    cursor_of([True]),
    cursor_of(["\u0000"]),
]


@dataclass(frozen=True)
class Endpoint:
    path: str
    caller: Actor
    query: tuple[str, ...] = ()
    path_ids: tuple[str, ...] = ()
    json: bool = True


ENDPOINTS = [
    Endpoint("/clusters", COUNCIL, ("limit", "cursor")),
    Endpoint("/clusters/{cluster_id}", COUNCIL, path_ids=("cluster_id",)),
    Endpoint("/schools", HEAD, ("cluster_id", "q", "registered", "limit", "cursor")),
    Endpoint("/schools/{urn}", LEAD, path_ids=("urn",)),
    Endpoint("/clusters/{cluster_id}/budgets/{fy}", COUNCIL, path_ids=("cluster_id", "fy")),
    Endpoint("/balances", COUNCIL, ("financial_year", "limit", "cursor")),
    Endpoint("/council/budgets/{fy}", FINANCE, path_ids=("fy",)),
    Endpoint("/requests", COUNCIL, ("cluster_id", "school_urn", "status", "financial_year", "limit", "cursor")),
    Endpoint("/requests/{request_id}", COUNCIL, ("as_of",), ("request_id",)),
    Endpoint("/requests/{request_id}/history", COUNCIL, path_ids=("request_id",)),
    Endpoint(
        "/audit/decisions", COUNCIL, ("cluster_id", "actor", "from", "to", "school_urn", "kind", "limit", "cursor")
    ),
    Endpoint("/audit/verify", COUNCIL, ("unknown",)),
    Endpoint("/finance/reconciliation", FINANCE, ("financial_year",)),
    Endpoint("/finance/ledger.csv", FINANCE, ("financial_year",), json=False),
    Endpoint("/finance/commitments-by-age", FINANCE, ("financial_year", "cluster_id", "as_of")),
    Endpoint("/clusters/{cluster_id}/budgets/{fy}/statement", COUNCIL, path_ids=("cluster_id", "fy")),
    Endpoint("/council/budgets/{fy}/statement", FINANCE, path_ids=("fy",)),
    Endpoint("/local-offer/schools", COUNCIL, ("q", "cluster_id", "limit", "cursor")),
    Endpoint("/local-offer/schools/{urn}", COUNCIL, path_ids=("urn",)),
]

# A malformed id in the path names nothing: 404 (API.md), like an unknown one.
PATH_ANSWERS = {404}
# A query parameter is valid (200) or refused (422); as_of may also name a time before the request.
QUERY_ANSWERS = {"as_of": {200, 404, 422}}


@pytest.fixture(scope="module")
def good_ids(shared_world: FundingApplication) -> dict[str, str]:
    """What the module adds to the shared world: decisions and two requests, so every page has rows."""
    approved = approved_request(shared_world)
    asked = submit(shared_world)
    shared_world.request_information(LEAD, asked.id, "Which pupils does the plan cover?")
    shared_world.allocate_budget(FINANCE, OTHER_CLUSTER, YEAR, "100.00", "a second row for /balances")
    return {"cluster_id": CLUSTER, "fy": YEAR, "request_id": str(approved.id), "urn": SCHOOL}


def url(endpoint: Endpoint, ids: Mapping[str, str | Raw], *, query: Mapping[str, str | Raw] | None = None) -> str:
    text = endpoint.path
    for name in endpoint.path_ids:
        text = text.replace("{" + name + "}", encoded(ids[name]))
    if query:
        text += "?" + "&".join(f"{name}={encoded(value)}" for name, value in query.items())
    return text


def check_answer(response: Any, allowed: set[int], endpoint: Endpoint) -> str | None:
    """What is wrong with one answer, or None."""
    status = response.status_code
    if status not in allowed:
        return f"status {status}: {response.text[:300]}"
    if status >= 400:
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        if content_type != PROBLEM_JSON:
            return f"{status} as {content_type!r}"
        body = response.json()
        if body.get("type") != TYPE_OF_STATUS[status] or body.get("status") != status or not body.get("detail"):
            return f"{status} with body {body}"
    elif endpoint.json:
        response.json()
    return None


def sweep(
    client: Any,
    app: FundingApplication,
    caplog: pytest.LogCaptureFixture,
    calls: list[tuple[str, str]],
    allowed: set[int],
    endpoint: Endpoint,
) -> None:
    """Send every call; then fail once, naming every call that went wrong."""
    before = log_position(app)
    failures = []
    headers = auth(endpoint.caller)
    with caplog.at_level(logging.ERROR):
        for label, target in calls:
            response = client.get(target, headers=headers)
            problem = check_answer(response, allowed, endpoint)
            if problem:
                failures.append(f"{label}: {problem}")
    assert not failures, "\n".join(failures)
    assert log_position(app) == before, "a GET wrote to the event log"
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, errors


QUERY_CASES = [
    pytest.param(endpoint, name, id=f"{endpoint.path}?{name}") for endpoint in ENDPOINTS for name in endpoint.query
]
PATH_CASES = [
    pytest.param(endpoint, name, id=f"{endpoint.path} {{{name}}}")
    for endpoint in ENDPOINTS
    for name in endpoint.path_ids
]


@pytest.mark.parametrize("endpoint, name", QUERY_CASES)
def test_a_hostile_query_value_is_never_a_5xx(shared_client, shared_world, good_ids, caplog, endpoint, name):
    values = HOSTILE + CURSORS if name == "cursor" else HOSTILE
    calls = [(f"{name}={value!r}", url(endpoint, good_ids, query={name: value})) for value in values]
    sweep(shared_client, shared_world, caplog, calls, QUERY_ANSWERS.get(name, {200, 422}), endpoint)


@pytest.mark.parametrize("endpoint, name", PATH_CASES)
def test_a_hostile_path_id_is_a_404(shared_client, shared_world, good_ids, caplog, endpoint, name):
    # An empty segment is another path ("/clusters/" redirects to the list), not a malformed id.
    values = [value for value in HOSTILE if value != ""]
    calls = [(f"{{{name}}}={value!r}", url(endpoint, {**good_ids, name: value})) for value in values]
    sweep(shared_client, shared_world, caplog, calls, PATH_ANSWERS, endpoint)


# -- the answers themselves: what an auditor and an integrator should expect -----------------------


def test_a_cursor_beyond_64_bits_is_422_validation_error(shared_client, good_ids):
    for key in ([9223372036854775808], [-9223372036854775809], [True], [1.5], ["\u0000"]):
        response = shared_client.get(f"/audit/decisions?cursor={cursor_of(key)}", headers=auth(COUNCIL))
        assert response.status_code == 422, (key, response.text)
        assert response.json()["detail"] == "cursor is not one this server gave out"


def test_a_nul_in_a_filter_is_422_validation_error(shared_client, good_ids):
    response = shared_client.get("/audit/decisions?actor=a%00b", headers=auth(COUNCIL))
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "validation-error"
    assert "actor" in response.json()["detail"]


def test_decision_bounds_at_the_calendars_edges_cover_everything(shared_client, good_ids):
    """A bound beyond what UTC can write is clamped to the calendar's edge: the answer is exact."""
    everything = shared_client.get("/audit/decisions", headers=auth(COUNCIL)).json()["items"]
    assert everything, "the module's world has decisions"
    for bounds in (
        {"from": "0001-01-01T00:00:00+14:00"},
        {"to": "9999-12-31T23:59:59-14:00"},
        {"from": "0001-01-01T00:00:00+14:00", "to": "9999-12-31T23:59:59.999999-23:59"},
        {"from": "0500-06-01T00:00:00+01:00"},  # a year before 1000, not zero-padded by strftime
    ):
        query = "&".join(f"{name}={encoded(value)}" for name, value in bounds.items())
        response = shared_client.get(f"/audit/decisions?{query}", headers=auth(COUNCIL))
        assert response.status_code == 200, (bounds, response.text)
        assert response.json()["items"] == everything, bounds
    for bounds in ({"from": "9999-12-31T23:59:59-14:00"}, {"to": "0001-01-01T00:00:00+14:00"}):
        query = "&".join(f"{name}={encoded(value)}" for name, value in bounds.items())
        response = shared_client.get(f"/audit/decisions?{query}", headers=auth(COUNCIL))
        assert response.status_code == 200, (bounds, response.text)
        assert response.json()["items"] == [], bounds


def test_as_of_at_the_calendars_edges(shared_client, good_ids):
    path = f"/requests/{good_ids['request_id']}"
    before = shared_client.get(f"{path}?as_of={encoded('0001-01-01T00:00:00+14:00')}", headers=auth(COUNCIL))
    assert before.status_code == 404, before.text
    after = shared_client.get(f"{path}?as_of={encoded('9999-12-31T23:59:59-14:00')}", headers=auth(COUNCIL))
    assert after.status_code == 200, after.text
    assert after.json() == shared_client.get(path, headers=auth(COUNCIL)).json()
    naive = shared_client.get(f"{path}?as_of=0001-01-01T00:00:00", headers=auth(COUNCIL))
    assert naive.status_code == 422 and naive.json()["type"] == "validation-error"


def test_pages_still_follow_their_cursors(shared_client, good_ids):
    for path in ("/clusters", "/schools", "/balances", "/requests", "/audit/decisions"):
        seen: list[Any] = []
        target = f"{path}?limit=1&financial_year={YEAR}" if path == "/balances" else f"{path}?limit=1"
        while True:
            page = shared_client.get(target, headers=auth(COUNCIL))
            assert page.status_code == 200, (path, page.text)
            seen.extend(page.json()["items"])
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
            target = f"{target.split('&cursor=')[0]}&cursor={cursor}"
        everything = shared_client.get(
            f"{path}?limit=500" + (f"&financial_year={YEAR}" if path == "/balances" else ""), headers=auth(COUNCIL)
        ).json()["items"]
        assert seen == everything and len(seen) >= 2, path


# -- properties: random text into every text parameter ------------------------------------------------

# Every character, surrogates, controls and unassigned code points included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
TEXT_PARAMETERS = [
    ("/requests", "cluster_id"),
    ("/requests", "school_urn"),
    ("/requests", "status"),
    ("/requests", "financial_year"),
    ("/requests", "cursor"),
    ("/balances", "financial_year"),
    ("/balances", "cursor"),
    ("/clusters", "cursor"),
    ("/schools", "cluster_id"),
    ("/schools", "q"),
    ("/schools", "cursor"),
    ("/audit/decisions", "cluster_id"),
    ("/audit/decisions", "actor"),
    ("/audit/decisions", "from"),
    ("/audit/decisions", "to"),
    ("/audit/decisions", "cursor"),
    ("/requests/{request_id}", "as_of"),
    ("/finance/reconciliation", "financial_year"),
    ("/finance/ledger.csv", "financial_year"),
    ("/finance/commitments-by-age", "financial_year"),
    ("/finance/commitments-by-age", "cluster_id"),
    ("/finance/commitments-by-age", "as_of"),
    ("/clusters/{cluster_id}/budgets/{fy}/statement", ""),
    ("/council/budgets/{fy}/statement", ""),
    ("/clusters/{cluster_id}", ""),
    ("/schools/{urn}", ""),
    ("/clusters/{cluster_id}/budgets/{fy}", ""),
    ("/council/budgets/{fy}", ""),
    ("/requests/{request_id}/history", ""),
]
# Bounded and derandomised: the same examples on every run, so a failure is always reproducible.
PROPERTY = settings(
    max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@pytest.mark.parametrize("path, name", TEXT_PARAMETERS, ids=[f"{p}?{n}" if n else p for p, n in TEXT_PARAMETERS])
def test_random_text_in_a_parameter_is_never_a_5xx(shared_client, shared_world, good_ids, caplog, path, name):
    endpoint = next(endpoint for endpoint in ENDPOINTS if endpoint.path == path)
    headers = auth(endpoint.caller)
    before = log_position(shared_world)

    @PROPERTY
    @given(text=ANY_TEXT | ANY_TEXT.map(cursor_of_text) | st.lists(ANY_TEXT | st.integers(), max_size=3).map(cursor_of))
    def send(text: str) -> None:
        if name:
            target = url(endpoint, good_ids, query={name: text})
            allowed = QUERY_ANSWERS.get(name, {200, 422})
        else:
            if not text:
                return
            target = url(endpoint, {**good_ids, endpoint.path_ids[-1]: text})
            allowed = PATH_ANSWERS | {200}  # random text can be a well-formed unknown id, or a known one
        response = shared_client.get(target, headers=headers)
        problem = check_answer(response, allowed, endpoint)
        assert problem is None, (text, problem)

    with caplog.at_level(logging.ERROR):
        send()
    assert log_position(shared_world) == before
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


# -- properties at the application layer: values no HTTP client can send ------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**64)
    | st.integers(min_value=-(2**64), max_value=-(2**63) + 2)
    | st.floats()
    | ANY_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(ANY_TEXT, children, max_size=2),
    max_leaves=6,
)


def json_cursor(value: Any) -> str:
    # allow_nan: Python's json reads NaN and Infinity, so a cursor may carry them.
    text = json.dumps(value, allow_nan=True, ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


def refused_or_answered(call: Any) -> None:
    """A query either answers or refuses with an error the API maps to a 4xx; nothing else escapes."""
    try:
        call()
    except Exception as error:
        status, _ = classify(error)
        if status >= 500:
            raise


@PROPERTY
@given(key=JSON_VALUES | st.lists(JSON_VALUES, min_size=1, max_size=2))
def check_every_cursor(app: FundingApplication, key: Any) -> None:
    cursor = json_cursor(key)
    refused_or_answered(lambda: app.read_models.decisions(COUNCIL, cursor=cursor))
    refused_or_answered(lambda: app.read_models.list_requests(COUNCIL, cursor=cursor))
    refused_or_answered(lambda: app.read_models.balances(COUNCIL, YEAR, cursor=cursor))


def test_any_json_in_a_cursor_is_answered_or_refused_by_the_application(shared_world, good_ids):
    before = log_position(shared_world)
    check_every_cursor(shared_world)
    assert log_position(shared_world) == before


@PROPERTY
@given(text=ANY_TEXT)
def check_every_filter(app: FundingApplication, text: str) -> None:
    refused_or_answered(lambda: app.read_models.decisions(COUNCIL, decided_by=text))
    refused_or_answered(lambda: app.read_models.decisions(COUNCIL, cluster_id=text))
    refused_or_answered(lambda: app.read_models.decisions(COUNCIL, cursor=text))
    refused_or_answered(lambda: app.read_models.list_requests(COUNCIL, cluster_id=text, school_urn=SCHOOL))
    refused_or_answered(
        lambda: app.read_models.list_requests(COUNCIL, school_urn=text, status=text, financial_year=text)
    )
    refused_or_answered(lambda: app.read_models.list_requests(COUNCIL, cursor=text))
    refused_or_answered(lambda: app.read_models.balances(COUNCIL, YEAR, cursor=text))
    refused_or_answered(lambda: app.read_models.balances(COUNCIL, text))
    refused_or_answered(lambda: app.read_models.balance(COUNCIL, text, YEAR))
    refused_or_answered(lambda: app.read_models.balance(COUNCIL, OTHER_CLUSTER, text))


def test_any_text_in_a_filter_is_answered_or_refused_by_the_application(shared_world, good_ids):
    """Lone surrogates reach the application only this way: the HTTP layer turns them into U+FFFD."""
    before = log_position(shared_world)
    check_every_filter(shared_world)
    assert log_position(shared_world) == before
