"""`sdq keys create|list|revoke`: manage API keys through a running server's admin API."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.api_key import api_key
from cli.client import SdqClient
from cli.reporting import reported
from sdq.api_keys import Role

app = typer.Typer(
    help="Create, list and revoke API keys (needs an admin key in SDQ_API_KEY, else "
    "SDQ_ADMIN_KEY).",
    no_args_is_help=True,
)
out = Console()
notes = Console(stderr=True)
KEYS = "/v1/admin/keys"

UrlOpt = Annotated[
    str, typer.Option(envvar="SDQ_URL", show_envvar=False, help="sdq API (env SDQ_URL).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the server's JSON answer instead.")]


def when(timestamp: float | None) -> str:
    """A record's time in local time, to the minute ("never" when unset)."""
    if timestamp is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def key_table(keys: list[dict[str, Any]]) -> Table:
    """The keys as a table: id, name, role, created, last used (no secrets: none are sent)."""
    table = Table(title_justify="left", show_edge=False)
    for column in ("id", "name", "role", "created", "last used"):
        table.add_column(column, no_wrap=column == "id")
    for key in sorted(keys, key=lambda k: (k["name"], k["created_at"])):
        last_used = when(key.get("last_used_at"))
        table.add_row(key["id"], key["name"], key["role"], when(key["created_at"]), last_used)
    return table


def _admin_client(url: str) -> SdqClient:
    return SdqClient(url, timeout_s=30, api_key=api_key())


def _print_json(body: Any) -> None:
    typer.echo(json.dumps(body, indent=2))


@app.command()
def create(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="Who holds the key; keys with the same name are one tenant."
        ),
    ],
    role: Annotated[
        Role, typer.Option(help="client: its own predictions; admin: everything.")
    ] = Role.CLIENT,
    max_queued: Annotated[
        int | None,
        typer.Option(
            min=1, help="Most of the key's jobs waiting per model, 429 past it (unset: no quota)."
        ),
    ] = None,
    max_priority: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=2,
            help="Most urgent priority the key may ask for (unset: 1 client, 0 admin).",
        ),
    ] = None,
    url: UrlOpt = "http://127.0.0.1:7860",
    as_json: JsonOpt = False,
) -> None:
    """Create a key and print its secret, which is shown this one time only."""
    client = _admin_client(url)
    body: dict[str, Any] = {"name": name, "role": role.value}
    if max_queued is not None:
        body["max_queued"] = max_queued
    if max_priority is not None:
        body["max_priority"] = max_priority
    with reported(url):
        key = client.call("POST", KEYS, body)
    if as_json:
        _print_json(key)
        return
    notes.print(
        f"created {key['role']} key {key['id']} for {key['name']!r}; its secret, shown this "
        "one time only (store it now; callers send it as `Authorization: Bearer <key>`):",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    typer.echo(key["key"])


@app.command("list")
def list_(url: UrlOpt = "http://127.0.0.1:7860", as_json: JsonOpt = False) -> None:
    """List the stored keys (never their secrets) with when each was last used."""
    client = _admin_client(url)
    with reported(url):
        keys = client.call("GET", KEYS)["results"]
    if as_json:
        _print_json(keys)
    elif not keys:
        notes.print("no keys yet (the bootstrap SDQ_ADMIN_KEY is not listed): `sdq keys create`")
    else:
        out.print(key_table(keys))


@app.command()
def revoke(
    key_id: Annotated[
        str, typer.Argument(metavar="KEY_ID", help="The key's id (`sdq keys list`).")
    ],
    url: UrlOpt = "http://127.0.0.1:7860",
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key: every API replica refuses it within a second."""
    client = _admin_client(url)
    with reported(url):
        revoked = client.call("DELETE", f"{KEYS}/{key_id}")
    if as_json:
        _print_json(revoked)
        return
    typer.echo(f"revoked {revoked['role']} key {revoked['id']} of {revoked['name']!r}")
