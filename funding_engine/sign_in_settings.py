"""The web sign-in's settings: the council's OpenID Provider, how its claims map to our actors,
and how long a web session may sit idle. ``Settings`` (``funding_engine.settings``) includes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Our roles, as the role claim's values map to them (domain.values.Role's values).
ROLE_NAMES = ("school", "cluster_lead", "council", "finance")
# Without a mapping, the role claim's values are our roles' own names.
DEFAULT_OIDC_ROLES = {name: name for name in ROLE_NAMES}
# An identity provider on this machine may speak plain HTTP (a test's, or a developer's); any other must not.
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class OidcSettings:
    """Sign-in with the council's OpenID Provider (see the README, "Sign-in for a council")."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_base_url: str
    scopes: tuple[str, ...]
    role_claim: str
    roles: dict[str, str]  # a role claim value -> one of ROLE_NAMES
    cluster_claim: str
    school_urn_claim: str
    staff_id_claim: str

    @property
    def redirect_uri(self) -> str:
        return f"{self.redirect_base_url}/sign-in/callback"


class SignInSettings(BaseSettings):
    """Each field reads ``FUNDING_ENGINE_<NAME>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="FUNDING_ENGINE_", extra="ignore", hide_input_in_errors=True)

    # Sign-in to the web pages with the council's OpenID Provider (authorisation code flow with
    # PKCE). Unset issuer: no such sign-in (development mode lists demo users instead).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    # A file holding the client secret (a mounted secret), instead of OIDC_CLIENT_SECRET.
    oidc_client_secret_file: Path | None = None
    # Where people reach this server, e.g. https://funding.example.gov.uk; the provider sends
    # them back to <this>/sign-in/callback, which must be registered with it.
    oidc_redirect_base_url: str | None = None
    oidc_scopes: str = "openid profile"
    # Which ID-token claim holds the role (a string or a list, as Entra ID's "roles" is), and
    # which of its values mean which of our roles (JSON: {"SEND.Senco": "school", ...}).
    oidc_role_claim: str = "roles"
    oidc_roles: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_OIDC_ROLES))
    oidc_cluster_claim: str = "cluster_id"
    oidc_school_urn_claim: str = "school_urn"
    oidc_staff_id_claim: str = "sub"
    # A web session ends after this long without a page, and in any case 12 hours after sign-in.
    session_idle_minutes: float = Field(default=30.0, gt=0, le=12 * 60)

    @field_validator("oidc_issuer", "oidc_redirect_base_url")
    @classmethod
    def _oidc_url_is_usable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        name = f"FUNDING_ENGINE_{(info.field_name or '').upper()}"
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{name} must be an https:// URL with no query, e.g. https://login.example.gov.uk/tenant")
        if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
            raise ValueError(f"{name} must use https:// (plain http is only for a provider on this machine)")
        return value.rstrip("/") if info.field_name == "oidc_redirect_base_url" else value

    @field_validator("oidc_roles")
    @classmethod
    def _oidc_roles_are_ours(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted({role for role in value.values() if role not in ROLE_NAMES})
        if unknown or not value:
            raise ValueError(
                "FUNDING_ENGINE_OIDC_ROLES must map role claim values to our roles "
                f"({', '.join(ROLE_NAMES)}); unknown: {', '.join(unknown) or 'the mapping is empty'}"
            )
        return value

    @model_validator(mode="after")
    def _oidc_is_complete(self) -> SignInSettings:
        if self.oidc_client_secret is not None and self.oidc_client_secret_file is not None:
            raise ValueError(
                "set FUNDING_ENGINE_OIDC_CLIENT_SECRET or FUNDING_ENGINE_OIDC_CLIENT_SECRET_FILE, not both"
            )
        if self.oidc_issuer is None:
            return self
        missing = [
            f"FUNDING_ENGINE_{name.upper()}"
            for name, given in (
                ("oidc_client_id", self.oidc_client_id),
                ("oidc_client_secret", self.oidc_client_secret or self.oidc_client_secret_file),
                ("oidc_redirect_base_url", self.oidc_redirect_base_url),
            )
            if not given
        ]
        if missing:
            raise ValueError(f"FUNDING_ENGINE_OIDC_ISSUER is set, so these must be too: {', '.join(missing)}")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("FUNDING_ENGINE_OIDC_SCOPES must include openid")
        return self

    @property
    def oidc(self) -> OidcSettings | None:
        """The OpenID Connect sign-in, if configured; the secret file is read here, at start-up."""
        if self.oidc_issuer is None or self.oidc_client_id is None or self.oidc_redirect_base_url is None:
            return None
        if self.oidc_client_secret_file is not None:
            try:
                secret = self.oidc_client_secret_file.read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ValueError(f"FUNDING_ENGINE_OIDC_CLIENT_SECRET_FILE cannot be read: {error.strerror}") from None
            if not secret:
                raise ValueError("FUNDING_ENGINE_OIDC_CLIENT_SECRET_FILE is empty")
        else:
            secret = self.oidc_client_secret.get_secret_value() if self.oidc_client_secret else ""
        return OidcSettings(
            issuer=self.oidc_issuer,
            client_id=self.oidc_client_id,
            client_secret=secret,
            redirect_base_url=self.oidc_redirect_base_url,
            scopes=tuple(self.oidc_scopes.split()),
            role_claim=self.oidc_role_claim,
            roles=dict(self.oidc_roles),
            cluster_claim=self.oidc_cluster_claim,
            school_urn_claim=self.oidc_school_urn_claim,
            staff_id_claim=self.oidc_staff_id_claim,
        )
