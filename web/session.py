"""Signed cookies: the session (who is signed in) and the CSRF token every form carries.

A value is ``base64url(JSON).base64url(HMAC-SHA256)`` under a key derived from the server's token
secret, so a cookie the browser altered, or one signed by another server, is ignored.

A session cookie carries when its person signed in and when they were last seen; the pages
re-issue it as they are used (``Kit.keep_session_alive``), so it ends after the idle timeout
without a page, or 12 hours after sign-in, whichever comes first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.sign_ins import IDLE_TIMEOUT, SESSION_EXPIRED
from domain.values import Actor, ClusterId, Role, SchoolUrn

SESSION_COOKIE = "fe_session"
CSRF_COOKIE = "fe_csrf"
CSRF_FIELD = "csrf_token"
# A one-time message for the page after a form's redirect ("Request submitted").
FLASH_COOKIE = "fe_flash"
# A session lasts at most this long after sign-in, however busy the person is.
SESSION_SECONDS = 12 * 60 * 60
# ... and ends sooner after this long without a page (FUNDING_ENGINE_SESSION_IDLE_MINUTES).
DEFAULT_IDLE_SECONDS = 30 * 60
# Set while an OpenID Connect sign-in is under way: its state, nonce and PKCE verifier.
OIDC_COOKIE = "fe_oidc"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    """What a genuine session cookie says: who, which recorded session, since when, last seen when."""

    actor: Actor
    session_id: UUID | None  # the SignInSession in the event log
    signed_in_at: int
    seen_at: int


class Signer:
    """Signs and checks the cookies; ``clock`` (seconds since the epoch) is the session's clock."""

    def __init__(
        self, secret: str, *, idle_seconds: float = DEFAULT_IDLE_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.key = hmac.new(secret.encode("utf-8"), b"funding-engine web cookies", hashlib.sha256).digest()
        self.idle_seconds = idle_seconds
        self.clock = clock

    def _mac(self, purpose: str, body: str) -> str:
        return _b64(hmac.new(self.key, f"{purpose}:{body}".encode("ascii"), hashlib.sha256).digest())

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{body}.{self._mac(purpose, body)}"

    def unsign(self, purpose: str, value: str | None) -> dict[str, Any] | None:
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(purpose, body)):
            return None
        try:
            payload = json.loads(_unb64(body))
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None

    def session_for(self, actor: Actor, session_id: UUID | None = None) -> str:
        now = int(self.clock())
        return self._session_cookie(Session(actor, session_id, now, now))

    def _session_cookie(self, session: Session) -> str:
        actor = session.actor
        return self.sign(
            "session",
            {
                "sub": actor.sub,
                "role": actor.role.value,
                "school_urn": str(actor.school_urn) if actor.school_urn else None,
                "cluster_id": str(actor.cluster_id) if actor.cluster_id else None,
                "sid": str(session.session_id) if session.session_id else None,
                "iat": session.signed_in_at,
                "seen": session.seen_at,
            },
        )

    def session_from(self, cookie: str | None) -> Session | None:
        """The session a genuine cookie describes, alive or not (see ``ended``); None for anything else."""
        payload = self.unsign("session", cookie)
        if payload is None:
            return None
        try:
            urn, cluster, sid = payload.get("school_urn"), payload.get("cluster_id"), payload.get("sid")
            actor = Actor(
                str(payload["sub"]),
                Role(payload["role"]),
                school_urn=SchoolUrn.parse(urn) if urn else None,
                cluster_id=ClusterId.parse(cluster) if cluster else None,
            )
            return Session(actor, UUID(sid) if sid else None, int(payload["iat"]), int(payload["seen"]))
        except (KeyError, TypeError, ValueError):
            return None

    def ended(self, session: Session) -> str | None:
        """Why the session is over now (``"idle timeout"``, ``"session expired"``), or None if it is not."""
        now = self.clock()
        if not 0 <= now - session.signed_in_at <= SESSION_SECONDS:
            return SESSION_EXPIRED
        if not 0 <= now - session.seen_at <= self.idle_seconds:
            return IDLE_TIMEOUT
        return None

    def seen_now(self, session: Session) -> tuple[str, int]:
        """The session's cookie with its last-seen time moved to now, and how long the cookie should last."""
        now = int(self.clock())
        refreshed = Session(session.actor, session.session_id, session.signed_in_at, now)
        return self._session_cookie(refreshed), max(0, session.signed_in_at + SESSION_SECONDS - now)

    def actor_from(self, cookie: str | None) -> Actor | None:
        """The signed-in person, if the cookie is genuine and its session has not ended."""
        session = self.session_from(cookie)
        return None if session is None or self.ended(session) else session.actor

    def new_csrf(self) -> tuple[str, str]:
        """A fresh token and the signed cookie that holds it."""
        token = secrets.token_urlsafe(32)
        return token, self.sign("csrf", {"token": token})

    def csrf_token(self, cookie: str | None) -> str | None:
        payload = self.unsign("csrf", cookie)
        token = payload.get("token") if payload else None
        return token if isinstance(token, str) else None

    def csrf_matches(self, cookie: str | None, submitted: str | None) -> bool:
        expected = self.csrf_token(cookie)
        if not expected or not submitted:
            return False
        return hmac.compare_digest(expected.encode("utf-8"), submitted.encode("utf-8"))
