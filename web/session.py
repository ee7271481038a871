"""Signed cookies: the session (who is signed in) and the CSRF token every form carries.

A value is ``base64url(JSON).base64url(HMAC-SHA256)`` under a key derived from the server's token
secret, so a cookie the browser altered, or one signed by another server, is ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from domain.values import Actor, ClusterId, Role, SchoolUrn

SESSION_COOKIE = "fe_session"
CSRF_COOKIE = "fe_csrf"
CSRF_FIELD = "csrf_token"
# A one-time message for the page after a form's redirect ("Request submitted").
FLASH_COOKIE = "fe_flash"
# A session lasts at most this long after sign-in (an idle timeout comes with OIDC sign-in).
SESSION_SECONDS = 12 * 60 * 60


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: str) -> None:
        self.key = hmac.new(secret.encode("utf-8"), b"funding-engine web cookies", hashlib.sha256).digest()

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

    def session_for(self, actor: Actor) -> str:
        return self.sign(
            "session",
            {
                "sub": actor.sub,
                "role": actor.role.value,
                "school_urn": str(actor.school_urn) if actor.school_urn else None,
                "cluster_id": str(actor.cluster_id) if actor.cluster_id else None,
                "iat": int(time.time()),
            },
        )

    def actor_from(self, cookie: str | None) -> Actor | None:
        payload = self.unsign("session", cookie)
        if payload is None:
            return None
        try:
            if not 0 <= time.time() - int(payload["iat"]) <= SESSION_SECONDS:
                return None
            urn, cluster = payload.get("school_urn"), payload.get("cluster_id")
            return Actor(
                str(payload["sub"]),
                Role(payload["role"]),
                school_urn=SchoolUrn.parse(urn) if urn else None,
                cluster_id=ClusterId.parse(cluster) if cluster else None,
            )
        except (KeyError, TypeError, ValueError):
            return None

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
