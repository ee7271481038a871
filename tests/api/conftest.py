"""HTTP test vocabulary: tokens for the fictional actors, a client over the app, problem+json checks.

The store fixtures (``database_url``, ``make_app``, ``app``) come from ``tests/conftest.py``: every
test that uses them runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import re
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette nudges towards httpx2; the TestClient still works with httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

import jwt

from api.app import create_app
from domain.values import Actor
from funding_engine.application import FundingApplication
from funding_engine.tokens import issue_token
from tests.conftest import STORES as CONFTEST_STORES
from tests.support import (
    COUNCIL,
    EVIDENCE,
    FINANCE,
    HEAD,
    LEAD,
    log_position,
    set_up_world,
    store_factory,
    submission,
)

UNCLUSTERED_SCHOOL = "900301"  # in no cluster
UNCLUSTERED_HEAD = Actor.school("senco-900301", UNCLUSTERED_SCHOOL)

SECRET = "api-test-secret-" + "0123456789abcdef" * 3
OTHER_SECRET = "another-secret-entirely-" + "fedcba9876543210" * 3
PROBLEM_JSON = "application/problem+json"
MONEY = re.compile(r"^-?[0-9]+\.[0-9]{2}$")
MONEY_FIELDS = frozenset(
    {
        "allocated", "committed", "commissioned", "available", "pending", "escalated", "paid",
        "amount", "amount_requested", "amount_approved", "amount_paid", "amount_escalated",
        "notional_sen_budget", "total_spent",
        # since issue 13: an award's instalments, recoveries and totals, and a year's close
        "amount_released", "released", "unpaid", "received", "outstanding", "approved", "paid_out", "recovered",
        "held", "scheduled_unpaid", "committed_unpaid", "available_before", "carried_forward",
        # issue 13: the money after a decision, year-end statements, commitments by age
        "forward", "income", "carried_in", "opening_allocation",
        "allocations", "forward_commitments", "committed_unpaid_at_close",
    }
)  # fmt: skip
APPROVE_BODY = {"amount": "1000.00", "reason": "Spend evidence shows the school's own SEN funding is used."}
ESCALATE_BODY = {"amount": "1000.00", "exceptional_circumstances": "Three pupils with EHCPs arrived mid-year."}


def claims_for(actor: Actor) -> dict[str, Any]:
    return {
        "role": actor.role,
        "sub": actor.sub,
        "school_urn": str(actor.school_urn) if actor.school_urn else None,
        "cluster_id": str(actor.cluster_id) if actor.cluster_id else None,
    }


def token(actor: Actor, secret: str = SECRET, minutes: int = 60) -> str:
    return issue_token(secret, minutes=minutes, **claims_for(actor))


def auth(actor: Actor, secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(actor, secret)}"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    """An ``alg: none`` token: header and claims, no signature."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def raw_claims(actor: Actor, **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": actor.sub, "role": actor.role.value, "exp": int(time.time()) + 3600}
    if actor.school_urn:
        claims["school_urn"] = str(actor.school_urn)
    if actor.cluster_id:
        claims["cluster_id"] = str(actor.cluster_id)
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def signed(claims: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def bearer(actor: Actor = COUNCIL, **changes: Any) -> dict[str, str]:
    """An Authorization header for a token signed with SECRET, its claims changed as given."""
    return {"Authorization": "Bearer " + signed(raw_claims(actor, **changes))}


def _from_now(seconds: int) -> int:
    return int(time.time()) + seconds


# The apps under test use the default token lifetime cap (FUNDING_ENGINE_TOKEN_MAX_LIFETIME_MINUTES).
MAX_LIFETIME_SECONDS = 720 * 60
# Tokens from an issuer whose clock runs a little ahead: accepted (30 s of skew is allowed on iat
# and nbf). Each is otherwise the caller's ordinary token.
SKEWED_BUT_GOOD: dict[str, Callable[[Actor], dict[str, str]]] = {
    "iat 10 s in the future": lambda actor: bearer(actor, iat=_from_now(10)),
    "nbf 10 s in the future": lambda actor: bearer(actor, nbf=_from_now(10)),
    "iat and nbf 10 s in the future": lambda actor: bearer(actor, iat=_from_now(10), nbf=_from_now(10)),
    "a full-length token": lambda actor: bearer(actor, iat=_from_now(0), exp=_from_now(MAX_LIFETIME_SECONDS)),
}

BAD_AUTHORIZATION: dict[str, Callable[[], dict[str, str]]] = {
    "no token": dict,
    "expired token": lambda: {"Authorization": "Bearer " + signed(raw_claims(COUNCIL, exp=int(time.time()) - 120))},
    "token signed with another secret": lambda: auth(COUNCIL, OTHER_SECRET),
    "alg none token": lambda: {"Authorization": "Bearer " + unsigned_token(raw_claims(COUNCIL))},
    "token without exp": lambda: {"Authorization": "Bearer " + signed(raw_claims(COUNCIL, exp=None))},
    "token signed with HS512": lambda: {"Authorization": "Bearer " + signed(raw_claims(COUNCIL), algorithm="HS512")},
    "token without sub": lambda: {"Authorization": "Bearer " + signed(raw_claims(COUNCIL, sub=None))},
    "token with an unknown role": lambda: {"Authorization": "Bearer " + signed(raw_claims(COUNCIL, role="governor"))},
    "school token without school_urn": lambda: {"Authorization": "Bearer " + signed(raw_claims(HEAD, school_urn=None))},
    "not a JWT": lambda: {"Authorization": "Bearer not.a.jwt"},
    "Basic credentials": lambda: {"Authorization": "Basic " + base64.b64encode(b"council:secret").decode()},
    # exp is a JSON number, checked without leeway
    "token with a string exp": lambda: bearer(exp=str(_from_now(3600))),
    "token with a boolean exp": lambda: bearer(exp=True),
    "token with a far-future string exp": lambda: bearer(exp="99999999999"),
    "token with a string iat": lambda: bearer(iat=str(_from_now(0))),
    "token expired 10 s ago": lambda: bearer(exp=_from_now(-10)),
    # the lifetime is capped: from iat, or from now when there is none
    "token lasting a minute longer than the cap": lambda: bearer(
        iat=_from_now(0), exp=_from_now(MAX_LIFETIME_SECONDS + 60)
    ),
    "token without iat expiring beyond the cap": lambda: bearer(exp=_from_now(MAX_LIFETIME_SECONDS + 120)),
    "token issued a year ago and valid for another hour": lambda: bearer(iat=_from_now(-365 * 86400)),
    # clock skew: 30 s on iat and nbf, no more
    "token issued 60 s in the future": lambda: bearer(iat=_from_now(60)),
    "token not valid for another 60 s": lambda: bearer(nbf=_from_now(60)),
    # a sub must read as it compares
    "token with a right-to-left override in sub": lambda: bearer(sub="council-\u202eofficer"),
    "token with a directional isolate in sub": lambda: bearer(sub="council-\u2066officer\u2069"),
    "token with a right-to-left mark in sub": lambda: bearer(sub="council\u200f-officer"),
    "token with an escape sequence in sub": lambda: bearer(sub="council-\x1b[31mofficer"),
    "token with a NUL in sub": lambda: bearer(sub="council-\x00officer"),
    "token with a tab in sub": lambda: bearer(sub="council\tofficer"),
}


def assert_problem(response: Any, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM_JSON, response.headers
    body = response.json()
    assert body["type"] == type_, body
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str)
    return body


def assert_money_2dp(value: Any, path: str = "") -> None:
    """Every money field anywhere in a response body is a string with exactly 2 dp."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in MONEY_FIELDS and item is not None and not isinstance(item, (dict, list)):
                assert isinstance(item, str) and MONEY.match(item), f"{path}.{key} = {item!r}"
            assert_money_2dp(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_money_2dp(item, f"{path}[{index}]")


def assert_etag_matches(response: Any) -> None:
    assert response.headers["etag"] == f'"{response.json()["version"]}"'


@contextmanager
def writes_nothing(app: FundingApplication) -> Iterator[None]:
    before = log_position(app)
    yield
    assert log_position(app) == before, "a refused call wrote to the event log"


def client_for(app: FundingApplication, secret: str = SECRET) -> TestClient:
    return TestClient(create_app(app, jwt_secret=secret), raise_server_exceptions=False)


# One store per module for the worlds that tests share; see tests.support.store_factory.
fresh_store = store_factory
STORES = CONFTEST_STORES


@pytest.fixture(scope="module", params=STORES)
def shared_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FundingApplication]:
    """One world per store for a whole module: only for tests that write nothing, or only what they made."""
    with fresh_store(request.param, tmp_path_factory.mktemp(f"api-{request.param}")) as make:
        app = make()
        set_up_world(app, budget="5000.00", council_fund="20000.00")
        yield app


@pytest.fixture(scope="module")
def shared_client(shared_world: FundingApplication) -> Iterator[TestClient]:
    with client_for(shared_world) as test_client:
        yield test_client


@pytest.fixture
def client(app: FundingApplication) -> Iterator[TestClient]:
    with client_for(app) as test_client:
        yield test_client


@pytest.fixture
def world(app: FundingApplication) -> FundingApplication:
    """Two clusters with their schools, 5,000.00 for the first cluster and 20,000.00 in the council fund."""
    set_up_world(app, budget="5000.00", council_fund="20000.00")
    return app


class Http:
    """Shortcuts for driving a request through its lifecycle over HTTP."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def ok(self, method: str, path: str, actor: Actor, json_body: Any = None, status: int = 200) -> dict[str, Any]:
        response = self.client.request(method, path, json=json_body, headers=auth(actor))
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json()

    def submit(self, actor: Actor = HEAD, **overrides: Any) -> dict[str, Any]:
        return self.ok("POST", "/requests", actor, submission(**overrides), 201)

    def evidenced(self, actor: Actor = HEAD, **overrides: Any) -> dict[str, Any]:
        request = self.submit(actor, **overrides)
        return self.ok("POST", f"/requests/{request['id']}/evidence", actor, EVIDENCE)

    def approved(self, amount: str = "1000.00", **overrides: Any) -> dict[str, Any]:
        request = self.evidenced(**overrides)
        return self.ok("POST", f"/requests/{request['id']}/approve", LEAD, {**APPROVE_BODY, "amount": amount})

    def escalated(self, amount: str = "1000.00", **overrides: Any) -> dict[str, Any]:
        request = self.evidenced(**overrides)
        return self.ok("POST", f"/requests/{request['id']}/escalate", LEAD, {**ESCALATE_BODY, "amount": amount})

    def budget(self, cluster: str, year: str, actor: Actor = FINANCE) -> dict[str, Any]:
        return self.ok("GET", f"/clusters/{cluster}/budgets/{year}", actor)

    def council_fund(self, year: str) -> dict[str, Any]:
        return self.ok("GET", f"/council/budgets/{year}", FINANCE)

    def request(self, request_id: str, actor: Actor = COUNCIL) -> dict[str, Any]:
        return self.ok("GET", f"/requests/{request_id}", actor)


@pytest.fixture
def http(client: TestClient) -> Http:
    return Http(client)
