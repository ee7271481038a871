"""A server installed without GOV.UK Frontend (no ``npm ci``) serves the API alone, and says why."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

import web.app
from funding_engine.server import create_from_environment

SECRET = "web-assets-test-secret-" + "Zq8xVb3nLm0pWk5rTy7u"


def test_without_the_browser_assets_the_api_serves_and_the_pages_are_off(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(web.app, "GOVUK_DIST", tmp_path / "not-installed")
    monkeypatch.setenv("FUNDING_ENGINE_DATABASE_URL", database_url)
    monkeypatch.setenv("FUNDING_ENGINE_JWT_SECRET", SECRET)
    caplog.set_level(logging.WARNING, logger="funding_engine.api")

    api = create_from_environment()
    with TestClient(api, base_url="http://127.0.0.1", follow_redirects=False) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/").status_code == 404
        assert client.get("/assets/govuk-frontend.min.css").status_code == 404

    assert any("web pages off" in record.getMessage() for record in caplog.records)
