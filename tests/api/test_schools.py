"""The school register over HTTP: /schools (issue 12), as docs/API.md states it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from funding_engine.application import FundingApplication
from tests.api.conftest import assert_etag_matches, assert_problem, auth, client_for, writes_nothing
from tests.support import (
    CLUSTER,
    COUNCIL,
    FINANCE,
    HEAD,
    OTHER_CLUSTER,
    OTHER_SCHOOL,
    SCHOOL,
    SECOND_SCHOOL,
    set_up_world,
)

NEW = {"urn": "900301", "name": "Saltmarsh Primary School", "phase": "primary", "cluster_id": CLUSTER}


@pytest.fixture
def client(app: FundingApplication) -> Iterator[Any]:
    set_up_world(app, budget=None)
    with client_for(app) as client:
        yield client


def test_registering_a_school_answers_201_with_the_school_and_its_etag(client):
    response = client.post("/schools", json=NEW, headers=auth(COUNCIL))

    assert response.status_code == 201, response.text
    assert response.json() == {**NEW, "registered": True, "version": 1}
    assert_etag_matches(response)
    assert client.get("/schools/900301", headers=auth(HEAD)).json() == response.json()


def test_a_school_registered_twice_is_409(client, app):
    client.post("/schools", json=NEW, headers=auth(COUNCIL))

    with writes_nothing(app):
        response = client.post("/schools", json=NEW, headers=auth(COUNCIL))

    assert_problem(response, 409, "conflict")


def test_registering_a_school_that_is_in_another_cluster_is_409(client, app):
    with writes_nothing(app):
        response = client.post("/schools", json={**NEW, "urn": OTHER_SCHOOL}, headers=auth(COUNCIL))

    assert_problem(response, 409, "conflict")


def test_registering_into_an_unknown_cluster_is_404(client, app):
    with writes_nothing(app):
        response = client.post("/schools", json={**NEW, "cluster_id": "no-such-cluster"}, headers=auth(COUNCIL))

    assert_problem(response, 404, "not-found")


def test_a_school_in_a_cluster_before_the_register_reads_as_unregistered(client):
    response = client.get(f"/schools/{SECOND_SCHOOL}", headers=auth(FINANCE))

    assert response.json() == {
        "urn": SECOND_SCHOOL,
        "name": None,
        "phase": None,
        "cluster_id": CLUSTER,
        "registered": False,
        "version": 0,
    }


def test_put_renames_a_school_and_moves_it_to_another_cluster(client):
    client.post("/schools", json={**NEW, "urn": SCHOOL}, headers=auth(COUNCIL))
    body = {"name": "Northmere Academy", "phase": "all_through", "cluster_id": OTHER_CLUSTER}

    response = client.put(f"/schools/{SCHOOL}", json=body, headers={**auth(COUNCIL), "If-Match": '"1"'})

    assert response.status_code == 200, response.text
    assert response.json() == {"urn": SCHOOL, **body, "registered": True, "version": 2}
    assert SCHOOL in client.get(f"/clusters/{OTHER_CLUSTER}", headers=auth(COUNCIL)).json()["school_urns"]
    assert SCHOOL not in client.get(f"/clusters/{CLUSTER}", headers=auth(COUNCIL)).json()["school_urns"]


def test_put_with_a_stale_if_match_is_412_and_changes_nothing(client, app):
    client.post("/schools", json={**NEW, "urn": SCHOOL}, headers=auth(COUNCIL))
    body = {"name": "Northmere Academy", "phase": "primary", "cluster_id": CLUSTER}
    client.put(f"/schools/{SCHOOL}", json=body, headers=auth(COUNCIL))

    with writes_nothing(app):
        response = client.put(
            f"/schools/{SCHOOL}", json={**body, "name": "Other"}, headers={**auth(COUNCIL), "If-Match": '"1"'}
        )

    assert_problem(response, 412, "precondition-failed")


def test_put_on_a_school_not_on_the_register_is_404(client):
    body = {"name": "Northmere Juniors", "phase": "primary", "cluster_id": CLUSTER}

    assert_problem(client.put(f"/schools/{SECOND_SCHOOL}", json=body, headers=auth(COUNCIL)), 404, "not-found")


@pytest.mark.parametrize("urn", ["999999", "12345", "abcdef"])
def test_a_school_the_engine_has_never_met_or_a_malformed_urn_is_404(client, urn):
    assert_problem(client.get(f"/schools/{urn}", headers=auth(COUNCIL)), 404, "not-found")


def test_the_list_filters_by_cluster_and_searches_by_name_or_urn(client):
    client.post("/schools", json={**NEW, "urn": SCHOOL, "name": "Northmere Primary"}, headers=auth(COUNCIL))
    client.post("/schools", json={**NEW, "name": "Saltmarsh Infants"}, headers=auth(COUNCIL))

    def urns(query: str) -> list[str]:
        response = client.get(f"/schools?{query}", headers=auth(HEAD))
        assert response.status_code == 200, response.text
        return [item["urn"] for item in response.json()["items"]]

    assert urns("") == [SCHOOL, SECOND_SCHOOL, OTHER_SCHOOL, "900301"]
    assert urns(f"cluster_id={OTHER_CLUSTER}") == [OTHER_SCHOOL]
    assert urns("q=SALTMARSH") == ["900301"]
    assert urns("q=90000") == [SCHOOL, SECOND_SCHOOL]
    assert urns("registered=false") == [SECOND_SCHOOL, OTHER_SCHOOL]
    assert urns("registered=true&cluster_id=" + CLUSTER) == [SCHOOL, "900301"]
