"""Spend evidence citing a provision map, the evidence review and the needs overview, over HTTP.

Bad citations (a draft or unpublished version, a wrong hash, another school's map, both spend and a
map, neither) are clear 422s that write nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.api.conftest import assert_money_2dp, assert_problem, auth, writes_nothing
from tests.support import (
    CLUSTER,
    COUNCIL,
    EVIDENCE,
    HEAD,
    LEAD,
    OTHER_CLUSTER,
    OTHER_LEAD,
    SCHOOL,
    SECOND_HEAD,
    SECOND_SCHOOL,
    set_up_world,
    submission,
)
from tests.unit.test_provision_maps import line_fields

AY = "2026/27"


@pytest.fixture
def world(app: Any, client: Any) -> tuple[Any, Any]:
    set_up_world(app)
    for head, urn, pupils in ((HEAD, SCHOOL, 6), (SECOND_HEAD, SECOND_SCHOOL, 3)):
        app.open_provision_map(head, urn, AY)
        app.add_provision_line(head, urn, AY, line_fields(pupil_count=pupils))
        app.add_provision_line(head, urn, AY, line_fields(category="personal_care", funded_by="council", pupil_count=2))
        app.publish_provision_map(head, urn, AY)
    app.add_provision_line(HEAD, SCHOOL, AY, line_fields(description="Draft only"))
    return app, client


def submitted(client: Any, **overrides: Any) -> str:
    response = client.post("/requests", json=submission(**overrides), headers=auth(HEAD))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def citation(app: Any, urn: str = SCHOOL, version: int = 1, **overrides: Any) -> dict[str, Any]:
    sha = app.published_provision_map(COUNCIL, urn, AY, version).sha256 if version == 1 else "0" * 64
    return {"school_urn": urn, "academic_year": AY, "version": version, "sha256": sha, **overrides}


def test_a_school_cites_its_published_map_and_the_request_shows_the_citation(world):
    app, client = world
    request_id = submitted(client)
    cited = citation(app)

    response = client.post(
        f"/requests/{request_id}/evidence",
        json={"notional_sen_budget": "12000.00", "provision_map": cited},
        headers=auth(HEAD),
    )

    assert response.status_code == 200, response.text
    evidence = response.json()["evidence"]
    assert evidence["provision_map"] == cited
    assert evidence["spend"] == [
        {"category": "therapies", "amount": "723.00", "note": "Provision map 2026/27 version 1, line 1"}
    ]
    read = client.get(f"/requests/{request_id}", headers=auth(LEAD)).json()
    assert read["evidence"]["provision_map"] == cited
    history = client.get(f"/requests/{request_id}/history", headers=auth(COUNCIL)).json()["items"]
    assert history[-1]["data"]["provision_map"] == cited


def test_typed_evidence_still_works_and_reads_as_not_from_a_provision_map(world):
    _, client = world
    request_id = submitted(client)

    response = client.post(f"/requests/{request_id}/evidence", json=EVIDENCE, headers=auth(HEAD))

    assert response.json()["evidence"]["provision_map"] is None
    review = client.get(f"/requests/{request_id}/evidence-review", headers=auth(LEAD)).json()
    assert review == {"request_id": request_id, "from_provision_map": False, "provision_map": None, "warnings": []}


def test_the_evidence_review_gives_the_cited_version_its_content_and_the_warnings(world):
    app, client = world
    request_id = submitted(client, planned_provision=[{"category": "interpreters", "amount": "1000.00"}])
    cited = citation(app)
    client.post(
        f"/requests/{request_id}/evidence",
        json={"notional_sen_budget": "1.00", "provision_map": cited},
        headers=auth(HEAD),
    )
    app.publish_provision_map(HEAD, SCHOOL, AY)  # version 2 exists now; the request still cites 1

    review = client.get(f"/requests/{request_id}/evidence-review", headers=auth(LEAD)).json()

    cited_map = review["provision_map"]
    assert (cited_map["version"], cited_map["sha256"], cited_map["hash_verified"]) == (1, cited["sha256"], True)
    assert hashlib.sha256(cited_map["content"].encode()).hexdigest() == cited["sha256"]
    assert [line["line_number"] for line in cited_map["own_budget_lines"]] == [1]
    assert cited_map["own_budget_total"] == "723.00"
    assert [warning["code"] for warning in review["warnings"]] == ["own_spend_below_threshold", "category_not_in_map"]
    assert_money_2dp(review)


@pytest.mark.parametrize("map_year, warned", [("2027/28", True), ("2024/25", True), ("2025/26", False)])
def test_a_map_of_a_year_with_no_day_in_the_requests_financial_year_is_a_warning_not_a_refusal(world, map_year, warned):
    app, client = world
    start = int(map_year[:4])
    app.open_provision_map(HEAD, SCHOOL, map_year)
    app.add_provision_line(
        HEAD,
        SCHOOL,
        map_year,
        line_fields(cost_basis="total", cost="20000.00", starts_on=f"{start}-09-01", ends_on=f"{start + 1}-07-20"),
    )
    published = app.publish_provision_map(HEAD, SCHOOL, map_year).latest_published
    request_id = submitted(client, planned_provision=[{"category": "therapies", "amount": "1000.00"}])
    cited = {"school_urn": SCHOOL, "academic_year": map_year, "version": 1, "sha256": published.sha256}

    response = client.post(
        f"/requests/{request_id}/evidence",
        json={"notional_sen_budget": "20000.00", "provision_map": cited},
        headers=auth(HEAD),
    )

    assert response.status_code == 200, response.text
    review = client.get(f"/requests/{request_id}/evidence-review", headers=auth(LEAD)).json()
    codes = [warning["code"] for warning in review["warnings"]]
    assert ("map_year_outside_financial_year" in codes) is warned  # beside any other warning
    if warned:
        (message,) = [w["message"] for w in review["warnings"] if w["code"] == "map_year_outside_financial_year"]
        assert f"academic year {map_year} (1 September {start} to 31 August {start + 1})" in message
        assert "financial year 2026-27 (1 April 2026 to 31 March 2027)" in message


BAD_CITATIONS = [
    pytest.param(lambda app: {"provision_map": citation(app, version=2)}, "no published version 2", id="draft-version"),
    pytest.param(lambda app: {"provision_map": citation(app, version=3)}, "no published version 3", id="unpublished"),
    pytest.param(lambda app: {"provision_map": citation(app, sha256="1" * 64)}, "not the SHA-256", id="wrong-hash"),
    pytest.param(
        lambda app: {"provision_map": citation(app, SECOND_SCHOOL)}, "only the school's own", id="another-school"
    ),
    pytest.param(
        lambda app: {"provision_map": citation(app, academic_year="2027/28")},
        "no published version 1",
        id="no-map-that-year",
    ),
    pytest.param(lambda app: {"provision_map": citation(app), "spend": EVIDENCE["spend"]}, "not both", id="both"),
    pytest.param(lambda app: {}, "unless provision_map", id="neither"),
    pytest.param(lambda app: {"provision_map": citation(app, academic_year="2026-27")}, "", id="year-written-as-path"),
    pytest.param(lambda app: {"provision_map": {**citation(app), "version": "1"}}, "", id="version-as-text"),
    pytest.param(lambda app: {"provision_map": {**citation(app), "extra": 1}}, "", id="unknown-field"),
]


@pytest.mark.parametrize(("body", "says"), BAD_CITATIONS)
def test_a_bad_citation_is_a_422_that_writes_nothing(world, body, says):
    app, client = world
    request_id = submitted(client)

    with writes_nothing(app):
        response = client.post(
            f"/requests/{request_id}/evidence", json={"notional_sen_budget": "1.00", **body(app)}, headers=auth(HEAD)
        )

    problem = assert_problem(response, 422, "validation-error")
    assert says in str(problem)


def test_the_needs_overview_adds_up_the_clusters_published_maps_and_suppresses_small_counts(world):
    _, client = world

    response = client.get(f"/clusters/{CLUSTER}/needs-overview?academic_year=2026-27", headers=auth(LEAD))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["academic_year"] == AY and body["smallest_shown"] == 5
    assert body["schools_included"] == [
        {"school_urn": SCHOOL, "version": 1},
        {"school_urn": SECOND_SCHOOL, "version": 1},
    ]
    by_category = {cell["key"]: cell for cell in body["by_category"]}
    # therapies: 6 + 3 = 9 places; personal care 2 + 2 = 4, so suppressed, and therapies with it (secondary).
    assert by_category["personal_care"] == {
        "key": "personal_care",
        "pupil_places": None,
        "cost": None,
        "suppressed": True,
    }
    assert by_category["therapies"]["suppressed"] is True
    assert by_category["interpreters"] == {
        "key": "interpreters",
        "pupil_places": 0,
        "cost": "0.00",
        "suppressed": False,
    }
    assert body["total"]["pupil_places"] == 13
    assert_money_2dp(body)


def test_the_needs_overview_lists_schools_without_a_published_map(world):
    app, client = world
    app.add_school(COUNCIL, OTHER_CLUSTER, "900102")

    body = client.get(f"/clusters/{OTHER_CLUSTER}/needs-overview?academic_year=2026-27", headers=auth(COUNCIL)).json()

    assert body["schools_included"] == [] and body["schools_without_published_map"] == ["900101", "900102"]
    assert body["total"] == {"key": "total", "pupil_places": 0, "cost": "0.00", "suppressed": False}


@pytest.mark.parametrize("year", ["", "2026/27", "2026-28", "26-27", "2026-27x"])
def test_a_malformed_academic_year_is_a_422(world, year):
    _, client = world
    response = client.get(f"/clusters/{CLUSTER}/needs-overview?academic_year={year}", headers=auth(COUNCIL))
    assert_problem(response, 422, "validation-error")


def test_the_needs_overview_of_an_unknown_cluster_is_404_and_another_leads_is_403(world):
    _, client = world
    assert_problem(
        client.get("/clusters/no-such/needs-overview?academic_year=2026-27", headers=auth(COUNCIL)), 404, "not-found"
    )
    response = client.get(f"/clusters/{CLUSTER}/needs-overview?academic_year=2026-27", headers=auth(OTHER_LEAD))
    assert_problem(response, 403, "forbidden")
