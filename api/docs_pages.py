"""The API's documentation pages, /docs and /redoc, with every asset served from a package."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs-assets"
# Swagger UI's bundle and CSS, ReDoc's standalone bundle and a favicon, as the fastapi-offline
# wheel ships them: the pages load nothing from a CDN, so they render on an air-gapped cluster.
ASSETS_PACKAGE = ("fastapi_offline", "static")
# The pages may load from their own origin only. ReDoc's bundle hard-codes one image off-site
# (the Redocly logo in its menu, from a CDN): the browser refuses it rather than reaching out.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",  # the pages start the UIs from an inline script
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
    )
)

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    """The path prefix the API is served under (behind a proxy that strips one)."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def _openapi_url(request: Request) -> str:
    url: str = request.app.openapi_url
    return _root(request) + url


def _self_contained(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


@router.get(DOCS_URL, response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    assets = _root(request) + ASSETS_URL
    page = get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png",
        oauth2_redirect_url=_root(request) + OAUTH2_REDIRECT_URL,
        # No badge from the public validator service either.
        swagger_ui_parameters={"validatorUrl": None},
    )
    return _self_contained(page)


@router.get(OAUTH2_REDIRECT_URL, response_class=HTMLResponse)
async def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_URL, response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    assets = _root(request) + ASSETS_URL
    page = get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{assets}/redoc.standalone.js",
        redoc_favicon_url=f"{assets}/favicon.png",
        with_google_fonts=False,
    )
    return _self_contained(page)


def install_docs_pages(app: FastAPI) -> None:
    """Serve the pages and their assets; the app is built with docs_url=None, redoc_url=None."""
    app.mount(ASSETS_URL, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")
    app.include_router(router)
