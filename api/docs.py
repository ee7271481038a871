"""The API documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, served whole from this server.

FastAPI's own pages load Swagger UI's and ReDoc's files from a CDN, which council networks often
block, leaving a blank page. Here the files come from the ``fastapi-offline`` package, installed
with the engine from the package registry (nothing is copied into this repository), and the pages
load no font or script from anywhere else.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = "/docs/assets"
# swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png
ASSETS_PACKAGE = "fastapi_offline"


def install(api: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their files; build ``api`` with ``docs_url=None, redoc_url=None``."""
    folder = resources.files(ASSETS_PACKAGE) / "static"
    api.mount(ASSETS, StaticFiles(directory=str(folder)), name="docs-assets")
    openapi_url = api.openapi_url or "/openapi.json"

    @api.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{api.title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            # Swagger UI would otherwise ask an online validator for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @api.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{api.title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
