"""`sdq scaling show|set`: read and change a model's scaling policy through the admin API."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Read and tune a model's scaling policy (live).", no_args_is_help=True)
console = Console()

UrlOpt = Annotated[str, typer.Option(envvar="SDQ_URL", help="sdq API base URL.")]


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


def _fail(response: httpx.Response) -> None:
    body = response.json()
    console.print(f"[red]HTTP {response.status_code}: {body.get('detail')}[/]")
    raise typer.Exit(2)


@app.command()
def show(
    model: Annotated[str, typer.Argument(help="owner/name")],
    url: UrlOpt = "http://127.0.0.1:7860",
) -> None:
    """Print the policy the scaler follows now."""
    response = httpx.get(_url(url, model), timeout=30)
    if not response.is_success:
        _fail(response)
    _show(response.json(), model)


@app.command("set")
def set_(
    model: Annotated[str, typer.Argument(help="owner/name")],
    assignments: Annotated[list[str], typer.Argument(help="key=value ... (e.g. max_replicas=4)")],
    url: UrlOpt = "http://127.0.0.1:7860",
    actor: Annotated[str, typer.Option(help="Recorded as who made the change.")] = "cli",
) -> None:
    """Change some fields; the scaler applies the whole new policy on its next tick."""
    current = httpx.get(_url(url, model), timeout=30)
    if not current.is_success:
        _fail(current)
    policy = current.json() | parse_assignments(assignments)
    response = httpx.put(_url(url, model), json=policy, headers={"X-Sdq-Actor": actor}, timeout=30)
    if not response.is_success:
        _fail(response)
    _show(response.json(), model)
