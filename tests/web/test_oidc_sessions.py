"""Web sessions, on SQLite and on PostgreSQL: the idle timeout (the cookie carries when its person
was last seen, and pages re-issue it), the 12-hour limit, and sign-ins and sign-outs as events in
the log that the read models, the reconciliation and the audit chain take in their stride.

The demo sign-in starts the sessions here; an OpenID Connect session is the same cookie
(tests/web/test_oidc_sign_in.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from api.app import create_app
from domain.errors import NotPermitted
from funding_engine import demo
from funding_engine.application import FundingApplication
from funding_engine.dev_mode import DEV_YEAR
from tests.web.pages import DEMO_LABELS, SECRET, TestClient, csrf_from
from web.app import install
from web.session import SESSION_COOKIE

MINUTE = 60.0
SCHOOL_HOME = "/school/requests"


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * MINUTE


@dataclass
class Rig:
    app: FundingApplication
    client: TestClient
    clock: Clock


@pytest.fixture
def rig(demo_app: FundingApplication) -> Iterator[Rig]:
    app = demo_app
    api = create_app(app, jwt_secret=SECRET)
    kit = install(api, app, secret=SECRET, dev_users=demo.demo_actors(), secure_cookies=False)
    clock = Clock(time.time())
    kit.signer.clock = clock
    with TestClient(api, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield Rig(app, client, clock)


def sign_in_as(rig: Rig, label: str) -> None:
    token = csrf_from(rig.client.get("/sign-in").text)
    answer = rig.client.post("/sign-in", data={"csrf_token": token, "user": str(DEMO_LABELS.index(label))})
    assert answer.status_code == 303, answer.text


def events(app: FundingApplication) -> list[tuple[str, str, str | None, str | None]]:
    return [(e.event, e.actor.sub, e.method, e.reason) for e in reversed(app.sign_ins(demo.COUNCIL))]


def test_a_session_ends_after_the_idle_timeout_and_the_sign_in_page_says_so(rig):
    sign_in_as(rig, "school 990001 (northmere-coast)")
    school = demo.school("990001").sub

    for _ in range(3):  # an hour of work, a page every 20 minutes: never idle for 30
        rig.clock.advance(20)
        page = rig.client.get(SCHOOL_HOME)
        assert page.status_code == 200, page.text
        reissued = [c for c in page.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")]
        assert len(reissued) == 1 and "HttpOnly" in reissued[0]

    rig.clock.advance(31)
    away = rig.client.get(SCHOOL_HOME)
    assert away.status_code == 303 and away.headers["location"] == "/sign-in?next=%2Fschool%2Frequests"
    assert not any(c.startswith(f"{SESSION_COOKIE}=") for c in away.headers.get_list("set-cookie"))

    back = rig.client.get(away.headers["location"])
    assert back.status_code == 200
    assert (
        '<p class="govuk-notification-banner__heading">Your session timed out after 30 minutes without activity'
        in back.text
    )
    assert rig.client.cookies.get(SESSION_COOKIE) is None  # the page forgot the dead session
    assert "timed out" not in rig.client.get("/sign-in").text
    assert events(rig.app) == [("signed in", school, "dev", None), ("signed out", school, None, "idle timeout")]


def test_a_busy_session_still_ends_twelve_hours_after_sign_in(rig):
    sign_in_as(rig, "finance officer")
    for _ in range(28):  # 11 h 40 min, a page every 25 minutes
        rig.clock.advance(25)
        assert rig.client.get("/").headers["location"] == "/finance/balances"
    rig.clock.advance(25)
    assert rig.client.get("/").headers["location"] == "/sign-in"
    assert "a session lasts at most 12 hours" in rig.client.get("/sign-in").text
    finance = demo.FINANCE.sub
    assert events(rig.app) == [("signed in", finance, "dev", None), ("signed out", finance, None, "session expired")]


def test_a_tiny_idle_timeout_setting_is_honoured(app):
    api = create_app(app, jwt_secret=SECRET)
    kit = install(api, app, secret=SECRET, dev_users=demo.demo_actors(), secure_cookies=False, idle_timeout_seconds=90)
    clock = Clock(time.time())
    kit.signer.clock = clock
    with TestClient(api, base_url="http://127.0.0.1", follow_redirects=False) as client:
        token = csrf_from(client.get("/sign-in").text)
        client.post("/sign-in", data={"csrf_token": token, "user": str(DEMO_LABELS.index("council officer"))})
        clock.advance(1)
        assert client.get("/").headers["location"] == "/council/escalations"
        clock.advance(2)
        assert client.get("/").headers["location"] == "/sign-in"
        assert "Your session timed out after 2 minutes without activity" in client.get("/sign-in").text


def test_sign_ins_and_sign_outs_are_in_the_log_for_the_council_and_nobody_else(rig, make_app):
    sign_in_as(rig, "lead, northmere-coast")
    out = rig.client.post("/sign-out", data={"csrf_token": csrf_from(rig.client.get("/sign-out").text)})
    assert out.status_code == 303
    sign_in_as(rig, "council officer")
    lead, council = demo.lead("northmere-coast"), demo.COUNCIL

    # Read by another process, from the stored log.
    entries = make_app().sign_ins(council)
    assert [(e.event, e.actor, e.method, e.reason) for e in entries] == [
        ("signed in", council, "dev", None),
        ("signed out", lead, None, "signed out"),
        ("signed in", lead, "dev", None),
    ]
    assert entries[1].session_id == entries[2].session_id != entries[0].session_id
    assert entries[0].position > entries[1].position > entries[2].position
    assert entries[0].at >= entries[1].at >= entries[2].at and entries[0].at.tzinfo is not None
    assert [e.position for e in rig.app.sign_ins(council, limit=1, before=entries[0].position)] == [entries[1].position]
    for someone in (lead, demo.FINANCE, demo.school("990001")):
        with pytest.raises(NotPermitted):
            rig.app.sign_ins(someone)


def test_the_read_models_reconciliation_and_audit_chain_take_sign_in_events_in_their_stride(rig, make_app):
    sign_in_as(rig, "finance officer")
    rig.client.post("/sign-out", data={"csrf_token": csrf_from(rig.client.get("/sign-out").text)})
    sign_in_as(rig, "council officer")

    fresh = make_app()  # catches the read models up from the log, sign-in events and all
    assert fresh.read_models.reconcile(demo.COUNCIL, DEV_YEAR).consistent
    report = fresh.verify_audit_chain(demo.COUNCIL)
    assert report.ok and report.events_checked == fresh.recorder.max_notification_id()
    assert len(fresh.read_models.list_requests(demo.COUNCIL).items) == len(
        rig.app.read_models.list_requests(demo.COUNCIL).items
    )


def test_a_server_configured_with_a_provider_offers_its_sign_in(monkeypatch, tmp_path):
    from funding_engine.server import create_from_environment

    secret_file = tmp_path / "client-secret"
    secret_file.write_text("a-client-secret-from-a-mounted-file\n")
    for name, value in {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'funding.sqlite3'}",
        "JWT_SECRET": SECRET,
        "OIDC_ISSUER": "https://login.example.gov.uk/council",
        "OIDC_CLIENT_ID": "funding-engine",
        "OIDC_CLIENT_SECRET_FILE": str(secret_file),
        "OIDC_REDIRECT_BASE_URL": "https://funding.example.gov.uk/",
        "OIDC_ROLES": '{"SEND.Senco": "school", "SEND.Council": "council"}',
        "SESSION_IDLE_MINUTES": "15",
    }.items():
        monkeypatch.setenv(f"FUNDING_ENGINE_{name}", value)
    with TestClient(create_from_environment(), base_url="https://testserver", follow_redirects=False) as client:
        assert client.get("/").headers["location"] == "/sign-in"
        start = client.get("/sign-in")
        assert start.status_code == 200 and 'href="/sign-in/start"' in start.text
        assert "Sign in as" not in start.text  # no demo list outside development
        assert client.get("/sign-in/callback?code=x&state=y").status_code == 403  # no sign-in under way


def test_the_council_reads_sign_ins_and_sign_outs_on_a_page_and_nobody_else_does(rig):
    sign_in_as(rig, "school 990001 (northmere-coast)")
    assert rig.client.get("/council/sign-ins").status_code == 403
    rig.client.post("/sign-out", data={"csrf_token": csrf_from(rig.client.get("/sign-out").text)})
    sign_in_as(rig, "council officer")

    page = rig.client.get("/council/sign-ins")
    assert page.status_code == 200, page.text
    assert "<title>Sign-ins and sign-outs - SEND top-up funding</title>" in page.text
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', page.text, re.DOTALL)[1:]
    cells = [[cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)][1:] for row in rows]
    school = demo.school("990001").sub
    assert cells == [
        ["Signed in", demo.COUNCIL.sub, "Council", "", "Demo list (development)"],
        ["Signed out", school, "School (SENCo)", "990001", "Signed out"],
        ["Signed in", school, "School (SENCo)", "990001", "Demo list (development)"],
    ]
    assert "Older sign-ins" not in page.text
    assert rig.client.get("/council/sign-ins?before=nonsense").status_code == 404
    oldest = rig.app.sign_ins(demo.COUNCIL)[-1].position
    assert "Nobody has signed in yet" in rig.client.get(f"/council/sign-ins?before={oldest}").text
