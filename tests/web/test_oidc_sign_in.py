"""Sign-in with OpenID Connect against a real OpenID Provider (``oidc-provider``, run with Node), the
pages in process, on SQLite and on PostgreSQL.

A valid sign-in lands on the role's home as the person the provider vouched for. Everything that
does not prove who they are and what they may do is refused with a page and no session: a user
whose claims map to no role, an ID token for another audience, an expired one, one altered on its
way, and an answer whose state is not the one the browser's sign-in started with. Sign-ins and
sign-outs are in the event log.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from api.app import create_app
from domain.values import Role
from funding_engine import demo
from funding_engine.application import FundingApplication
from tests.oidc.provider import (
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    OTHER_REDIRECT_URI,
    OpenIDProvider,
    running_provider,
    through_provider,
)
from tests.web.pages import SECRET, TestClient, csrf_from
from web.app import install
from web.kit import Kit
from web.session import OIDC_COOKIE, SESSION_COOKIE
from web.sign_in.oidc import OidcClient

ENGINE = "https://testserver"  # where the provider sends people back to (the TestClient's base URL)
COUNCIL = demo.COUNCIL


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIDProvider]:
    with running_provider([f"{ENGINE}/sign-in/callback"], tmp_path_factory.mktemp("oidc")) as started:
        yield started


@dataclass
class Clock:
    """Seconds since the epoch, ``ahead`` of the real time."""

    ahead: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


class TokenEndpointTap(httpx.AsyncBaseTransport):
    """Our server's way to the provider, with a hook on the token endpoint's answer (to tamper with it)."""

    def __init__(self) -> None:
        self.alter: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.seen: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with httpx.AsyncHTTPTransport() as real:
            response = await real.handle_async_request(request)
            content = await response.aread()
        if request.method == "POST" and request.url.path == "/token" and response.status_code == 200:
            tokens = json.loads(content)
            self.seen.append(tokens)
            if self.alter is not None:
                tokens = self.alter(tokens)
            return httpx.Response(200, json=tokens)
        return httpx.Response(
            response.status_code, headers={"content-type": response.headers["content-type"]}, content=content
        )


@dataclass
class Rig:
    app: FundingApplication
    provider: OpenIDProvider
    client: TestClient
    kit: Kit
    tap: TokenEndpointTap
    clock: Clock

    def start(self, path: str = "/sign-in/start") -> str:
        """Press "Sign in": the provider's authorisation URL our server sends the browser to."""
        started = self.client.get(path)
        assert started.status_code == 303, started.text
        location = started.headers["location"]
        assert location.startswith(f"{self.provider.issuer}/auth?")
        return location

    def at_provider(self, authorize_url: str, login: str) -> str:
        with httpx.Client(follow_redirects=False) as person:
            back = through_provider(person, authorize_url, login, self.provider.issuer)
        assert back.startswith(f"{ENGINE}/sign-in/callback?"), back
        return back

    def sign_in(self, login: str, path: str = "/sign-in/start") -> httpx.Response:
        back = self.at_provider(self.start(path), login)
        return self.client.get(back.removeprefix(ENGINE))


@pytest.fixture
def rig(demo_app: FundingApplication, provider: OpenIDProvider) -> Iterator[Rig]:
    app = demo_app
    tap, clock = TokenEndpointTap(), Clock()
    oidc = OidcClient(provider.settings(ENGINE), transport=tap, clock=clock)
    api = create_app(app, jwt_secret=SECRET)
    kit = install(api, app, secret=SECRET, oidc=oidc, secure_cookies=True)
    with TestClient(api, base_url=ENGINE, follow_redirects=False) as client:
        yield Rig(app, provider, client, kit, tap, clock)


def sign_in_events(app: FundingApplication) -> list[tuple[str, str, str | None, str | None]]:
    """(event, sub, method, reason) for every sign-in and sign-out, oldest first."""
    return [(e.event, e.actor.sub, e.method, e.reason) for e in reversed(app.sign_ins(COUNCIL))]


def refused(answer: httpx.Response) -> str:
    """The refusal page's text, having checked it is one and that it left no session behind."""
    assert answer.status_code == 403, answer.text
    assert '<h1 class="govuk-heading-l">You could not be signed in</h1>' in answer.text
    assert "<title>You could not be signed in - SEND top-up funding</title>" in answer.text
    for cookie in answer.headers.get_list("set-cookie"):
        if cookie.startswith(f"{SESSION_COOKIE}="):
            assert "Max-Age=0" in cookie or cookie.startswith(f'{SESSION_COOKIE}=""'), cookie
    return answer.text


def assert_not_signed_in(rig: Rig) -> None:
    assert rig.client.get("/").headers["location"] == "/sign-in"
    assert rig.kit.actor_or_none(_request_with(rig.client.cookies.get(SESSION_COOKIE))) is None


