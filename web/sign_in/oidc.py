"""Sign-in with the council's OpenID Provider: the authorisation code flow with PKCE.

Authlib does the protocol's parts (the authorisation request, PKCE's S256 challenge, client
authentication with ``client_secret_basic``, the ID token's claims rules) and joserfc, Authlib's
own JOSE library, checks the ID token's signature against the provider's published keys (JWKS).
The HTTP calls go through httpx. Nothing is trusted that the provider did not sign: the ID token
must verify under the provider's keys with an asymmetric algorithm, name the configured issuer and
this client as its audience, be unexpired, and carry the nonce this browser's sign-in started with;
the ``state`` the provider sends back must be the one this browser's sign-in started with.

What the server keeps between sending the person to the provider and their return (state, nonce,
PKCE verifier, the page to go back to) is in a signed cookie of its own (``fe_oidc``, ten minutes).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from domain.errors import InvalidValue
from domain.values import Actor, ClusterId, Role, SchoolUrn
from funding_engine.settings import OidcSettings

log = logging.getLogger("funding_engine.web.sign_in")

# Signed by the provider's private key and checked with its published public one. A symmetric
# algorithm (HS256 keyed with the client secret) or "none" is refused, whatever the token says.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
# How long a person may take at the provider between leaving and coming back.
PENDING_SECONDS = 10 * 60
# Clock difference tolerated between the provider and this server when checking exp and iat.
LEEWAY_SECONDS = 60

# What the refusal page says, by cause; the technical detail goes to the log only.
START_AGAIN = "The sign-in could not be matched to the one this browser started, or it took too long. Start again."
NOT_VERIFIED = (
    "The answer from your organisation's sign-in service could not be verified, so you have not been signed in."
)
PROVIDER_REFUSED = "Your organisation's sign-in service did not sign you in."
NO_ROLE = (
    "Your account is not set up for this service: it has no role here. "
    "Ask your council's service administrator to give your account a role."
)


class SignInRefused(Exception):
    """The sign-in did not prove who the person is and what they may do: no session is made."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(detail)
        self.message = message  # for the person
        self.detail = detail  # for the log


class ProviderUnavailable(Exception):
    """The provider cannot be reached, or its discovery document is not one we can use."""


@dataclass(frozen=True)
class Pending:
    """A sign-in under way: what the callback must match, and where to go afterwards."""

    state: str
    nonce: str
    verifier: str
    next: str
    started_at: int

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> Pending | None:
        if payload is None:
            return None
        try:
            return cls(**{name: payload[name] for name in ("state", "nonce", "verifier", "next", "started_at")})
        except (KeyError, TypeError):
            return None

    def payload(self) -> dict[str, Any]:
        return asdict(self)


