"""Serves the web UI: the two pages (filled in from the templates beside this module) and their
script and style assets, under a policy that lets them load nothing from anywhere else."""

from __future__ import annotations

import html
import json
import os
import types
import typing
from functools import cache
from importlib import resources
from os import PathLike
from string import Template
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from api.deps import Runtime
from sdq.scaling_policy import ScalingPolicy
from sdq.schedulers import DEFAULT_SCHEDULER, scheduler_names
from sdq.settings import Settings

PLAYGROUND_URL = "/"
OPS_URL = "/ops"
ASSETS_URL = "/ui-assets"
# Where presigned output links point when outputs live on AWS S3 without an endpoint URL.
AWS_IMAGES = "https://*.amazonaws.com"

router = APIRouter(include_in_schema=False)


@cache
def _template(name: str) -> Template:
    text = resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")
    return Template(text)


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def image_sources(settings: Settings) -> str:
    """Where the pages may load images from: the API itself, the previews (data: URLs), the
    public URL output links are made with (when the page is reached another way, such as a
    port-forward), and the bucket presigned links point at when outputs live on object storage
    (path- or virtual-host-style: the endpoint and its subdomains)."""
    sources = ["'self'", "data:"]
    public = _origin(settings.public_url)
    if public is not None:
        sources.append(public)
    if settings.storage == "s3":
        endpoint = urlsplit(settings.s3_endpoint_url or "")
        if endpoint.netloc:
            sources += [
                f"{endpoint.scheme}://{endpoint.netloc}",
                f"{endpoint.scheme}://*.{endpoint.netloc}",
            ]
        else:
            sources.append(AWS_IMAGES)
    return " ".join(dict.fromkeys(sources))


def content_security_policy(settings: Settings) -> str:
    """Scripts, styles and calls from the API's own origin only: no inline script, no CDN."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {image_sources(settings)}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _optional(annotation: Any) -> bool:
    return isinstance(annotation, types.UnionType) and type(None) in typing.get_args(annotation)


def _integer(annotation: Any) -> bool:
    return annotation is int or (
        isinstance(annotation, types.UnionType) and int in typing.get_args(annotation)
    )


def policy_knobs() -> list[dict[str, Any]]:
    """Each scaling-policy knob for the console's editor: name, help, whether it may be unset
    and whether it takes whole numbers only."""
    return [
        {
            "name": name,
            "description": field.description or "",
            "optional": _optional(field.annotation),
            "integer": _integer(field.annotation),
        }
        for name, field in ScalingPolicy.model_fields.items()
    ]


def _script_json(value: Any) -> str:
    """JSON safe inside a `<script type="application/json">` element."""
    return json.dumps(value).replace("<", "\\u003c")


def _page(name: str, title: str, settings: Settings, **fields: str) -> HTMLResponse:
    current = ' aria-current="page"'
    header = _template("header.html").substitute(
        page_title=html.escape(title),
        playground_current=current if name == "playground" else "",
        ops_current=current if name == "ops" else "",
    )
    body = _template(f"{name}.html").substitute(
        header=header, signin=_template("signin.html").template, **fields
    )
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": content_security_policy(settings),
            "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


@router.get(PLAYGROUND_URL, response_class=HTMLResponse)
async def playground(runtime: Runtime) -> HTMLResponse:
    options = "".join(
        f"<option{' selected' if name == DEFAULT_SCHEDULER else ''}>{html.escape(name)}</option>"
        for name in scheduler_names()
    )
    return _page("playground", "playground", runtime.settings, scheduler_options=options)


@router.get(OPS_URL, response_class=HTMLResponse)
async def operator_console(runtime: Runtime) -> HTMLResponse:
    knobs = _script_json(policy_knobs())
    return _page("ops", "operator console", runtime.settings, policy_knobs=knobs)


class Assets(StaticFiles):
    """The pages' scripts and styles, checked again (ETag) on every load: after an upgrade no
    browser keeps an old script beside a new page."""

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install_web_ui(app: FastAPI) -> None:
    """The pages and their assets. Open without a key: they hold no data; every call they make
    carries the key the person signs in with."""
    app.include_router(router)
    assets = resources.files(__package__).joinpath("static")
    app.mount(ASSETS_URL, Assets(directory=str(assets)), name="ui-assets")
