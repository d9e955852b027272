"""The `sdq` command line: run the stack or its parts, submit jobs, load-test, make the tiny
model."""

from __future__ import annotations

import typer

from cli import (
    bench_commands,
    client_commands,
    keys_commands,
    model_commands,
    scaling_commands,
    serve_commands,
    simulate_commands,
)
from cli.help_format import tidy_help

app = typer.Typer(
    name="sdq",
    help="Queue-based, autoscaled serving for diffusion models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
serve_commands.register(app)
client_commands.register(app)
simulate_commands.register(app)
bench_commands.register(app)
app.add_typer(model_commands.app, name="models")
app.add_typer(scaling_commands.app, name="scaling")
app.add_typer(keys_commands.app, name="keys")
tidy_help(app)


def main() -> None:
    app()
