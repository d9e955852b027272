"""`sdq models …`: model utilities (the tiny random-weight pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Model utilities.", no_args_is_help=True)


@app.command("make-tiny")
def make_tiny_command(
    folder: Annotated[Path, typer.Argument(help="Where to write the pipeline.")],
    seed: Annotated[int, typer.Option(help="Seed of the random weights.")] = 0,
) -> None:
    """Write a tiny random-weight Stable Diffusion pipeline (loads like a real one)."""
    from worker.engines.tiny_model import make_tiny

    written = make_tiny(folder, seed=seed)
    typer.echo(f"wrote tiny Stable Diffusion pipeline to {written}")
