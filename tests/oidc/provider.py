"""A real OpenID Provider for the tests (``provider.mjs``: the ``oidc-provider`` package run with
Node), and a person going through its login and consent pages without a browser.

The provider knows two clients: this engine (``CLIENT_ID``), and another service of the council's
(``OTHER_CLIENT_ID``) whose ID tokens a test replays at the engine to check the audience.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx

from funding_engine.settings import OidcSettings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "provider.mjs"
CLIENT_ID = "funding-engine"
CLIENT_SECRET = "engine-client-secret-kept-by-the-council-only"
OTHER_CLIENT_ID = "other-council-service"
OTHER_CLIENT_SECRET = "another-service-client-secret-of-the-council"
OTHER_REDIRECT_URI = "http://127.0.0.1:9/other-service/callback"  # never followed
# How provider.mjs's accounts' "roles" values map to ours, as a council would configure it.
ROLES = {
    "SEND.Senco": "school",
    "SEND.ClusterLead": "cluster_lead",
    "SEND.Council": "council",
    "SEND.Finance": "finance",
}


@dataclass
class OpenIDProvider:
    issuer: str
    log: Path

    def settings(self, redirect_base_url: str) -> OidcSettings:
        """The engine's OIDC settings for this provider, as FUNDING_ENGINE_OIDC_* would give them."""
        return OidcSettings(
            issuer=self.issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_base_url=redirect_base_url,
            scopes=("openid", "profile"),
            role_claim="roles",
            roles=dict(ROLES),
            cluster_claim="cluster_id",
            school_urn_claim="school_urn",
            staff_id_claim="sub",
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_provider(redirect_uris: list[str], folder: Path) -> Iterator[OpenIDProvider]:
    """Start provider.mjs with Node, registering the engine with ``redirect_uris``; stop it after."""
    node = shutil.which("node")
    assert node, "Node.js is needed for the OpenID Provider (apt-get install nodejs; make does)"
    assert (ROOT / "node_modules" / "oidc-provider").is_dir(), "oidc-provider is missing: run `npm ci`"
    port = free_port()
    config = {
        "port": port,
        "clients": [
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": redirect_uris},
            {
                "client_id": OTHER_CLIENT_ID,
                "client_secret": OTHER_CLIENT_SECRET,
                "redirect_uris": [OTHER_REDIRECT_URI],
            },
        ],
    }
    log = folder / f"oidc-provider-{port}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [node, str(SCRIPT), json.dumps(config)], cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 20
        while "READY " not in log.read_text():
            assert process.poll() is None, f"the OpenID Provider stopped:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the OpenID Provider did not start:\n{log.read_text()}"
            time.sleep(0.05)
        yield OpenIDProvider(f"http://127.0.0.1:{port}", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.IGNORECASE)
_PROMPT = re.compile(r'name="prompt" value="([a-z]+)"')


def through_provider(person: httpx.Client, authorize_url: str, login: str, issuer: str) -> str:
    """Follow ``authorize_url`` as ``login`` would: type the login on the provider's page, agree
    on its consent page; return the URL the provider then sends the browser to (the callback)."""
    response = person.get(authorize_url)
    for _ in range(12):
        if response.is_redirect:
            location = urljoin(str(response.url), response.headers["location"])
            if not location.startswith(issuer):
                return location
            response = person.get(location)
            continue
        assert response.status_code == 200, response.text
        form, prompt = _FORM.search(response.text), _PROMPT.search(response.text)
        assert form and prompt, response.text
        action = urljoin(str(response.url), unescape(form.group(1)))
        fields = {"prompt": prompt.group(1)}
        if prompt.group(1) == "login":
            fields |= {"login": login, "password": "any password will do"}
        response = person.post(action, data=fields)
    raise AssertionError("the provider did not send the browser back")