def _request_with(session_cookie: str | None) -> Any:
    from starlette.requests import Request

    headers = [(b"cookie", f"{SESSION_COOKIE}={session_cookie}".encode())] if session_cookie else []
    return Request({"type": "http", "headers": headers, "method": "GET", "path": "/"})


@pytest.mark.parametrize(
    ("login", "home", "role", "scope"),
    [
        ("sam.senco", "/school/requests", Role.SCHOOL, "990001"),
        ("lee.lead", "/cluster/queue", Role.CLUSTER_LEAD, "northmere-coast"),
        ("cass.council", "/council/escalations", Role.COUNCIL, None),
        ("fin.finance", "/finance/balances", Role.FINANCE, None),
    ],
)
def test_a_person_signs_in_with_the_provider_and_lands_on_their_roles_home(rig, login, home, role, scope):
    assert rig.client.get("/").headers["location"] == "/sign-in"
    start_page = rig.client.get("/sign-in")
    assert start_page.status_code == 200
    assert 'href="/sign-in/start"' in start_page.text and "govuk-button--start" in start_page.text

    authorize = rig.start()
    asked = parse_qs(urlsplit(authorize).query)
    assert asked["response_type"] == ["code"] and asked["code_challenge_method"] == ["S256"]
    assert asked["client_id"] == ["funding-engine"] and asked["redirect_uri"] == [f"{ENGINE}/sign-in/callback"]
    assert asked["scope"] == ["openid profile"] and asked["nonce"] and asked["state"]

    answer = rig.client.get(rig.at_provider(authorize, login).removeprefix(ENGINE))

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == home
    session_cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session_cookie and "Secure" in session_cookie and "SameSite=lax" in session_cookie
    assert rig.client.get("/").headers["location"] == home
    page = rig.client.get(home)
    assert page.status_code == 200, page.text
    actor = rig.kit.actor_or_none(_request_with(rig.client.cookies.get(SESSION_COOKIE)))
    assert actor is not None and actor.sub == login and actor.role is role
    assert str(actor.school_urn or actor.cluster_id or "") == (scope or "")
    assert sign_in_events(rig.app) == [("signed in", login, "oidc", None)]
    assert rig.app.sign_ins(COUNCIL)[0].actor == actor


def test_a_page_asked_for_before_signing_in_is_where_the_sign_in_ends(rig):
    asked = rig.client.get("/cluster/queue?status=submitted")
    assert asked.headers["location"] == "/sign-in?next=%2Fcluster%2Fqueue%3Fstatus%3Dsubmitted"
    start_page = rig.client.get(asked.headers["location"])
    assert 'href="/sign-in/start?next=%2Fcluster%2Fqueue%3Fstatus%3Dsubmitted"' in start_page.text

    answer = rig.sign_in("lee.lead", "/sign-in/start?next=%2Fcluster%2Fqueue%3Fstatus%3Dsubmitted")
    assert answer.headers["location"] == "/cluster/queue?status=submitted"
    assert rig.client.get("/sign-in/start?next=//elsewhere.example").status_code == 303
    assert rig.sign_in("lee.lead", "/sign-in/start?next=//elsewhere.example").headers["location"] == "/cluster/queue"


def test_a_person_whose_claims_map_to_no_role_is_refused_with_a_clear_page(rig):
    page = refused(rig.sign_in("nora.norole"))
    assert "Your account is not set up for this service: it has no role here." in page
    assert_not_signed_in(rig)

    page = refused(rig.sign_in("una.unplaced"))
    assert "Your account has a role in this service but not the school (its URN) it is for." in page
    assert_not_signed_in(rig)
    assert sign_in_events(rig.app) == []


