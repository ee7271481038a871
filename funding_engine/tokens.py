"""The engine's bearer tokens: issuing and verifying them. HS256 only, a numeric ``exp`` required,
a capped lifetime, claims turned into the domain's ``Actor`` and back.

The command line issues them (``funding-engine token``, ``serve --dev``); the API verifies them
(``api/auth.py`` reads the header and answers 401 with the reason given here).

The algorithm is pinned on decode, so a token claiming ``alg: none`` or any other algorithm is
refused whatever it says about itself. The time claims are checked here rather than by PyJWT:
PyJWT reads them with ``int()``, so ``"exp": "99999999999"`` or ``"exp": true`` would pass, and
its one leeway would loosen ``exp`` as much as ``iat`` and ``nbf``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import jwt

from domain.errors import InvalidValue
from domain.values import Actor, ClusterId, Role, SchoolUrn
from funding_engine.settings import DEFAULT_TOKEN_MAX_LIFETIME_MINUTES

ALGORITHM = "HS256"
# How far ahead of this server's clock an issuer's clock may be: a token stamped (iat) or valid
# from (nbf) up to this many seconds in the future is accepted. Never applied to exp: an expired
# token stays expired.
CLOCK_SKEW_SECONDS = 30


class InvalidToken(Exception):
    """The token is not one this engine accepts; the message says why (it is shown to the caller)."""


def issue_token(
    secret: str,
    *,
    role: Role | str,
    sub: str,
    school_urn: str | None = None,
    cluster_id: str | None = None,
    minutes: int = 60,
) -> str:
    """A token for the actor described, valid for ``minutes`` from now."""
    role = role if isinstance(role, Role) else Role(role)
    actor = Actor(
        sub,
        role,
        school_urn=SchoolUrn.parse(school_urn) if school_urn else None,
        cluster_id=ClusterId.parse(cluster_id) if cluster_id else None,
    )
    issued_at = int(time.time())
    claims: dict[str, Any] = {
        "sub": actor.sub,
        "role": actor.role.value,
        "iat": issued_at,
        "exp": issued_at + minutes * 60,
    }
    if actor.school_urn:
        claims["school_urn"] = str(actor.school_urn)
    if actor.cluster_id:
        claims["cluster_id"] = str(actor.cluster_id)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def actor_from_token(
    token: str, secret: str, *, max_lifetime_minutes: int = DEFAULT_TOKEN_MAX_LIFETIME_MINUTES
) -> Actor:
    """The actor a token signed with ``secret`` speaks for, or ``InvalidToken`` saying why not."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={
                "require": ["exp", "sub", "role"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.MissingRequiredClaimError as error:
        raise InvalidToken(f"the token lacks the {error.claim!r} claim") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("the token is not valid") from None
    _check_times(claims, max_lifetime_minutes * 60)
    try:
        role = Role(claims["role"])
        return Actor(
            str(claims["sub"]),
            role,
            school_urn=SchoolUrn(claims["school_urn"]) if role is Role.SCHOOL else None,
            cluster_id=ClusterId(claims["cluster_id"]) if role is Role.CLUSTER_LEAD else None,
        )
    except (KeyError, ValueError, TypeError, InvalidValue) as error:
        raise InvalidToken(f"the token's claims are not usable: {error}") from None


def _check_times(claims: dict[str, Any], max_lifetime_seconds: int) -> None:
    now = time.time()
    expires = _seconds(claims, "exp")
    if expires <= now:
        raise InvalidToken("the token has expired")
    for claim in ("iat", "nbf"):
        if claim in claims and _seconds(claims, claim) > now + CLOCK_SKEW_SECONDS:
            raise InvalidToken(f"the token is not valid yet ({claim} is in the future)")
    # Measured from when it was issued, or, with no iat, from now (allowing the issuer's clock
    # to be ahead): a token that says it was issued a year ago cannot last until tomorrow.
    if "iat" in claims:
        lifetime = expires - _seconds(claims, "iat")
    else:
        lifetime = expires - now - CLOCK_SKEW_SECONDS
    if lifetime > max_lifetime_seconds:
        raise InvalidToken(f"the token lasts longer than the {max_lifetime_seconds // 60} minutes this server accepts")


def _seconds(claims: dict[str, Any], claim: str) -> float:
    value = claims[claim]
    # JSON numbers only: a string, a boolean (a bool is an int in Python) or null is refused, and
    # so is a number no clock will reach (an integer too big for a float, or 1e400).
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
        if math.isfinite(seconds):
            return seconds
    raise InvalidToken(f"the token's {claim!r} claim must be a number of seconds since 1970")
