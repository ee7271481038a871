"""Bearer JWTs: HS256 only, ``exp`` required, claims turned into the domain's ``Actor``.

The algorithm is pinned on decode, so a token claiming ``alg: none`` or any other algorithm is
refused whatever it says about itself.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from api.errors import Unauthenticated
from domain.errors import InvalidValue
from domain.values import Actor, ClusterId, Role, SchoolUrn

ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32


def issue_token(
    secret: str,
    *,
    role: Role | str,
    sub: str,
    school_urn: str | None = None,
    cluster_id: str | None = None,
    minutes: int = 60,
) -> str:
    role = role if isinstance(role, Role) else Role(role)
    actor = Actor(
        sub,
        role,
        school_urn=SchoolUrn.parse(school_urn) if school_urn else None,
        cluster_id=ClusterId.parse(cluster_id) if cluster_id else None,
    )
    claims: dict[str, Any] = {"sub": actor.sub, "role": actor.role.value, "exp": int(time.time()) + minutes * 60}
    if actor.school_urn:
        claims["school_urn"] = str(actor.school_urn)
    if actor.cluster_id:
        claims["cluster_id"] = str(actor.cluster_id)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def actor_from_token(token: str, secret: str) -> Actor:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "role"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.MissingRequiredClaimError as error:
        raise Unauthenticated(f"the token lacks the {error.claim!r} claim") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("the token is not valid") from None
    try:
        role = Role(claims["role"])
        return Actor(
            str(claims["sub"]),
            role,
            school_urn=SchoolUrn(claims["school_urn"]) if role is Role.SCHOOL else None,
            cluster_id=ClusterId(claims["cluster_id"]) if role is Role.CLUSTER_LEAD else None,
        )
    except (KeyError, ValueError, TypeError, InvalidValue) as error:
        raise Unauthenticated(f"the token's claims are not usable: {error}") from None


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <token>")
    return token.strip()
