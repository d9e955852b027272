"""`sdq scaling show|set`: read and change a model's scaling policy through the admin API."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.api_key import api_key, bearer
from cli.client import ApiProblem
from cli.reporting import reported
from sdq.scaling_policy import ScalingPolicy

app = typer.Typer(
    help="Read and tune a model's scaling policy (live). Needs an admin key in SDQ_API_KEY (else "
    "SDQ_ADMIN_KEY) when the API requires keys.",
    no_args_is_help=True,
)
console = Console()

UrlOpt = Annotated[
    str, typer.Option(envvar="SDQ_URL", show_envvar=False, help="sdq API (env SDQ_URL).")
]


def _url(base: str, model: str) -> str:
    return f"{base.rstrip('/')}/v1/admin/models/{model}/scaling"


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; values are JSON (numbers, null), else kept as text."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {pair!r}")
        try:
            changes[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            changes[key.strip()] = value
    return changes


def _show(policy: dict[str, Any], model: str) -> None:
    table = Table(title=f"scaling policy of {model}", show_header=False, title_justify="left")
    for key, value in policy.items():
        table.add_row(key, json.dumps(value))
    console.print(table)


def _default(value: Any) -> str:
    return "unset" if value is None else json.dumps(value)


def knobs() -> str:
    """Every ScalingPolicy knob with its meaning and default, one a line (for `set --help`)."""
    fields = ScalingPolicy.model_fields
    width = max(len(name) for name in fields)
    lines = [
        f"{name:<{width}}  {field.description} (default: {_default(field.default)})"
        for name, field in fields.items()
    ]
    return escape("Knobs (values are JSON; null unsets an optional one):\n" + "\n".join(lines))


def _checked(response: httpx.Response) -> dict[str, Any]:
    if not response.is_success:
        raise ApiProblem.of(response)
    policy: dict[str, Any] = response.json()
    return policy


@app.command()
def show(
    model: Annotated[str, typer.Argument(help="owner/name")],
    url: UrlOpt = "http://127.0.0.1:7860",
) -> None:
    """Print the policy the scaler follows now."""
    with reported(url):
        policy = _checked(httpx.get(_url(url, model), headers=bearer(api_key()), timeout=30))
    _show(policy, model)


@app.command("set", epilog=knobs())
def set_(
    model: Annotated[str, typer.Argument(help="owner/name")],
    assignments: Annotated[
        list[str],
        typer.Argument(metavar="KEY=VALUE", help="Knobs to change, e.g. max_replicas=4."),
    ],
    url: UrlOpt = "http://127.0.0.1:7860",
) -> None:
    """Change some knobs; the scaler applies the whole new policy on its next tick. The change
    log records the name of the admin key that made it."""
    changes = parse_assignments(assignments)
    headers = bearer(api_key())
    with reported(url):
        policy = _checked(httpx.get(_url(url, model), headers=headers, timeout=30)) | changes
        changed = _checked(httpx.put(_url(url, model), json=policy, headers=headers, timeout=30))
    _show(changed, model)