class OidcClient:
    """This server as a relying party of one provider. ``transport`` and ``clock`` are for tests."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.clock = clock
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=10.0, follow_redirects=False)

    async def _get_json(self, url: str) -> Any:
        try:
            async with self._http() as client:
                response = await client.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"{url}: {error}") from error

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, fetched once (and again after a failure)."""
        if self._metadata is None:
            issuer = self.settings.issuer
            metadata = await self._get_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
            if not isinstance(metadata, dict) or metadata.get("issuer") != issuer:
                raise ProviderUnavailable(f"the discovery document at {issuer} is for another issuer")
            needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
            missing = [name for name in needed if name not in metadata]
            if missing:
                raise ProviderUnavailable(f"the discovery document lacks {', '.join(missing)}")
            methods = metadata.get("code_challenge_methods_supported")
            if methods is not None and "S256" not in methods:
                raise ProviderUnavailable("the provider does not support PKCE with S256")
            self._metadata = metadata
        return self._metadata

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            jwks = await self._get_json((await self.metadata())["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(jwks)
            except (JoseError, ValueError, TypeError, KeyError) as error:
                raise ProviderUnavailable(f"the provider's keys cannot be read: {error}") from error
        return self._keys

    async def start(self, next_path: str) -> tuple[str, Pending]:
        """Where to send the person to sign in, and what to keep until they come back."""
        metadata = await self.metadata()
        pending = Pending(
            state=generate_token(32),
            nonce=generate_token(32),
            verifier=generate_token(64),
            next=next_path,
            started_at=int(self.clock()),
        )
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            self.settings.client_id,
            "code",
            redirect_uri=self.settings.redirect_uri,
            scope=" ".join(self.settings.scopes),
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.verifier),
            code_challenge_method="S256",
        )
        return url, pending

    async def finish(self, pending: Pending | None, params: Mapping[str, str]) -> dict[str, Any]:
        """The verified ID token's claims for the provider's answer ``params``; ``SignInRefused`` otherwise."""
        if pending is None or not 0 <= self.clock() - pending.started_at <= PENDING_SECONDS:
            raise SignInRefused(START_AGAIN, "no sign-in under way in this browser (no cookie, or it expired)")
        state = params.get("state") or ""
        if not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise SignInRefused(START_AGAIN, "the state sent back is not the one this sign-in started with")
        if params.get("iss", self.settings.issuer) != self.settings.issuer:
            # RFC 9207: an answer that another provider sent here is a mix-up, not a sign-in.
            raise SignInRefused(NOT_VERIFIED, f"the answer names another issuer: {params['iss']!r}")
        if "error" in params:
            raise SignInRefused(
                PROVIDER_REFUSED, f"the provider answered {params['error']}: {params.get('error_description', '')}"
            )
        code = params.get("code")
        if not code:
            raise SignInRefused(NOT_VERIFIED, "the provider sent back no code")
        tokens = await self._exchange(code, pending.verifier)
        return await self._verified_claims(tokens, pending.nonce)

    async def _exchange(self, code: str, verifier: str) -> dict[str, Any]:
        endpoint = (await self.metadata())["token_endpoint"]
        body = urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.redirect_uri,
                "code_verifier": verifier,
            }
        )
        auth = ClientAuth(self.settings.client_id, self.settings.client_secret, "client_secret_basic")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        uri, headers, body = auth.prepare("POST", endpoint, headers, body)
        try:
            async with self._http() as client:
                response = await client.post(uri, content=body, headers=headers)
            tokens = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInRefused(NOT_VERIFIED, f"the token endpoint could not be used: {error}") from error
        if response.status_code != 200 or not isinstance(tokens, dict):
            raise SignInRefused(NOT_VERIFIED, f"the token endpoint answered {response.status_code}: {tokens!r:.200}")
        return tokens

    async def _verified_claims(self, tokens: Mapping[str, Any], nonce: str) -> dict[str, Any]:
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused(NOT_VERIFIED, "the token endpoint sent no ID token")
        offered = (await self.metadata()).get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [name for name in offered if name in ASYMMETRIC_ALGORITHMS]
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), algorithms=algorithms)
            except InvalidKeyIdError:
                # The provider may have rotated its keys since we fetched them.
                token = jwt.decode(id_token, await self._key_set(refresh=True), algorithms=algorithms)
        except (JoseError, ValueError) as error:
            raise SignInRefused(NOT_VERIFIED, f"the ID token's signature does not verify: {error!r}") from error
        settings = self.settings
        audience = token.claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or settings.client_id not in audiences:
            raise SignInRefused(NOT_VERIFIED, f"the ID token is for another audience: {audience!r}")
        claims = CodeIDToken(
            token.claims,
            token.header,
            {
                "iss": {"essential": True, "value": settings.issuer},
                "aud": {"essential": True, "value": settings.client_id},
            },
            {"nonce": nonce, "client_id": settings.client_id, "access_token": tokens.get("access_token")},
        )
        try:
            claims.validate(now=int(self.clock()), leeway=LEEWAY_SECONDS)
        except JoseError as error:
            raise SignInRefused(NOT_VERIFIED, f"the ID token's claims are not acceptable: {error!r}") from error
        return dict(claims)


def actor_from_claims(claims: Mapping[str, Any], settings: OidcSettings) -> Actor:
    """The person the verified claims describe, as one of our roles; ``SignInRefused`` if they map to none."""
    staff_id = claims.get(settings.staff_id_claim)
    if not isinstance(staff_id, str) or not staff_id:
        raise SignInRefused(NO_ROLE, f"the ID token has no {settings.staff_id_claim!r} claim to identify the person")
    given = claims.get(settings.role_claim)
    values = [given] if isinstance(given, str) else given if isinstance(given, list) else []
    roles = {settings.roles[value] for value in values if isinstance(value, str) and value in settings.roles}
    if not roles:
        raise SignInRefused(NO_ROLE, f"{staff_id}: no {settings.role_claim!r} value maps to a role ({given!r})")
    if len(roles) > 1:
        raise SignInRefused(
            "Your account has more than one role in this service, and a person signs in with one. "
            "Ask your council's service administrator to leave your account with one role.",
            f"{staff_id}: {settings.role_claim!r} maps to several roles ({', '.join(sorted(roles))})",
        )
    role = Role(roles.pop())
    try:
        school = claims.get(settings.school_urn_claim) if role is Role.SCHOOL else None
        cluster = claims.get(settings.cluster_claim) if role is Role.CLUSTER_LEAD else None
        return Actor(
            staff_id,
            role,
            school_urn=SchoolUrn.parse(str(school)) if school else None,
            cluster_id=ClusterId.parse(str(cluster)) if cluster else None,
        )
    except InvalidValue as error:
        scope = "school (its URN)" if role is Role.SCHOOL else "cluster"
        raise SignInRefused(
            f"Your account has a role in this service but not the {scope} it is for. "
            "Ask your council's service administrator to complete your account.",
            f"{staff_id}: {error}",
        ) from error
