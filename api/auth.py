"""Bearer tokens over HTTP: the ``Authorization`` header, and a refused token as a 401.

What a token is and when it is valid is ``funding_engine.tokens``; this module only reads the
header and turns the token's refusal into ``Unauthenticated``, with the same reason.
"""

from __future__ import annotations

from api.errors import Unauthenticated
from domain.values import Actor
from funding_engine.settings import DEFAULT_TOKEN_MAX_LIFETIME_MINUTES
from funding_engine.tokens import InvalidToken
from funding_engine.tokens import actor_from_token as verified_actor


def actor_from_token(
    token: str, secret: str, *, max_lifetime_minutes: int = DEFAULT_TOKEN_MAX_LIFETIME_MINUTES
) -> Actor:
    try:
        return verified_actor(token, secret, max_lifetime_minutes=max_lifetime_minutes)
    except InvalidToken as error:
        raise Unauthenticated(str(error)) from None


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <token>")
    return token.strip()