def _base64url_json(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def _as_base64url_json(claims: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()


def test_an_id_token_altered_on_its_way_is_refused(rig, caplog):
    def promote_to_council(tokens: dict[str, Any]) -> dict[str, Any]:
        header, payload, signature = tokens["id_token"].split(".")
        claims = _base64url_json(payload)
        assert claims["sub"] == "sam.senco" and claims["roles"] == ["SEND.Senco"]  # the provider's own token
        claims["roles"] = ["SEND.Council"]
        return {**tokens, "id_token": f"{header}.{_as_base64url_json(claims)}.{signature}"}

    rig.tap.alter = promote_to_council
    page = refused(rig.sign_in("sam.senco"))
    assert "could not be verified, so you have not been signed in" in page
    assert "BadSignatureError" in caplog.text
    assert_not_signed_in(rig)

    def unsigned(tokens: dict[str, Any]) -> dict[str, Any]:
        _, payload, _ = tokens["id_token"].split(".")
        return {**tokens, "id_token": f"{_as_base64url_json({'alg': 'none'})}.{payload}."}

    rig.tap.alter = unsigned
    refused(rig.sign_in("sam.senco"))
    assert "Algorithm of 'none' is not allowed" in caplog.text
    assert_not_signed_in(rig)
    assert sign_in_events(rig.app) == []


def test_an_expired_id_token_is_refused(rig, caplog):
    # The provider's ID tokens live an hour: two hours on, by our server's clock, this one has expired.
    rig.clock.ahead = 2 * 60 * 60
    page = refused(rig.sign_in("fin.finance"))
    assert "could not be verified" in page
    issued = _base64url_json(rig.tap.seen[-1]["id_token"].split(".")[1])
    assert issued["exp"] < rig.clock() - 60  # a real token of the provider's, past its expiry
    assert "ExpiredTokenError" in caplog.text
    assert_not_signed_in(rig)
    assert sign_in_events(rig.app) == []


def test_an_id_token_for_another_audience_is_refused(rig, provider, caplog):
    """Another service of the council's gets a genuine ID token for the same person (even with our
    nonce), and it is replayed to us in place of ours."""
    authorize = rig.start()
    nonce = parse_qs(urlsplit(authorize).query)["nonce"][0]
    verifier = generate_token(64)
    other = prepare_grant_uri(
        f"{provider.issuer}/auth",
        OTHER_CLIENT_ID,
        "code",
        redirect_uri=OTHER_REDIRECT_URI,
        scope="openid profile",
        state="other-state",
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    with httpx.Client(follow_redirects=False) as person:
        back = through_provider(person, other, "cass.council", provider.issuer)
        code = parse_qs(urlsplit(back).query)["code"][0]
        exchanged = person.post(
            f"{provider.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": OTHER_REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET),
        )
    assert exchanged.status_code == 200, exchanged.text
    other_id_token = exchanged.json()["id_token"]
    claims = _base64url_json(other_id_token.split(".")[1])
    assert claims["aud"] == OTHER_CLIENT_ID and claims["nonce"] == nonce and claims["iss"] == provider.issuer

    rig.tap.alter = lambda tokens: {**tokens, "id_token": other_id_token}
    page = refused(rig.client.get(rig.at_provider(authorize, "cass.council").removeprefix(ENGINE)))
    assert "could not be verified" in page
    assert "the ID token is for another audience: 'other-council-service'" in caplog.text
    assert_not_signed_in(rig)
    assert sign_in_events(rig.app) == []


def test_an_answer_whose_state_is_not_this_browsers_is_refused(rig, caplog):
    back = rig.at_provider(rig.start(), "lee.lead")
    parts = urlsplit(back)
    forged = parts.query.replace("state=", "state=x", 1)
    page = refused(rig.client.get(f"{parts.path}?{forged}"))
    assert "Start again." in page
    assert "the state sent back is not the one this sign-in started with" in caplog.text
    assert_not_signed_in(rig)

    # The provider's answer arriving in a browser that did not start this sign-in (no cookie).
    back = rig.at_provider(rig.start(), "lee.lead")
    rig.client.cookies.delete(OIDC_COOKIE)
    refused(rig.client.get(back.removeprefix(ENGINE)))
    assert_not_signed_in(rig)

    # An answer used twice: the first signs in, the second finds its sign-in finished.
    back = rig.at_provider(rig.start(), "lee.lead")
    assert rig.client.get(back.removeprefix(ENGINE)).status_code == 303
    refused(rig.client.get(back.removeprefix(ENGINE)))
    assert sign_in_events(rig.app) == [("signed in", "lee.lead", "oidc", None)]


def test_signing_out_ends_the_session_and_is_recorded(rig):
    rig.sign_in("cass.council")
    token = csrf_from(rig.client.get("/sign-out").text)
    out = rig.client.post("/sign-out", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    assert "You have signed out" in rig.client.get("/sign-in").text
    assert_not_signed_in(rig)
    assert sign_in_events(rig.app) == [
        ("signed in", "cass.council", "oidc", None),
        ("signed out", "cass.council", None, "signed out"),
    ]


def test_a_provider_that_cannot_be_reached_gives_a_page_not_an_error(app, tmp_path: Path):
    settings = OpenIDProvider("http://127.0.0.1:9", tmp_path / "none.log").settings(ENGINE)
    api = create_app(app, jwt_secret=SECRET)
    install(api, app, secret=SECRET, oidc=OidcClient(settings), secure_cookies=True)
    with TestClient(api, base_url=ENGINE, follow_redirects=False) as client:
        answer = client.get("/sign-in/start")
    assert answer.status_code == 503
    assert "Sign-in is not available right now" in answer.text
