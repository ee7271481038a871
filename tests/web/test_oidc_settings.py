"""The sign-in settings refuse, at start-up and with a message naming the variable, what would
otherwise fail at the first person's sign-in."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from funding_engine.settings import Settings

COMPLETE: dict[str, Any] = {
    "oidc_issuer": "https://login.example.gov.uk/council/v2.0",
    "oidc_client_id": "funding-engine",
    "oidc_client_secret": "a-client-secret",
    "oidc_redirect_base_url": "https://funding.example.gov.uk/",
}


def test_complete_settings_give_the_sign_in_with_defaults():
    oidc = Settings(**COMPLETE).oidc
    assert oidc is not None
    assert oidc.redirect_uri == "https://funding.example.gov.uk/sign-in/callback"
    assert oidc.scopes == ("openid", "profile") and oidc.role_claim == "roles" and oidc.staff_id_claim == "sub"
    assert oidc.roles == {
        "school": "school",
        "cluster_lead": "cluster_lead",
        "council": "council",
        "finance": "finance",
    }
    assert Settings().oidc is None and Settings().session_idle_minutes == 30


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"oidc_client_id": None},
            "FUNDING_ENGINE_OIDC_ISSUER is set, so these must be too: FUNDING_ENGINE_OIDC_CLIENT_ID",
        ),
        ({"oidc_client_secret": None}, "these must be too: FUNDING_ENGINE_OIDC_CLIENT_SECRET"),
        ({"oidc_issuer": "http://login.example.gov.uk"}, "FUNDING_ENGINE_OIDC_ISSUER must use https://"),
        (
            {"oidc_redirect_base_url": "funding.example.gov.uk"},
            "FUNDING_ENGINE_OIDC_REDIRECT_BASE_URL must be an https://",
        ),
        ({"oidc_roles": {"SEND.Senco": "headteacher"}}, "unknown: headteacher"),
        ({"oidc_scopes": "profile email"}, "FUNDING_ENGINE_OIDC_SCOPES must include openid"),
        ({"oidc_client_secret_file": "/run/secrets/oidc"}, "not both"),
        ({"session_idle_minutes": 0}, "session_idle_minutes"),
    ],
)
def test_incomplete_or_unsafe_settings_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{**COMPLETE, **changes})


def test_a_provider_on_this_machine_may_use_plain_http():
    assert Settings(**{**COMPLETE, "oidc_issuer": "http://127.0.0.1:5000"}).oidc is not None
