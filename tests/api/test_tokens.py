"""Bearer tokens: what a refused one is told, and the lifetime cap as configured, in every layer.

Every layer that reads a token (the route's dependency, the check before an unparseable body, the
idempotency layer) must apply the same cap: a token one layer accepts and another refuses would
skip idempotency or answer in the wrong order. The table of bad tokens, run against every route,
is ``BAD_AUTHORIZATION`` in ``conftest.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from api.app import create_app
from funding_engine.tokens import issue_token
from tests.api.conftest import SECRET, TestClient, assert_problem, bearer, token
from tests.support import COUNCIL


@pytest.fixture
def long_cap_client(world) -> Iterator[TestClient]:
    """An API whose tokens may last a day (FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES=1440)."""
    api = create_app(world, jwt_secret=SECRET, token_max_lifetime_minutes=1440)
    with TestClient(api, raise_server_exceptions=False) as client:
        yield client


def day_long(actor: Any = COUNCIL) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(actor, minutes=1000)}"}


def test_issued_tokens_say_when_they_were_issued():
    before = int(time.time())
    claims = jwt.decode(issue_token(SECRET, role="finance", sub="finance-1", minutes=45), SECRET, algorithms=["HS256"])
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == 45 * 60


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        (lambda: bearer(exp=str(int(time.time()) + 3600)), "'exp' claim must be a number"),
        (lambda: bearer(exp=True), "'exp' claim must be a number"),
        (lambda: bearer(exp=int(time.time()) - 1), "the token has expired"),
        (lambda: bearer(iat=int(time.time()) + 60), "not valid yet (iat is in the future)"),
        (lambda: bearer(nbf=int(time.time()) + 60), "not valid yet (nbf is in the future)"),
        (lambda: bearer(iat=int(time.time()), exp=int(time.time()) + 721 * 60), "longer than the 720 minutes"),
        (lambda: bearer(sub="council\u202eofficer"), "sub must not contain control, formatting or bidirectional"),
    ],
)
def test_a_refused_token_is_told_why(world, client, headers, detail):
    body = assert_problem(client.get("/clusters", headers=headers()), 401, "unauthenticated")
    assert detail in body["detail"]


def test_the_configured_cap_is_the_one_the_routes_apply(long_cap_client, client):
    assert long_cap_client.get("/clusters", headers=day_long()).status_code == 200
    assert_problem(client.get("/clusters", headers=day_long()), 401, "unauthenticated")  # the default cap


def test_the_configured_cap_is_the_one_checked_before_an_unparseable_body(long_cap_client):
    response = long_cap_client.post(
        "/clusters", content=b"{not json", headers={**day_long(), "Content-Type": "application/json"}
    )
    assert_problem(response, 422, "validation-error")


def test_the_configured_cap_is_the_one_the_idempotency_layer_applies(long_cap_client):
    headers = {**day_long(), "Idempotency-Key": "long-token-cluster"}
    body = {"cluster_id": "long-token-cluster", "name": "Long Token"}
    first = long_cap_client.post("/clusters", json=body, headers=headers)
    again = long_cap_client.post("/clusters", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
